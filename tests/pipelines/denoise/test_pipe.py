"""``tsae denoise - -o -``: audio on pipes equals file mode; bad or cut streams end cleanly."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.io.audio_stream import AudioStreamReader, decode, encode, raw_format, read_wav_header
from tsae.pipelines.denoise.pipe import RawSpec, denoise_stream


def noisy(seconds: float, sr: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return (tone + 0.05 * rng.standard_normal((channels, len(t)))).astype(np.float32)


class Trickle(io.RawIOBase):
    """A pipe that hands out at most ``piece`` bytes per read (like a slow producer)."""

    def __init__(self, data: bytes, piece: int = 777) -> None:
        self.data, self.pos, self.piece = data, 0, piece

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.piece, len(self.data) - self.pos)
        buffer[:n] = self.data[self.pos: self.pos + n]
        self.pos += n
        return n


def pipe(data: bytes, piece: int = 777) -> io.BufferedReader:
    return io.BufferedReader(Trickle(data, piece))


class Unseekable(io.BytesIO):
    def seekable(self) -> bool:
        return False


@pytest.fixture(scope="module")
def wav_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pipe") / "in.wav"
    sf.write(path, noisy(1.0, 16000, 2).T, 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def file_mode(wav_file, tmp_path_factory):
    """What ``tsae denoise in.wav -o out.wav`` writes (int16 samples)."""
    out = tmp_path_factory.mktemp("pipe") / "out.wav"
    result = CliRunner().invoke(cli, ["denoise", str(wav_file), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return sf.read(out, dtype="int16", always_2d=True)[0]


def test_wav_pipe_equals_file_mode(wav_file, file_mode) -> None:
    result = CliRunner().invoke(cli, ["denoise", "-", "-q"], input=wav_file.read_bytes())
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    fmt, size = read_wav_header(io.BytesIO(data))  # the test's stdout can seek: real sizes
    assert (fmt.sample_rate, fmt.channels, fmt.subtype, size) == (16000, 2, "PCM_16", 4 * 16000)
    samples = np.frombuffer(data[44:], "<i2").reshape(-1, 2)
    np.testing.assert_array_equal(samples, file_mode)


def test_file_to_stdout_and_stdin_to_file_equal_file_mode(wav_file, file_mode, tmp_path) -> None:
    result = CliRunner().invoke(cli, ["denoise", str(wav_file), "-o", "-", "-q"])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.frombuffer(result.stdout_bytes[44:], "<i2").reshape(-1, 2), file_mode)
    out = tmp_path / "from_stdin.wav"
    result = CliRunner().invoke(cli, ["denoise", "-", "-o", str(out), "-q"], input=wav_file.read_bytes())
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(sf.read(out, dtype="int16")[0], file_mode)


def test_raw_pipe_equals_file_mode_in_trickled_blocks(wav_file, file_mode) -> None:
    pcm = sf.read(wav_file, dtype="int16")[0].astype("<i2").tobytes()
    out = io.BytesIO()
    frames = denoise_stream("-", "-", stdin=pipe(pcm), stdout=out, raw=RawSpec(16000, 2, "s16"))
    assert frames == len(file_mode)
    np.testing.assert_array_equal(np.frombuffer(out.getvalue(), "<i2").reshape(-1, 2), file_mode)


def test_float_raw_pipe_at_48k_equals_file_mode(tmp_path) -> None:
    x = noisy(0.5, 48000, 1, seed=3)
    src = tmp_path / "f.wav"
    sf.write(src, x.T, 48000, subtype="FLOAT")
    assert CliRunner().invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "o.wav"), "-q"]).exit_code == 0
    expected = sf.read(tmp_path / "o.wav", dtype="float32")[0]
    result = CliRunner().invoke(cli, ["denoise", "-", "--raw", "--rate", "48000", "--channels", "1",
                                      "--format", "f32", "-q"], input=x.astype("<f4").tobytes())
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.frombuffer(result.stdout_bytes, "<f4"), expected)


def test_a_pipe_takes_as_many_channels_as_a_file(tmp_path) -> None:
    x = (0.05 * np.random.default_rng(7).standard_normal((300, 1600))).astype(np.float32)  # 300 > 256
    src, out = tmp_path / "many.wav", tmp_path / "many_out.wav"
    sf.write(src, x.T, 16000, subtype="FLOAT")
    assert CliRunner().invoke(cli, ["denoise", str(src), "-o", str(out), "-q"]).exit_code == 0
    result = CliRunner().invoke(cli, ["denoise", "-", "-q"], input=src.read_bytes())
    assert result.exit_code == 0, result.output
    piped = sf.read(io.BytesIO(result.stdout_bytes), dtype="float32")[0]
    np.testing.assert_array_equal(piped, sf.read(out, dtype="float32")[0])


def test_pipe_output_header_announces_no_length_it_cannot_be_sure_of(wav_file, file_mode) -> None:
    # a WAV in with its length: the stream may still end early, and a pipe cannot seek back to correct a
    # header, so the output announces no length (the streaming header), as the README says
    out = Unseekable()
    denoise_stream("-", "-", stdin=pipe(wav_file.read_bytes()), stdout=out)
    data = out.getvalue()
    assert read_wav_header(io.BytesIO(data))[1] is None
    np.testing.assert_array_equal(np.frombuffer(data[44:], "<i2").reshape(-1, 2), file_mode)
    # a WAV of unknown length in (as ffmpeg and sox write to pipes): the streaming header out
    streamed = bytearray(wav_file.read_bytes())
    streamed[4:8] = streamed[40:44] = b"\xff\xff\xff\xff"
    out = Unseekable()
    denoise_stream("-", "-", stdin=pipe(bytes(streamed)), stdout=out)
    data = out.getvalue()
    assert data[4:8] == b"\xff\xff\xff\xff" and data[40:44] == b"\xff\xff\xff\xff"
    np.testing.assert_array_equal(np.frombuffer(data[44:], "<i2").reshape(-1, 2), file_mode)


def test_seekable_output_gets_real_sizes(wav_file, tmp_path) -> None:
    out_path = tmp_path / "seek.wav"
    with out_path.open("wb") as out:
        denoise_stream("-", "-", stdin=pipe(wav_file.read_bytes()), stdout=out)
    info = sf.info(out_path)
    assert (info.frames, info.channels, info.samplerate) == (16000, 2, 16000)
    assert out_path.read_bytes()[4:8] != b"\xff\xff\xff\xff"


def test_stdin_closed_early_gives_one_line_and_valid_truncated_wav(wav_file, file_mode) -> None:
    cut = wav_file.read_bytes()[: 44 + 4 * 6000 + 3]  # 6000 frames and a stray byte
    result = CliRunner().invoke(cli, ["denoise", "-", "-q"], input=cut)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "stdin: stream ended inside a sample frame" in result.stderr
    samples = np.frombuffer(result.stdout_bytes[44:], "<i2").reshape(-1, 2)
    assert samples.shape == (6000, 2)
    # the first samples are final before the cut: they equal the full file's
    np.testing.assert_array_equal(samples[:5000], file_mode[:5000])
    # on a real pipe (no seeking back) the header keeps the input's announced length: readers take what is there
    out = Unseekable()
    with pytest.raises(ValueError, match="inside a sample frame"):
        denoise_stream("-", "-", stdin=pipe(cut), stdout=out)
    read, rate = sf.read(io.BytesIO(out.getvalue()), dtype="int16")
    assert rate == 16000 and read.shape == (6000, 2)
    np.testing.assert_array_equal(read, samples)


def test_declared_size_not_reached_is_reported(wav_file) -> None:
    data = wav_file.read_bytes()[: 44 + 4 * 1000]  # whole frames, but the header announces 16000
    with pytest.raises(ValueError, match="stream ended early after 1000 sample frames"):
        denoise_stream("-", "-", stdin=pipe(data), stdout=io.BytesIO())


@pytest.mark.parametrize("garbage", [b"", b"hello, this is not audio at all" * 3,
                                     b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\x07" * 16])
def test_garbage_on_stdin_one_line_no_output(garbage: bytes) -> None:
    result = CliRunner().invoke(cli, ["denoise", "-", "-q"], input=garbage)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: stdin: ") and result.stderr.count("\n") == 1
    assert result.stdout_bytes == b""


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 1e38-sized garbage overflows inside the model
def test_raw_garbage_is_just_samples_and_nan_floats_are_survived() -> None:
    junk = np.random.default_rng(0).integers(0, 256, 4 * 3001, dtype=np.uint8).tobytes()  # NaNs and infs
    out = io.BytesIO()
    denoise_stream("-", "-", stdin=pipe(junk), stdout=out, raw=RawSpec(16000, 1, "f32"))
    y = np.frombuffer(out.getvalue(), "<f4")
    assert len(y) == 3001 and np.all(np.isfinite(y))


class ClosedPipe(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def]
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_stdout_exits_quietly(wav_file) -> None:
    from tsae.cli.pipes import quiet_broken_pipe

    with pytest.raises(BrokenPipeError):
        denoise_stream("-", "-", stdin=pipe(wav_file.read_bytes()), stdout=ClosedPipe())  # type: ignore[arg-type]
    import click

    with pytest.raises(click.exceptions.Exit) as stop, quiet_broken_pipe():
        raise BrokenPipeError
    assert stop.value.exit_code == 0


def test_wav_header_variants_roundtrip() -> None:
    x = noisy(0.01, 8000, 3)
    for name in ("s16", "s24", "s32", "f32"):
        fmt = raw_format(8000, 3, name)
        y = decode(encode(x, fmt), fmt)
        assert y.shape == x.shape and np.abs(y - x).max() < 1e-4
    # an extensible header with a LIST chunk before the data, as ffmpeg and sox write
    buf = io.BytesIO()
    sf.write(buf, x.T, 8000, format="WAV", subtype="PCM_24")
    fmt, size = read_wav_header(io.BytesIO(buf.getvalue()))
    assert (fmt.channels, fmt.subtype, size) == (3, "PCM_24", 3 * 3 * x.shape[1])
    reader = AudioStreamReader.wav(pipe(buf.getvalue(), 5))
    got = np.concatenate(list(reader.blocks(7)), axis=1)
    np.testing.assert_array_equal(got, sf.read(io.BytesIO(buf.getvalue()), dtype="float32")[0].T)
    assert reader.problem is None


def test_pipe_usage_errors(wav_file) -> None:
    result = CliRunner().invoke(cli, ["denoise", "-", "--raw", "--rate", "16000"], input=b"")
    assert result.exit_code == 2 and "--raw needs --rate and --channels" in result.output
    result = CliRunner().invoke(cli, ["denoise", "-", str(wav_file)], input=b"")
    assert result.exit_code == 2 and "exactly one input" in result.output


@pytest.mark.slow
def test_real_pipe_closed_by_reader_exits_quietly(tmp_path) -> None:
    """``tsae denoise - < in.wav | head -c 100``: status 0, nothing on stderr."""
    import subprocess
    import sys

    long_wav = tmp_path / "long.wav"  # 256 kB of output: more than a pipe buffer, so the writer meets EPIPE
    sf.write(long_wav, noisy(4.0, 16000, 2).T, 16000, subtype="PCM_16")
    with long_wav.open("rb") as stdin:
        proc = subprocess.Popen([sys.executable, "-m", "tsae", "denoise", "-", "-q"], stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        head = proc.stdout.read(100)
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0
    assert head[:4] == b"RIFF" and err == b""


def test_terminal_instead_of_a_pipe_is_a_usage_error(wav_file, monkeypatch) -> None:
    from types import SimpleNamespace

    import tsae.cli.pipes as pipes

    tty = SimpleNamespace(isatty=lambda: True)
    monkeypatch.setattr(pipes, "sys", SimpleNamespace(stdin=tty, stdout=tty))
    result = CliRunner().invoke(cli, ["denoise", "-"])
    assert result.exit_code == 2 and "stdin, which is a terminal" in result.output
    result = CliRunner().invoke(cli, ["denoise", str(wav_file), "-o", "-"])
    assert result.exit_code == 2 and "stdout, which is a terminal" in result.output


def test_stdin_redirected_from_the_output_file_is_refused(tmp_path) -> None:
    """``tsae denoise - -o in.wav < in.wav``: one line, status 1, the file untouched."""
    import subprocess
    import sys

    path = tmp_path / "in.wav"
    sf.write(path, noisy(0.5, 16000, 1).T, 16000, subtype="PCM_16")
    before = path.read_bytes()
    with path.open("rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "tsae", "denoise", "-", "-o", str(path), "-q"], stdin=stdin,
                              capture_output=True, timeout=120)
    assert proc.returncode == 1
    expected = f"Error: {path}: refusing to overwrite the input file (stdin is read from it)"
    assert proc.stderr.decode().strip() == expected
    assert path.read_bytes() == before


def test_a_rate_the_denoiser_refuses_is_one_line_naming_the_input(tmp_path) -> None:
    # before: "Error: sample_rate must be within [4000, 768000] Hz, got 1", naming neither stdin nor the file
    # (file mode names it)
    path = tmp_path / "slow.wav"
    sf.write(path, noisy(0.01, 16000, 1).T, 1, subtype="PCM_16")
    result = CliRunner().invoke(cli, ["denoise", "-", "-q"], input=path.read_bytes())
    assert result.exit_code == 1 and result.stdout_bytes == b""
    assert result.stderr == "Error: stdin: sample_rate must be within [4000, 768000] Hz, got 1\n"
    with pytest.raises(ValueError, match=f"^{path}: sample_rate must be within"):
        denoise_stream(path, "-", stdout=io.BytesIO())
    with pytest.raises(ValueError, match="^stdin: sample_rate must be within"):
        denoise_stream("-", "-", stdin=pipe(b""), stdout=io.BytesIO(), raw=RawSpec(1, 1))


def test_a_file_corrupt_in_the_middle_to_stdout_is_finished_with_the_samples_there(tmp_path) -> None:
    # before: the error left the stream unfinished: no denoiser tail, and a header announcing the file's whole
    # length (16000 frames) over the 3840 that came, also on a stdout that can seek (> out.wav)
    path = tmp_path / "cut.flac"
    sf.write(path, noisy(1.0, 16000, 1).T, 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    arrived = 0
    with sf.SoundFile(path) as f, pytest.raises(sf.LibsndfileError):  # what libsndfile decodes before losing sync,
        while block := len(f.read(320)):  # read in the pipe's blocks of 20 ms (a read that meets the cut gives none)
            arrived += block
    out = io.BytesIO()
    with pytest.raises(ValueError, match=f"^{path}: truncated or damaged FLAC file"):
        denoise_stream(path, "-", stdout=out)
    data = out.getvalue()
    assert int.from_bytes(data[40:44], "little") == len(data) - 44 == 2 * arrived
    assert sf.read(io.BytesIO(data), dtype="int16")[0].shape == (arrived,)
    # to a file, as file mode: no output at all
    with pytest.raises(ValueError, match="truncated or damaged FLAC file"):
        denoise_stream(path, tmp_path / "out.wav", raw=RawSpec(16000, 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.flac"]


def test_stdout_appended_to_the_input_file_is_refused(tmp_path) -> None:
    """``tsae denoise in.wav -o - >> in.wav`` and ``tsae denoise - < in.wav >> in.wav``: one line, status 1, the
    file untouched."""
    # before: two WAV headers were appended to in.wav, which libsndfile then could not open; from stdin, a streamed
    # WAV read its own output, growing the file until the disk was full
    import subprocess
    import sys

    path = tmp_path / "in.wav"
    sf.write(path, noisy(0.5, 16000, 1).T, 16000, subtype="PCM_16")
    before = path.read_bytes()
    with path.open("ab") as stdout:
        proc = subprocess.run([sys.executable, "-m", "tsae", "denoise", str(path), "-o", "-", "-q"], stdout=stdout,
                              stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.decode().strip() == f"Error: {path}: refusing to overwrite the input file (stdout goes to it)"
    assert path.read_bytes() == before
    streamed = bytearray(before)
    streamed[4:8] = streamed[40:44] = b"\xff\xff\xff\xff"  # as sox and ffmpeg write to a pipe
    path.write_bytes(bytes(streamed))
    with path.open("rb") as stdin, path.open("ab") as stdout:
        proc = subprocess.run([sys.executable, "-m", "tsae", "denoise", "-", "-q"], stdin=stdin, stdout=stdout,
                              stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 1
    expected = "Error: stdin: refusing to overwrite the input file (stdout goes to the file stdin reads)"
    assert proc.stderr.decode().strip() == expected
    assert path.read_bytes() == bytes(streamed)


def test_an_empty_stream_to_a_file_is_an_error_as_an_empty_file_is(tmp_path) -> None:
    # before: status 0 and a 44-byte WAV that tsae denoise itself then refused as "zero length"
    header = io.BytesIO()
    sf.write(header, np.zeros((0, 1)), 16000, format="WAV", subtype="PCM_16")
    out = tmp_path / "out.wav"
    result = CliRunner().invoke(cli, ["denoise", "-", "-o", str(out), "-q"], input=header.getvalue())
    assert result.exit_code == 1 and result.stderr == "Error: stdin: no audio samples (zero length)\n"
    assert not out.exists()
    # to stdout too (it was a bare header and status 0, which tsae denoise then refused as "zero length"):
    # see test_no_samples_on_stdin_is_refused_as_file_mode_refuses_them


@pytest.mark.parametrize(("fmt", "subtype", "named"), [
    ("RF64", "PCM_16", "an RF64 WAV"), ("FLAC", "PCM_16", "a FLAC file"), ("OGG", "VORBIS", "an Ogg file"),
    ("AIFF", "PCM_16", "an AIFF file")])
def test_a_stream_of_another_audio_format_is_named_with_the_fix(tmp_path, fmt, subtype, named) -> None:
    # each said "not a WAV stream (no RIFF/WAVE header; raw PCM needs raw mode)": raw mode would read it as noise
    path = tmp_path / "x.bin"
    sf.write(path, np.zeros(2000), 16000, format=fmt, subtype=subtype)
    with open(path, "rb") as stream, pytest.raises(ValueError, match=rf"^stdin: {named}, which is read from a file, "
                                                                     "not from a stream: give the file's name"):
        read_wav_header(stream)


def test_a_stream_that_is_no_audio_names_the_raw_options(tmp_path) -> None:
    # it said "raw PCM needs raw mode", a mode the command line names --raw (with --rate and --channels)
    out = tmp_path / "out.wav"
    result = CliRunner().invoke(cli, ["denoise", "-", "-o", str(out)], input=b"hello world\n")
    assert result.exit_code == 1
    assert result.stderr == ("Error: stdin: not a WAV stream (no RIFF/WAVE header; "
                             "raw PCM needs --raw --rate --channels)\n")
    assert not out.exists()


@pytest.mark.parametrize("subtype", ["ULAW", "ALAW"])
def test_a_mu_law_or_a_law_wav_on_a_pipe_is_denoised_as_the_file_is(tmp_path, subtype) -> None:
    """Telephony WAVs (``ffmpeg -c:a pcm_mulaw -f wav -``) were refused on stdin, even with an output file."""
    source = tmp_path / "call.wav"
    sf.write(source, noisy(0.5, 8000).T, 8000, subtype=subtype)
    direct, piped = tmp_path / "direct.wav", tmp_path / "piped.wav"
    result = CliRunner().invoke(cli, ["denoise", str(source), "-o", str(direct), "-q"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["denoise", "-", "-o", str(piped), "-q"], input=source.read_bytes())
    assert result.exit_code == 0, result.output
    assert sf.info(piped).subtype == subtype
    np.testing.assert_array_equal(sf.read(piped)[0], sf.read(direct)[0])
    result = CliRunner().invoke(cli, ["denoise", "-", "-q"], input=source.read_bytes())  # to stdout: the same samples
    assert result.exit_code == 0, result.output
    out = tmp_path / "stdout.wav"
    out.write_bytes(result.stdout_bytes)
    assert sf.info(out).subtype == subtype
    np.testing.assert_array_equal(sf.read(out)[0], sf.read(direct)[0])


def test_ctrl_c_puts_the_sizes_in_the_header_of_a_file_on_stdout(wav_file, tmp_path, monkeypatch) -> None:
    # `tsae denoise - < in.wav > clean.wav`, then Ctrl-C: the header said "length unknown" (0xFFFFFFFF), though
    # the README says a redirected output's header is put right at the end
    from tsae.pipelines.denoise.denoiser import StreamingDenoiser

    feed, calls = StreamingDenoiser.feed, []

    def interrupted(self, chunk):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 20:
            raise KeyboardInterrupt
        return feed(self, chunk)

    monkeypatch.setattr(StreamingDenoiser, "feed", interrupted)
    out_path = tmp_path / "cut.wav"
    with out_path.open("wb") as out, pytest.raises(KeyboardInterrupt):
        denoise_stream("-", "-", stdin=pipe(wav_file.read_bytes()), stdout=out)
    data = out_path.read_bytes()
    assert len(data) > 44
    assert read_wav_header(io.BytesIO(data))[1] == len(data) - 44  # its data bytes, not "unknown" (None)


class _FullDisk(io.BytesIO):
    """A file on a disk that fills after ``room`` bytes (rewriting what is there still works)."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data) -> int:  # type: ignore[no-untyped-def]
        if self.tell() + len(data) > self.room:
            import errno

            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


class _FailingRead(io.RawIOBase):
    """stdin that gives ``data`` and then fails (an I/O error on the device it reads)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self.pos >= len(self.data):
            import errno

            raise OSError(errno.EIO, "Input/output error")
        n = min(len(buffer), 777, len(self.data) - self.pos)
        buffer[:n] = self.data[self.pos: self.pos + n]
        self.pos += n
        return n


@pytest.mark.parametrize("failure", ["full disk", "read error", "model error"])
def test_any_error_puts_the_sizes_in_the_header_of_a_file_on_stdout(wav_file, monkeypatch, failure) -> None:
    # `(ulimit -f 100; tsae denoise - < s.wav > out.wav)`: "stdout: cannot write it (File too large)" left the
    # header saying "length unknown" (0xFFFFFFFF): only Ctrl-C finished it
    from tsae.pipelines.denoise.denoiser import StreamingDenoiser

    data = wav_file.read_bytes()
    stdin, out = pipe(data), io.BytesIO()
    if failure == "full disk":
        out = _FullDisk(30000)
    elif failure == "read error":
        stdin = io.BufferedReader(_FailingRead(data[: len(data) // 2]))
    else:
        feed, calls = StreamingDenoiser.feed, []

        def broken(self, chunk):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) == 20:
                raise RuntimeError("the model failed")
            return feed(self, chunk)

        monkeypatch.setattr(StreamingDenoiser, "feed", broken)
    with pytest.raises((OSError, ValueError, RuntimeError)):
        denoise_stream("-", "-", stdin=stdin, stdout=out)
    written = out.getvalue()
    size = read_wav_header(io.BytesIO(written))[1]
    assert size is not None and 0 < size <= len(written) - 44
    assert size % 4 == 0  # whole stereo int16 frames


@pytest.mark.parametrize("args", [["-"], ["-", "--raw", "--rate", "16000", "--channels", "1"]])
def test_no_samples_on_stdin_is_refused_as_file_mode_refuses_them(tmp_path, args) -> None:
    # `tsae denoise - < zero.wav` exited 0 with a bare header on stdout; `tsae denoise zero.wav` refuses the file
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros((0, 1), np.float32), 16000, subtype="PCM_16")
    data = zero.read_bytes() if len(args) == 1 else b""
    expected = "Error: stdin: no audio samples (zero length)"
    for command in (["denoise", *args, "-q"], ["denoise", *args, "-q", "-o", "-"]):
        result = CliRunner().invoke(cli, command, input=data)
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == [expected]
        assert result.stdout_bytes == b""
    result = CliRunner().invoke(cli, ["denoise", str(zero), "-q", "-o", "-"])
    assert (result.exit_code, result.stderr.strip(), result.stdout_bytes) == (
        1, f"Error: {zero}: no audio samples (zero length)", b"")


def test_a_stream_that_announces_samples_and_sends_none_leaves_stdout_empty(wav_file) -> None:
    out = io.BytesIO()
    with pytest.raises(ValueError, match="stream ended early after 0 sample frames of the 16000"):
        denoise_stream("-", "-", stdin=pipe(wav_file.read_bytes()[:44]), stdout=out)
    assert out.getvalue() == b""


def test_a_header_is_not_appended_to_a_file_stdout_appends_to(wav_file, tmp_path) -> None:
    # `tsae denoise - < in.wav >> out.wav`: the header rewritten at "the start" landed after the samples
    out_path = tmp_path / "out.wav"
    out_path.write_bytes(b"")
    with out_path.open("ab") as out:
        frames = denoise_stream("-", "-", stdin=pipe(wav_file.read_bytes()), stdout=out)
    data = out_path.read_bytes()
    assert len(data) == 44 + 4 * frames
    assert read_wav_header(io.BytesIO(data))[1] is None  # the streaming header: "length unknown"


def test_strength_zero_on_a_pipe_returns_a_float_wav_bit_for_bit(tmp_path) -> None:
    # before: the STFT round trip's float32 rounding, up to 2e-7 off on most samples of a 44.1 kHz float WAV, where
    # file mode writes the input as read
    x = noisy(0.5, 44100, 2)
    path = tmp_path / "in.wav"
    sf.write(path, x.T, 44100, subtype="FLOAT")
    result = CliRunner().invoke(cli, ["denoise", "-", "-q", "--strength", "0"], input=path.read_bytes())
    assert result.exit_code == 0, result.output
    out, rate = sf.read(io.BytesIO(result.stdout_bytes), dtype="float32", always_2d=True)
    assert rate == 44100
    np.testing.assert_array_equal(out.T, x)


def test_resample_quality_chooses_the_resampler_of_files_and_pipes_alike(tmp_path) -> None:
    import tsae

    x = noisy(0.5, 48000, 1, seed=4)
    src = tmp_path / "f.wav"
    sf.write(src, x.T, 48000, subtype="FLOAT")
    runner = CliRunner()
    args = ["--resample-quality", "LD", "-q"]
    assert runner.invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "ld.wav"), *args]).exit_code == 0
    assert runner.invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "hq.wav"), "-q"]).exit_code == 0
    low_delay = sf.read(tmp_path / "ld.wav", dtype="float32")[0]
    np.testing.assert_array_equal(low_delay, tsae.denoise(x[0], 48000, resample_quality="LD"))
    assert not np.array_equal(low_delay, sf.read(tmp_path / "hq.wav", dtype="float32")[0])
    piped = runner.invoke(cli, ["denoise", "-", "--raw", "--rate", "48000", "--channels", "1", "--format", "f32",
                                "--resample-quality", "ld", "-q"], input=x.astype("<f4").tobytes())  # any case
    assert piped.exit_code == 0, piped.output
    np.testing.assert_array_equal(np.frombuffer(piped.stdout_bytes, "<f4"), low_delay)


def test_a_resample_quality_ld_cannot_do_is_one_line_naming_the_file(tmp_path) -> None:
    src = tmp_path / "odd.wav"
    sf.write(src, noisy(0.2, 47999, 1).T, 47999, subtype="FLOAT")
    result = CliRunner().invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "o.wav"), "-q",
                                      "--resample-quality", "LD"])
    assert result.exit_code == 1
    assert "odd.wav" in result.output and "low-delay resampler from 47999" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o.wav").exists()
    bad = CliRunner().invoke(cli, ["denoise", str(src), "--resample-quality", "best"])
    assert bad.exit_code == 2 and "'best' is not one of" in bad.output


def test_a_resample_quality_ld_cannot_do_on_a_pipe_names_stdin(tmp_path) -> None:
    src = tmp_path / "odd.wav"
    sf.write(src, noisy(0.2, 47999, 1).T, 47999, subtype="PCM_16")
    result = CliRunner().invoke(cli, ["denoise", "-", "--resample-quality", "LD"], input=src.read_bytes())
    assert result.exit_code == 1
    assert result.output.startswith("Error: stdin: a low-delay resampler from 47999"), result.output


def test_files_at_a_rate_ld_cannot_do_fail_and_the_others_are_denoised(tmp_path) -> None:
    for rate in (47999, 48000):
        sf.write(tmp_path / f"r{rate}.wav", noisy(0.2, rate, 1).T, rate, subtype="FLOAT")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "r47999.wav"), str(tmp_path / "r48000.wav"),
                                      "-o", str(tmp_path / "out") + "/", "-q", "--resample-quality", "LD"])
    assert result.exit_code == 1 and "r47999.wav: a low-delay resampler from 47999" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["r48000.wav"]


def test_the_commands_resample_qualities_are_the_denoisers() -> None:
    from tsae.cli.denoise_cmd import denoise_command
    from tsae.pipelines.denoise.denoiser import RESAMPLE_QUALITIES

    option = next(p for p in denoise_command.params if p.name == "resample_quality")
    assert tuple(option.type.choices) == RESAMPLE_QUALITIES
