"""``torch_threads(n, native=True)`` holds numpy's BLAS and OpenMP pools to ``n`` threads inside the block, and gives
them back after it, with the pools found once (not scanned for at every call)."""
import pytest

from tsae.models.device import torch_threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _threads() -> dict[str, int]:
    return {f"{pool['internal_api']} {pool['filepath']}": pool["num_threads"]
            for pool in threadpoolctl.threadpool_info()}


def test_native_pools_held_and_given_back():
    import torch  # noqa: F401 - its pools loaded, as where a network scores

    before = _threads()
    if not before:
        pytest.skip("no native thread pool loaded")
    with threadpoolctl.threadpool_limits(2):
        outer = _threads()
        for _ in range(2):  # the second call uses the controller found at the first
            with torch_threads(1, native=True):
                assert set(_threads().values()) == {1}
            after = _threads()  # numba's OpenMP layer may load at the first call: a pool more, at its own count
            assert {name: after[name] for name in outer} == outer


def test_a_pool_loaded_after_the_first_call_is_held_too():
    # scipy.linalg brings its own OpenBLAS, and tsae no longer loads it at start-up: a controller found at the first
    # call, kept, left that pool on every core
    import subprocess
    import sys

    code = """
import threadpoolctl
from tsae.models.device import native_threads
with native_threads(1):
    pass
import scipy.linalg
with threadpoolctl.threadpool_limits(2):
    with native_threads(1):
        print(sorted({pool["num_threads"] for pool in threadpoolctl.threadpool_info()}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "[1]"
