"""Input and output paths of the file commands: expand inputs, plan outputs, never overwrite a read file.

:func:`expand_inputs` turns files, folders and glob patterns (and, where a command
allows them, fsspec URLs) into one sorted, unique list of files. :func:`plan_outputs`
pairs each input with its output (one file, or a folder holding every input under its
own name). :func:`check_outputs` is the one check that an output never replaces a
file the command reads (an input, a model, a detector, a manifest), is not a device
node, and does not lie "inside" an existing file. :func:`tsae.io.atomic.atomic_path`
runs the same check again just before it renames a finished output into place.
"""
from __future__ import annotations

import glob
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any

#: File name suffixes of each kind of series file (lower case, with the dot).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".au", ".mp3", ".w64", ".rf64")
#: Suffixes of a compressed table (``pump.csv.gz``): gzip, bzip2, xz.
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
_PLAIN_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
#: Tables, plain or compressed (``.csv``, ``.csv.gz``, ``.tsv.bz2``, ``.txt.xz`` ...).
TABLE_SUFFIXES = _PLAIN_TABLE_SUFFIXES + tuple(t + c for t in _PLAIN_TABLE_SUFFIXES for c in COMPRESSION_SUFFIXES)
ARRAY_SUFFIXES = (".npy",)
#: Every file suffix :func:`tsae.io.series.read_series` reads (lower case, with the dot; see :func:`kind_suffix`).
SERIES_SUFFIXES = frozenset(AUDIO_SUFFIXES) | frozenset(TABLE_SUFFIXES) | frozenset(ARRAY_SUFFIXES)

PathLike = str | os.PathLike

#: what an input that exists but is no regular file is told as: a reader that opens a file more than once (to sniff
#: it, then read it) would wait forever on a named pipe (``<(zcat x.gz)``), and read a device without end
PIPE_OR_DEVICE = "is a pipe or device, not a file"


# ----------------------------------------------------------------------------- URLs and names
def is_url(path: PathLike) -> bool:
    """True for an fsspec URL such as ``s3://bucket/key`` (``file://`` counts as local: see :func:`local_path`)."""
    text = str(path)
    return "://" in text and not text.startswith("file://")


def local_path(path: PathLike) -> PathLike:
    """The local path a ``file://`` URL names; any other path or URL as it is.

    ``file:///tmp/a%20b.npy`` and ``file://localhost/tmp/a%20b.npy`` are ``/tmp/a b.npy``
    (percent-escapes decoded, as in any URL). Every path the command line takes goes
    through it (:mod:`tsae.cli.common`): ``Path('file:///tmp/x.npy')`` would be
    ``file:/tmp/x.npy``, a file that does not exist.

    Raises
    ------
    ValueError
        A file URL of another host, one naming no file, or one with a query or fragment
        (``?``, ``#``: in a URL they end the path; a file name holding them writes them
        ``%3F`` and ``%23``).

    Examples
    --------
    >>> local_path("file:///tmp/a%20b.npy")
    '/tmp/a b.npy'
    >>> local_path("s3://bucket/x.csv")
    's3://bucket/x.csv'
    """
    if not isinstance(path, str) or path[:7].lower() != "file://":
        return path
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    parts = urlsplit(path)
    if parts.netloc.lower() not in ("", "localhost"):
        raise ValueError(f"{path}: a file URL of another host ({parts.netloc}); give a local path")
    if parts.query or parts.fragment or path.endswith(("?", "#")):
        raise ValueError(f"{path}: a file URL ends its path at '?' or '#'; write them %3F and %23 in the URL, "
                         "or give the plain path")
    local = url2pathname(parts.path)
    if not local:
        raise ValueError(f"{path}: a file URL naming no file")
    return local


def name_of(path: PathLike) -> str:
    """The last component of a local path or a URL."""
    text = str(path)
    return text.rstrip("/").rsplit("/", 1)[-1] if is_url(text) else Path(text).name


def join(folder: PathLike, name: str) -> str:
    """``folder/name`` for a local folder or a URL prefix."""
    text = str(folder)
    return f"{text.rstrip('/')}/{name}" if is_url(text) else str(Path(text) / name)


def split_suffix(path: PathLike) -> tuple[str, str]:
    """``(path before its kind suffix, the kind suffix)``, the suffix as spelled.

    A compressed table's suffix has two parts: ``"x/pump.csv.gz"`` -> ``("x/pump", ".csv.gz")``; any other name
    splits at its last dot (``"notes.gz"`` -> ``("notes", ".gz")``, ``"README"`` -> ``("README", "")``). Output
    names derived from an input use it (``pump.csv.gz`` -> ``pump.events.json``).
    """
    text = str(path)
    name = Path(name_of(text))
    suffix = name.suffix
    if suffix.lower() in COMPRESSION_SUFFIXES and Path(name.stem).suffix.lower() in _PLAIN_TABLE_SUFFIXES:
        suffix = Path(name.stem).suffix + suffix
    return text[: len(text) - len(suffix)], suffix


def kind_suffix(path: PathLike) -> str:
    """The lower-case suffix that tells what kind of file ``path`` is: ``.csv.gz``, ``.csv``, ``.wav``, ``.gz``."""
    return split_suffix(path)[1].lower()


# ----------------------------------------------------------------------------- inputs
class _Files:
    """A set of local files matched by identity: the same inode when the file exists, else the same real path.

    Lookups are O(1), so a batch of many outputs is checked against many inputs in linear time.
    """

    def __init__(self, paths: Iterable[PathLike] = ()) -> None:
        self._by_inode: dict[tuple[int, int], PathLike] = {}
        self._by_path: dict[str, PathLike] = {}
        for path in paths:
            self.add(path)

    def add(self, path: PathLike) -> None:
        if is_url(path):
            return
        self._by_path.setdefault(os.path.realpath(path), path)
        try:
            info = os.stat(path)
        except OSError:
            return
        self._by_inode.setdefault((info.st_dev, info.st_ino), path)

    def find(self, path: PathLike) -> PathLike | None:
        """The member naming the same file as ``path``, or None."""
        try:
            info = os.stat(path)
        except OSError:
            return self._by_path.get(os.path.realpath(path))
        return self._by_inode.get((info.st_dev, info.st_ino))


def _kinds(suffixes: set[str]) -> str:
    """``"CSV, .npy or audio"``: the kinds of file a suffix set accepts, for messages."""
    kinds = [kind for kind, known in (("CSV", TABLE_SUFFIXES), (".npy", ARRAY_SUFFIXES), ("audio", AUDIO_SUFFIXES))
             if suffixes & set(known)]
    kinds += sorted(suffixes - SERIES_SUFFIXES)
    return " or ".join([", ".join(kinds[:-1]), kinds[-1]]) if len(kinds) > 1 else "".join(kinds) or "input"


def url_glob(pattern: str) -> list[str]:
    """The URLs an fsspec URL glob ``pattern`` (``s3://bucket/in/*.csv``) matches, sorted."""
    import fsspec

    fs, _, paths = fsspec.get_fs_token_paths(pattern)
    return sorted(fs.unstrip_protocol(p) for p in paths)


def expand_inputs(
    inputs: Iterable[PathLike],
    suffixes: Iterable[str] = SERIES_SUFFIXES,
    *,
    urls: bool = False,
    recursive: bool = False,
    skip: Sequence[PathLike] = (),
    exclude: Callable[[str], bool] | None = None,
) -> list[str]:
    """Files, folders and glob patterns -> a sorted, unique list of files.

    Parameters
    ----------
    inputs
        Paths as the user gave them. A file is kept as it is (whatever its suffix);
        a folder contributes its files with one of ``suffixes``; a glob pattern the
        matching files with one of ``suffixes``.
    suffixes
        Accepted file suffixes (lower case, with the dot) for folders and globs.
    urls
        Accept fsspec URLs (kept as they are; URL globs are expanded through fsspec, and filtered as local globs
        are).
    recursive
        Look into sub-folders of a folder too. Otherwise a folder's files in its sub-folders are told in one
        :class:`InputWarning` (how many, and the quoted glob ``FOLDER/**/*`` that reads them too).
    skip
        Files never listed from a folder (e.g. the manifest the command writes); a folder among them (the
        command's output folder) is left out of that count.
    exclude
        ``exclude(name)`` True leaves a file found in a folder or by a glob out
        (e.g. a command's own earlier outputs). Hidden files are always left out.

    Returns
    -------
    list of str
        In the order given, each folder and glob sorted, duplicates removed.

    Raises
    ------
    ValueError
        One line naming a path that does not exist, a URL where none is allowed, or a
        folder or glob that holds no accepted file.
    """
    accepted = {s.lower() for s in suffixes}
    skipped = _Files(skip)

    def wanted_name(name: str) -> bool:
        excluded = exclude is not None and exclude(name)
        return kind_suffix(name) in accepted and not name.startswith(".") and not excluded

    def wanted(path: Path) -> bool:
        return path.is_file() and wanted_name(path.name) and skipped.find(path) is None

    files: list[str] = []
    for item in inputs:
        text = str(item)
        if not text.strip():  # Path("") is the current folder: never what an unset shell variable meant
            raise ValueError("an empty path was given as an input (an unset shell variable?)")
        if is_url(text):
            if not urls:
                raise ValueError(f"{text}: URLs are not supported here; give a local file")
            if not glob.has_magic(text):
                files.append(text)
                continue
            matches = url_glob(text)
            # the files a local glob would take: of an accepted kind, not hidden, not excluded
            found = [url for url in matches if wanted_name(PurePosixPath(url.rstrip("/")).name)]
            if not found:
                raise ValueError(f"{text}: no {_kinds(accepted) + ' ' if matches else ''}file matches")
            files += found
            continue
        path = Path(text)
        try:
            files += _expand_local(path, text, recursive, accepted, wanted, skipped)
        except PermissionError as error:  # a folder not listable, or a file in a folder not searchable
            raise ValueError(permission_denied(error.filename if error.filename is not None else path)) from None
    # one file named twice (a.wav and ./a.wav, a link to it) is one input, as the user spelled it first
    unique: dict[str, str] = {}
    for name in files:
        unique.setdefault(name if is_url(name) else os.path.realpath(name), name)
    return list(unique.values())


def permission_denied(path: PathLike, *, reading: bool = True) -> str:
    """One line telling why ``path`` cannot be reached or read for lack of permission: ``<path>: permission denied
    (cannot look into <folder>)`` naming the first folder on its way that may not be searched (``chmod -x``), ``...
    (cannot list this folder)`` for a folder that may not be listed, else ``... (cannot read it)`` (not
    ``reading``, where the system's refusal may have been of a write: ``<path>: permission denied``). Asked after
    the system said so (an ``EACCES``); what it names is found by looking again."""
    text = str(path)
    parts = Path(text).parts
    for depth in range(1, len(parts)):
        try:
            Path(*parts[: depth + 1]).stat()
        except PermissionError:
            return f"{text}: permission denied (cannot look into {Path(*parts[:depth])})"
        except OSError:
            break
    if os.path.isdir(text):
        return f"{text}: permission denied (cannot list this folder)"
    return f"{text}: permission denied (cannot read it)" if reading else f"{text}: permission denied"


def _expand_local(path: Path, text: str, recursive: bool, accepted: set[str],
                  wanted: Callable[[Path], bool], skipped: _Files) -> list[str]:
    """The files one local input of :func:`expand_inputs` names (a file, a folder's, or a glob's)."""
    files: list[str] = []
    if path.is_dir():
        listing = list(path.rglob("*") if recursive else path.iterdir())
        found = sorted((str(p) for p in listing if wanted(p)), key=Path)  # by path parts, as Path sorts
        _warn_broken_links(path, listing, accepted)
        deeper = 0 if recursive else _files_deeper(path, wanted, skipped)
        pattern = f"'{os.path.join(glob.escape(str(path)), '**', '*')}'"
        if not found:
            hint = f" (its sub-folders have some: give {pattern} with quotes)" if deeper else ""
            raise ValueError(f"{path}: no {_kinds(accepted)} files in this folder{hint}")
        if deeper:
            import warnings

            warnings.warn(f"{path}: {deeper} file(s) in its sub-folders not read (give {pattern} with quotes to "
                          "read them too)", InputWarning, stacklevel=3)
        files += found
    elif path.exists():
        files.append(text)
    elif glob.has_magic(text):
        matches = glob.glob(text, recursive=True)
        found = sorted((p for p in matches if wanted(Path(p))), key=Path)
        if not found:  # it matched nothing, or only files of other kinds (as a folder of them is told)
            raise ValueError(f"{text}: no {_kinds(accepted) + ' ' if matches else ''}file matches")
        files += found
    elif path.is_symlink():
        raise ValueError(f"{path}: is a link to no file (broken, or a loop of links)")
    else:
        raise ValueError(f"{path}: no such file or folder")
    return files


class InputWarning(UserWarning):
    """Something in an input folder was left out, and the user should know."""


def _files_deeper(folder: Path, wanted: Callable[[Path], bool], skipped: _Files) -> int:
    """How many wanted files lie in ``folder``'s sub-folders, which a folder input does not read: what a glob
    ``FOLDER/**/*`` adds (hidden sub-folders left out, as the glob leaves them), not counting those under a
    ``skipped`` folder (the command's own output folder) nor behind a link to a folder."""
    count = 0
    for depth, (top, folders, names) in enumerate(os.walk(folder)):
        folders[:] = [name for name in folders
                      if not name.startswith(".") and skipped.find(os.path.join(top, name)) is None]
        if depth:
            count += sum(wanted(Path(top, name)) for name in names)
    return count


def _warn_broken_links(folder: Path, listing: list[Path], accepted: set[str]) -> None:
    """One warning naming the links in ``folder`` that point nowhere but look like inputs (they are left out)."""
    broken = [p for p in listing if kind_suffix(p) in accepted and p.is_symlink() and not p.exists()]
    if broken:
        import warnings

        named = ", ".join(p.name for p in broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        warnings.warn(f"{folder}: {len(broken)} link(s) pointing to no file left out: {named}", InputWarning,
                      stacklevel=3)


# ----------------------------------------------------------------------------- outputs
def names_many(inputs: Iterable[PathLike]) -> bool:
    """Whether the inputs as given name a folder, a glob pattern or more than one file (the same twice too): their
    outputs go to a folder, however many they come to."""
    items = list(inputs)
    return len(items) > 1 or any(glob.has_magic(str(item)) or (not is_url(str(item)) and Path(str(item)).is_dir())
                                 for item in items)


def output_is_folder(inputs: Sequence[PathLike], output: PathLike) -> bool:
    """Whether ``output`` names a folder for these expanded ``inputs``.

    It does with several inputs, when it ends with a path separator, or when it is
    an existing local folder; otherwise it is the one input's output file.
    """
    text = str(output)
    return len(inputs) != 1 or text.endswith(("/", os.sep)) or (not is_url(text) and Path(text).is_dir())


def plan_outputs(
    inputs: Sequence[PathLike],
    output: PathLike | None,
    *,
    default: Callable[[str], str] | None = None,
    folder: bool | None = None,
) -> list[tuple[str, str]]:
    """Pair each input with its output path.

    Parameters
    ----------
    inputs
        Expanded input files (local paths or URLs).
    output
        An output file (one input) or folder; None puts each output at ``default(input)``.
    default
        The output of an input when ``output`` is None.
    folder
        True: ``output`` is a folder receiving every input under its own name; None:
        decided by :func:`output_is_folder`.

    Raises
    ------
    ValueError
        ``output`` is an existing file but must be a folder, or two inputs share a name.
    """
    if output is None:
        if default is None:
            raise ValueError("no output path given")
        return [(str(f), default(str(f))) for f in inputs]
    out = str(output)
    if folder is None:
        folder = output_is_folder(inputs, out)
    if not folder:
        return [(str(inputs[0]), out)]
    if not is_url(out) and Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"{out}: is a file; with several inputs the output must be a folder")
    suffix = next((s for s in SERIES_SUFFIXES if out.lower().endswith(s)), None)
    if suffix and not is_url(out) and not Path(out).exists():
        # `-o clean.wav` for a folder of recordings made a folder clean.wav/ (a trailing / still asks for one)
        raise ValueError(f"{out}: named like a {suffix} file, but the outputs of several inputs (or of a folder or "
                         f"a pattern) go into a folder: give one, e.g. {out[: -len(suffix)]}/")
    pairs = [(str(f), join(out, written_name(name_of(f)))) for f in inputs]
    targets = [dst for _, dst in pairs]
    if len(set(targets)) != len(targets):
        dup = sorted({t for t in targets if targets.count(t) > 1})[0]
        sources = [src for src, dst in pairs if dst == dup]
        raise ValueError(f"{dup}: several inputs have this file name ({', '.join(sources[:3])}"
                         f"{' ...' if len(sources) > 3 else ''}); write them to separate folders")
    return pairs


#: input suffixes tsae reads as tables but does not write (a LabVIEW measurement file): an output into a folder
#: named after such an input is named so (``run.lvm`` -> ``run.csv``)
READ_ONLY_TABLE_SUFFIXES = {".lvm": ".csv"}


def written_name(name: str) -> str:
    """The file name an output into a folder takes after its input's ``name``: the same, or with the suffix tsae
    writes for an input it reads but does not write (:data:`READ_ONLY_TABLE_SUFFIXES`).

    Examples
    --------
    >>> written_name("pump.csv"), written_name("run.LVM")
    ('pump.csv', 'run.csv')
    """
    suffix = Path(name).suffix
    better = READ_ONLY_TABLE_SUFFIXES.get(suffix.lower())
    return name if better is None else name[: len(name) - len(suffix)] + better


def nearest_existing(path: Path) -> Path | None:
    """The nearest ancestor of ``path`` that exists (a folder, or a file in the way), None if none does."""
    return next((parent for parent in path.parents if parent.exists()), None)


def _blocking_parent(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is not a folder (``a.wav`` in ``a.wav/out.wav``)."""
    parent = nearest_existing(path)
    return None if parent is None or parent.is_dir() else parent


def read_paths(*sources: object) -> list[PathLike]:
    """The files behind ``sources``: paths as they are, the ``path`` / ``path_`` of a loaded model
    or fitted detector; ``None`` and in-memory objects contribute nothing."""
    found: list[PathLike] = []
    for source in sources:
        if isinstance(source, (str, os.PathLike)):
            found.append(source)
        else:
            path = getattr(source, "path", None) or getattr(source, "path_", None)
            if isinstance(path, (str, os.PathLike)):
                found.append(path)
    return found


def shown_name(name: str) -> str:
    """A file name as text a plot can draw: the bytes Python keeps as surrogate escapes where the locale could not
    decode them (``é.csv`` given under ``LC_ALL=C``) read as UTF-8, any that are not UTF-8 as U+FFFD.

    Examples
    --------
    >>> shown_name("donn\\udcc3\\udca9es.csv"), shown_name("pump\\udce9.csv")
    ('données.csv', 'pump\ufffd.csv')
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def written_file(path: PathLike) -> Path:
    """The file that writing output ``path`` replaces: ``path`` itself, or the file a symbolic link ``path`` points to
    (through a chain of links), so that the link stays a link and that file gets the output, as ``cp`` and the
    shell's ``>`` write through a link (:func:`tsae.io.atomic.atomic_path` makes its temporary file beside it).

    Examples
    --------
    >>> str(written_file("out/scores.csv"))  # no link
    'out/scores.csv'
    """
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _check(path: Path, reads: _Files, probed: set[Path] | None = None) -> None:
    read = reads.find(path)
    if read is not None:
        what = "a file this command reads" if str(read) == str(path) else f"{read}, which this command reads"
        raise ValueError(f"{path}: refusing to overwrite {what}")
    try:
        found = path.exists()
        blocker = _blocking_parent(path)
        link = path.is_symlink()
    except OSError as error:  # a name the file system refuses (longer than it takes: ENAMETOOLONG)
        raise ValueError(f"{path}: cannot write there ({error.strerror or error})") from None
    written = written_file(path) if link else path  # a link is written through: beside the file it points to
    if written.is_symlink():  # realpath gave up on a loop
        raise ValueError(f"{path}: is a loop of links, not a file")
    if link and not written.parent.is_dir():  # a link to no file: written, where its folder is there to write it in
        raise ValueError(f"{path}: a link to {written}, whose folder {written.parent} does not exist")
    if found:
        mode = os.stat(path).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise ValueError(f"{path}: is a device, not a file; refusing to replace it")
        if stat.S_ISDIR(mode):
            raise ValueError(f"{path}: is a folder, not a file")
    if blocker is not None:
        raise ValueError(f"{path}: {blocker} is a file, not a folder")
    _check_writable(written, set() if probed is None else probed, path)


def _check_writable(path: Path, probed: set[Path], named: Path | None = None) -> None:
    """Refuse an output whose folder (its nearest existing one) takes no new file: found now, not after the work.

    A probe file is made and removed there, as the atomic write will make its temporary
    file (permission bits say nothing of read-only file systems, ``/proc`` or root).
    ``named``: the output as the refusal names it (a link to ``path``; default ``path``).
    """
    import tempfile

    named = path if named is None else named
    folder = nearest_existing(path)
    if folder is None or not folder.is_dir() or folder in probed:  # one probe a folder for a batch of outputs
        return
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".tsae-probe-"):
            pass
    except OSError as error:
        raise ValueError(f"{named}: cannot write in {folder} ({error.strerror or error})") from None
    probed.add(folder)


def check_output(output: PathLike, reads: Iterable[PathLike] = ()) -> None:
    """Refuse an output path that would replace a file the command reads, or cannot be a file.

    Parameters
    ----------
    output
        The path about to be written (URLs are not checked).
    reads
        Every file the command reads: inputs, model, detector, manifest.

    Raises
    ------
    ValueError
        One line naming ``output`` and the problem: it is (a link to) a read file, an
        existing device node or folder, it lies under an existing file, or its folder
        cannot be written in.
    """
    check_outputs([output], reads)


def check_outputs(outputs: Iterable[PathLike], reads: Iterable[PathLike] = ()) -> None:
    """:func:`check_output` for each of ``outputs``, which must also name different files."""
    read_files, seen = _Files(reads), _Files()
    probed: set[Path] = set()
    for output in outputs:
        if is_url(output):
            continue
        if seen.find(output) is not None:
            raise ValueError(f"{output}: named for two outputs")
        _check(Path(output), read_files, probed)
        seen.add(output)


def same_regular_file(stream: IO[Any], other: IO[Any] | PathLike) -> bool:
    """Whether ``stream`` is the same regular file as ``other``, a path or a stream (stdin redirected from the
    output, ``< out.wav``; stdout to the input, ``>> in.wav``; both to one file).

    The path checks of :func:`check_outputs` cannot see it: the pipes have no path.
    A socket or terminal that is both stdin and stdout is no file to overwrite.
    """
    try:
        info = os.fstat(stream.fileno())
        target = os.fstat(other.fileno()) if hasattr(other, "fileno") else os.stat(other)
    except (AttributeError, OSError, ValueError):  # no file behind the stream, or no output yet
        return False
    return stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) == (target.st_dev, target.st_ino)


def check_stdin_not_output(stdin: IO[Any], outputs: Iterable[PathLike]) -> None:
    """Refuse an output that is the regular file stdin is redirected from (``tsae smooth - -o x.csv < x.csv``):
    ``ValueError("<output>: refusing to overwrite the input file (stdin is read from it)")``
    (:func:`same_regular_file`)."""
    for output in outputs:
        if same_regular_file(stdin, output):
            raise ValueError(f"{output}: refusing to overwrite the input file (stdin is read from it)")


#: suffixes of the files tsae writes that hold no data: what each is, as a refusal names it
NOT_DATA_SUFFIXES = {".tsae": "a model or detector file's", ".tsz": "a compressed container's",
                     ".onnx": "an ONNX export's"}

#: suffixes of text a model or container is not: tsae writes JSON there (events, an ONNX export's sidecar beside
#: ``NAME.onnx``), and a binary file so named reads as neither
_TEXT_SUFFIXES = {".json": "a JSON text file's"}

#: each kind of file tsae writes: what a refusal calls it, and the suffix it suggests (its own)
OUTPUT_KINDS = {"model": ("a model", ".tsae"), "container": ("a .tsz container", ".tsz"), "data": ("data", ".csv")}


def check_output_kind(output: PathLike, kind: str, better: str = "") -> None:
    """Refuse ``output`` named like a file tsae reads as another kind (``-o m.csv`` for a model, ``-o m.tsae`` for
    a table): every command would take it for that kind, and writing replaced such a file without a word.

    ``kind`` is what is written: ``"model"`` (a model or detector, ``.tsae`` by convention), ``"container"``
    (``.tsz``) or ``"data"`` (a table, an array, audio). A model or container is refused under a suffix
    :func:`tsae.io.series.read_series` reads as a series (CSV/TSV/TXT tables, also compressed as
    ``.csv.gz`` ..., ``.npy``, audio); any kind is refused under another kind's suffix
    (:data:`NOT_DATA_SUFFIXES`); data is also refused under another program's format's suffix or a compressed
    name that is not a table's (:func:`_check_data_suffix`), a model or container under another program's format's
    suffix (:data:`FOREIGN_DATA_SUFFIXES`, ``.parquet``, ``.pt``, ``.zip``; a model may be ``.safetensors``, which
    it is), JSON text's or a compressor's (``.gz``, ``.bz2``, ``.xz``). Other names (no suffix, ``.bin``) are the
    user's choice and are kept.
    ``better`` is the suffix the refusal suggests (default: the kind's own).

    Raises
    ------
    ValueError
        One line naming ``output``, what it is named like, and a better name.
    """
    writes, own = OUTPUT_KINDS[kind]
    if kind == "data":
        _check_data_suffix(output, better)
    suffix = split_suffix(output)[1]
    lower = suffix.lower()
    if kind != "data" and (lower in SERIES_SUFFIXES or lower in READ_ONLY_TABLE_SUFFIXES):
        tables = lower in TABLE_SUFFIXES or lower in READ_ONLY_TABLE_SUFFIXES
        read_as = "tables" if tables else "arrays" if lower in ARRAY_SUFFIXES else "audio"
        what, why = "a data file's", f"tsae reads {suffix} files as {read_as}"
    else:
        suffix = Path(str(output)).suffix
        lower = suffix.lower()
        names = NOT_DATA_SUFFIXES if kind == "data" else {**NOT_DATA_SUFFIXES, **_TEXT_SUFFIXES}
        found = names.get(lower) if lower != own else None
        if found is None and kind != "data":
            found = _foreign_binary_name(lower, kind)
        if found is None:
            return
        what, why = found, suffix
    text = str(output)
    raise ValueError(f"{output}: refusing to write {writes} under {what} name ({why}): name it "
                     f"{suffixed(text[: len(text) - len(suffix)], better or own)}")


def suffixed(stem: str, suffix: str) -> str:
    """The name a refusal suggests: ``stem`` with ``suffix``, unless it ends so already (any case).

    Examples
    --------
    >>> suffixed("m", ".tsae"), suffixed("m.tsae", ".tsae"), suffixed("s.CSV", ".csv")
    ('m.tsae', 'm.tsae', 's.CSV')
    """
    return stem if stem.lower().endswith(suffix) else stem + suffix


#: the compressors whose suffixes a model or container is not named with: tsae neither compresses nor decompresses one
_COMPRESSORS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}


def _foreign_binary_name(suffix: str, kind: str) -> str | None:
    """What a model or container named with (lower case) ``suffix`` would be taken for: another program's format
    (:data:`FOREIGN_DATA_SUFFIXES`: ``m.parquet``, ``m.pt``, ``m.zip``) or a compressed file (``m.tsae.gz``), whose
    readers fail on it; None for a name no format claims, and for ``.safetensors`` on a model, which is one."""
    if suffix in _COMPRESSORS:
        return f"{'an' if suffix == '.xz' else 'a'} {_COMPRESSORS[suffix]} file's"
    if suffix in FOREIGN_DATA_SUFFIXES and not (kind == "model" and suffix == ".safetensors"):
        return "another format's"
    return None


#: suffixes of formats tsae writes no data in: another program's audio or video container, array or table format
#: (tsae reads LabVIEW's .lvm, but writes no such file), an archive, a compressor other than gzip, bzip2 and xz. A
#: data output named so got CSV text (``-o x.m4a``, ``x.npz``, ``x.csv.zip``) that neither tsae nor the program the
#: name promises reads.
#: Each maps to the suffix a refusal suggests (None: a table's, .csv).
FOREIGN_DATA_SUFFIXES: dict[str, str | None] = {
    **dict.fromkeys((".m4a", ".mp4", ".aac", ".alac", ".wma", ".amr", ".3gp", ".webm", ".mkv", ".mov", ".caf",
                     ".mka", ".ac3", ".ape", ".wv"), ".wav"),
    **dict.fromkeys((".npz", ".mat", ".h5", ".hdf5", ".nc", ".zarr", ".pkl", ".pickle", ".pt", ".pth",
                     ".safetensors"), ".npy"),
    **dict.fromkeys((".xlsx", ".xls", ".xlsm", ".ods", ".parquet", ".feather", ".arrow", ".orc", ".avro", ".json",
                     ".jsonl", ".ndjson", ".xml", ".html", ".sqlite", ".db", ".lvm",
                     ".zip", ".7z", ".rar", ".tar", ".tgz",
                     ".zst", ".zstd", ".lz4", ".lz", ".lzma", ".bz", ".br", ".z", ".sz"), None),
}


def _check_data_suffix(output: PathLike, better: str) -> None:
    """Refuse a data output whose name promises a format tsae does not write (:data:`FOREIGN_DATA_SUFFIXES`), or a
    gzip, bzip2 or xz file of something other than a table (``x.npy.gz``, ``x.gz``: tsae compresses tables only, and
    reads neither back). No suffix, or one no format claims (``.bin``, ``.dat``), stays the user's choice."""
    text = str(output)
    name = name_of(text)
    suffix = Path(name).suffix
    lower = suffix.lower()
    stem = text[: len(text) - len(suffix)]
    if lower in COMPRESSION_SUFFIXES:
        if kind_suffix(text) in TABLE_SUFFIXES:
            return
        inner = Path(Path(name).stem).suffix
        # x.npy.gz -> x.npy (arrays and audio are written as they are); x.gz -> x.csv.gz
        fix = stem if inner.lower() in SERIES_SUFFIXES else f"{stem}.csv{suffix}"
        raise ValueError(f"{output}: tsae compresses tables only (.csv{suffix}, .tsv{suffix}, .txt{suffix}), "
                         f"nothing else under a {suffix} name: name it {fix}")
    if lower not in FOREIGN_DATA_SUFFIXES:
        return
    # a command that writes one kind (frame: .npy) suggests its own; the others the name without the suffix when it
    # is a kind they write (x.csv.zip -> x.csv), else the nearest kind (x.m4a -> x.wav)
    inner_stem, inner = split_suffix(stem)
    if better not in ("", ".csv"):
        fix = (inner_stem if inner.lower() in SERIES_SUFFIXES else stem) + better
    else:
        fix = stem if inner.lower() in SERIES_SUFFIXES else stem + (FOREIGN_DATA_SUFFIXES[lower] or ".csv")
    raise ValueError(f"{output}: tsae does not write {suffix} files (tables: .csv, .tsv, .txt, also .gz, .bz2, "
                     f".xz; arrays: .npy; audio: {', '.join(AUDIO_SUFFIXES[:6])}, ...): name it {fix}")


def check_model_output(output: PathLike) -> None:
    """:func:`check_output_kind` for a model or detector file (``-o m.csv`` is refused: name it ``m.tsae``)."""
    check_output_kind(output, "model")


def check_data_output(output: PathLike, better: str = ".csv") -> None:
    """:func:`check_output_kind` for data (a table, an array, audio; ``-o m.tsae`` is refused: name it ``m.csv``)."""
    check_output_kind(output, "data", better)


__all__ = [
    "ARRAY_SUFFIXES", "AUDIO_SUFFIXES", "COMPRESSION_SUFFIXES", "FOREIGN_DATA_SUFFIXES", "NOT_DATA_SUFFIXES",
    "OUTPUT_KINDS", "SERIES_SUFFIXES", "TABLE_SUFFIXES", "check_data_output", "check_model_output", "check_output",
    "check_output_kind", "check_outputs", "check_stdin_not_output", "expand_inputs", "is_url", "join", "kind_suffix",
    "name_of", "names_many", "nearest_existing", "output_is_folder", "plan_outputs", "read_paths", "same_regular_file",
    "shown_name", "split_suffix", "suffixed", "url_glob", "written_file",
]
