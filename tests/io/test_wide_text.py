"""Tables in UTF-16 (Excel's "Unicode text") and UTF-32, told by their byte order mark."""
from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import numpy as np
import pytest

from tsae.io.tables import read_table

TEXT = "time\ttemp\u00e9rature\tb\r\n" + "".join(f"{i}\t{i % 3},5\t{i % 5}\r\n" for i in range(30))


def _check(path: Path) -> None:
    table = read_table(path)
    assert table.columns == ["temp\u00e9rature", "b"] and table.time_name == "time"
    np.testing.assert_array_equal(table.time, np.arange(30))
    np.testing.assert_array_equal(table.values[:, 4], [1.5, 4.0])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_table_with_a_utf16_or_utf32_byte_order_mark_is_read(tmp_path, encoding: str) -> None:
    # UTF-16 (with a BOM, as Excel's "Unicode text" writes) was refused: "not a text table (binary data)"
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    for name, text in (("unicode.txt", TEXT), ("unicode.csv", TEXT.replace("\t", ",").replace(",5", ".5"))):
        path = tmp_path / name
        path.write_bytes(bom + text.encode(encoding))
        _check(path)


def test_a_compressed_utf16_table_is_read(tmp_path) -> None:
    path = tmp_path / "unicode.txt.gz"
    path.write_bytes(gzip.compress(TEXT.encode("utf-16")))
    _check(path)


def test_broken_or_empty_utf16_is_one_line_naming_the_file(tmp_path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(TEXT.encode("utf-16") + b"\x00")  # an odd number of bytes
    with pytest.raises(ValueError) as info:
        read_table(path)
    assert str(info.value) == f"{path}: not valid UTF-16 text (truncated data; it starts with a UTF-16 byte order mark)"
    path.write_bytes(" \r\n\r\n".encode("utf-16"))
    with pytest.raises(ValueError, match=rf"^{path}: empty file$"):
        read_table(path)


def test_the_frame_command_reads_a_utf16_table(tmp_path, run) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes(TEXT.encode("utf-16"))
    result = run("frame", path, "--window", "8", "--hop", "4", "-o", tmp_path / "f.npy", "-q")
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "f.npy").shape == (2, 6, 8)
