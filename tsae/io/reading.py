"""Reading a byte stream that may return less than asked (pipes, sockets, decompressors), or whose first bytes were
read already (:class:`Prefixed`)."""
from __future__ import annotations

from typing import Any

#: the most the first read of :func:`read_up_to` asks for; each later one asks twice the one before
FIRST_READ = 1 << 20


def read_up_to(stream: Any, n: int) -> bytes:
    """Up to ``n`` bytes of ``stream`` (anything with ``read(size)``); fewer only at its end.

    Read in parts that start at :data:`FIRST_READ` and double: a read's buffer is the size asked for, so a stream
    that holds less than ``n`` (a corrupt length of 2 GiB in a small file) costs at most twice what it holds.

    Examples
    --------
    >>> import io
    >>> read_up_to(io.BytesIO(b"abcdef"), 4), read_up_to(io.BytesIO(b"ab"), 4)
    (b'abcd', b'ab')
    """
    parts, got, step = [], 0, FIRST_READ
    while got < n:
        part = stream.read(min(n - got, step))
        if not part:
            break
        parts.append(part)
        got += len(part)
        step *= 2
    return b"".join(parts)


__all__ = ["FIRST_READ", "read_up_to"]


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
