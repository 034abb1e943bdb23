"""tsae denoise: streaming equals whole-file, formats, rates, channels, safety, bad inputs.

All signals are synthetic (harmonic "speech" with formant envelopes + noise); the
shipped model is used throughout.
"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

import tsae
from tsae.cli import cli
from tsae.pipelines.denoise import StreamingDenoiser, default_model_path, denoise, denoise_file


def speech_like(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(110, 200) * (1 + 0.15 * np.sin(2 * np.pi * 0.8 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = np.zeros(n)
    for k in range(1, int(min(7000, sr / 2 - 200) / f0.max())):
        fk = k * f0
        amp = sum(np.exp(-0.5 * ((fk - f) / (80 + 0.1 * f)) ** 2) for f in (600, 1400, 2600)) + 0.02
        x += amp * np.sin(k * phase) / np.sqrt(k)
    x *= np.clip(np.sin(2 * np.pi * 3.5 * t + 0.3), 0, None) ** 0.7
    return (0.2 * x / np.abs(x).max()).astype(np.float32)


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    est = est.astype(np.float64) - est.mean()
    ref = ref.astype(np.float64) - ref.mean()
    a = np.dot(est, ref) / np.dot(ref, ref)
    t = a * ref
    return float(10 * np.log10(np.sum(t**2) / np.sum((est - t) ** 2)))


@pytest.fixture(scope="module")
def noisy16() -> tuple[np.ndarray, np.ndarray]:
    clean = np.concatenate([np.zeros(4800, np.float32), speech_like(3.0, 16000)])  # 0.3 s lead-in
    noise = np.random.default_rng(1).standard_normal(len(clean)).astype(np.float32)
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) * 10 ** (-5 / 20)
    return clean, clean + noise


# ---------------------------------------------------------------- shipped model, API
def test_shipped_model_is_package_data_and_registered_family() -> None:
    assert default_model_path().is_file()
    from tsae.plugins import get_model_family

    assert get_model_family("denoiser").__name__ == "DenoiserNet"
    assert tsae.denoise is denoise
    assert tsae.StreamingDenoiser is StreamingDenoiser


def test_denoising_improves_noisy_speech(noisy16) -> None:
    clean, noisy = noisy16
    out = denoise(noisy, 16000)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert si_sdr(out, clean) > si_sdr(noisy, clean) + 3.0


# ---------------------------------------------------------------- streaming == whole
@pytest.mark.parametrize("sr,channels,quality", [(16000, 1, "HQ"), (44100, 2, "HQ"), (8000, 1, "HQ"), (48000, 1, "HQ"),
                                                 (44100, 2, "LD"), (8000, 1, "LD"), (48000, 1, "LD")])
def test_blocks_equal_whole(sr: int, channels: int, quality: str) -> None:
    rng = np.random.default_rng(sr)
    x = np.stack([speech_like(1.5, sr, seed=c) for c in range(channels)])
    x += 0.02 * rng.standard_normal(x.shape).astype(np.float32)
    den = StreamingDenoiser(sr, channels, resample_quality=quality)
    whole = denoise(x, sr) if quality == "HQ" else np.concatenate([den.feed(x), den.flush()], axis=1)
    parts, i = [], 0
    while i < x.shape[1]:
        n = int(rng.integers(1, 5000))
        parts.append(den.feed(x[:, i: i + n]))
        i += n
    parts.append(den.flush())
    blocks = np.concatenate(parts, axis=1)
    assert blocks.shape == x.shape
    np.testing.assert_array_equal(blocks, whole)


@pytest.mark.parametrize("sr", [48000, 44100, 8000])
def test_latency_of_low_delay_resampling_is_the_models_plus_half_of_each_filter(sr: int) -> None:
    from tsae.engine.polyphase import PolyphaseResampler

    den = StreamingDenoiser(sr, resample_quality="LD")
    halves = PolyphaseResampler(sr, 16000).delay + PolyphaseResampler(16000, sr).delay
    assert den.latency == pytest.approx(StreamingDenoiser(16000).latency + halves)
    assert StreamingDenoiser(sr).latency == StreamingDenoiser(16000).latency  # soxr's wait varies: not in it
    assert StreamingDenoiser(sr, resample_quality="LD", strength=0).latency == 0.0


@pytest.mark.parametrize("sr,quality,resampler_ms", [(16000, "HQ", 0), (48000, "HQ", 88), (48000, "QQ", 8),
                                                      (48000, "LD", 0), (44100, "LD", 0), (8000, "LD", 0)])
def test_live_10ms_chunks_bounded_latency(sr: int, quality: str, resampler_ms: float) -> None:
    x = speech_like(1.0, sr)
    den = StreamingDenoiser(sr, resample_quality=quality)
    assert den.latency <= 0.032 + 0.040 + 0.011  # one frame, at most 40 ms of look-ahead (LD's filters: 10 ms at 8 kHz)
    chunk = sr // 100
    done = 0
    for i in range(0, len(x), chunk):
        done += len(den.feed(x[i: i + chunk]))
        assert i + chunk - done <= (den.latency + resampler_ms / 1000) * sr
    assert done + len(den.flush()) == len(x)


@pytest.fixture(scope="module")
def lookahead_net():
    """A small random denoiser network with two frames of look-ahead."""
    import torch

    from tsae.plugins import get_model_family

    torch.manual_seed(0)
    return get_model_family("denoiser")(1, 512, hidden=32, layers=2, lookahead=2).eval()


@pytest.mark.parametrize("fast", [True, False])
def test_lookahead_stream_equals_blocks_and_network_forward(lookahead_net, fast: bool, stream_blocks) -> None:
    import torch

    x = speech_like(1.2, 16000) + 0.02 * np.random.default_rng(3).standard_normal(19200).astype(np.float32)
    whole = stream_blocks(lookahead_net, x, len(x), fast)
    assert whole.shape == x.shape
    np.testing.assert_array_equal(stream_blocks(lookahead_net, x, 160, fast), whole)
    with torch.no_grad():
        reference = lookahead_net(torch.from_numpy(x)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(whole, reference, atol=1e-5)
    assert StreamingDenoiser(16000, model=lookahead_net).latency == pytest.approx((512 + 2 * 256) / 16000)


def test_denoiser_speaks_the_streaming_protocol(lookahead_net) -> None:
    """The pipeline sees only the protocol: the network and both of its streamers (numpy in and out) implement it."""
    from tsae.models.base import is_streaming_model

    assert is_streaming_model(lookahead_net)
    spec = np.fft.rfft(np.random.default_rng(0).standard_normal((2, 512)), axis=-1)
    masks = []
    for fast in (True, False):
        streamer = lookahead_net.streamer(fast=fast)
        assert is_streaming_model(streamer)
        assert (streamer.window, streamer.hop, streamer.lookahead, streamer.latency) == (512, 256, 2, 1024)
        assert streamer.window_fn.shape == (512,) and streamer.window_fn.dtype == np.float32
        state = streamer.init_state(2)
        out = [streamer.step(spec, state) for _ in range(3)]
        assert out[0] is None and out[1] is None and out[2].shape == (2, 257)  # two frames of look-ahead
        masks.append(out[2])
    np.testing.assert_allclose(masks[0], masks[1], atol=1e-5)


def test_widened_causal_model_is_unchanged() -> None:
    import torch

    from tsae.plugins import get_model_family
    from tsae_plugins.denoiser import widen_lookahead

    family = get_model_family("denoiser")
    torch.manual_seed(1)
    causal = family(1, 512, hidden=32).eval()
    widened = family(1, 512, hidden=32, lookahead=2).eval()
    widened.load_state_dict(widen_lookahead(causal.state_dict(), widened))
    x = torch.from_numpy(speech_like(0.5, 16000))[None, None]
    with torch.no_grad():
        torch.testing.assert_close(widened(x), causal(x), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="cannot widen"):
        widen_lookahead(widened.state_dict(), causal)


def test_lookahead_output_waits_for_future_frames(lookahead_net) -> None:
    """With look-ahead, an impulse changes no output sample more than one frame + look-ahead earlier."""
    den = StreamingDenoiser(16000, model=lookahead_net, guard=False)
    x = 0.01 * np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    y = np.concatenate([den.feed(x), den.flush()])
    x2 = x.copy()
    x2[12000] += 0.5
    y2 = np.concatenate([den.feed(x2), den.flush()])
    changed = np.flatnonzero(y != y2)
    assert changed.min() >= 12000 - 512 - 2 * 256  # the model looked ahead, but no further
    assert changed.min() < 12000 - 256  # and it did use the future frames


def test_live_chunks_and_reuse_after_flush() -> None:
    x = speech_like(1.0, 48000)
    den = StreamingDenoiser(48000)
    outs = [den.feed(x[i: i + 480]) for i in range(0, len(x), 480)]
    outs.append(den.flush())
    first = np.concatenate(outs)
    assert first.shape == x.shape
    again = np.concatenate([den.feed(x), den.flush()])  # flushed object starts a new stream
    np.testing.assert_array_equal(first, again)


def test_file_in_small_blocks_equals_array(tmp_path) -> None:
    x = np.stack([speech_like(2.0, 22050, 0), speech_like(2.0, 22050, 1)]) * 0.8
    path = tmp_path / "in.wav"
    sf.write(path, x.T, 22050, subtype="FLOAT")
    out = denoise_file(path, tmp_path / "out.wav", block_seconds=0.137)
    y, sr = sf.read(out, dtype="float32", always_2d=True)
    assert sr == 22050
    np.testing.assert_array_equal(y.T, denoise(x, 22050))


def test_an_array_is_denoised_in_blocks_of_bounded_size(monkeypatch) -> None:
    """tsae.denoise fed the whole array at once (some 20 times its size in working memory); it now feeds blocks
    of at most MAX_BLOCK_SAMPLES samples, to the same output."""
    from tsae.pipelines.denoise import denoiser as denoiser_module

    x = np.stack([speech_like(1.3, 16000, 2), speech_like(1.3, 16000, 3)]) * 0.5
    whole = StreamingDenoiser(16000, 2)
    want = np.concatenate([whole.feed(x), whole.flush()], axis=-1)
    fed: list[int] = []
    real_feed = StreamingDenoiser._feed  # what feed() and denoise() call

    def spy(self, chunk):  # type: ignore[no-untyped-def]
        fed.append(chunk.shape[-1])
        return real_feed(self, chunk)

    monkeypatch.setattr(denoiser_module, "MAX_BLOCK_SAMPLES", 2 * 1000)
    monkeypatch.setattr(StreamingDenoiser, "_feed", spy)
    got = denoise(x, 16000)
    assert max(fed) == 1000 and len(fed) == 21
    np.testing.assert_array_equal(got, want)


def test_a_file_of_many_channels_is_read_in_blocks_of_bounded_size(tmp_path, monkeypatch) -> None:
    """A block was 5 s of every channel, however many: 128 channels at 48 kHz took 2.9 GB for a 74 MB file,
    and a 1024-channel one (libsndfile's limit) some 20 GB. A block now holds at most MAX_BLOCK_SAMPLES samples."""
    from tsae.pipelines.denoise import files as files_module

    channels, rate = 1024, 16000
    x = np.tile(speech_like(0.3, rate), (channels, 1)) * np.linspace(0.2, 1.0, channels)[:, None]
    sf.write(tmp_path / "array.wav", x.T, rate, subtype="FLOAT")
    blocks: list[int] = []
    real = files_module.iter_audio_blocks

    def spy(path, block, **kwargs):  # type: ignore[no-untyped-def]
        blocks.append(block)
        return real(path, block, **kwargs)

    monkeypatch.setattr(files_module, "iter_audio_blocks", spy)
    out = denoise_file(tmp_path / "array.wav", tmp_path / "out.wav")
    assert blocks and blocks[0] * channels <= files_module.MAX_BLOCK_SAMPLES
    y, _ = sf.read(out, dtype="float32", always_2d=True)
    np.testing.assert_allclose(y.T[::255], denoise(x[::255], rate), atol=1e-6)  # as in one block, to float rounding


# ---------------------------------------------------------------- safety
def test_silence_stays_silence() -> None:
    for sr in (16000, 44100):
        out = denoise(np.zeros((2, sr), np.float32), sr)
        assert np.abs(out).max() < 1e-6
    assert np.abs(denoise(np.zeros(16000, np.float32), 16000)).max() == 0.0


def test_strength_zero_is_identity(noisy16) -> None:
    _, noisy = noisy16
    out = denoise(noisy, 16000, strength=0.0)
    assert np.abs(out - noisy).max() < 1e-5


def test_atten_limit_zero_is_identity(noisy16) -> None:
    # 0 dB of attenuation allowed: nothing removed, not even a complex mask's phase or gains above 1 kept
    _, noisy = noisy16
    assert np.abs(denoise(noisy, 16000, atten_limit=0.0) - noisy).max() < 1e-5
    assert np.abs(denoise(noisy, 16000, atten_limit=1.0) - noisy).max() > 1e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_clean_speech_is_not_damaged(seed: int) -> None:
    # a clean recording: 0.3 s lead-in, speech, a noise floor 30 dB below the speech
    clean = np.concatenate([np.zeros(4800, np.float32), speech_like(3.0, 16000, seed=seed)])
    floor = np.random.default_rng(seed).standard_normal(len(clean)).astype(np.float32)
    floor *= np.sqrt(np.mean(clean**2) / np.mean(floor**2)) * 10 ** (-30 / 20)
    x = clean + floor
    drop = si_sdr(x, clean) - si_sdr(denoise(x, 16000), clean)
    assert drop < 1.0


def test_clean_input_comes_back_nearly_unchanged() -> None:
    clean = np.concatenate([np.zeros(4800, np.float32), speech_like(3.0, 16000, seed=5)])
    assert si_sdr(denoise(clean, 16000), clean) > 25.0


def test_atten_limit_bounds_attenuation() -> None:
    noise = (0.05 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
    full = denoise(noise, 16000)
    limited = denoise(noise, 16000, atten_limit=6.0)
    rms = lambda v: float(np.sqrt(np.mean(v[8000:] ** 2)))  # noqa: E731
    assert rms(full) < rms(limited)
    assert 20 * np.log10(rms(noise) / rms(limited)) < 6.5


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        StreamingDenoiser(16000, strength=1.5)
    with pytest.raises(ValueError):
        denoise(np.zeros(0, np.float32), 16000)
    with pytest.raises(ValueError):
        StreamingDenoiser(16000, 2).feed(np.zeros((3, 10), np.float32))


# ---------------------------------------------------------------- files and CLI
@pytest.mark.parametrize(
    "name,sr,channels,subtype",
    [("a.wav", 44100, 2, "PCM_24"), ("b.wav", 16000, 1, "PCM_16"), ("c.flac", 22050, 1, "PCM_16"),
     ("d.ogg", 48000, 1, "VORBIS"), ("e.wav", 8000, 3, "FLOAT"), ("f.wav", 32000, 1, "PCM_32")],
)
def test_cli_keeps_rate_channels_format(tmp_path, name, sr, channels, subtype) -> None:
    x = np.stack([speech_like(1.0, sr, c) for c in range(channels)]).T
    path = tmp_path / name
    sf.write(path, x, sr, subtype=subtype)
    result = CliRunner().invoke(cli, ["denoise", str(path), "-q"])
    assert result.exit_code == 0, result.output
    out = path.with_name(path.stem + ".denoised" + path.suffix)
    info, src = sf.info(out), sf.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (sr, channels, subtype, src.format)
    assert abs(info.frames - src.frames) <= (0 if subtype != "VORBIS" else 1024)


def test_loud_input_is_clipped_not_wrapped(tmp_path) -> None:
    x = np.clip(4 * speech_like(1.0, 16000), -1, 1)
    path = tmp_path / "loud.wav"
    sf.write(path, x, 16000, subtype="PCM_16")
    out = denoise_file(path, strength=0.0)
    y, _ = sf.read(out, dtype="float32")
    assert np.abs(y - x).max() < 1e-3


def test_cli_several_files_to_folder_and_glob(tmp_path) -> None:
    for i in range(3):
        sf.write(tmp_path / f"s{i}.wav", speech_like(0.5, 16000, i), 16000)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "s*.wav"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["s0.wav", "s1.wav", "s2.wav"]
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path), "-q"])  # a folder
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s1.denoised.wav").exists()
    # the same file named twice is still several names: -o is their folder (it was taken for a file name,
    # "newdir: unknown audio suffix ''")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "s0.wav"), str(tmp_path / "s0.wav"), "-o",
                                      str(tmp_path / "twice"), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "twice").iterdir()) == ["s0.wav"]


def test_batch_of_files_equals_one_at_a_time(tmp_path) -> None:
    """Files of mixed rates, channels, lengths and formats: batched output == each file alone."""
    from tsae.pipelines.denoise.files import denoise_files

    rng = np.random.default_rng(5)
    specs = [("a.wav", 16000, 1, 1.3, "PCM_16"), ("b.flac", 16000, 2, 0.4, "PCM_24"),
             ("c.wav", 16000, 1, 2.2, "FLOAT"), ("d.wav", 44100, 1, 0.9, "PCM_16"),
             ("e.wav", 44100, 2, 1.7, "FLOAT")]
    for name, sr, ch, seconds, subtype in specs:
        x = np.stack([speech_like(seconds, sr, seed=c) for c in range(ch)], axis=1)
        x += 0.02 * rng.standard_normal(x.shape).astype(np.float32)
        sf.write(tmp_path / name, x, sr, subtype=subtype)
    inputs = [str(tmp_path / s[0]) for s in specs]
    alone = denoise_files(inputs, tmp_path / "alone", batch=1, quiet=True)
    together = denoise_files(inputs, tmp_path / "together", batch=4, quiet=True)
    assert [p.name for p in together] == [s[0] for s in specs]  # input order
    for (_name, sr, ch, seconds, subtype), a, b in zip(specs, alone, together, strict=True):
        ya, ra = sf.read(a, dtype="float32", always_2d=True)
        yb, rb = sf.read(b, dtype="float32", always_2d=True)
        assert ra == rb == sr and ya.shape == yb.shape == (int(seconds * sr), ch)
        assert sf.info(str(b)).subtype == subtype
        # float rounding of a larger matrix product; with resampling, the last few ms of a file that
        # ends before the others in its batch see the denoised tail instead of the flush's zeros
        tail = 0 if sr == 16000 else int(0.08 * sr)
        np.testing.assert_allclose(yb[: len(yb) - tail], ya[: len(ya) - tail], atol=1e-4)
        np.testing.assert_allclose(yb, ya, atol=2e-2)
        assert np.abs(ya).max() > 0.01
    with pytest.raises(ValueError, match="batch must be"):
        denoise_files(inputs, tmp_path / "x", batch=0, quiet=True)
    # batches run in threads: each file is what it is alone, however the files were spread
    import torch

    threads = torch.get_num_threads()
    threaded = denoise_files(inputs, tmp_path / "threaded", batch=4, jobs=3, quiet=True)
    assert torch.get_num_threads() == threads  # the threads' share of the cores was given back
    for a, b in zip(alone, threaded, strict=True):
        ya, yb = sf.read(a, dtype="float32")[0], sf.read(b, dtype="float32")[0]
        assert ya.shape == yb.shape
        np.testing.assert_allclose(yb, ya, atol=2e-2)
    with pytest.raises(ValueError, match="jobs must be"):
        denoise_files(inputs, tmp_path / "x", jobs=0, quiet=True)


def test_a_stopped_batch_leaves_no_output(tmp_path) -> None:
    """Ctrl-C while threads run batches: a batch told to stop raises before its next block and keeps nothing."""
    import threading

    from tsae.io.audio import audio_info
    from tsae.pipelines.denoise.files import Stopped, _denoise_together

    src = tmp_path / "a.wav"
    sf.write(src, speech_like(1.0, 16000), 16000)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        _denoise_together([(src, tmp_path / "out.wav", audio_info(src))], model=None, strength=1.0,
                          atten_limit=None, device="cpu", block_seconds=0.25, progress=None,
                          failed=lambda path, error: None, stop=stop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_cli_jobs_are_for_files(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["denoise", "-", "--jobs", "2"], input=b"")
    assert result.exit_code == 2
    assert "--jobs applies to files" in result.output


def test_cli_never_overwrites_input(tmp_path) -> None:
    path = tmp_path / "x.wav"
    sf.write(path, speech_like(0.5, 16000), 16000)
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["denoise", str(path), "-o", str(path)])
    assert result.exit_code != 0
    assert "overwrite" in result.output
    assert path.read_bytes() == before


def test_cli_replaces_an_existing_output_as_every_command_does(tmp_path) -> None:
    # the project's convention (README): an output that is not an input is replaced, whole, as `cp` does
    path, other = tmp_path / "x.wav", tmp_path / "y.wav"
    sf.write(path, speech_like(0.5, 16000), 16000)
    sf.write(other, speech_like(0.5, 16000, 1), 16000)
    out, folder = tmp_path / "out.wav", tmp_path / "outs"
    folder.mkdir()
    for old in (out, tmp_path / "x.denoised.wav", folder / "x.wav"):
        old.write_bytes(b"an older file")
    linked = tmp_path / "linked.wav"
    linked.hardlink_to(out)  # replaced, not written into: another name of the old file keeps it
    for args in (["-o", str(out)], [], [str(other), "-o", str(folder)]):  # one file; beside it; several
        result = CliRunner().invoke(cli, ["denoise", str(path), *args, "-q"])
        assert result.exit_code == 0, result.output
    for new in (out, tmp_path / "x.denoised.wav", folder / "x.wav"):
        assert sf.info(new).frames == 8000
    assert linked.read_bytes() == b"an older file"


def _bad_files(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("this is not audio\n")
    good = tmp_path / "good.wav"
    sf.write(good, speech_like(0.5, 16000), 16000)
    (tmp_path / "corrupt.wav").write_bytes(good.read_bytes()[:20] + b"\x00\xff" * 50)
    sf.write(tmp_path / "zero.wav", np.zeros((0, 1), np.float32), 16000)
    return {
        "missing.wav": "no such file", "empty.wav": "empty", "text.wav": "not a readable audio file",
        "corrupt.wav": "", "zero.wav": "zero length",
    }


def test_cli_bad_inputs_one_line_error_and_no_output(tmp_path) -> None:
    expected = _bad_files(tmp_path)
    for name, words in expected.items():
        result = CliRunner().invoke(cli, ["denoise", str(tmp_path / name)])
        assert result.exit_code != 0, name
        lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error:"), (name, result.output)
        assert name in lines[0] and words in lines[0], (name, lines[0])
        assert "Traceback" not in result.output
    leftovers = [p.name for p in tmp_path.iterdir() if "denoised" in p.name or p.name.endswith(".part")]
    assert leftovers == []


def test_bad_input_among_several_is_reported_and_the_good_one_written(tmp_path) -> None:
    # the multi-file policy (issue 12 item 6): keep going, report every failure at the end, exit 1
    _bad_files(tmp_path)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "good.wav"), str(tmp_path / "text.wav"),
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.wav"]
    assert f"failed: {tmp_path / 'text.wav'}: " in result.output


def test_shipped_models_by_name(tmp_path, monkeypatch) -> None:
    from tsae.pipelines.denoise.denoiser import model_path, shipped_models

    shipped = shipped_models()
    assert shipped[default_model_path().stem] == default_model_path()
    assert all(p.is_file() and p.suffix == ".tsae" for p in shipped.values())
    x = speech_like(1.0, 16000)
    np.testing.assert_array_equal(denoise(x, 16000, model=default_model_path().stem), denoise(x, 16000))
    src = tmp_path / "in.wav"
    sf.write(src, x, 16000)
    for name in shipped:
        assert StreamingDenoiser(16000, model=name).latency <= 0.064 + 1e-9  # the latency bound
        out = tmp_path / f"{name}.wav"
        result = CliRunner().invoke(cli, ["denoise", str(src), "--model", name, "-o", str(out), "-q"])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["denoise", str(src), "--model", "no-such-model", "-q"])
    assert result.exit_code == 2 and "no such model file, nor a shipped model" in result.output
    assert all(name in result.output for name in shipped) and not (tmp_path / "in.denoised.wav").exists()
    monkeypatch.chdir(tmp_path)  # a bare shipped name is the shipped model; ./name is a file of that name here
    (tmp_path / "denoiser").write_bytes(b"not a model")
    assert model_path("denoiser") == shipped["denoiser"]
    assert model_path("./denoiser").resolve() == tmp_path / "denoiser"


@pytest.mark.parametrize("model", ["denoiser", "denoiser2"])
@pytest.mark.parametrize(("spike", "fast"), [(1e20, True), (3e38, True), (1e20, False)])
def test_one_corrupt_sample_does_not_mute_the_rest_of_the_stream(model: str, spike: float, fast: bool) -> None:
    """A sample far beyond any audio level (a corrupt float) is one loud frame: a second later the
    output is what it would have been without it (the features must not overflow into the state).
    ``fast=False``: the network's torch step (GPU, ONNX), whose float32 spectrum holds up to about 1e35."""

    def run(x: np.ndarray) -> np.ndarray:
        den = StreamingDenoiser(16000, model=model)
        if not fast:
            den._stepper = den.net.streamer(fast=False)
            den.reset()
        return np.concatenate([den.feed(x), den.flush()])

    x = speech_like(4.0, 16000)
    clean_run = run(x)
    x[16000] = spike
    y = run(x)
    assert np.isfinite(y).all()
    after = slice(40000, None)  # 1.5 s after the spike
    ratio = np.sqrt(np.mean(y[after].astype(np.float64) ** 2) / np.mean(clean_run[after].astype(np.float64) ** 2))
    assert 0.8 < ratio < 1.25


@pytest.mark.parametrize("fast", [True, False])
def test_digital_silence_does_not_change_how_the_speech_after_it_is_denoised(fast: bool) -> None:
    """A muted stretch (exact zeros) says nothing about the level: denoiser2's running feature means
    skip it, so speech after 2 s of zeros is denoised as if the zeros were not there, and speech
    after a lead-in of zeros nearly as if the stream started with it (before, the means sank
    100 dB during the zeros and the speech after them was taken for something else)."""
    rng = np.random.default_rng(0)
    a, b = (speech_like(2.0, 16000, seed) + 0.003 * rng.standard_normal(32000).astype(np.float32) for seed in (0, 1))

    def run(x: np.ndarray) -> np.ndarray:
        den = StreamingDenoiser(16000, model="denoiser2", guard=False)
        if not fast:
            den._stepper = den.net.streamer(fast=False)
            den.reset()
        return np.concatenate([den.feed(x), den.flush()])

    zeros = np.zeros(32000, np.float32)
    after_gap = run(np.concatenate([a, zeros, b]))[64000 + 8000:]
    continuous = run(np.concatenate([a, b]))[32000 + 8000:]
    assert si_sdr(after_gap, continuous) > 40.0
    after_lead_in = run(np.concatenate([zeros[:8000], b]))[8000:]
    assert si_sdr(after_lead_in, run(b)) > 15.0


@pytest.mark.parametrize("model", ["denoiser", "denoiser2"])
def test_each_channel_of_a_stereo_file_is_denoised_exactly_as_alone(model: str) -> None:
    """Two channels go through the CPU step side by side, row by row: each gets the very samples it
    would get as a mono file (the guard is off here: it starts when any channel is heard)."""
    stereo = np.stack([speech_like(1.5, 16000, 0), 0.3 * speech_like(1.5, 16000, 1)])

    def run(x: np.ndarray) -> np.ndarray:
        den = StreamingDenoiser(16000, x.shape[0] if x.ndim == 2 else 1, model=model, guard=False)
        return np.concatenate([den.feed(x), den.flush()], axis=-1)

    both = run(stereo)
    for c in range(2):
        np.testing.assert_array_equal(both[c], run(stereo[c]))


def test_a_relative_model_path_is_named_as_given(tmp_path, monkeypatch) -> None:
    # `--model ../m.tsae` was told as /abs/path/m.tsae, where the other commands name the path as the user gave it
    (tmp_path / "junk.tsae").write_bytes(b"junk!")
    work = tmp_path / "work"
    work.mkdir()
    sf.write(work / "x.wav", speech_like(0.5, 16000), 16000)
    monkeypatch.chdir(work)
    result = CliRunner().invoke(cli, ["denoise", "x.wav", "--model", "../junk.tsae", "-o", "y.wav", "-q"])
    assert result.exit_code == 1 and not (work / "y.wav").exists()
    assert result.output.startswith("Error: ../junk.tsae: "), result.output
    with pytest.raises(ValueError, match=r"^\.\./junk\.tsae: "):
        denoise(speech_like(0.5, 16000), 16000, model="../junk.tsae")


def test_a_model_that_is_a_folder_is_named_as_one(tmp_path) -> None:
    # before: "mdir: no such model file, nor a shipped model (denoiser, denoiser2)" for a folder that is there
    src = tmp_path / "in.wav"
    sf.write(src, np.zeros(1600, np.float32), 16000)
    (tmp_path / "mdir").mkdir()
    result = CliRunner().invoke(cli, ["denoise", str(src), "--model", str(tmp_path / "mdir"), "-q"])
    assert result.exit_code == 2 and f"{tmp_path / 'mdir'}: is a folder, not a model file" in result.output
    assert not (tmp_path / "in.denoised.wav").exists()


def test_resample_quality_is_taken_in_any_case_as_the_command_line_takes_it() -> None:
    # tsae.denoise(..., resample_quality="ld") was refused while `tsae denoise --resample-quality ld` worked
    x = np.random.default_rng(0).standard_normal(4800).astype(np.float32) * 0.1
    np.testing.assert_array_equal(tsae.denoise(x, 48000, resample_quality="ld"),
                                  tsae.denoise(x, 48000, resample_quality="LD"))
    assert StreamingDenoiser(48000, resample_quality=" hq").resample_quality == "HQ"
    with pytest.raises(ValueError, match=r"resample_quality must be LD, QQ, LQ, MQ, HQ or VHQ, got 'best'"):
        StreamingDenoiser(48000, resample_quality="best")
