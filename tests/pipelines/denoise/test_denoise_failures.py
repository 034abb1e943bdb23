"""tsae denoise with several files: a bad file fails alone (no output), the rest is written, all failures reported."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.errors import FilesFailed
from tsae.pipelines.denoise import files as denoise_files_module
from tsae.pipelines.denoise.files import denoise_files


@pytest.fixture()
def recordings(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        sf.write(folder / f"{name}.wav", (0.1 * rng.standard_normal(6000)).astype(np.float32), 16000)
    return folder


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_unreadable_file_among_several(recordings, tmp_path, jobs) -> None:
    (recordings / "b.wav").write_bytes(b"RIFF not really audio" * 10)
    result = CliRunner().invoke(cli, ["denoise", str(recordings), "-o", str(tmp_path / "out"), "-q", "--jobs", jobs])
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "c.wav"]
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"failed: {recordings / 'b.wav'}: not a readable audio file")
    assert lines[-1] == "Error: 1 of 3 file(s) failed" and "Traceback" not in result.output


@pytest.mark.parametrize("content", [b"", b"RIFF not really audio" * 10])
def test_threads_for_files_that_all_fail_before_their_batch(tmp_path, content) -> None:
    """--jobs with no file left to denoise (empty, corrupt): the file's one-line error, exit 1, no output."""
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    result = CliRunner().invoke(cli, ["denoise", str(bad), "-o", str(tmp_path / "out.wav"), "--jobs", "2"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"]


def test_file_failing_mid_stream_leaves_no_output_and_the_others_go_on(recordings, tmp_path, monkeypatch) -> None:
    real = denoise_files_module.iter_audio_blocks

    def corrupt_after_one_block(path, block, **kwargs):
        blocks = real(path, block, **kwargs)
        yield next(blocks)
        if path.name == "b.wav":
            raise ValueError(f"{path}: corrupt audio data (simulated)")
        yield from blocks

    monkeypatch.setattr(denoise_files_module, "iter_audio_blocks", corrupt_after_one_block)
    monkeypatch.setattr(denoise_files_module, "_denoise_together",
                        _small_blocks(denoise_files_module._denoise_together))
    alone = tmp_path / "alone"
    denoise_files([recordings / "a.wav"], alone / "a.wav", quiet=True)  # the reference: a.wav denoised by itself
    for jobs in (1, 2):  # in one batch, and in batches run by threads
        out = tmp_path / f"out{jobs}"
        with pytest.raises(FilesFailed) as caught:
            denoise_files([recordings], out, quiet=True, jobs=jobs)
        bad = recordings / "b.wav"
        assert caught.value.failures == {str(bad): f"{bad}: corrupt audio data (simulated)"}
        assert sorted(p.name for p in out.iterdir()) == ["a.wav", "c.wav"]  # no .part left either
        np.testing.assert_allclose(sf.read(out / "a.wav")[0], sf.read(alone / "a.wav")[0], atol=1e-4)


def _small_blocks(run):
    def wrapped(*args, **kwargs):
        kwargs["block_seconds"] = 0.1  # several blocks per file, so b.wav fails in the middle
        return run(*args, **kwargs)

    return wrapped


def test_output_folder_with_trailing_slash_for_one_file(recordings, tmp_path) -> None:
    folder = tmp_path / "new"
    result = CliRunner().invoke(cli, ["denoise", str(recordings / "a.wav"), "-o", f"{folder}/", "-q"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in folder.iterdir()] == ["a.wav"]


def test_progress_bar_on_a_terminal_ends_at_its_total(tmp_path, monkeypatch) -> None:
    # 9.655 s of audio: the bar's total was rounded to 9.65 s, the blocks counted 9.655 s and tqdm
    # warned "clamping frac to range [0, 1]" (shown as a Warning: line on the terminal)
    import warnings

    from tqdm import TqdmWarning

    src = tmp_path / "a.wav"
    sf.write(src, np.zeros(154480, dtype=np.float32), 16000, subtype="PCM_16")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TqdmWarning)
        written = denoise_files([src], tmp_path / "b.wav", quiet=False)
    assert written == [tmp_path / "b.wav"]
