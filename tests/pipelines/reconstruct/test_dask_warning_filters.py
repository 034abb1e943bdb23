"""The model's submission hides distributed's "Sending large graph" warning on the submitting thread alone (where
distributed raises it), and leaves the process's filter list as the caller's threads made it meanwhile. Before, a
``warnings.catch_warnings`` block restored the whole list it had saved: another thread's filter added during the
submission was lost, and a tsae block that ended on another thread meanwhile had its filter put back for good."""
from __future__ import annotations

import threading
import warnings

import pytest

from tsae._warning_filters import ignored
from tsae.pipelines.reconstruct import on_dask


class _Client:
    """Submits nothing: runs ``during`` where distributed would send the graph."""

    def __init__(self, during) -> None:
        self.during = during

    def submit(self, fn, *args, **kwargs):
        warnings.warn("Sending large graph of size 96 MiB.", UserWarning, stacklevel=2)
        self.during()
        return fn(*args)


def test_other_threads_filters_changed_during_the_submission_stay_as_they_left_them(tiny_model) -> None:
    entered, leave, left = threading.Event(), threading.Event(), threading.Event()

    def other_thread() -> None:
        with ignored(UserWarning, "another thread's block"):
            entered.set()
            leave.wait(30)
        warnings.filterwarnings("ignore", message="added by another thread")
        left.set()

    def during() -> None:  # inside the submission: the other thread ends its block, adds a filter of its own
        leave.set()
        assert left.wait(30)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        thread = threading.Thread(target=other_thread)
        thread.start()
        assert entered.wait(30)
        assert on_dask._model_task(_Client(during), tiny_model) == tiny_model.read_bytes()
        thread.join(30)
        patterns = [getattr(f[1], "pattern", f[1]) for f in warnings.filters]
        texts = [p.pattern if hasattr(p, "pattern") else p for p in patterns]
        assert any(t is not None and "added by another thread" in t for t in texts)
        assert not any(t is not None and ("another thread's block" in t or "Sending large graph" in t)
                       for t in texts)
        assert not [w for w in caught if "Sending large graph" in str(w.message)]


def test_a_real_cluster_submission_shows_no_large_graph_warning_and_changes_no_filter(tiny_model) -> None:
    distributed = pytest.importorskip("distributed")
    import dask

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client, \
            dask.config.set({"distributed.admin.large-graph-warning-threshold": "1B"}), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        future = on_dask._model_task(client, tiny_model)
        assert future.result() == tiny_model.read_bytes()
        assert warnings.filters == before
    assert not [w for w in caught if "Sending large graph" in str(w.message)]
