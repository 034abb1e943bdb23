"""frame_file streams its input in blocks: the output equals framing the whole signal, memory stays bounded."""
from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.engine.framing import frame
from tsae.io.frames import frame_file
from tsae.io.series import read_signal


@pytest.fixture(scope="module")
def signals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(0)
    sf.write(folder / "stereo.wav", (0.1 * rng.standard_normal((3001, 2))).astype(np.float32), 8000, subtype="FLOAT")
    sf.write(folder / "mono.wav", (0.1 * rng.standard_normal(2999)).astype(np.float32), 8000, subtype="PCM_16")
    np.save(folder / "ints.npy", rng.integers(-100, 100, (2, 3, 1000)).astype(np.int16))
    np.save(folder / "floats.npy", rng.standard_normal(777))
    return folder


@pytest.mark.parametrize("name", ["stereo.wav", "mono.wav", "ints.npy", "floats.npy"])
@pytest.mark.parametrize("options", [{}, {"pad": True}, {"center": True}, {"center": True, "pad": True},
                                     {"window_fn": "hann", "pad": True}])
def test_blocks_smaller_than_the_file_give_the_batch_result(signals, tmp_path, name, options) -> None:
    signal, _ = read_signal(signals / name)
    expected = frame(signal, 64, 24, options.get("window_fn"), pad=options.get("pad", False),
                     center=options.get("center", False))
    saved = io.BytesIO()
    np.save(saved, expected)
    for block in (97, 1 << 20):
        out = tmp_path / f"{block}.npy"
        result = frame_file(signals / name, out, 64, 24, block=block, **options)
        assert result.shape == expected.shape
        assert out.read_bytes() == saved.getvalue()  # the very bytes np.save writes for the batch result


def test_memory_is_bounded_by_the_block_not_the_file(tmp_path) -> None:
    np.save(tmp_path / "long.npy", np.random.default_rng(1).standard_normal(1_000_000).astype(np.float32))
    tracemalloc.start()
    try:
        frame_file(tmp_path / "long.npy", tmp_path / "frames.npy", 64, 64, block=1 << 14)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.load(tmp_path / "frames.npy", mmap_mode="r").shape == (15625, 64)
    assert peak < 1_000_000  # the signal is 4 MB and its frames 4 MB; a block is 64 KB


def test_too_short_signal_is_one_line_naming_the_file(signals, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"floats\.npy: 777 sample\(s\), fewer than one frame of 1000: "):
        frame_file(signals / "floats.npy", tmp_path / "f.npy", 1000, 10)
    assert list(tmp_path.iterdir()) == []


def test_values_beyond_float32_are_refused_not_written_as_infinite(tmp_path) -> None:
    x = np.random.default_rng(4).standard_normal(3000)
    x[2500] = 1e300  # in the last block: frames already framed are not left behind either
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(ValueError, match=r"x\.npy: values up to 1e\+300 are beyond float32's range"):
        frame_file(tmp_path / "x.npy", tmp_path / "f.npy", 64, 32, block=1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]
    x[2500] = np.inf  # an infinite sample stays one, as NaN stays NaN
    np.save(tmp_path / "x.npy", x)
    assert np.isinf(np.load(frame_file(tmp_path / "x.npy", tmp_path / "f.npy", 64, 32).path)).any()


def test_frames_many_times_the_signal_come_in_shorter_blocks(tmp_path, monkeypatch) -> None:
    from tsae.engine import streaming

    x = np.random.default_rng(3).standard_normal((2, 900)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    monkeypatch.setattr(streaming, "FRAME_BYTES", 4 * 2 * 64 * 50)  # frames of 50 samples a block (hop 1)
    pushed = []
    push = streaming.StreamFramer.push
    monkeypatch.setattr(streaming.StreamFramer, "push", lambda self, part: pushed.append(part.shape[-1]) or
                        push(self, part))
    frame_file(tmp_path / "x.npy", tmp_path / "f.npy", 64, 1, pad=True)
    assert max(pushed) == 50
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), frame(x, 64, 1, pad=True))


def test_frames_larger_than_the_free_space_and_non_numbers_are_refused(tmp_path, monkeypatch) -> None:
    import shutil
    from collections import namedtuple

    np.save(tmp_path / "x.npy", np.zeros((1, 1000), np.float32))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**40, 2**40 - 2**16, 2**16))  # 64 KiB free
    with pytest.raises(ValueError, match=r"f\.npy: the frames take .* GiB, more than the .* GiB free there"):
        frame_file(tmp_path / "x.npy", tmp_path / "f.npy", 512, 1)
    assert not (tmp_path / "f.npy").exists()
    np.save(tmp_path / "b.npy", np.zeros((1, 100), bool))
    with pytest.raises(ValueError, match=r"b\.npy: holds bool values; frames are cut from real numbers"):
        frame_file(tmp_path / "b.npy", tmp_path / "g.npy", 8, 4)


@pytest.mark.parametrize("name", ["sensors.csv", "sensors.csv.gz", "one.tsv"])
def test_a_table_is_framed_one_column_per_channel(tmp_path, name) -> None:
    # 'tsae frame pump.csv' was "not a readable audio file": every other command reads tables
    import gzip

    from click.testing import CliRunner

    from tsae.cli import cli

    rng = np.random.default_rng(1)
    columns = 1 if name == "one.tsv" else 3
    values = rng.standard_normal((columns, 300)).round(4)
    values[0, 17] = np.nan
    sep = "\t" if name.endswith(".tsv") else ","
    lines = [sep.join(["time", *(f"s{j}" for j in range(columns)), "label"])]
    lines += [sep.join([f"{i * 60}", *("" if np.isnan(v) else f"{v}" for v in values[:, i]), "0"]) for i in range(300)]
    text = "\n".join(lines) + "\n"
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    result = CliRunner().invoke(cli, ["frame", str(path), "--window", "32", "--hop", "8"])
    assert result.exit_code == 0, result.output
    assert "at 0.0166667 Hz" in result.output  # a sample a minute, not "0 Hz"
    out = tmp_path / (name.split(".")[0] + ".frames.npy")  # sensors.csv.gz -> sensors.frames.npy
    signal = values[0] if columns == 1 else values
    np.testing.assert_array_equal(np.load(out), frame(signal.astype(np.float32), 32, 8))


@pytest.mark.parametrize("shape", [(0, 100), (0, 5, 100), (3, 0, 100)])
def test_an_array_with_no_channels_is_one_line_naming_the_file(tmp_path, shape) -> None:
    # (0, 100) divided by zero when sizing the blocks: a traceback
    src = tmp_path / "empty.npy"
    np.save(src, np.zeros(shape, np.float32))
    with pytest.raises(ValueError, match=r"empty\.npy: an array of shape .* has no channels to frame"):
        frame_file(src, tmp_path / "f.npy", 16, 8)
    assert not (tmp_path / "f.npy").exists()


def test_a_samples_by_channels_array_is_told_to_be_transposed(tmp_path) -> None:
    src = tmp_path / "tall.npy"
    np.save(src, np.zeros((2000, 2), np.float32))
    with pytest.raises(ValueError, match=r"tall\.npy: 2 sample\(s\), fewer than one frame of 16: .* "
                                         r"transposed \(x\.T, shape \(2, 2000"):
        frame_file(src, tmp_path / "f.npy", 16, 8)


def test_a_window_too_long_to_allocate_names_a_file(tmp_path) -> None:
    # the taper was allocated before the output was sized: "a window of shape (10**12,) would take ..." and no file
    src = tmp_path / "x.npy"
    np.save(src, np.zeros(100, np.float32))
    with pytest.raises((ValueError, MemoryError), match=r"f\.npy: the frames take .* GiB|x\.npy: a window"):
        frame_file(src, tmp_path / "f.npy", 10**12, 1, pad=True)


@pytest.mark.parametrize("pad", [False, True])
@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_an_empty_array_is_refused_as_empty_audio_and_tables_are(tmp_path, pad, shape) -> None:
    # with --pad it wrote a (0, 16) array, exit 0; without, 'length=16 is larger than the signal (n=0 samples)'
    src = tmp_path / "empty.npy"
    np.save(src, np.zeros(shape))
    result = CliRunner().invoke(cli, ["frame", str(src), "--window", "16", "-o", str(tmp_path / "f.npy"),
                                      *(["--pad"] if pad else [])])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {src}: no samples to frame (an array of shape {shape})"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.npy"]


def test_a_signal_shorter_than_a_frame_is_told_in_the_commands_words(tmp_path) -> None:
    src = tmp_path / "short.npy"
    np.save(src, np.arange(100.0))
    result = CliRunner().invoke(cli, ["frame", str(src), "--window", "200", "--hop", "10"])
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: {src}: 100 sample(s), fewer than one frame of 200: zero-pad the tail "
                                     "(--pad) or use a shorter window")
    result = CliRunner().invoke(cli, ["frame", str(src), "--window", "200", "--pad"])
    assert result.exit_code == 0 and "1 frame of 200 samples, shape (1, 200)" in result.output, result.output


@pytest.mark.parametrize("center", [False, True])
def test_a_progress_bar_is_told_the_samples_and_each_block(signals, tmp_path, center) -> None:
    # tsae frame showed no bar on a long file (30 M samples); its bar counts the signal's samples, not the padding
    class Recorder:
        def __init__(self) -> None:
            self.total, self.done = None, []

        def size(self, total: int) -> None:
            self.total = total

        def update(self, done: int) -> None:
            self.done.append(done)

    bar = Recorder()
    frame_file(signals / "stereo.wav", tmp_path / "f.npy", 64, 16, center=center, block=500, progress=bar)
    assert bar.total == 3001 and sum(bar.done) == 3001 and len(bar.done) > 1


def test_one_long_padded_frame_is_written_without_a_copy(tmp_path) -> None:
    """--window 10**8 --pad on a short file peaked at three times the frame (taper, frame, and its bytes)."""
    np.save(tmp_path / "short.npy", np.ones(100, np.float32))
    length = 4_000_000  # 16 MB of float32
    frame_file(tmp_path / "short.npy", tmp_path / "warm.npy", 1000, 1, pad=True)  # the kernel compiled, not counted
    tracemalloc.start()
    try:
        frame_file(tmp_path / "short.npy", tmp_path / "frames.npy", length, 1, pad=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    frames = np.load(tmp_path / "frames.npy", mmap_mode="r")
    assert frames.shape == (1, length) and frames[0, :100].min() == 1 and not frames[0, 100:].any()
    assert peak < 2.5 * 4 * length  # the taper and the frame; it was 3x


def test_a_frame_too_large_for_memory_names_the_file(tmp_path, monkeypatch) -> None:
    """It said only 'Error: not enough memory (MemoryError)'."""
    from tsae.engine.streaming import StreamFramer

    def no_room(self):
        raise MemoryError("Unable to allocate 3.73 GiB for an array")

    monkeypatch.setattr(StreamFramer, "flush", no_room)
    np.save(tmp_path / "x.npy", np.ones(100, np.float32))
    result = CliRunner().invoke(cli, ["frame", str(tmp_path / "x.npy"), "--window", "1000", "--pad",
                                      "-o", str(tmp_path / "f.npy")])
    assert result.exit_code == 1 and not (tmp_path / "f.npy").exists()
    assert result.output.strip() == (f"Error: {tmp_path / 'x.npy'}: not enough memory to cut frames of 1000 samples "
                                     "from it (Unable to allocate 3.73 GiB for an array)")


@pytest.mark.parametrize("name", ["stereo.wav", "ints.npy", "floats.npy"])
@pytest.mark.parametrize("options", [{}, {"pad": True}, {"center": True}, {"center": True, "pad": True},
                                     {"window_fn": "hann", "pad": True},
                                     {"window_fn": "flattop", "center": True, "pad": True}])
@pytest.mark.parametrize(("length", "hop"), [(64, 24), (50, 70), (1000, 3)])
def test_frames_written_a_block_of_samples_at_a_time_are_the_batch_result(signals, tmp_path, monkeypatch, name,
                                                                          options, length, hop) -> None:
    """Frames too long to hold are written piece by piece (flattop: its padding is -0.0 where it is negative)."""
    from tsae.io import frames

    monkeypatch.setattr(frames, "LONG_FRAME", 0, raising=False)
    signal, _ = read_signal(signals / name)
    if signal.shape[-1] < length and not options.get("pad"):
        options = {**options, "pad": True}
    expected = frame(signal, length, hop, options.get("window_fn"), pad=options.get("pad", False),
                     center=options.get("center", False))
    saved = io.BytesIO()
    np.save(saved, expected)
    for block in (37, 1 << 20):
        out = tmp_path / f"{block}.npy"
        frame_file(signals / name, out, length, hop, block=block, **options)
        assert out.read_bytes() == saved.getvalue()


def test_a_long_frame_holds_a_block_not_the_frame(tmp_path, monkeypatch) -> None:
    """--window 10**9 --pad on 1,000 samples took 17 GB for a 4 GB frame: a window of ones and the frame, held."""
    from tsae.io import frames

    monkeypatch.setattr(frames, "LONG_FRAME", 1 << 20, raising=False)
    x = np.random.default_rng(5).standard_normal((2, 1000)).astype(np.float32)
    np.save(tmp_path / "short.npy", x)
    length = 2_000_000  # 8 MB of float32 a channel
    frame_file(tmp_path / "short.npy", tmp_path / "warm.npy", 64, 16, pad=True)  # kernels compiled, not counted
    for center in (False, True):
        tracemalloc.start()
        try:
            frame_file(tmp_path / "short.npy", tmp_path / "frames.npy", length, 400, pad=True, center=center,
                       block=1 << 14)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1_000_000  # a frame is 16 MB (centred: 4 of them)
        frames_out = np.load(tmp_path / "frames.npy", mmap_mode="r")
        start = length // 2 if center else 0
        np.testing.assert_array_equal(frames_out[:, 0, start: start + 1000], x)
        assert not frames_out[:, -1, -1000:].any()


def test_a_named_window_the_memory_cannot_make_is_refused_before_work(tmp_path, monkeypatch) -> None:
    """A scipy window of 10**9 samples takes some 30 GB to make: told in one line, nothing written."""
    from tsae.errors import NamedMemoryError
    from tsae.models import device

    np.save(tmp_path / "x.npy", np.ones(100, np.float32))
    monkeypatch.setattr(device, "free_memory", lambda kind="cpu": 1 << 20)
    with pytest.raises(NamedMemoryError, match=r"x\.npy: a hann window of 100000 samples takes about 0\.00335 GiB "
                                               r"of memory to make, but 0\.000977 GiB is free: use a shorter window"):
        frame_file(tmp_path / "x.npy", tmp_path / "f.npy", 100_000, 10, window_fn="hann", pad=True)
    with pytest.raises(ValueError, match="not a window scipy"):  # an unknown window is told as such
        frame_file(tmp_path / "x.npy", tmp_path / "f.npy", 100_000, 10, window_fn="nosuch", pad=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]
    frame_file(tmp_path / "x.npy", tmp_path / "f.npy", 100_000, 10, pad=True)  # no window: nothing to make


def test_centring_zeros_are_pushed_a_block_at_a_time(tmp_path, monkeypatch) -> None:
    """The length // 2 zeros of centring were one push, whose frames were all held at once (4 GB for
    --window 10**8 --center on 1,000 samples)."""
    from tsae.engine import streaming

    x = np.random.default_rng(6).standard_normal(300).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    pushed = []
    push = streaming.StreamFramer.push
    monkeypatch.setattr(streaming.StreamFramer, "push", lambda self, part: pushed.append(part.shape[-1]) or
                        push(self, part))
    frame_file(tmp_path / "x.npy", tmp_path / "f.npy", 1000, 10, center=True, pad=True, block=64)
    assert max(pushed) <= 64 and sum(pushed) == 300 + 2 * 500
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), frame(x, 1000, 10, center=True, pad=True))
