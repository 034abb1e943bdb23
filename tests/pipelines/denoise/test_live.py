"""``tsae denoise --live`` and ``tsae devices`` with a fake sound card (a loopback callback): no hardware in CI."""
from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.io.sound_library import MISSING_PACKAGE
from tsae.pipelines.denoise import live as live_mod
from tsae.pipelines.denoise.denoiser import StreamingDenoiser
from tsae.pipelines.denoise.live import run_live

RATE = 48000


def microphone(seconds: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)[None]


class FakeStream:
    """A duplex stream that plays ``signal`` into the callback block by block and records what comes out.

    ``overflow_at`` marks one block with the input-overflow flag a real card sets.
    """

    latency = (0.004, 0.006)
    made: list[FakeStream] = []

    def __init__(self, signal: np.ndarray, overflow_at: int = -1, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.signal, self.overflow_at, self.kwargs = signal, overflow_at, kwargs
        self.played: list[np.ndarray] = []
        FakeStream.made.append(self)

    def __enter__(self) -> FakeStream:
        block, callback = self.kwargs["blocksize"], self.kwargs["callback"]
        for k, i in enumerate(range(0, self.signal.shape[1] - block + 1, block)):
            out = np.full((block, self.signal.shape[0]), np.nan, np.float32)
            status = SimpleNamespace(input_overflow=k == self.overflow_at, output_underflow=False)
            callback(self.signal[:, i: i + block].T.copy(), out, block, None, status)
            self.played.append(out.T.copy())
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        return None


def test_loopback_output_is_the_streaming_denoiser_delayed_by_the_reported_latency() -> None:
    x = microphone()
    stream: dict = {}

    def factory(**kwargs):  # type: ignore[no-untyped-def]
        stream["s"] = FakeStream(x, overflow_at=7, **kwargs)
        return stream["s"]

    reports = []
    report = run_live(sample_rate=RATE, duration=0.01, stream_factory=factory, on_status=reports.append)
    played = np.concatenate(stream["s"].played, axis=1)
    assert played.shape == x.shape and np.all(np.isfinite(played))
    assert stream["s"].kwargs["blocksize"] == 480 and stream["s"].kwargs["samplerate"] == RATE
    den = StreamingDenoiser(RATE, 1, resample_quality="LD")  # live's default: the low-delay resampler
    expected = np.concatenate([den.feed(x), den.flush()], axis=1)
    warm = report.warmup_frames
    assert 0 < warm < 0.2 * RATE
    np.testing.assert_array_equal(played[:, :warm], 0.0)
    np.testing.assert_array_equal(played[:, warm:], expected[:, : x.shape[1] - warm])
    # the card's own latency is added; the overflow flag of one block is one dropout
    assert report.latency == pytest.approx(warm / RATE + 0.010)
    assert report.dropouts == 1 and report.frames == x.shape[1]
    assert reports and "1 dropout(s)" in reports[-1].summary()


def test_live_audio_resamples_with_the_low_delay_resampler_and_waits_less() -> None:
    live = live_mod.LiveDenoiser(RATE, 1, 480)
    assert live.denoiser.resample_quality == "LD"
    soxr_lq = live_mod.LiveDenoiser(RATE, 1, 480, resample_quality="LQ")
    assert live.report.warmup_frames + 0.020 * RATE <= soxr_lq.report.warmup_frames  # 79 ms against 105 ms
    assert live.report.warmup_frames <= (live.denoiser.latency + 0.010) * RATE  # its lag and one block
    assert StreamingDenoiser(RATE).resample_quality == "HQ"  # files and pipes keep soxr's HQ
    assert live_mod.LiveDenoiser(47999, 1, 480).denoiser.resample_quality == "LQ"  # a ratio LD cannot do
    with pytest.raises(ValueError, match=r"^a low-delay resampler from 47999 to 16000 Hz needs"):
        live_mod.LiveDenoiser(47999, 1, 480, resample_quality="LD")


@pytest.mark.parametrize("rate", [RATE, 47999], ids=["low-delay", "falls back to LQ"])
def test_live_audio_builds_its_denoiser_once(monkeypatch, rate) -> None:
    """At a rate the low-delay resampler cannot do (47999 Hz) the denoiser was built with "LD", refused, then built
    again with "LQ"."""
    built = []

    class Counted(StreamingDenoiser):
        def __init__(self, *args, **kwargs) -> None:
            built.append(kwargs.get("resample_quality"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(live_mod, "StreamingDenoiser", Counted)
    live = live_mod.LiveDenoiser(rate, 1, 480)
    assert built == [live.denoiser.resample_quality] == ["LD" if rate == RATE else "LQ"]


def test_starved_output_blocks_are_counted_as_dropouts() -> None:
    block = 160
    live = live_mod.LiveDenoiser(16000, 1, block)
    x = microphone(0.2)[:, ::3].copy()
    for i in range(0, x.shape[1] - block + 1, block):
        out = np.zeros((block, 1), np.float32)
        live.callback(x[:, i: i + block].T, out, block, None, None)
    assert live.report.dropouts == 0
    # the computer falls behind: nothing new comes out; the queue's margin lasts a few blocks, then runs dry
    live.denoiser.feed = lambda chunk: np.zeros((1, 0), np.float32)  # type: ignore[method-assign]
    margin_blocks = live.report.warmup_frames // block
    for _ in range(margin_blocks + 3):
        live.callback(np.zeros((block, 1), np.float32), np.zeros((block, 1), np.float32), block, None, None)
    assert live.report.dropouts >= 3


@pytest.fixture()
def fake_sounddevice(monkeypatch):
    x = microphone(0.2)
    module = SimpleNamespace(
        Stream=lambda **kwargs: FakeStream(x, **kwargs),
        query_devices=lambda *args: ({"default_samplerate": RATE} if args else [
            {"name": "Fake Mic", "hostapi": 0, "max_input_channels": 1, "max_output_channels": 0,
             "default_samplerate": 48000.0},
            {"name": "Fake Speaker", "hostapi": 0, "max_input_channels": 0, "max_output_channels": 2,
             "default_samplerate": 44100.0}]),
        query_hostapis=lambda: [{"name": "ALSA"}],
    )
    monkeypatch.setattr(live_mod, "_sounddevice", lambda: module)
    monkeypatch.setitem(sys.modules, "sounddevice", module)  # installed, as far as the CLI's first check can tell
    FakeStream.made.clear()
    return module


def test_cli_devices_and_live(fake_sounddevice) -> None:
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 0, result.output
    assert "  0  Fake Mic  (ALSA, 1 in, 0 out, 48000 Hz)" in result.output and "Fake Speaker" in result.output
    result = CliRunner().invoke(cli, ["denoise", "--live", "--input-device", "0", "--output-device", "Fake",
                                      "--duration", "0.01"])
    assert result.exit_code == 0, result.output
    assert "0 dropout(s)" in result.stderr and "ms end to end" in result.stderr
    assert FakeStream.made[-1].kwargs["device"] == (0, "Fake")


def test_missing_portaudio_is_one_line(monkeypatch) -> None:
    def missing():  # type: ignore[no-untyped-def]
        raise RuntimeError(MISSING_PACKAGE)

    monkeypatch.setattr(live_mod, "_sounddevice", missing)
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "tsae[live]" in result.output


def test_devices_on_a_machine_without_sound_devices_says_so(fake_sounddevice, monkeypatch) -> None:
    monkeypatch.setattr(fake_sounddevice, "query_devices", lambda *args: [])
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 1
    assert result.output == ("Error: live audio: PortAudio finds no sound device (no sound card, or no sound "
                             "server this user can reach)\n")


@pytest.mark.parametrize(("extra", "named"), [(["-o", "x.wav"], "--output does not apply with --live"),
                                              (["--raw", "--batch", "4"], "--raw, --batch do not apply with --live")])
def test_live_refuses_the_options_it_would_ignore(extra, named, tmp_path, monkeypatch) -> None:
    # before: tsae denoise --live -o x.wav played to the speakers and wrote no x.wav, saying nothing of it
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["denoise", "--live", *extra])
    assert result.exit_code == 2 and named in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_live_takes_the_resampler_asked_for(fake_sounddevice, monkeypatch) -> None:
    built = []

    class Recorded(live_mod.StreamingDenoiser):  # type: ignore[misc,name-defined]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            built.append(self.resample_quality)

    monkeypatch.setattr(live_mod, "StreamingDenoiser", Recorded)
    for extra, quality in (([], "LD"), (["--resample-quality", "HQ"], "HQ")):
        result = CliRunner().invoke(cli, ["denoise", "--live", "--duration", "0.01", "-q", *extra])
        assert result.exit_code == 0, result.output
        assert built[-1] == quality
