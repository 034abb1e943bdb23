"""How an error is told in one line: by the CLI to the user, and in a batch manifest's rows."""
from __future__ import annotations


def first_line(error: BaseException, limit: int | None = None) -> str:
    """The first line of an error's message (its type name when it has none), cut at ``limit`` characters."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if limit is None else text[:limit]
