"""Freed memory handed back to the system at once, where the C library can (glibc's ``malloc_trim``), and the pages
of an array's part that is read for the last time (``madvise``).

A wide table's lines (a few hundred of up to a megabyte each) are allocated on the C heap; once they are joined into
one text and freed, glibc keeps their pages (a heap in pieces is trimmed only at its top), so the process holds
them while the text's numbers are read into new arrays: a third of the peak of reading a 300 x 100,000 table.
:func:`give_back` returns the free pages of the heap: called after a large block of lines is let go, not per line.
:func:`drop_pages` returns the pages of rows of an array already copied elsewhere, before the array is freed: a
table's chunk of 200 rows of 100,000 columns is 160 MB, held until its last row is copied out of it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import mmap
from collections.abc import Callable

import numpy as np


@functools.cache
def _trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (another C library, or none found)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


@functools.cache
def _madvise() -> Callable[[int, int, int], int] | None:
    """The C library's ``madvise``, or None (no ``MADV_DONTNEED``, or no C library found)."""
    name = ctypes.util.find_library("c")
    if not name or not hasattr(mmap, "MADV_DONTNEED"):
        return None
    try:
        advise = ctypes.CDLL(name, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    advise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    advise.restype = ctypes.c_int
    return advise


def drop_pages(array: np.ndarray, start: int, stop: int) -> None:
    """Hand back the whole pages within bytes ``start`` to ``stop`` of ``array`` (C-contiguous, owning its data),
    whose values are not read again: they read as zeros if they are (the array is to be freed, not read). Nothing
    where ``madvise`` is not known, or for an array that is a view."""
    advise = _madvise()
    if advise is None or array.base is not None or not array.flags.c_contiguous:
        return
    start, stop = max(start, 0), min(stop, array.nbytes)
    at = array.ctypes.data
    first = -(-(at + start) // mmap.PAGESIZE) * mmap.PAGESIZE
    last = (at + stop) // mmap.PAGESIZE * mmap.PAGESIZE
    if last > first:
        advise(first, last - first, mmap.MADV_DONTNEED)


def give_back() -> None:
    """Hand the C heap's free pages back to the system (nothing where ``malloc_trim`` is not known)."""
    trim = _trim()
    if trim is not None:
        trim(0)


__all__ = ["drop_pages", "give_back"]
