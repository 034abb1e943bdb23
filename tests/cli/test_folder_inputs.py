"""A folder given to a batch command is read at its top level; the files in its sub-folders are told in one warning
line (with the quoted pattern that reads them too), silenced by -q."""
from __future__ import annotations

import os

from click.testing import CliRunner

from tsae.cli import cli


def test_reconstruct_of_a_folder_tells_the_files_in_its_sub_folders(tmp_path, trained) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("a.csv", "sub/b.csv"):
        (tmp_path / "in" / name).write_bytes(trained[0].read_bytes())
    args = ["reconstruct", str(trained[1]), str(tmp_path / "in"), "-o", str(tmp_path / "in" / "out")]
    for _ in range(2):  # then again: the outputs in in/out/ are no input left unread
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert (f"Warning: {tmp_path / 'in'}: 1 file(s) in its sub-folders not read (give "
                f"'{os.path.join(str(tmp_path / 'in'), '**', '*')}' with quotes to read them too)") in result.stderr
    assert CliRunner().invoke(cli, [*args, "-q"]).stderr == ""
