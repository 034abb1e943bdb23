"""Reading a byte stream that may return less than asked (pipes, sockets, decompressors), or whose first bytes were
read already (:class:`Prefixed`)."""
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


class Prefixed:
    """A binary stream whose first bytes were read already (to tell its kind): ``head``, then the rest of
    ``stream``, through ``read`` and ``read1``.

    Examples
    --------
    >>> import io
    >>> stream = io.BytesIO(b"RIFF....WAVE")
    >>> head = stream.read(4)
    >>> Prefixed(head, stream).read()
    b'RIFF....WAVE'
    """

    def __init__(self, head: bytes, stream: Any) -> None:
        self.head, self.stream = head, stream

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left for a negative ``n``)."""
        if not self.head:
            return bytes(self.stream.read(n))
        if 0 <= n <= len(self.head):
            part, self.head = self.head[:n], self.head[n:]
            return part
        part, self.head = self.head, b""
        return part + bytes(self.stream.read(-1 if n < 0 else n - len(part)))

    def read1(self, n: int = -1) -> bytes:
        """What is at hand, up to ``n`` bytes: what is left of ``head``, else one read of ``stream``'s."""
        if self.head:
            return self.read(len(self.head) if n < 0 else min(n, len(self.head)))
        read1 = getattr(self.stream, "read1", None)
        return bytes(read1(n) if read1 is not None else self.stream.read(n))
