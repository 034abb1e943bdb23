"""Reading a byte stream that may return less than asked (pipes, sockets, decompressors)."""
from __future__ import annotations

from typing import Any


def read_up_to(stream: Any, n: int) -> bytes:
    """Up to ``n`` bytes of ``stream`` (anything with ``read(size)``); fewer only at its end.

    Examples
    --------
    >>> import io
    >>> read_up_to(io.BytesIO(b"abcdef"), 4), read_up_to(io.BytesIO(b"ab"), 4)
    (b'abcd', b'ab')
    """
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


__all__ = ["read_up_to"]
