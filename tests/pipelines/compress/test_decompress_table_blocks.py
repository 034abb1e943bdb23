"""decompress to a table (CSV/TSV, compressed or not) writes it block by block as the values are decoded: the same
bytes as the whole table written at once, and memory bounded by a block, not the series."""
from __future__ import annotations

import gzip
import io

import numpy as np
import pytest

import tsae.io.table_write as table_write
import tsae.pipelines.compress.files as files
from tsae.io.series import write_series
from tsae.io.tables import read_table
from tsae.models.modelfile import load_model
from tsae.pipelines.compress import compress_file, decompress_file, decompress_series
from tsae.pipelines.compress.container import Reader

from compress_helpers import rewritten, tiny_model_file, walk
from memory_helpers import peak_rss_growth

MB = 1 << 20
N = 1000


@pytest.fixture(scope="module")
def named_model(tmp_path_factory):
    """A two-channel conv1d model file of the columns a and b."""
    return tiny_model_file(tmp_path_factory.mktemp("named") / "ab.tsae", 3,
                           {"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 1.0]},
                           extra={"columns": ["a", "b"]})


def table_text(time: str, names: tuple[str, str] = ("a", "b")) -> str:
    """A table of :data:`N` rows of two random walks (4 decimals) with a missing cell and infinite ones, after a
    time column of the kind ``time`` (``none``: no time column)."""
    x = np.round(walk(N, seed=4) / 10, 4)
    cells = [np.char.mod("%.4f", row) for row in x]
    cells[0][5], cells[1][700], cells[0][999] = "", "inf", "-inf"
    stamps = {"dates": np.datetime_as_string(np.datetime64("2024-03-01T10:00:00") + np.arange(N) * np.timedelta64(
                  250, "ms"), unit="ms"),
              "utc dates": np.char.add(np.datetime_as_string(np.datetime64("2024-03-01T10:00:00")
                                                             + np.arange(N) * np.timedelta64(2, "s"), unit="s"), "Z"),
              "whole numbers": np.arange(1_700_000_000, 1_700_000_000 + N).astype(str),
              "decimals": np.char.mod("%.2f", np.arange(N) * 0.05)}
    head = ([] if time == "none" else ["time"]) + list(names)
    by_name = dict(zip(("a", "b"), cells, strict=True))
    columns = ([] if time == "none" else [stamps[time]]) + [by_name[name] for name in names]
    return ",".join(head) + "\n" + "".join(",".join(row) + "\n" for row in zip(*columns, strict=True))


def written_whole(path, container, model_file, source):
    """The table the decoded series of ``container`` is, written whole, with the time column of the table ``source``
    (what decompress wrote before it wrote block by block)."""
    values = decompress_series(container.read_bytes(), load_model(model_file))
    table = read_table(source, exact=True)
    write_series(path, values, None, {"kind": "table", "columns": table.columns, "time": table.time,
                                      "time_name": table.time_name, "time_utc": table.time_utc})
    return path.read_bytes()


@pytest.mark.parametrize(("time", "names", "suffix"), [
    ("dates", ("a", "b"), ".csv"), ("dates", ("a", "b"), ".csv.gz"), ("dates", ("b", "a"), ".tsv"),
    ("utc dates", ("a", "b"), ".csv"), ("whole numbers", ("b", "a"), ".csv"), ("decimals", ("a", "b"), ".csv.gz"),
    ("none", ("b", "a"), ".csv")])
def test_a_table_decompressed_in_small_blocks_is_the_table_written_whole(tmp_path, monkeypatch, named_model, suffix,
                                                                        time, names) -> None:
    source = tmp_path / "in.csv"
    source.write_text(table_text(time, names))
    container = tmp_path / "in.tsz"
    compress_file(named_model, source, container, max_error=1e-3, block_windows=3)  # blocks of 48 samples
    monkeypatch.setattr(table_write, "WRITE_ROWS", 7)  # rows formatted at a time: seams inside each block
    monkeypatch.setattr(files, "CHUNK", 5)  # the time column's rows made at a time, to decide its format
    info = decompress_file(container, tmp_path / f"out{suffix}")
    assert info["samples"] == N
    expected = written_whole(tmp_path / f"whole{suffix}", container, named_model, source)
    assert (tmp_path / f"out{suffix}").read_bytes() == expected
    text = gzip.decompress(expected).decode() if suffix == ".csv.gz" else expected.decode()
    lines = text.splitlines()
    delimiter = "\t" if suffix == ".tsv" else ","
    assert lines[0] == delimiter.join((["time"] if time != "none" else []) + list(names))
    back = read_table(tmp_path / f"out{suffix}", exact=True)
    a, b = back.values[back.columns.index("a")], back.values[back.columns.index("b")]
    assert np.isnan(a[5]) and a[999] == -np.inf and b[700] == np.inf  # a missing cell empty, infinite ones inf
    first = lines[1].split(delimiter)[0]
    assert first == {"dates": "2024-03-01T10:00:00.000", "utc dates": "2024-03-01T10:00:00Z",
                     "whole numbers": "1700000000", "decimals": "0.0"}.get(time, first)


def test_a_time_column_is_written_as_all_of_it_needs_not_as_its_first_blocks_do(tmp_path, monkeypatch,
                                                                               model_file) -> None:
    # times 0, 1, 2 ... in steps of 1 + 2**-30 rounded to 6 decimals: whole numbers up to row 536, then not; so
    # every time is written with a decimal point, as when the column was written whole
    np.save(tmp_path / "in.npy", walk(N, seed=2) / 10)
    compress_file(model_file, tmp_path / "in.npy", tmp_path / "plain.tsz", max_error=1e-3, block_windows=3)
    step = 1 + 2.0**-30
    crafted = rewritten((tmp_path / "plain.tsz").read_bytes(), header={
        "columns": ["a", "b"], "time": {"name": "t", "start": 0.0, "step": step, "decimals": 6, "kind": "number"}})
    (tmp_path / "c.tsz").write_bytes(crafted)
    monkeypatch.setattr(files, "CHUNK", 100)
    decompress_file(tmp_path / "c.tsz", tmp_path / "out.csv")
    time = np.round(step * np.arange(N), 6)
    assert (time[:537] == np.arange(537)).all() and (time[537:] != np.round(time[537:])).any()
    values = decompress_series(crafted, load_model(model_file))
    table_write.write_table(tmp_path / "whole.csv", {"a": values[0], "b": values[1]}, time=time, time_name="t")
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "out.csv").read_text().splitlines()[1].startswith("0.0,")


@pytest.mark.slow
def test_a_long_series_is_decompressed_to_a_table_in_bounded_memory(tmp_path, model_file) -> None:
    """2**21 samples of two channels (32 MB as float64) and a date time column: the table is written without holding
    the series (it held it twice, in decoded blocks and joined, and its time column: 100 MB more)."""
    np.save(tmp_path / "one.npy", np.sin(np.arange(2 * 4096).reshape(2, 4096) / 100))
    compress_file(model_file, tmp_path / "one.npy", tmp_path / "one.tsz", max_error=1e-3, block_windows=256)
    data = (tmp_path / "one.tsz").read_bytes()
    reader = Reader(io.BytesIO(data), "one.tsz")
    (block,) = reader.blocks()  # 4096 samples; a long container of it again and again is quicker made than coded
    assert reader.trailer is not None
    n, copies = 1 << 21, (1 << 21) // block.samples
    header = {"columns": ["a", "b"], "time": {"name": "time", "start": 0, "step": 10**9, "kind": "datetime64[ns]"}}
    (tmp_path / "long.tsz").write_bytes(rewritten(data, header=header, blocks=[block] * copies,
                                                  trailer={**reader.trailer, "samples": n, "blocks": copies}))
    decompress_file(tmp_path / "one.tsz", tmp_path / "warm.csv")  # imports, first-call allocations
    info: dict = {}
    growth = peak_rss_growth(lambda: info.update(decompress_file(tmp_path / "long.tsz", tmp_path / "out.csv")))
    assert info["samples"] == n
    assert growth < 24 * MB, growth / MB
    with open(tmp_path / "out.csv") as handle:
        assert handle.readline() == "time,a,b\n" and handle.readline().startswith("1970-01-01T00:00:00,")


@pytest.mark.parametrize("stop", ["interrupt", "damaged"])
def test_a_table_stopped_after_its_first_rows_leaves_no_file(tmp_path, monkeypatch, named_model, stop) -> None:
    source = tmp_path / "in.csv"
    # without a time column the container is not read ahead: the blocks before a damaged one are written first
    source.write_text(table_text("dates" if stop == "interrupt" else "none"))
    container = tmp_path / "in.tsz"
    compress_file(named_model, source, container, max_error=1e-3, block_windows=3)
    if stop == "interrupt":
        decode = files.iter_decompress

        def interrupted(*args, **kwargs):
            blocks = decode(*args, **kwargs)
            yield next(blocks)
            yield next(blocks)
            raise KeyboardInterrupt  # Ctrl-C with rows written

        monkeypatch.setattr(files, "iter_decompress", interrupted)
        with pytest.raises(KeyboardInterrupt):
            decompress_file(container, tmp_path / "out.csv")
    else:
        data = container.read_bytes()
        container.write_bytes(data[: len(data) // 2])  # blocks decoded and written, then a truncated one
        with pytest.raises(ValueError, match=r"in\.tsz: "):
            decompress_file(container, tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "in.tsz"]
