"""atomic_path inside all_or_nothing: the outputs of one job appear together, or none does."""
from __future__ import annotations

import pytest

from tsae.io.atomic import all_or_nothing, atomic_path


def test_outputs_appear_together_at_the_end(tmp_path) -> None:
    with all_or_nothing():
        for name in ("a.txt", "b.txt"):
            with atomic_path(tmp_path / name) as tmp:
                tmp.write_text(name)
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == []  # held back
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "b.txt").read_text() == "b.txt"


def test_an_error_leaves_no_output_and_no_temporary_file(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), all_or_nothing():
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("new")
        with atomic_path(tmp_path / "b.txt") as tmp:
            raise RuntimeError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"
    with atomic_path(tmp_path / "c.txt") as tmp:  # outside the block: renamed at once again
        tmp.write_text("c")
    assert (tmp_path / "c.txt").read_text() == "c"


def test_an_unwritable_folder_names_the_output_not_the_temporary_file(tmp_path, monkeypatch):
    import tempfile

    from tsae.io.atomic import atomic_path

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".out.csv.x1y2.part"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError) as error:
        with atomic_path(tmp_path / "out.csv"):
            pass
    assert str(error.value) == f"[Errno 13] Permission denied: '{tmp_path / 'out.csv'}'"


def test_a_full_disk_names_the_output_and_leaves_no_temporary_file(tmp_path) -> None:
    """Writing into a full disk said '[Errno 28] No space left on device', naming no file."""
    import errno

    from tsae.io.atomic import OutputFullError

    for code, reason in [(errno.ENOSPC, "No space left on device"), (errno.EDQUOT, "Disk quota exceeded")]:
        with pytest.raises(OutputFullError) as caught, atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("half")
            raise OSError(code, reason)
        assert str(caught.value) == f"{tmp_path / 'out.csv'}: cannot write it ({reason})"
        assert isinstance(caught.value, OSError) and caught.value.errno == code
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "out.csv"):  # other errors are left as they are
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "in.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_nested_block_waits_for_the_outer_one(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), all_or_nothing():
        with all_or_nothing():  # a job's own block, inside the command's
            with atomic_path(tmp_path / "a.txt") as tmp:
                tmp.write_text("new")
        assert (tmp_path / "a.txt").read_text() == "old"  # handed on, not renamed
        raise RuntimeError("stdout is full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"


def test_keep_on_commits_before_the_exception_goes_on(tmp_path) -> None:
    with pytest.raises(BrokenPipeError), all_or_nothing(keep_on=(BrokenPipeError,)):
        with all_or_nothing(), atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("whole")
        raise BrokenPipeError
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "whole"


def test_a_folder_written_at_once_is_not_held_back(tmp_path) -> None:
    from tsae.io.atomic import written_at_once

    spool, files = tmp_path / "spool", tmp_path / "files"
    spool.mkdir()
    with all_or_nothing(), written_at_once(spool):
        for folder in (spool, files):
            with atomic_path(folder / "x.csv") as tmp:
                tmp.write_text("x")
        assert (spool / "x.csv").is_file() and not (files / "x.csv").exists()
    assert (files / "x.csv").is_file()


def test_a_folder_written_in_place_is_neither_held_back_nor_renamed(tmp_path, monkeypatch) -> None:
    import tsae.io.atomic as atomic
    from tsae.io.atomic import written_in_place

    scratch, files = tmp_path / "scratch", tmp_path / "files"
    scratch.mkdir()
    renamed: list[str] = []
    replace = atomic.os.replace
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (renamed.append(str(b)), replace(a, b))[1])
    with all_or_nothing(), written_in_place(scratch):
        for folder in (scratch, files):
            with atomic_path(folder / "x.csv") as tmp:
                tmp.write_text("x")
        assert (scratch / "x.csv").read_text() == "x" and not (files / "x.csv").exists()
        with atomic_path(scratch / "x.csv") as path:  # the file's own path, written again in place
            assert path == scratch / "x.csv"
            path.write_text("y")
        assert sorted(p.name for p in scratch.iterdir()) == ["x.csv"]  # no temporary file
    assert (files / "x.csv").is_file() and (scratch / "x.csv").read_text() == "y"
    assert renamed == [str(files / "x.csv")]


def test_a_file_written_in_place_that_fails_is_removed(tmp_path) -> None:
    import errno

    from tsae.io.atomic import OutputFullError, written_in_place

    with written_in_place(tmp_path):
        with pytest.raises(RuntimeError), atomic_path(tmp_path / "a.csv") as path:
            path.write_text("part")
            raise RuntimeError("stop")
        with pytest.raises(OutputFullError, match="b.csv: cannot write it"), atomic_path(tmp_path / "b.csv") as path:
            path.write_text("part")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_a_file_written_in_place_again_is_a_new_file_not_one_cut_short(tmp_path) -> None:
    # truncating a file and filling it again makes ext4 write its blocks at once (a millisecond a fleet's device)
    import os

    from tsae.io.atomic import written_in_place

    (tmp_path / "x.csv").write_text("old")
    os.link(tmp_path / "x.csv", tmp_path / "old.csv")
    with written_in_place(tmp_path), atomic_path(tmp_path / "x.csv") as path:
        path.write_text("new")
    assert (tmp_path / "x.csv").read_text() == "new" and (tmp_path / "old.csv").read_text() == "old"
