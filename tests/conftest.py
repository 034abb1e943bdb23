"""Fixtures for the whole suite."""
from __future__ import annotations

import signal
import tempfile

import pytest

# --doctest-modules (for the tsae package) would import these as modules: the folders'
# conftest.py files all share one name, and the plugin fixture is installed, not imported
collect_ignore = ["conftest.py", "fixtures"]
collect_ignore_glob = ["*/conftest.py"]


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_not_ignored():
    """Ctrl-C as a terminal gives it, whatever pytest was started with.

    A background job of a non-interactive shell (``python -m pytest ... &`` in a script) starts
    with SIGINT ignored, and so does every command a test starts: the commands rightly keep an
    ignored Ctrl-C ignored, and the tests of Ctrl-C failed (exit 0 or 1, not 130).
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # and SIG_DFL in the commands tests start
    yield
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The test networks are tiny: one torch thread is faster and keeps CI's two cores apart."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture()
def craft_model_file(tmp_path):
    """``craft(source, name, header=fn, tensors=fn) -> Path``: a copy of a model file with its tsae header
    (a dict, changed in place by ``header``) and tensors (a name -> tensor dict, by ``tensors``) altered.

    The header is written with Python's ``json`` (so NaN and Infinity can be planted), the
    container with safetensors, as a hostile user would craft a file. With ``tensors``, the
    header's ``weights_sha256`` is left out (as in files written before it), so that the
    loader's checks of the altered values are what is tested, not the checksum.
    """
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    def craft(source, name, *, header=None, tensors=None):
        with safe_open(str(source), framework="pt") as handle:
            head = json.loads(handle.metadata()["tsae"])
            state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict
        if header is not None:
            header(head)
        if tensors is not None:
            tensors(state)
            head.pop("weights_sha256", None)
        path = tmp_path / name
        save_file(state, str(path), metadata={"tsae": json.dumps(head)})
        return path

    return craft


@pytest.fixture()
def stream_blocks():
    """``stream(net, x, block, fast=True) -> y``: a guard-less 16 kHz ``StreamingDenoiser`` on network ``net``,
    fed ``x`` ``block`` samples at a time, then flushed; ``fast=False`` runs the network's own
    torch step instead of its CPU fast path.
    """
    import numpy as np

    from tsae.pipelines.denoise import StreamingDenoiser

    def stream(net, x, block: int, fast: bool = True):
        den = StreamingDenoiser(16000, model=net, guard=False)
        if not fast:
            den._stepper = net.streamer(fast=False)
            den.reset()
        return np.concatenate([*(den.feed(x[i: i + block]) for i in range(0, len(x), block)), den.flush()])

    return stream


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """An untrained two-channel conv1d model file (no training: built and saved)."""
    from plugin_helpers import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.tsae")


@pytest.fixture()
def temp_dir(tmp_path, monkeypatch):
    """The system temporary folder of the commands run in this process: a scratch folder, to find the copies and
    spools a command leaves behind."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder
