"""How an error is told in one line: by the CLI to the user, and in a batch manifest's rows."""
from __future__ import annotations


def first_line(error: BaseException, limit: int | None = None) -> str:
    """The first line of an error's message (its type name when it has none), cut at ``limit`` characters."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if limit is None else text[:limit]


def naming(path: object, error: BaseException | str) -> str:
    """One line about ``path``: the error's first line, prefixed with the path unless it names it already."""
    text = first_line(error) if isinstance(error, BaseException) else error
    return text if text.startswith(str(path)) else f"{path}: {text}"


class FilesFailed(ValueError):
    """Some files of a multi-file job failed; every other file was done and written.

    The policy of every multi-file command: a file that fails leaves no output and the
    job goes on with the next one; the failures are reported together at the end.

    Attributes
    ----------
    failures
        One line per failed input: ``{input: error}``.
    written
        The outputs of the files that succeeded.
    total
        How many files the job had.
    """

    def __init__(self, failures: dict[str, str], written: list, total: int) -> None:
        self.failures = dict(failures)
        self.written = list(written)
        self.total = int(total)
        first = next(iter(self.failures.values()), "")
        super().__init__(f"{self.summary()}; first: {first}")

    def summary(self) -> str:
        """``"2 of 5 file(s) failed"``."""
        return f"{len(self.failures)} of {self.total} file(s) failed"
