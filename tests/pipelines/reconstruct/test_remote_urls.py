"""A URL whose fsspec filesystem needs a package that is not installed is one line naming the URL.

Before, ``tsae reconstruct m.tsae x.csv -o s3://bucket/x.csv`` without s3fs reconstructed the
file, then failed at the upload with "internal error (ImportError: Install s3fs to access S3);
this is a bug in tsae"; an ``s3://`` input failed every file of the batch the same way, and
an ``s3://`` glob was an internal error too. A fake protocol stands in for S3, so the tests
do not depend on s3fs being absent.
"""
from __future__ import annotations

import importlib.util

import pytest
from cli_helpers import assert_one_line_error, run

fsspec = pytest.importorskip("fsspec")

NEEDS = "Install tsaemissingfs to access tsaefake"


@pytest.fixture()
def fake_protocol(monkeypatch):
    """``tsaefake://``: a protocol fsspec knows, whose package is not installed."""
    registry = importlib.import_module("fsspec.registry")  # fsspec.registry is also the name of a mapping

    monkeypatch.setitem(registry.known_implementations, "tsaefake",
                        {"class": "tsaemissingfs.core.FakeFileSystem", "err": NEEDS})
    return "tsaefake"


def table(path):
    path.write_text("a,b\n" + "".join(f"{i % 7},{i % 5}\n" for i in range(100)))
    return path


def check(result, url) -> None:
    assert result.exit_code == 1
    assert_one_line_error(result, f"Error: {url}: this URL's filesystem needs a package that is not installed",
                          f"({NEEDS})")
    assert "bug" not in result.output and "ImportError" not in result.output


def test_an_output_url_is_told_before_the_work(fake_protocol, tiny_model, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"{fake_protocol}://bucket/x.csv"
    check(run("reconstruct", tiny_model, table(tmp_path / "in.csv"), "-o", url, "--device", "cpu", "-q"), url)
    folder = tmp_path / "many"
    folder.mkdir()
    table(folder / "a.csv"), table(folder / "b.csv")
    url = f"{fake_protocol}://bucket/out/"
    check(run("reconstruct", tiny_model, folder, "-o", url, "--device", "cpu", "-q"), url)
    assert not (tmp_path / "manifest.csv").exists()  # nothing ran


@pytest.mark.parametrize("name", ["in.csv", "*.csv"])
def test_an_input_url_is_one_line(fake_protocol, tiny_model, tmp_path, name) -> None:
    url = f"{fake_protocol}://bucket/{name}"
    out = tmp_path / "out"
    check(run("reconstruct", tiny_model, url, "-o", out, "--device", "cpu", "-q"), url)
    assert not out.exists()


def test_the_library_raises_a_value_error_naming_the_url(fake_protocol, tiny_model, tmp_path) -> None:
    from tsae.pipelines.reconstruct.batch import reconstruct_file

    url = f"{fake_protocol}://bucket/x.csv"
    with pytest.raises(ValueError, match=rf"^{fake_protocol}://bucket/x\.csv: .*\({NEEDS}\)$"):
        reconstruct_file(tiny_model, table(tmp_path / "in.csv"), url)
    with pytest.raises(ValueError, match=r"^nosuchproto://x\.csv: not a URL fsspec can open"):
        reconstruct_file(tiny_model, table(tmp_path / "in.csv"), "nosuchproto://x.csv")
    from tsae.pipelines.reconstruct.on_dask import _dask_single_file

    with pytest.raises(ValueError, match=rf"^{fake_protocol}://bucket/x\.csv: .*\({NEEDS}\)$"):  # before the cluster
        _dask_single_file(tiny_model, str(table(tmp_path / "in.csv")), url, "tcp://127.0.0.1:9", 256)


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed")
def test_s3_without_s3fs(tiny_model, tmp_path) -> None:
    url = "s3://bucket/x.csv"
    result = run("reconstruct", tiny_model, table(tmp_path / "in.csv"), "-o", url, "--device", "cpu", "-q")
    assert_one_line_error(result, f"Error: {url}: this URL's filesystem needs", "s3fs")
    assert "bug" not in result.output
