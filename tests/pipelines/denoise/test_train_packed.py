"""scripts/train_denoiser.py on a tiny synthetic pack: denoiser2, interrupt, resume, export, denoise."""
from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from tsae.cli import cli
from tsae.models.modelfile import load_model

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts"))
_spec = importlib.util.spec_from_file_location("train_denoiser", ROOT / "scripts" / "train_denoiser.py")
td = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(td)  # type: ignore[union-attr]
dd = sys.modules["denoise_data"]
SR = 16000
TINY = ["--family", "denoiser2", "-p", "hidden=16", "-p", "group_hidden=8", "-p", "cplx_hidden=8",
        "-p", "cplx_bins=32", "-p", "erb_bands=16", "--batch", "2", "--seg", "1", "--val-size", "2",
        "--val-every", "1e9", "--max-minutes", "1e6", "--device", "cpu", "--seed", "3"]


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    """A pack of synthetic 'speech' (harmonic tones) and noise, shaped like shared/data/speech."""
    root = tmp_path_factory.mktemp("speech")
    rng = np.random.default_rng(0)
    t = np.arange(SR // 2) / SR

    def write(name: str, x: np.ndarray) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, x.astype(np.float32), SR, subtype="PCM_16")

    for spk in range(1000, 1022):  # 20 of them are held out
        write(f"clean/librispeech_{spk}-1-0001.flac", 0.2 * np.sin(2 * np.pi * rng.uniform(100, 300) * t))
    for spk in ("0001", "0002", "0003"):
        write(f"clean/so762_{spk}_000010.flac", 0.2 * np.sin(2 * np.pi * rng.uniform(100, 300) * t))
    for name in ("blanket_rain.wav", "blanket_waves.wav"):
        write(f"noise/{name}", 0.1 * rng.standard_normal(SR))
    out = root / "pack.safetensors"
    old = dd.SYNTHETIC_SPEECH_CLIPS
    dd.SYNTHETIC_SPEECH_CLIPS = 1
    try:
        dd.pack(out, root, None, max_files=3)
    finally:
        dd.SYNTHETIC_SPEECH_CLIPS = old
    return out


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return td.read_checkpoint(str(path))[0]


def _run_stopped_by_sigterm(monkeypatch, argv: list[str], at_step: int) -> pytest.ExceptionInfo:
    """Run train_denoiser with ``argv`` and send it SIGTERM during step ``at_step``; the run's SystemExit."""
    calls = []
    loss = td.family_loss

    def sigterm_at_step(*a, **kw):
        calls.append(1)
        if len(calls) == at_step:
            os.kill(os.getpid(), signal.SIGTERM)
        return loss(*a, **kw)

    monkeypatch.setattr(td, "family_loss", sigterm_at_step)
    try:
        with pytest.raises(SystemExit) as stopped:
            td.main(argv)
    finally:
        monkeypatch.setattr(td, "family_loss", loss)
    return stopped


def test_interrupted_run_resumes_to_the_same_weights_exports_and_denoises(pack, tmp_path, monkeypatch) -> None:
    args = [*TINY, "--packed", str(pack), "--max-steps", "10"]
    td.main([*args, "--out", str(tmp_path / "whole")])

    stopped = _run_stopped_by_sigterm(monkeypatch, [*args, "--out", str(tmp_path / "run")], at_step=5)
    assert stopped.value.code == 128 + signal.SIGTERM
    _, meta = td.read_checkpoint(str(tmp_path / "run" / "last.safetensors"))
    assert meta["step"] == 5
    td.main([*args, "--out", str(tmp_path / "run"), "--resume"])
    _, meta = td.read_checkpoint(str(tmp_path / "run" / "last.safetensors"))
    assert meta["step"] == 10 and [r["step"] for r in meta["resumed"]] == [5]
    whole, resumed = _weights(tmp_path / "whole" / "last.safetensors"), _weights(tmp_path / "run" / "last.safetensors")
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)

    model = tmp_path / "tiny.tsae"
    td.main(["--export", str(tmp_path / "run" / "last.safetensors"), str(model)])
    loaded = load_model(model)
    training = loaded.extra["training"]
    assert loaded.family == "denoiser2" and loaded.model.config["hidden"] == 16
    assert training["data"]["manifest"]["format"].startswith("tsae denoiser training pack")
    assert training["seed"] == 3 and len(training["git_commit"]) == 40 and "resume" not in training
    assert isinstance(training["git_uncommitted"], list)  # tracked files edited since that commit
    noisy = tmp_path / "noisy.wav"
    sf.write(noisy, (0.05 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32), SR)
    result = CliRunner().invoke(cli, ["denoise", str(noisy), "--model", str(model), "-q"])
    assert result.exit_code == 0, result.output
    out, rate = sf.read(tmp_path / "noisy.denoised.wav")
    assert rate == SR and out.shape == (SR,) and np.isfinite(out).all()
    half = tmp_path / "tiny_f16.tsae"  # the weights rounded to float16, half the file
    td.main(["--export", str(tmp_path / "run" / "last.safetensors"), str(half), "--weights-dtype", "float16"])
    assert half.stat().st_size < 0.7 * model.stat().st_size  # the header is a large part of a tiny file
    rounded = load_model(half).model.state_dict()
    assert all(torch.equal(rounded[k], resumed[k].half().float()) for k in resumed)

    # a model file is a starting point too (a shipped model, trained further): same weights, its training nested
    state, meta = td.read_checkpoint(str(model))
    assert all(torch.equal(state[k], resumed[k]) for k in resumed) and meta["model_file"] == str(model)
    # with more look-ahead (the new inputs start at zero weights); less look-ahead does not fit
    one_step = ["--packed", str(pack), "--max-steps", "1"]
    td.main([*TINY, *one_step, "--init", str(model), "-p", "lookahead=2", "--under-weight", "1.5",
             "--out", str(tmp_path / "more")])
    _, meta = td.read_checkpoint(str(tmp_path / "more" / "last.safetensors"))
    assert meta["data"]["init_checkpoint"]["model_file"] == str(model) and meta["data"]["init_checkpoint"]["step"] == 10
    assert meta["hparams"]["lookahead"] == 2 and meta["args"]["under_weight"] == 1.5
    assert meta["loss"].endswith("+ 1.5 x the compressed magnitude's shortfall below the clean one (speech removed)")
    wider = tmp_path / "wider.tsae"
    td.main(["--export", str(tmp_path / "more" / "last.safetensors"), str(wider)])
    before = wider.read_bytes()  # a model file exports too, but never onto itself
    with pytest.raises(SystemExit, match="wider.tsae: refusing to overwrite a file this command reads"):
        td.main(["--export", str(wider), str(wider)])
    assert wider.read_bytes() == before
    with pytest.raises(SystemExit, match=r"wider.tsae: does not fit a denoiser2 network .*cannot widen"):
        td.main([*TINY, *one_step, "--init", str(wider), "--out", str(tmp_path / "less")])
    assert not (tmp_path / "less" / "last.safetensors").exists()
    # with larger layers (the new units' outputs start at zero weights, see widen_state)
    td.main([*TINY, *one_step, "--init", str(model), "-p", "hidden=24", "-p", "group_hidden=12",
             "--out", str(tmp_path / "larger")])
    _, meta = td.read_checkpoint(str(tmp_path / "larger" / "last.safetensors"))
    assert meta["hparams"]["hidden"] == 24 and meta["hparams"]["group_hidden"] == 12


def test_resume_without_a_checkpoint_and_bad_params_fail_in_one_line(pack, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit, match="no checkpoint to resume from"):
        td.main([*TINY, "--packed", str(pack), "--out", str(tmp_path / "none"), "--resume"])
    td.main([*TINY, "--packed", str(pack), "--out", str(tmp_path / "one"), "--max-steps", "1"])
    assert (tmp_path / "one" / "best.safetensors").exists()  # validated at the end of the run
    with pytest.raises(SystemExit, match="resume it with the same family and data"):
        td.main(["--family", "denoiser", "--packed", str(pack), "--out", str(tmp_path / "one"), "--resume"])
    with pytest.raises(SystemExit, match="unknown parameter"):
        td.main([*TINY, "--packed", str(pack), "-p", "wings=2", "--out", str(tmp_path / "bad")])
    with pytest.raises(SystemExit):
        td.main([*TINY, "--packed", str(pack), "--under-weight", "-1", "--out", str(tmp_path / "bad")])
    assert "--under-weight: must be >= 0, got -1" in capsys.readouterr().err
    for taken in (pack, tmp_path / "one" / "last.safetensors"):  # --out on a file it reads, or any file
        before = taken.read_bytes()
        with pytest.raises(SystemExit, match=f"{taken.name}: is a file; --out names a folder"):
            td.main([*TINY, "--packed", str(pack), "--init", str(tmp_path / "one" / "last.safetensors"),
                     "--max-steps", "1", "--out", str(taken)])
        assert taken.read_bytes() == before
    for name in ("last.safetensors", "best.safetensors"):  # --init inside --out: the first save would replace it
        taken = tmp_path / "one" / name
        before = taken.read_bytes()
        with pytest.raises(SystemExit, match=f"{name}: refusing to overwrite a file this command reads"):
            td.main([*TINY, "--packed", str(pack), "--init", str(taken), "--max-steps", "1",
                     "--out", str(tmp_path / "one")])
        assert taken.read_bytes() == before
    with pytest.raises(SystemExit, match="not a packed training file"):
        td.main([*TINY, "--packed", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path / "bad")])


def test_loss_weights_reach_the_loss_and_the_header(pack, tmp_path, monkeypatch, capsys) -> None:
    seen = []
    loss = td.family_loss

    def recording(*a, **kw):
        seen.append(kw)
        return loss(*a, **kw)

    monkeypatch.setattr(td, "family_loss", recording)
    td.main([*TINY, "--packed", str(pack), "--out", str(tmp_path / "w"), "--max-steps", "1",
             "--under-weight", "0.5", "--over-weight", "2", "--complex-weight", "1.5"])
    assert seen and all(kw == {"complex_weight": 1.5, "under_weight": 0.5, "over_weight": 2.0}
                        for kw in seen)  # steps and validation
    header = td.read_checkpoint(str(tmp_path / "w" / "last.safetensors"))[1]["loss"]
    assert "+ 0.5 x the compressed magnitude's shortfall" in header and "+ 2 x its excess" in header
    assert "+ 1.5 compressed complex" in header
    with pytest.raises(SystemExit, match="was trained with --complex-weight 1.5; resume it with the same value"):
        td.main([*TINY, "--packed", str(pack), "--out", str(tmp_path / "w"), "--max-steps", "2", "--resume",
                 "--under-weight", "0.5", "--over-weight", "2"])
    with pytest.raises(SystemExit):
        td.main([*TINY, "--packed", str(pack), "--over-weight", "-1", "--out", str(tmp_path / "bad")])
    assert "--over-weight: must be >= 0, got -1" in capsys.readouterr().err


def test_telephone_share_reaches_the_mixers_and_the_header(pack, tmp_path, capsys) -> None:
    td.main([*TINY, "--packed", str(pack), "--out", str(tmp_path / "w"), "--max-steps", "1", "--telephone", "0.25"])
    header = td.read_checkpoint(str(tmp_path / "w" / "last.safetensors"))[1]
    assert header["data"]["mixer"]["telephone_prob"] == 0.25 and header["args"]["telephone"] == 0.25
    # the DataLoader workers' mixers get the same options (here iterated in this process)
    batches = td.PackedBatches(dd.load_packed(pack), 0, 0, 2, SR, {"telephone_prob": 1.0})
    x, s = next(iter(batches))
    power = np.abs(np.fft.rfft(x.numpy(), axis=-1)) ** 2
    assert power[:, np.fft.rfftfreq(SR, 1 / SR) > 4000].sum() < 1e-6 * power.sum()
    with pytest.raises(SystemExit, match="was trained with --telephone 0.25; resume it with the same value"):
        td.main([*TINY, "--packed", str(pack), "--out", str(tmp_path / "w"), "--max-steps", "2", "--resume"])
    for bad, message in ((["--telephone", "1.5"], "--telephone: must be at most 1, got 1.5"),
                         (["--telephone", "0.2"], "--telephone is an option of the packed mixer")):
        with pytest.raises(SystemExit):
            td.main([*TINY, *bad, "--out", str(tmp_path / "bad")])
        assert message in capsys.readouterr().err


def test_a_checkpoint_split_into_parts_joins_back_and_resumes(pack, tmp_path, monkeypatch, capsys) -> None:
    # a GPU machine returns files of at most 16 MiB: last.safetensors with its AdamW state comes back in parts
    args = [*TINY, "--packed", str(pack), "--max-steps", "6"]
    td.main([*args, "--out", str(tmp_path / "whole")])
    _run_stopped_by_sigterm(monkeypatch, [*args, "--out", str(tmp_path / "run")], at_step=3)
    last = tmp_path / "run" / "last.safetensors"
    original = last.read_bytes()
    td.main(["--split", str(last), "0.1"])
    parts = sorted((tmp_path / "run").glob("last.part*-of-*.safetensors"))
    assert len(parts) >= 2 and all(p.stat().st_size <= 100_000 for p in parts)
    assert last.read_bytes() == original  # the checkpoint split is left as it was

    moved = tmp_path / "back"
    moved.mkdir()
    with pytest.raises(SystemExit, match=r"the parts given are \[1\] of"):
        td.main(["--join", str(moved / "last.safetensors"), str(parts[0])])
    with pytest.raises(SystemExit, match="not a part written by --split"):
        td.main(["--join", str(moved / "last.safetensors"), str(parts[0]), str(last)])
    with pytest.raises(SystemExit, match="refusing to overwrite a file this command reads"):
        td.main(["--join", str(parts[0]), *map(str, parts)])
    with pytest.raises(SystemExit):
        td.main(["--split", str(last), "nan"])
    assert "--split: MB must be a number >= 0.1, got 'nan'" in capsys.readouterr().err
    assert not (moved / "last.safetensors").exists()
    td.main(["--join", str(moved / "last.safetensors"), *map(str, reversed(parts))])
    joined, meta = td._read(str(moved / "last.safetensors"))
    before, meta_before = td._read(str(last))
    assert meta == meta_before and joined.keys() == before.keys()
    assert all(torch.equal(joined[k], before[k]) for k in before)

    # resumed from the joined checkpoint, the run ends where an uninterrupted one does
    td.main([*args, "--out", str(moved), "--resume"])
    whole, resumed = _weights(tmp_path / "whole" / "last.safetensors"), _weights(moved / "last.safetensors")
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_echo_trains_on_each_batch_again_remixed_and_shifted_in_time(pack, tmp_path, monkeypatch, capsys) -> None:
    torch.manual_seed(0)
    drawn = []
    gen = torch.Generator().manual_seed(1)

    def stream():
        for i in range(3):
            speech = torch.arange(1000, dtype=torch.float32)[None].repeat(3, 1) / 1024 + i  # a ramp: offsets show
            noise = torch.randn(3, 1000, generator=gen) * torch.tensor([[1.0], [3.0], [0.1]])
            drawn.append((speech, noise))
            yield speech + noise, speech

    out = list(td.echoed(stream(), 3, hop=64))
    assert len(out) == 9 and len(drawn) == 3
    for k, (x, s) in enumerate(out):
        speech, noise = drawn[k // 3]
        r = k % 3
        if r == 0:
            assert torch.equal(s, speech) and torch.equal(x, speech + noise)
            continue
        offset = int((s[0, 0] - speech[0, 0]) * 1024)
        assert x.shape == s.shape == (3, 936) and 1 <= offset < 64
        assert torch.equal(s, speech[:, offset: offset + 936])
        # each example's speech with the noise of the example r places on, at its own noise's energy
        other = torch.roll(noise, r, dims=0)
        gain = noise.square().sum(-1, keepdim=True).sqrt() / other.square().sum(-1, keepdim=True).sqrt()
        torch.testing.assert_close(x - s, (gain * other)[:, offset: offset + 936], rtol=1e-4, atol=1e-5)
        assert not torch.allclose(x - s, noise[:, offset: offset + 936], atol=0.5)

    mixed = []
    batch = dd.PackedMixer.batch
    monkeypatch.setattr(dd.PackedMixer, "batch", lambda self, *a: mixed.append(1) or batch(self, *a))
    td.main([*TINY, "--packed", str(pack), "--max-steps", "6", "--echo", "3", "--out", str(tmp_path / "echo")])
    _, meta = td.read_checkpoint(str(tmp_path / "echo" / "last.safetensors"))
    assert meta["step"] == 6 and meta["args"]["echo"] == 3
    assert len(mixed) == 1 + 2  # the validation draw, then two training batches for six steps
    with pytest.raises(SystemExit):
        td.main([*TINY, "--packed", str(pack), "--echo", "0", "--out", str(tmp_path / "bad")])
    assert "--echo: must be at least 1, got 0" in capsys.readouterr().err


def test_sigterm_to_the_whole_process_group_still_saves_the_run(pack, tmp_path) -> None:
    # `pkill -f train_denoiser.py`, `kill -- -PGID` or a service manager's stop reach the mixing processes too:
    # a worker killed first made the DataLoader raise in the main process, which died without its last save
    import subprocess
    import time

    argv = [sys.executable, str(ROOT / "scripts" / "train_denoiser.py"), *TINY, "--val-every", "0",
            "--packed", str(pack), "--workers", "1", "--out", str(tmp_path / "run")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait for the first trained step (batches come from the worker)
            line = proc.stdout.readline()
            if not line or line.startswith("step "):
                break
        assert line.startswith("step "), line
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert td.read_checkpoint(str(tmp_path / "run" / "last.safetensors"))[1]["step"] >= 1
