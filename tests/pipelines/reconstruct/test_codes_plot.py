"""`tsae encode --plot` and the code map behind it: fixed pixel sizes, colours, the VAE's grid, one-line errors."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.reconstruct.codes_plot import GRID_SIZE, MAP_SIZE, plot_codes, project_codes, window_colors


def pixels(path) -> tuple[int, int]:
    import matplotlib.image

    height, width = matplotlib.image.imread(path).shape[:2]
    return width, height


@pytest.fixture(scope="module")
def vae_file(tmp_path_factory):
    """An untrained two-channel VAE model file (built and saved, no training)."""
    import torch

    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vae") / "vae.tsae"
    save_model(path, create_model("vae", 2, 32, depth=2, hidden=4, latent=3),
               frame={"window": 32, "hop": 16, "window_fn": None})
    return path


def labelled_csv(path, n: int = 400):
    t = np.arange(n)
    label = (t > 200) & (t < 260)
    a, b = np.sin(t / 9) + 2 * label, np.cos(t / 7)
    path.write_text("time,a,b,label\n" + "".join(f"{i},{a[i]:.5f},{b[i]:.5f},{int(label[i])}\n" for i in range(n)))
    return path


def test_map_and_grid_have_their_pixel_sizes(tmp_path) -> None:
    codes = np.random.default_rng(0).normal(size=(40, 3, 2))
    alone = plot_codes(tmp_path / "map.png", codes, color=np.arange(40.0), projection="pca")
    assert pixels(alone) == MAP_SIZE
    grid = plot_codes(tmp_path / "grid.png", codes, color=np.array(["a", "b"] * 20), color_name="label",
                      projection="pca", decoder=lambda z: np.zeros((len(z), 2, 16)) + z[:, :1, None])
    assert pixels(grid) == GRID_SIZE
    assert plot_codes(tmp_path / "map.svg", codes, projection="pca").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="must be .png"):
        plot_codes(tmp_path / "map.txt", codes)
    with pytest.raises(ValueError, match="3 colour values for 40 codes"):
        plot_codes(tmp_path / "x.png", codes, color=np.zeros(3))


def test_projection_and_colours() -> None:
    rng = np.random.default_rng(1)
    codes = rng.normal(size=(30, 5)) * np.array([10.0, 3.0, 0.1, 0.1, 0.1])
    xy, axes = project_codes(codes, "pca")
    assert xy.shape == (30, 2) and axes[0].startswith("PC 1") and xy[:, 0].var() > xy[:, 1].var()
    assert project_codes(np.ones((4, 1)), "pca")[0].shape == (4, 2)  # a one-number code still maps
    starts = np.array([0, 10, 20])
    seconds, name = window_colors("time", starts, 10, sample_rate=10.0)
    assert list(seconds) == [0.0, 1.0, 2.0] and name == "window start (s)"
    labels = np.r_[np.zeros(14), np.ones(16)]
    assert list(window_colors("auto", starts, 10, labels=labels)[0]) == [0, 1, 1]  # label at each window's centre
    means, name = window_colors("auto", starts, 10, labels=labels, scores=np.arange(30.0))
    assert name == "anomaly score" and list(means) == [4.5, 14.5, 24.5]
    with pytest.raises(ValueError, match="no label column"):
        window_colors("label", starts, 10)


def test_encode_plot_cli(vae_file, tmp_path) -> None:
    data = labelled_csv(tmp_path / "data.csv")
    codes, plot = tmp_path / "codes.npy", tmp_path / "codes.png"
    result = CliRunner().invoke(cli, ["encode", str(vae_file), str(data), "-o", str(codes), "--plot", str(plot),
                                      "--projection", "pca", "-q"])
    assert result.exit_code == 0, result.output
    assert np.load(codes).shape == (24, 3) and pixels(plot) == GRID_SIZE  # a VAE: the map and decoded samples
    assert result.output == ""


def test_encode_plot_says_where_it_wrote_the_plot(vae_file, tmp_path) -> None:
    # before: the codes' line alone; the plot was written without a word
    data = labelled_csv(tmp_path / "data.csv")
    codes, plot = tmp_path / "codes.npy", tmp_path / "codes.png"
    result = CliRunner().invoke(cli, ["encode", str(vae_file), str(data), "-o", str(codes), "--plot", str(plot),
                                      "--projection", "pca"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr.splitlines() == [f"{codes}: 24 codes of shape (3,)",
                                                                   f"wrote {plot}"]


def test_encode_plot_errors_are_one_line(vae_file, tmp_path) -> None:
    data = tmp_path / "plain.csv"
    data.write_text("a,b\n" + "".join(f"{np.sin(i / 5):.4f},{np.cos(i / 5):.4f}\n" for i in range(100)))
    codes, plot = tmp_path / "codes.npy", tmp_path / "codes.png"
    # --color-by score without --detector is the command line's mistake, told before anything is read: it was
    # "plain.csv: colouring by anomaly score needs a detector", blaming the data, after encoding it
    for extra, fragment, code in ((["--color-by", "label"], "plain.csv: the data has no label column", 1),
                                  (["--color-by", "score"], "--color-by score needs --detector", 2)):
        result = CliRunner().invoke(cli, ["encode", str(vae_file), str(data), "-o", str(codes), "--plot", str(plot),
                                          "--projection", "pca", *extra])
        assert result.exit_code == code and result.output.strip().count("\n") == 0, result.output
        assert fragment in result.output and "Traceback" not in result.output
    assert "plain.csv" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.csv"]


@pytest.mark.parametrize("failing", ["codes", "plot"])
def test_encode_plot_writes_both_outputs_or_neither(vae_file, tmp_path, monkeypatch, failing) -> None:
    """When either output cannot be written (a full disk, a read-only folder), the other is not left behind."""
    import tsae.io.series
    import tsae.pipelines.reconstruct.codes_plot as codes_plot

    def cannot_write(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if failing == "codes":
        monkeypatch.setattr(tsae.io.series, "save_npy", cannot_write)
    else:
        monkeypatch.setattr(codes_plot, "plot_series_codes", cannot_write)
    data = labelled_csv(tmp_path / "data.csv")
    codes, plot = tmp_path / "codes.npy", tmp_path / "codes.png"
    result = CliRunner().invoke(cli, ["encode", str(vae_file), str(data), "-o", str(codes), "--plot", str(plot),
                                      "--projection", "pca", "-q"])
    assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_score_colours_match_the_detector_sensors_by_name(vae_file, tmp_path) -> None:
    """The detector scores the table's columns by name, as `tsae detect score` does: a model trained on the
    columns in another order than the detector's fed it the wrong sensors (scores 1e4 times too high)."""
    from tsae.models.modelfile import load_model
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.reconstruct.codes_plot import detector_rows, plot_series_codes

    class Recorder(Detector):
        def __init__(self) -> None:
            self.sensors_ = ["b", "a"]
            self.seen: np.ndarray | None = None

        def decision_function(self, X):
            self.seen = np.asarray(X)
            return self.seen[0]

    values = np.vstack([np.zeros(100), np.ones(100)])  # a, b
    det = Recorder()
    plot_series_codes(tmp_path / "map.png", load_model(vae_file), values, np.zeros((5, 3)), detector=det,
                      columns=["a", "b"], projection="pca")
    assert det.seen is not None and list(det.seen[:, 0]) == [1.0, 0.0]  # b, then a
    assert detector_rows(values, ["ch0", "ch1"], ["b", "a"]) is values  # channels without names: by position
    assert detector_rows(values, ["x", "y"], ["b", "a"]) is values  # no column a sensor's: by position
    assert list(detector_rows(np.arange(3.0)[:, None], ["c", "a", "b"], ["b", "a"])[:, 0]) == [2.0, 1.0]
    with pytest.raises(ValueError, match="^missing sensor column.s. b .the detector knows b, a"):
        detector_rows(values, ["a", "c"], ["b", "a"])


def test_encode_plot_of_another_format_is_refused_by_its_own_name_before_encoding(vae_file, tmp_path,
                                                                                 monkeypatch) -> None:
    # before: the whole file was read and encoded first, and the error blamed the input: "data.csv: codes.jpg: ..."
    import tsae.pipelines.reconstruct.batch as batch

    monkeypatch.setattr(batch, "read_series", lambda *a, **k: pytest.fail("the input was read"))
    data = labelled_csv(tmp_path / "data.csv")
    codes, plot = tmp_path / "codes.npy", tmp_path / "codes.jpg"
    result = CliRunner().invoke(cli, ["encode", str(vae_file), str(data), "-o", str(codes), "--plot", str(plot)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == f"Error: {plot}: plot must be .png, .pdf or .svg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


@pytest.mark.parametrize("case", ["umap", "bad_detector", "model_as_detector"])
def test_encode_plot_tells_a_missing_package_or_a_bad_detector_by_its_own_name_before_encoding(
        vae_file, tmp_path, monkeypatch, case) -> None:
    # before: read and encoded first, then "data.csv: the UMAP projection needs umap-learn" and "data.csv: d.tsae:
    # truncated file": neither is the data file's problem
    import importlib.util

    import tsae.pipelines.reconstruct.batch as batch

    monkeypatch.setattr(batch, "read_series", lambda *a, **k: pytest.fail("the input was read"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "umap" else
                        real_find_spec(name, *a))
    data = labelled_csv(tmp_path / "data.csv")
    codes, plot = tmp_path / "codes.npy", tmp_path / "codes.png"
    extra, expected = {
        "umap": (["--projection", "umap"], 'Error: the UMAP projection needs umap-learn: pip install "tsae[umap]"'),
        "bad_detector": (["--detector", str(tmp_path / "d.tsae")], f"Error: {tmp_path / 'd.tsae'}: truncated file"),
        "model_as_detector": (["--detector", str(vae_file)], f"Error: {vae_file}: not a tsae detector file"),
    }[case]
    (tmp_path / "d.tsae").write_bytes(vae_file.read_bytes()[:100])
    result = CliRunner().invoke(cli, ["encode", str(vae_file), str(data), "-o", str(codes), "--plot", str(plot),
                                      *extra])
    assert result.exit_code == 1 and result.output.strip().count("\n") == 0, result.output
    assert result.output.strip().startswith(expected), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.tsae", "data.csv"]
