"""A file named on the command line that is not there (an input, a model, a detector), or a folder where a file is
needed, is a usage error on every command: exit 2, one line naming it, before any work. Before, ``encode``,
``reconstruct``, ``train`` and ``denoise`` exited 1 for a missing input ("no such file"), ``encode`` and
``reconstruct`` for a missing model, ``encode`` for a folder as its model, while the other commands exited 2."""
from __future__ import annotations

import pytest
from cli_helpers import run

#: ``X`` is the file under test; the other files named exist (their contents are never read: the usage fails first)
INPUTS = {
    "frame": ["frame", "X", "-o", "o.npy", "--window", "16"],
    "smooth": ["smooth", "X", "-o", "o.csv"],
    "impute": ["impute", "X", "-o", "o.csv"],
    "compress": ["compress", "X", "-o", "o.tsz", "--max-error", "0.01"],
    "decompress": ["decompress", "X", "-o", "o.csv"],
    "encode": ["encode", "M", "X", "-o", "o.npy"],
    "reconstruct": ["reconstruct", "M", "X", "-o", "o.csv"],
    "train": ["train", "X", "-o", "o.tsae"],
    "detect fit": ["detect", "fit", "X", "-o", "o.tsae"],
    "detect score": ["detect", "score", "X", "--detector", "M", "-o", "o.csv"],
    "denoise": ["denoise", "X", "-o", "o.wav"],
}
MODELS = {
    "smooth --model": ["smooth", "D", "--model", "X", "-o", "o.csv"],
    "impute --model": ["impute", "D", "--model", "X", "-o", "o.csv"],
    "compress MODEL": ["compress", "X", "D", "-o", "o.tsz"],
    "decompress --model": ["decompress", "D", "--model", "X", "-o", "o.csv"],
    "encode MODEL": ["encode", "X", "D", "-o", "o.npy"],
    "reconstruct MODEL": ["reconstruct", "X", "D", "-o", "o.csv"],
    "train --init": ["train", "D", "--init", "X", "-o", "o.tsae"],
    "detect score --detector": ["detect", "score", "D", "--detector", "X", "-o", "o.csv"],
    "monitor --detector": ["monitor", "--detector", "X"],
    "export MODEL": ["export", "X", "-o", "o.onnx"],
    "denoise --model": ["denoise", "D", "--model", "X", "-o", "o.wav"],
}
#: inputs that may be folders (of files): an empty one is a folder that cannot be processed, exit 1, not asked here
FOLDERS_TAKEN = {"reconstruct", "train", "denoise"}


def _cases():
    for table in (INPUTS, MODELS):
        for name, args in table.items():
            yield pytest.param(args, "missing", id=f"{name}-missing")
            yield pytest.param(args, "broken link", id=f"{name}-broken-link")
            if name not in FOLDERS_TAKEN:
                yield pytest.param(args, "folder", id=f"{name}-folder")


@pytest.mark.parametrize(("args", "kind"), list(_cases()))
def test_a_missing_file_or_a_folder_for_a_file_is_a_usage_error_naming_it(tmp_path, monkeypatch, tiny_model, args,
                                                                          kind) -> None:
    monkeypatch.chdir(tmp_path)  # the outputs (o.*) here
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    named = tmp_path / {"missing": "nofile.csv", "broken link": "link.csv", "folder": "folder"}[kind]
    if kind == "folder":
        named.mkdir()
    if kind == "broken link":  # denoise, reconstruct and train exited 1 ("is a link to no file"), the others 2
        named.symlink_to(tmp_path / "nowhere.csv")
    given = {"X": named, "M": tiny_model, "D": data}
    result = run(*(given.get(word, word) for word in args))
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    assert named.name in lines[0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("o.")]


#: the commands that expand glob patterns; ``P`` is the pattern under test, ``G`` a file that is there
GLOBS = {
    "reconstruct": ["reconstruct", "M", "P", "-o", "out"],
    "reconstruct among others": ["reconstruct", "M", "G", "P", "-o", "out"],
    "train": ["train", "P", "-o", "o.tsae"],
    "train among others": ["train", "G", "P", "-o", "o.tsae"],
    "denoise": ["denoise", "P", "-o", "out"],
    "denoise among others": ["denoise", "W", "P", "-o", "out"],
}


@pytest.mark.parametrize("args", list(GLOBS.values()), ids=list(GLOBS))
def test_a_glob_that_matches_no_file_is_a_usage_error_naming_it(tmp_path, monkeypatch, tiny_model, args) -> None:
    """It exited 1 ("no*.csv: no file matches"), where a missing file named exits 2; among inputs that do match,
    the same (nothing is done, as for a missing file among them)."""
    import numpy as np
    import soundfile as sf

    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.csv").write_text("a,b\n" + "".join(f"{i},{-i}\n" for i in range(64)))
    sf.write(tmp_path / "w.wav", np.zeros(1600, np.float32), 16000)
    pattern = "no*.csv" if args[0] != "denoise" else "no*.wav"
    given = {"M": tiny_model, "P": pattern, "G": "g.csv", "W": "w.wav"}
    result = run(*(given.get(word, word) for word in args))
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: ") and lines[0].count(f"{pattern}: no file matches") == 1, \
        result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.csv", "w.wav"]


@pytest.mark.parametrize("among_others", [False, True], ids=["alone", "among others"])
def test_a_url_glob_that_matches_no_file_is_a_usage_error_naming_it(tmp_path, monkeypatch, tiny_model,
                                                                     among_others) -> None:
    """``memory://x/no*.csv`` exited 1 ("Error: memory://x/no*.csv: no file matches"), where a local glob that
    matches nothing exits 2 in the same words."""
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe("/tsae-url-nomatch/g.csv", ("a,b\n" + "".join(f"{i},{-i}\n" for i in range(64))).encode())
    monkeypatch.chdir(tmp_path)
    pattern = "memory://tsae-url-nomatch/no*.csv"
    inputs = ["memory://tsae-url-nomatch/g.csv", pattern] if among_others else [pattern]
    try:
        result = run("reconstruct", tiny_model, *inputs, "-o", "out")
    finally:
        fs.rm("/tsae-url-nomatch", recursive=True)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: ") and lines[0].count(f"{pattern}: no file matches") == 1, \
        result.output
    assert not list(tmp_path.iterdir())


def test_a_glob_that_matches_only_files_of_other_kinds_says_the_kinds(tmp_path) -> None:
    """As a folder of them is told (exit 1: files that are there, none of them a kind the command takes)."""
    (tmp_path / "notes.md").write_text("not audio\n")
    result = run("denoise", str(tmp_path / "*.md"), "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"Error: {tmp_path / '*.md'}: no audio file matches"


#: the inputs told by a type of their own (a model file, or the name of a shipped model): not asked here
OWN_WORDS = {"export MODEL", "denoise --model"}
#: what a folder is told where a file is needed, by input (the others: "is a folder, not a file")
FOLDER_WORDS = {**{name: "is a folder, not a model file" for name in MODELS},
                "decompress": "is a folder, not a .tsz container"}


def _told_cases():
    for table in (INPUTS, MODELS):
        for name, args in table.items():
            if name in OWN_WORDS:
                continue
            yield pytest.param(args, "missing", "no such file or folder" if name in FOLDERS_TAKEN else "no such file",
                               id=f"{name}-missing")
            yield pytest.param(args, "broken link", "is a link to no file (broken, or a loop of links)",
                               id=f"{name}-broken-link")
            if name not in FOLDERS_TAKEN:
                yield pytest.param(args, "folder", FOLDER_WORDS.get(name, "is a folder, not a file"),
                                   id=f"{name}-folder")


@pytest.mark.parametrize(("args", "kind", "problem"), list(_told_cases()))
def test_a_missing_file_or_a_folder_for_a_file_is_told_in_one_wording(tmp_path, monkeypatch, tiny_model, args, kind,
                                                                      problem) -> None:
    """The inputs of click's ``exists=True`` said "File 'x.csv' does not exist." and "File 'x' is a directory.",
    where ``denoise``, ``reconstruct`` and ``train`` said "x.csv: no such file or folder"; now all say the latter
    (a file alone: "no such file"), and a folder "is a folder, not a file" as tsae's readers do."""
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    named = {"missing": "nofile.csv", "broken link": "link.csv", "folder": "folder"}[kind]
    if kind == "folder":
        (tmp_path / named).mkdir()
    if kind == "broken link":
        (tmp_path / named).symlink_to(tmp_path / "nowhere.csv")
    given = {"X": named, "M": tiny_model, "D": data}
    result = run(*(given.get(word, word) for word in args))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f": {named}: {problem} (see " in lines[0], result.output


#: the outputs that are one file (``X`` an existing folder); the inputs named exist and are never read
OUTPUTS = {
    "smooth": ["smooth", "D", "-o", "X"],
    "frame": ["frame", "D", "-o", "X", "--window", "16"],
    "compress": ["compress", "D", "-o", "X", "--max-error", "0.01"],
    "encode": ["encode", "M", "D", "-o", "X"],
    "detect fit": ["detect", "fit", "D", "-o", "X"],
    "detect score": ["detect", "score", "D", "--detector", "M", "-o", "X"],
    "detect score --events": ["detect", "score", "D", "--detector", "M", "-o", "o.csv", "--events", "X"],
}


@pytest.mark.parametrize("args", list(OUTPUTS.values()), ids=list(OUTPUTS))
def test_a_folder_as_an_output_file_is_told_as_one_named_with_a_slash(tmp_path, monkeypatch, tiny_model,
                                                                      args) -> None:
    """It said click's "File 'out' is a directory.", where ``-o out/`` says the words asserted here."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    (tmp_path / "out").mkdir()
    result = run(*({"X": "out", "M": tiny_model, "D": "d.csv"}.get(word, word) for word in args))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and ": out: is a folder; this command writes one file: give its name (see " in lines[0], \
        result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "out"] and not any((tmp_path / "out").iterdir())
