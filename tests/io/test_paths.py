"""tsae.io.paths: expanding inputs, planning outputs, and the one overwrite check."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tsae.io.paths import (
    SERIES_SUFFIXES,
    InputWarning,
    check_output,
    check_outputs,
    expand_inputs,
    plan_outputs,
    read_paths,
)


def _touch(folder, *names):
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x")


def test_expand_inputs_folders_globs_files(tmp_path) -> None:
    _touch(tmp_path, "b.csv", "a.wav", "notes.md", ".hidden.csv", "sub/c.npy", "x.denoised.wav")
    with pytest.warns(InputWarning, match=r"1 file\(s\) in its sub-folders not read"):  # sub/c.npy
        found = expand_inputs([tmp_path], exclude=lambda name: name.startswith("x."))
    assert [os.path.basename(f) for f in found] == ["a.wav", "b.csv"]
    assert [os.path.basename(f) for f in expand_inputs([tmp_path], recursive=True)] == [
        "a.wav", "b.csv", "c.npy", "x.denoised.wav"]
    assert [os.path.basename(f) for f in expand_inputs([str(tmp_path / "*.wav")])] == ["a.wav", "x.denoised.wav"]
    # a named file is kept whatever its suffix; duplicates are dropped
    assert expand_inputs([tmp_path / "notes.md", tmp_path / "notes.md"]) == [str(tmp_path / "notes.md")]


def test_expand_inputs_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="no such file or folder"):
        expand_inputs([tmp_path / "nope.csv"])
    with pytest.raises(ValueError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.csv")])
    with pytest.raises(ValueError, match="no CSV, .npy or audio files in this folder"):
        expand_inputs([tmp_path])
    with pytest.raises(ValueError, match="URLs are not supported"):
        expand_inputs(["s3://bucket/a.csv"])
    assert expand_inputs(["s3://bucket/a.csv"], urls=True) == ["s3://bucket/a.csv"]


def test_a_folder_whose_files_are_all_in_sub_folders_says_how_to_reach_them(tmp_path) -> None:
    (tmp_path / "day1").mkdir()
    (tmp_path / "day1" / "a.csv").write_text("x\n1\n")
    with pytest.raises(ValueError, match=r"no .* files in this folder \(its sub-folders have some: give '.*\*\*"):
        expand_inputs([tmp_path])
    assert expand_inputs([str(tmp_path / "**" / "*")]) == [str(tmp_path / "day1" / "a.csv")]
    (tmp_path / "day1" / "a.csv").unlink()
    with pytest.raises(ValueError, match="files in this folder$"):
        expand_inputs([tmp_path])


def test_a_folder_whose_sub_folders_hold_files_too_counts_them_in_a_warning(tmp_path) -> None:
    import warnings

    # counted: what the quoted pattern reads beyond the top level; not: other kinds, hidden folders, the output folder
    _touch(tmp_path, "a.csv", "sub/b.csv", "sub/deeper/c.wav", "sub/notes.md", ".git/d.csv", "out/a.csv")
    pattern = os.path.join(str(tmp_path), "**", "*")
    with pytest.warns(InputWarning) as told:
        assert expand_inputs([tmp_path], skip=[tmp_path / "out"]) == [str(tmp_path / "a.csv")]
    assert [str(w.message) for w in told] == [
        f"{tmp_path}: 2 file(s) in its sub-folders not read (give '{pattern}' with quotes to read them too)"]
    assert len(expand_inputs([pattern])) == 4  # a.csv, out/a.csv, sub/b.csv, sub/deeper/c.wav
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to tell: sub-folders read, or holding no input
        expand_inputs([tmp_path], recursive=True)
        expand_inputs([tmp_path / "sub" / "deeper"])


def test_expand_inputs_skips_a_file_by_identity(tmp_path) -> None:
    _touch(tmp_path, "a.csv", "manifest.csv")
    assert expand_inputs([tmp_path], skip=[tmp_path / "manifest.csv"]) == [str(tmp_path / "a.csv")]


def test_plan_outputs(tmp_path) -> None:
    a, b = str(tmp_path / "x" / "a.wav"), str(tmp_path / "y" / "b.wav")
    assert plan_outputs([a], tmp_path / "o.wav") == [(a, str(tmp_path / "o.wav"))]
    assert plan_outputs([a], str(tmp_path / "o") + "/") == [(a, str(tmp_path / "o" / "a.wav"))]
    assert plan_outputs([a, b], tmp_path / "o") == [(a, str(tmp_path / "o" / "a.wav")),
                                                    (b, str(tmp_path / "o" / "b.wav"))]
    assert plan_outputs([a], None, default=lambda f: f + ".out") == [(a, a + ".out")]
    assert plan_outputs([a], "s3://bucket/out", folder=True) == [(a, "s3://bucket/out/a.wav")]
    with pytest.raises(ValueError, match="several inputs have this file name"):
        plan_outputs([a, str(tmp_path / "y" / "a.wav")], tmp_path / "o")
    _touch(tmp_path, "file")
    with pytest.raises(ValueError, match="output must be a folder"):
        plan_outputs([a, b], tmp_path / "file")


def test_check_output(tmp_path) -> None:
    _touch(tmp_path, "in.csv")
    src = tmp_path / "in.csv"
    check_output(tmp_path / "new.csv", [src])  # fine
    with pytest.raises(ValueError, match="in.csv: refusing to overwrite a file this command reads"):
        check_output(src, [src])
    hard = tmp_path / "hard.csv"
    os.link(src, hard)
    with pytest.raises(ValueError, match="refusing to overwrite"):
        check_output(hard, [src])
    soft = tmp_path / "soft.csv"
    soft.symlink_to(src)
    with pytest.raises(ValueError, match="refusing to overwrite"):
        check_output(soft, [src])
    with pytest.raises(ValueError, match="refusing to overwrite"):  # a read file that does not exist yet
        check_output(tmp_path / "sub" / ".." / "manifest.csv", [tmp_path / "manifest.csv"])
    with pytest.raises(ValueError, match="is a device"):
        check_output("/dev/null")
    with pytest.raises(ValueError, match="is a folder"):
        check_output(tmp_path)
    with pytest.raises(ValueError, match="in.csv is a file, not a folder"):
        check_output(src / "out.csv")
    with pytest.raises(ValueError, match="two outputs"):
        check_outputs([tmp_path / "o.csv", tmp_path / "." / "o.csv"])
    check_output("s3://bucket/in.csv", ["s3://bucket/in.csv"])  # URLs are not checked


def test_read_paths() -> None:
    class Loaded:
        path = "m.tsae"

    class Fitted:
        path_ = "d.tsae"

    assert read_paths("a", None, Loaded(), Fitted(), object()) == ["a", "m.tsae", "d.tsae"]


def test_an_output_whose_folder_takes_no_file_is_refused_before_any_work(tmp_path, monkeypatch) -> None:
    # `train -o /sys/m.tsae` trained first, then failed with a bare "[Errno 13] Permission denied"
    import errno
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(ValueError, match=r"out\.csv: cannot write in .* \(Read-only file system\)"):
        check_output(tmp_path / "new" / "out.csv", [])
    monkeypatch.undo()
    check_output(tmp_path / "new" / "out.csv", [])  # a writable folder passes and keeps no probe file
    assert list(tmp_path.iterdir()) == []


def test_a_batch_of_outputs_probes_each_folder_once(tmp_path, monkeypatch) -> None:
    import tempfile

    made = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kw: made.append(kw["dir"]) or real(**kw))
    check_outputs([tmp_path / f"o{i}.csv" for i in range(50)] + [tmp_path / "sub" / "x.csv"], [])
    assert made == [tmp_path]  # "sub" does not exist yet: its nearest folder, already probed


def test_two_inputs_with_one_output_name_are_both_named(tmp_path) -> None:
    a, b = str(tmp_path / "x" / "a.wav"), str(tmp_path / "y" / "a.wav")
    with pytest.raises(ValueError) as info:
        plan_outputs([a, b], tmp_path / "o")
    assert str(info.value) == (f"{tmp_path / 'o' / 'a.wav'}: several inputs have this file name ({a}, {b}); "
                               "write them to separate folders")


def test_a_link_to_nothing_in_an_input_folder_is_told(tmp_path) -> None:
    _touch(tmp_path, "a.csv")
    os.symlink(tmp_path / "gone.csv", tmp_path / "b.csv")
    os.symlink(tmp_path / "gone.txt.bak", tmp_path / "notes.bak")  # not an input anyway: not told
    with pytest.warns(InputWarning, match=r"1 link\(s\) pointing to no file left out: b\.csv$"):
        assert expand_inputs([tmp_path]) == [str(tmp_path / "a.csv")]


def test_a_folder_of_one_file_is_denoised_into_a_folder(tmp_path) -> None:
    import numpy as np
    import soundfile as sf

    from tsae.pipelines.denoise.files import denoise_files

    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "a.wav", 0.1 * np.sin(np.arange(8000) / 5), 16000)
    denoise_files([tmp_path / "in"], tmp_path / "clean", quiet=True)  # was: 'unknown audio suffix' for 'clean'
    assert (tmp_path / "clean" / "a.wav").is_file()
    denoise_files([str(tmp_path / "in" / "*.wav")], tmp_path / "by_pattern", quiet=True)
    assert (tmp_path / "by_pattern" / "a.wav").is_file()


@pytest.mark.parametrize("name", ["clean.wav", "out.csv.gz", "codes.npy"])
def test_a_folder_output_named_like_a_file_is_refused(tmp_path, name) -> None:
    # `tsae denoise recordings/ -o clean.wav` made a folder clean.wav/ holding the outputs
    out = tmp_path / name
    with pytest.raises(ValueError, match=f"^{out}: named like a .* file, but the outputs of several inputs"):
        plan_outputs(["a.wav", "b.wav"], out)
    with pytest.raises(ValueError, match="give one, e.g. "):
        plan_outputs(["a.wav"], out, folder=True)
    assert not out.exists()
    # asked for as a folder (a trailing separator, or one that exists), it is one
    assert plan_outputs(["a.wav", "b.wav"], f"{out}/")[0][1] == os.path.join(f"{out}/", "a.wav")
    out.mkdir()
    assert [dst for _, dst in plan_outputs(["a.wav", "b.wav"], out)] == [str(out / "a.wav"), str(out / "b.wav")]
    assert plan_outputs(["a.wav"], tmp_path / "one.wav") == [("a.wav", str(tmp_path / "one.wav"))]


def test_a_folder_or_file_behind_a_permission_is_one_line_naming_it(tmp_path, monkeypatch):
    # before: "[Errno 13] Permission denied: 'locked'" (a folder not listable, tsae denoise locked/) and the same
    # for locked/a.wav (a file in a folder not searchable): Python 3.11's Path.is_dir raises for EACCES
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "a.wav").write_bytes(b"RIFF")
    real_iterdir, real_stat = Path.iterdir, Path.stat

    def iterdir(self):  # type: ignore[no-untyped-def]
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    def stat(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.parent == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    monkeypatch.setattr(Path, "stat", stat)
    listing = re.escape(f"{folder}: permission denied (cannot list this folder)")
    with pytest.raises(ValueError, match=f"^{listing}$"):
        expand_inputs([folder], {".wav"})
    with pytest.raises(ValueError, match=re.escape(f"a.wav: permission denied (cannot look into {folder})") + "$"):
        expand_inputs([folder / "a.wav"], {".wav"})


def test_a_url_glob_takes_the_files_a_local_glob_takes() -> None:
    """``memory://x/*`` gave the hidden file and a Markdown note beside the CSV; a local glob leaves them out."""
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    for name in ("a.csv", ".hidden.csv", "notes.md", "b.denoised.csv"):
        fs.pipe(f"/tsae-url-kinds/{name}", b"a\n1\n")
    try:
        found = expand_inputs(["memory://tsae-url-kinds/*"], SERIES_SUFFIXES, urls=True,
                              exclude=lambda name: ".denoised" in name)
        assert [url.rsplit("/", 1)[1] for url in found] == ["a.csv"]
        with pytest.raises(ValueError, match=r"tsae-url-kinds/\*\.md: no .*file matches$"):
            expand_inputs(["memory://tsae-url-kinds/*.md"], SERIES_SUFFIXES, urls=True)
        named = expand_inputs(["memory://tsae-url-kinds/notes.md"], SERIES_SUFFIXES, urls=True)
        assert named == ["memory://tsae-url-kinds/notes.md"]  # a file named is kept, whatever its kind
    finally:
        fs.rm("/tsae-url-kinds", recursive=True)
