"""A series smoothed (or filled) whole shows a progress bar on a terminal, as a long one done in blocks does: its
samples, told as a trained model runs over them, its elapsed time moving while it learns; none with ``quiet`` or
when stderr is no terminal."""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from tsae.pipelines.smooth.files import impute_file, smooth_file
from tsae.pipelines.smooth.smoother import smooth


def _series(n: int = 3000) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / 40), np.cos(t / 55)]) + 0.1 * np.random.default_rng(0).standard_normal((2, n))


@pytest.mark.parametrize(("job", "options"), [(smooth_file, {"steps": 0}), (impute_file, {"rank": 2})])
def test_a_series_done_whole_shows_a_bar_on_a_terminal_unless_quiet(tmp_path, monkeypatch, capsys, job,
                                                                    options) -> None:
    # before: a series of at most one block (2**20 samples for smooth) was done whole with no bar at all
    np.save(tmp_path / "x.npy", _series())
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    capsys.readouterr()
    job(tmp_path / "x.npy", tmp_path / "a.npy", **options)
    err = capsys.readouterr().err
    assert f"{job.__name__.split('_')[0]}:" in err and "3.00k/3.00k" in err, err
    job(tmp_path / "x.npy", tmp_path / "q.npy", quiet=True, **options)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    job(tmp_path / "x.npy", tmp_path / "p.npy", **options)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "p.npy"))


def test_a_trained_model_tells_the_samples_as_it_runs(tmp_path, monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    from tsae.models.modelfile import load_model, save_model
    from tsae.pipelines.reconstruct import series
    from tsae.plugins import create_model

    torch.manual_seed(0)
    save_model(tmp_path / "m.tsae", create_model("conv1d", 2, 32, depth=1, hidden=4, latent=4),
               frame={"window": 32, "hop": 16, "window_fn": None})
    model = load_model(tmp_path / "m.tsae", device="cpu")
    monkeypatch.setattr(series, "_BATCHES_PER_REPORT", 1)
    x = _series()
    told: list[int] = []
    out = smooth(x, model=model, advance=told.append)
    assert sum(told) == 3000 and len(told) > 1, told  # in parts, as the network runs
    np.testing.assert_array_equal(out, smooth(x, model=model))  # the same result told or not
    told.clear()
    smooth(x, steps=0, advance=told.append)
    assert told == [3000]  # self-taught: at the end
    with pytest.raises(TypeError, match="advance must be a function told the samples done .* got int"):
        smooth(x, steps=0, advance=5)


def test_a_ticking_bar_is_redrawn_while_nothing_is_told() -> None:
    from tsae.pipelines.progress import ticking

    class Bar:
        disable = False

        def __init__(self) -> None:
            self.redrawn = threading.Event()

        def refresh(self) -> None:
            self.redrawn.set()

    bar = Bar()
    with ticking(bar, every=0.01):
        assert bar.redrawn.wait(10)
    threads = [t.name for t in threading.enumerate()]
    assert "tsae-bar-tick" not in threads  # stopped with the block
    quiet = Bar()
    quiet.disable = True
    with ticking(quiet, every=0.01):
        assert not quiet.redrawn.wait(0.05)


@pytest.mark.parametrize("job", [smooth_file, impute_file])
def test_a_failed_job_leaves_no_bar_above_its_error(tmp_path, monkeypatch, capsys, job) -> None:
    # before: the bar stayed on screen at 0% (its line ended), and the one-line error came under it
    x = _series()
    x[1] = np.nan  # a channel with no finite value: refused once the bar shows
    np.save(tmp_path / "x.npy", x)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    capsys.readouterr()
    with pytest.raises(ValueError, match="no finite values"):
        job(tmp_path / "x.npy", tmp_path / "a.npy")
    err = capsys.readouterr().err
    assert "0%" in err and not err.endswith("\n"), repr(err)  # drawn, then cleared in place: no line left
    assert not (tmp_path / "a.npy").exists()
