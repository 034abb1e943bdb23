"""A table is compressed with its columns matched to the model's by name, as every other command that takes a
trained model matches them: reordered, it is coded in the model's order and comes back in its own; other names
are refused. Channels without names go by position."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from tsae.io.series import read_series
from tsae.models.modelfile import load_model
from tsae.pipelines.compress.container import Reader
from tsae.pipelines.compress.files import compress_file, decompress_file
from tsae.pipelines.compress.series import compress_series, decompress_series
from tsae.pipelines.compress.stream import Compressor

from compress_helpers import rewritten, tiny_model_file, walk

BOUND = [1e-3, 0.5]  # per channel, in the order of the data given: a mix-up of the channels breaks one of them


@pytest.fixture(scope="module")
def named_model(tmp_path_factory):
    """A two-channel conv1d model file trained (so to speak) on the columns a and b, of different scales."""
    return tiny_model_file(tmp_path_factory.mktemp("named") / "ab.tsae", 3,
                           {"method": "zscore", "center": [0.0, 100.0], "scale": [1.0, 50.0]},
                           extra={"columns": ["a", "b"]})


def series() -> np.ndarray:
    """Channels a and b: a random walk and a far larger one."""
    x = walk(300, seed=11)
    return np.stack([x[0], 100.0 + 50.0 * x[1]])


def test_a_reordered_dataframe_is_coded_in_the_models_order_and_comes_back_in_its_own(named_model) -> None:
    model = load_model(named_model)
    x = series()
    in_order = pd.DataFrame({"a": x[0], "b": x[1]})
    swapped = pd.DataFrame({"b": x[1], "a": x[0]})
    bound = np.array(BOUND)
    back = decompress_series(compress_series(model, swapped, max_error=BOUND), model)
    assert (np.abs(back - x[::-1]) <= bound[:, None]).all()  # b within 1e-3, a within 0.5: the bound follows b
    reference = decompress_series(compress_series(model, in_order, max_error=BOUND[::-1]), model)
    np.testing.assert_array_equal(back, reference[::-1])  # coded as the model takes them: the same values
    stored = Reader(io.BytesIO(compress_series(model, swapped, max_error=BOUND)), "c.tsz").header
    assert stored["channel_order"] == [1, 0] and stored["max_error"] == BOUND
    assert "channel_order" not in Reader(io.BytesIO(compress_series(model, in_order)), "c.tsz").header


def test_a_dataframe_of_other_column_names_is_refused(named_model) -> None:
    model = load_model(named_model)
    x = series()
    with pytest.raises(ValueError, match=r"'b' missing; column\(s\) 'c' unknown to the model"):
        compress_series(model, pd.DataFrame({"a": x[0], "c": x[1]}))
    back = decompress_series(compress_series(model, x, max_error=BOUND), model)  # an array: by position
    assert (np.abs(back - x) <= np.array(BOUND)[:, None]).all()


def table(path, names, x) -> None:
    rows = [",".join(["time", *names])] + [f"{i},{u!r},{v!r}" for i, (u, v) in enumerate(x.T.tolist())]
    path.write_text("\n".join(rows) + "\n")


def test_a_reordered_table_comes_back_in_its_own_order(tmp_path, named_model) -> None:
    x = series()
    table(tmp_path / "ba.csv", ["b", "a"], x[::-1])
    result = compress_file(named_model, tmp_path / "ba.csv", tmp_path / "ba.tsz", max_error=BOUND)
    assert all(e <= b for e, b in zip(result["max_abs_error"], BOUND, strict=True))
    decompress_file(tmp_path / "ba.tsz", tmp_path / "back.csv")
    y, _, meta = read_series(tmp_path / "back.csv")
    assert meta["columns"] == ["b", "a"]
    assert (np.abs(y - x[::-1]) <= np.array(BOUND)[:, None]).all()
    table(tmp_path / "ab.csv", ["a", "b"], x)
    compress_file(named_model, tmp_path / "ab.csv", tmp_path / "ab.tsz", max_error=BOUND[::-1])
    decompress_file(tmp_path / "ab.tsz", tmp_path / "ab_back.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "ab_back.npy"), y[::-1])
    decompress_file(tmp_path / "ba.tsz", tmp_path / "ba_back.npy")  # a block-written output is reordered too
    np.testing.assert_array_equal(np.load(tmp_path / "ba_back.npy"), y)


def test_a_table_of_other_column_names_is_one_line_and_no_container(tmp_path, named_model) -> None:
    table(tmp_path / "xy.csv", ["x", "y"], series())
    out = tmp_path / "xy.tsz"
    assert_one_line_error(run("compress", named_model, tmp_path / "xy.csv", "-o", out),
                          f"{tmp_path / 'xy.csv'}: its columns are not those the model")
    assert not out.exists()
    headerless = tmp_path / "bare.csv"
    headerless.write_text("\n".join(f"{u!r},{v!r}" for u, v in series().T.tolist()) + "\n")
    assert run("compress", named_model, headerless, "-o", tmp_path / "bare.tsz").exit_code == 0  # by position


@pytest.mark.parametrize("order", [[0, 0], [0], [0, 2], ["1", "0"], [True, False], "10", 7])
def test_a_bad_channel_order_is_refused(named_model, order) -> None:
    with pytest.raises(ValueError, match="channel_order must hold each of 0 ... 1 once"):
        Compressor(io.BytesIO(), load_model(named_model), channel_order=order)


@pytest.mark.parametrize("order", [[0, 0], [1], [1, 2], "ab", {"a": 1}, [1.0, 0.0]])
def test_a_container_with_a_corrupt_channel_order_is_refused(named_model, order) -> None:
    model = load_model(named_model)
    data = rewritten(compress_series(model, series(), max_error=BOUND), header={"channel_order": order})
    with pytest.raises(ValueError, match=r"c\.tsz: corrupt \.tsz header \(the channel order is not an ordering"):
        decompress_series(data, model, name="c.tsz")


@pytest.mark.parametrize("zone", ["Z", "+02:00", ""])
def test_a_tables_utc_times_come_back_ending_in_z(named_model, tmp_path, zone) -> None:
    # before: dates that named UTC instants (an offset, or Z) came back from the container as local times
    x = series()
    rows = "".join(f"2024-03-01T10:{i // 60:02d}:{i % 60:02d}{zone},{x[0, i]},{x[1, i]}\n" for i in range(x.shape[1]))
    (tmp_path / "t.csv").write_text("time,a,b\n" + rows)
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        compress_file(named_model, tmp_path / "t.csv", tmp_path / "t.tsz", max_error=BOUND)
    assert ["UTC offset" in str(w.message) for w in told] == ([True] if zone.startswith("+") else [])
    with open(tmp_path / "t.tsz", "rb") as handle:
        assert (Reader(handle, "t.tsz").header["time"].get("utc") is True) is bool(zone)
    decompress_file(tmp_path / "t.tsz", tmp_path / "back.csv")
    first = (tmp_path / "back.csv").read_text().splitlines()[1].split(",")[0]
    assert first == ("2024-03-01T08:00:00Z" if zone.startswith("+") else f"2024-03-01T10:00:00{zone}")



@pytest.mark.parametrize("with_model", [False, True])
def test_a_value_too_large_for_the_bound_names_its_column(tmp_path, named_model, with_model) -> None:
    # before: "x.csv: --max-error 0.001 is too small for values of magnitude 1e+29 in channel 1": with the model,
    # its channel 1 (b), the table's first column; without one, an index for the column the table calls b
    x = series()
    x[1, 7] = 1e29
    path = tmp_path / "x.csv"
    pd.DataFrame({"b": x[1], "a": x[0]} if with_model else {"a": x[0], "b": x[1]}).to_csv(path, index=False)
    model = [named_model] if with_model else []
    result = run("compress", *model, path, "-o", tmp_path / "x.tsz", "--max-error", "1e-3")
    assert_one_line_error(result, "x.csv: --max-error 0.001 is too small for values of magnitude 1e+29 in column 'b' "
                                  "(at most 2**32 steps of float64)")
    assert not (tmp_path / "x.tsz").exists()


@pytest.mark.parametrize("chunk", [None, 64])  # read whole, and in blocks (the range from a first pass)
def test_a_relative_bound_too_small_for_a_column_names_what_was_given_and_what_it_means(tmp_path, chunk) -> None:
    # before: "--max-error 2.09548e-12 is too small ... in column 'd'": the absolute bound the relative one meant,
    # never typed by the user, and no word of --relative
    rng = np.random.default_rng(0)
    d = 1e6 + rng.uniform(-1e-9, 1e-9, 300)
    path = tmp_path / "x.npy" if chunk else tmp_path / "x.csv"
    if chunk:
        np.save(path, np.stack([np.sin(np.arange(300) / 5), d]))
    else:
        pd.DataFrame({"a": np.sin(np.arange(300) / 5), "d": d}).to_csv(path, index=False)
    name = "column 'ch1'" if chunk else "column 'd'"  # an array's columns are named by the reader
    span = f"{d.max() - d.min():.3g}"
    said = (rf"max_error 0\.001 \(relative\) is \S+ for {name} \(its range {span}\): too small for values of "
            rf"magnitude 1e\+06 \(at most 2\*\*32 steps of float64\); give an absolute max_error \(of at least "
            rf"0\.000233\)")
    with pytest.raises(ValueError, match=said):
        compress_file(None, path, tmp_path / "x.tsz", max_error=1e-3, relative=True, **({"chunk": chunk} if chunk
                                                                                          else {}))
    if not chunk:
        result = run("compress", path, "-o", tmp_path / "x.tsz", "--max-error", "1e-3", "--relative")
        assert_one_line_error(result, "x.csv: --max-error 0.001 (relative) is ", f"for column 'd' (its range {span})",
                              "give an absolute --max-error (of at least 0.000233)")
    assert not (tmp_path / "x.tsz").exists()
