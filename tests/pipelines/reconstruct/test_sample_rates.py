"""reconstruct and encode tell a series sampled at another rate than the model was trained at: one warning on
stderr and, in a batch, the file's manifest row, whichever way the batch runs (in this process, local workers,
Dask); a rate that is not known (a .npy array, a table without a regular time column, a model trained without
one) says nothing."""
from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import run
from plugin_helpers import write_tiny_model

from tsae.pipelines.reconstruct.batch import read_manifest, reconstruct_files


@pytest.fixture(scope="module")
def model_100hz(tmp_path_factory):
    """The two-channel conv1d of ``tiny_model``, its file saying it was trained at 100 Hz."""
    return write_tiny_model(tmp_path_factory.mktemp("model") / "m100.tsae", sample_rate=100.0)


def _table(path, n: int, step: float) -> None:
    t = np.arange(n)
    path.write_text("time,a,b\n" + "".join(f"{i * step:.2f},{np.sin(i / 9):.6f},{np.cos(i / 7):.6f}\n" for i in t))


def _mixed_folder(folder):
    """Two tables at 2 Hz, one at 100 Hz, and a .npy array (no rate)."""
    folder.mkdir()
    _table(folder / "slow_a.csv", 300, 0.5)
    _table(folder / "slow_b.csv", 280, 0.5)
    _table(folder / "fast.csv", 300, 0.01)
    t = np.arange(300)
    np.save(folder / "plain.npy", np.stack([np.sin(t / 9), np.cos(t / 7)]))
    return folder


def _rate_text(name: str) -> str:
    return f"{name}: sampled at 2 Hz, but the model"


def test_one_file_at_another_rate_is_one_warning_naming_both_rates(model_100hz, series_dir, tmp_path) -> None:
    src = series_dir / "s0.csv"
    result = run("reconstruct", model_100hz, src, "-o", tmp_path / "out.csv", "--device", "cpu")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warned) == 1, result.stderr
    assert warned[0].startswith(f"Warning: {_rate_text(str(src))}") and "100 Hz" in warned[0]
    assert (tmp_path / "out.csv").exists()
    quiet = run("reconstruct", model_100hz, src, "-o", tmp_path / "out2.csv", "--device", "cpu", "-q")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_encode_tells_it_too(model_100hz, series_dir, tmp_path) -> None:
    src = series_dir / "s0.csv"
    result = run("encode", model_100hz, src, "-o", tmp_path / "codes.npy", "--device", "cpu")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warned) == 1 and _rate_text(str(src)) in warned[0], result.stderr


def test_unknown_or_equal_rates_say_nothing(model_100hz, tiny_model, tmp_path) -> None:
    folder = _mixed_folder(tmp_path / "in")
    for model, src in ((model_100hz, folder / "fast.csv"), (model_100hz, folder / "plain.npy"),
                       (tiny_model, folder / "slow_a.csv")):  # tiny_model records no rate
        out = tmp_path / f"o_{model.stem}_{src.name}"
        result = run("reconstruct", model, src, "-o", out, "--device", "cpu")
        assert result.exit_code == 0 and "Warning" not in result.output, (src, result.output)


def test_long_audio_at_another_rate_in_blocks(model_100hz, tmp_path) -> None:
    import soundfile as sf

    t = np.arange(70_000)  # more than one reconstruction block (2**16): read and written in blocks
    sf.write(tmp_path / "long.wav", 0.3 * np.stack([np.sin(t / 9), np.cos(t / 7)]).T, 8000, subtype="FLOAT")
    result = run("reconstruct", model_100hz, tmp_path / "long.wav", "-o", tmp_path / "out.wav", "--device", "cpu")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warned) == 1 and f"{tmp_path / 'long.wav'}: sampled at 8000 Hz" in warned[0], result.stderr


def _warnings_by_file(manifest) -> dict[str, str]:
    return {src: row["warning"] for src, row in read_manifest(manifest).items()}


def test_a_batch_tells_each_file_once_and_records_it_in_its_row(model_100hz, tmp_path) -> None:
    folder = _mixed_folder(tmp_path / "in")
    result = run("reconstruct", model_100hz, folder, "-o", tmp_path / "out", "--workers", "2", "--device", "cpu")
    assert result.exit_code == 0, result.output
    warned = sorted(line for line in result.stderr.splitlines() if line.startswith("Warning:"))
    assert len(warned) == 2, result.stderr
    assert warned[0].startswith(f"Warning: {_rate_text(str(folder / 'slow_a.csv'))}")
    assert warned[1].startswith(f"Warning: {_rate_text(str(folder / 'slow_b.csv'))}")
    recorded = _warnings_by_file(tmp_path / "out" / "manifest.csv")
    assert recorded[str(folder / "slow_a.csv")] == warned[0].removeprefix("Warning: ")
    assert recorded[str(folder / "slow_b.csv")] == warned[1].removeprefix("Warning: ")
    assert recorded[str(folder / "fast.csv")] == recorded[str(folder / "plain.npy")] == ""
    again = run("reconstruct", model_100hz, folder, "-o", tmp_path / "out", "--device", "cpu")
    assert again.exit_code == 0 and "Warning" not in again.output  # nothing redone: nothing told again
    assert _warnings_by_file(tmp_path / "out" / "manifest.csv") == recorded  # and the rows keep it


def test_every_mode_records_the_same_warnings(model_100hz, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    folder = _mixed_folder(tmp_path / "in")
    recorded = {}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        modes = {"local": {}, "workers": {"workers": 2}, "dask": {"dask": cluster.scheduler_address}}
        for mode, options in modes.items():
            with pytest.warns(UserWarning, match="sampled at 2 Hz") as caught:
                reconstruct_files(model_100hz, [folder], tmp_path / mode, device="cpu", quiet=True, **options)
            told = sorted(str(w.message) for w in caught if "sampled at" in str(w.message))
            recorded[mode] = _warnings_by_file(tmp_path / mode / "manifest.csv")
            assert told == sorted(text for text in recorded[mode].values() if text), mode
        single = run("reconstruct", model_100hz, folder / "slow_a.csv", "-o", tmp_path / "one.csv",
                     "--dask", cluster.scheduler_address)
    assert single.exit_code == 0, single.output
    assert [line for line in single.stderr.splitlines() if line.startswith("Warning:")] == \
        [f"Warning: {recorded['local'][str(folder / 'slow_a.csv')]}"]
    assert recorded["local"] == recorded["workers"] == recorded["dask"]
    assert sum(bool(text) for text in recorded["local"].values()) == 2


def test_the_gpus_grouped_path_records_it_too(model_100hz, tmp_path) -> None:
    """The GPU's path (windows of several files in one model call), run on the CPU."""
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.batch import _grouped_gpu

    folder = _mixed_folder(tmp_path / "in")
    (tmp_path / "out").mkdir()
    names = ["slow_a.csv", "fast.csv", "plain.npy", "slow_b.csv"]
    rows: list[dict] = []
    _grouped_gpu(load_model(model_100hz), [(str(folder / n), str(tmp_path / "out" / n)) for n in names], 64,
                 rows.append, group_frames=20)
    warned = {row["file"]: row["warning"] for row in rows}
    assert warned[str(folder / "fast.csv")] == warned[str(folder / "plain.npy")] == ""
    assert warned[str(folder / "slow_a.csv")].startswith(_rate_text(str(folder / "slow_a.csv")))
    assert warned[str(folder / "slow_b.csv")].startswith(_rate_text(str(folder / "slow_b.csv")))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_what_reading_a_file_warned_of_is_one_line_and_in_its_row(model_100hz, tmp_path, workers) -> None:
    # a pool worker printed Python's two-line "...: TableWarning: ..." and its source line, under -q too
    folder = tmp_path / "in"
    folder.mkdir()
    _table(folder / "fast.csv", 300, 0.01)
    _table(folder / "bad.csv", 300, 0.01)
    lines = (folder / "bad.csv").read_text().splitlines()
    lines[5] = lines[5].split(",")[0] + ",inf,0.5"
    (folder / "bad.csv").write_text("\n".join(lines) + "\n")
    quiet = run("reconstruct", model_100hz, folder, "-o", tmp_path / "q", "--workers", workers, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr
    told = run("reconstruct", model_100hz, folder, "-o", tmp_path / "out", "--workers", workers)
    assert told.exit_code == 0, told.output
    assert "TableWarning" not in told.stderr and "read_table(" not in told.stderr
    warned = [line for line in told.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warned) == 1 and "bad.csv: 1 cell(s) infinite" in warned[0], told.stderr
    recorded = _warnings_by_file(tmp_path / "out" / "manifest.csv")
    assert recorded[str(folder / "bad.csv")] == warned[0].removeprefix("Warning: ")
    assert recorded[str(folder / "fast.csv")] == ""
