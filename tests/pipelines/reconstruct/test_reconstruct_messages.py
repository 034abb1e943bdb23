"""reconstruct names the real problem: a denoiser model is not a series autoencoder; every failed file is listed."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.denoise import default_model_path


def test_shipped_denoiser_is_refused_with_the_real_reason(series_dir, tmp_path) -> None:
    for command in (["reconstruct", str(default_model_path()), str(series_dir / "s0.csv"), "-o", "r.csv"],
                    ["reconstruct", str(default_model_path()), str(series_dir), "-o", str(tmp_path / "out")],
                    ["encode", str(default_model_path()), str(series_dir / "s0.csv"), "-o", str(tmp_path / "c.npy")]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "is for the denoise pipeline" in lines[0], lines
        assert "window" not in lines[0] and "scipy" not in lines[0]
    assert not (tmp_path / "out").exists()


def test_every_failed_file_is_listed_at_the_end(tiny_model, series_dir, tmp_path) -> None:
    (series_dir / "empty.csv").write_text("")
    result = CliRunner().invoke(cli, ["reconstruct", str(tiny_model), str(series_dir), "-o", str(tmp_path / "out"),
                                      "-q", "--device", "cpu"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["failed"] * 2
    named = {line.split(": ")[1] for line in lines[:2]}
    assert named == {str(series_dir / "broken.csv"), str(series_dir / "empty.csv")}
    assert lines[2].startswith("Error: 6 file(s): 4 ok (0 already done), 2 failed") and len(lines) == 3


def test_a_series_of_one_sample_per_channel_is_not_taken_for_a_transposed_one(tiny_model) -> None:
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.series import encode_series, reconstruct_series

    loaded = load_model(tiny_model)  # two channels
    assert reconstruct_series(loaded, np.zeros((2, 1))).shape == (2, 1)
    assert len(encode_series(loaded, np.zeros((2, 1)))) == 1
    with pytest.raises(ValueError, match=r"pass values\.T"):  # more rows than the model's channels: transposed
        reconstruct_series(loaded, np.zeros((300, 2)))


def test_masked_samples_are_missing_ones_not_the_values_under_the_mask(tiny_model) -> None:
    """A (channels, n) masked array went through np.asarray, which drops the mask: the values under it (1e6 here)
    were reconstructed and encoded as data. They are gaps now, as NaN samples are."""
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.series import encode_series, reconstruct_series

    loaded = load_model(tiny_model)  # two channels
    x = np.sin(np.arange(200.0).reshape(2, 100) / 7)
    mask = np.zeros(x.shape, bool)
    mask[0, 40:45] = mask[1, ::9] = True
    masked = np.ma.masked_array(np.where(mask, 1e6, x), mask=mask)
    gaps = np.where(mask, np.nan, x)
    np.testing.assert_array_equal(reconstruct_series(loaded, masked), reconstruct_series(loaded, gaps))
    np.testing.assert_array_equal(encode_series(loaded, masked), encode_series(loaded, gaps))


def test_a_file_of_other_channels_is_named_not_called_values(tiny_model, tmp_path) -> None:
    """A mono recording under a two-channel model: the manifest said 'x.wav: values has 1 channel(s) ...' (the
    argument's name); short files and long ones (in blocks) alike now say the file has 1 channel."""
    import soundfile as sf

    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(short, np.zeros(800), 16000, subtype="PCM_16")
    sf.write(long, np.zeros(70000), 16000, subtype="PCM_16")  # more than one 2^16-sample block
    result = CliRunner().invoke(cli, ["reconstruct", str(tiny_model), str(short), str(long), "-o",
                                      str(tmp_path / "out"), "-q", "--device", "cpu"])
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("failed: ")]
    assert sorted(failed) == [f"failed: {path}: has 1 channel(s) but the model was trained on 2 ({tiny_model})"
                              for path in (long, short)], result.output


def _beyond_float32(path) -> None:
    x = np.zeros((2, 300))
    x[0, ::2] = 1e30  # the largest a value may be (beyond, it is missing), over a scale of 1e-10
    x[0, 1::2] = -1e30
    np.save(path, x)


@pytest.fixture()
def fine_scaled(tiny_model, craft_model_file):
    """``tiny_model`` with a channel scale of 1e-10: a value of 1e30 is 1e40 once normalised."""
    return craft_model_file(tiny_model, "fine.tsae",
                            header=lambda head: head["normalizer"].update(scale=[1e-10, 1e-10]))


WORDS = "the series holds values of magnitude up to 1e+40 after normalisation, beyond float32's range"


def test_a_file_beyond_float32_after_normalisation_is_told_in_words(fine_scaled, tmp_path) -> None:
    # it said 'in.npy: values holds values of magnitude up to 1e+308 after normalisation' (a variable's name)
    _beyond_float32(tmp_path / "in.npy")
    result = CliRunner().invoke(cli, ["reconstruct", str(fine_scaled), str(tmp_path / "in.npy"),
                                      "-o", str(tmp_path / "out.npy"), "--device", "cpu"])
    assert result.exit_code == 1
    assert result.output.strip().startswith(f"Error: {tmp_path / 'in.npy'}: {WORDS}"), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fine.tsae", "in.npy"]


def test_a_long_file_beyond_float32_is_told_in_the_same_words(fine_scaled, tmp_path) -> None:
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.batch import reconstruct_file

    _beyond_float32(tmp_path / "in.npy")
    with pytest.raises(ValueError) as caught:
        reconstruct_file(load_model(fine_scaled), tmp_path / "in.npy", tmp_path / "out.npy", block=64)
    assert str(caught.value).startswith(f"{tmp_path / 'in.npy'}: {WORDS}"), caught.value
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fine.tsae", "in.npy"]


@pytest.mark.parametrize(("command", "done"), [("reconstruct", "reconstructed"), ("encode", "encoded"),
                                               ("frame", "framed")])
def test_a_time_column_out_of_order_or_repeated_is_warned_about(tiny_model, tmp_path, command, done) -> None:
    # smooth, impute, train and detect told a shuffled export; reconstruct, encode and frame used its rows in file
    # order without a word
    rng = np.random.default_rng(1)
    values = np.sin(np.arange(300) / 9) + 0.1 * rng.normal(size=300)
    order = list(range(300))
    order[10], order[11] = 11, 10
    times = [*order[:200], 199, *order[201:]]  # one step back, and a repeated time
    path = tmp_path / "shuffled.csv"

    def warned(times: list[int]) -> list[str]:
        path.write_text("time,a,b\n" + "".join(f"{t},{values[i]:.4f},{values[i] / 2:.4f}\n"
                                               for t, i in zip(times, order, strict=True)))
        out = tmp_path / ("out.npy" if command != "reconstruct" else "out.csv")
        args = {"reconstruct": ["reconstruct", str(tiny_model), str(path), "-o", str(out), "--device", "cpu"],
                "encode": ["encode", str(tiny_model), str(path), "-o", str(out), "--device", "cpu"],
                "frame": ["frame", str(path), "--window", "32", "--hop", "8", "-o", str(out)]}[command]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return [line for line in result.output.splitlines() if line.startswith("Warning:")]

    told = warned(times)
    assert f"Warning: {path}: the time column 'time' is not in increasing order (1 step(s) back in time); the rows " \
           f"are {done} in file order" in told, told
    assert any(line.startswith(f"Warning: {path}: the time column 'time' has duplicate times (1 row(s)")
               and line.endswith(f"the rows are {done} in file order, each as a sample of its own") for line in told)
    assert warned(list(range(300))) == []  # in order: nothing to tell


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes")
def test_a_named_pipe_given_as_the_one_input_is_read_as_its_file(tiny_model, tmp_path) -> None:
    # `tsae reconstruct m.tsae <(zcat x.csv.gz) -o out.csv` blamed the output, then was refused ("is a pipe or
    # device, not a file"); it is read through a private copy, as the other table commands read a pipe
    import os
    import threading

    table = "time,a,b\n" + "".join(f"{i},{(i % 7) / 7:.3f},{(i % 5) / 5:.3f}\n" for i in range(200))
    (tmp_path / "x.csv").write_text(table)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w") as handle:  # waits for the command to open it
            handle.write(table)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = CliRunner().invoke(cli, ["reconstruct", str(tiny_model), str(fifo), "-o", str(tmp_path / "out.csv")])
    writer.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(cli, ["reconstruct", str(tiny_model), str(tmp_path / "x.csv"), "-o",
                                    str(tmp_path / "file.csv")]).exit_code == 0
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "file.csv").read_bytes()
