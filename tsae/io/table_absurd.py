"""Values no sensor reads: infinite cells and cells beyond :data:`ABSURD` in magnitude are missing values.

The table reader (:func:`~tsae.io.tables.read_table`, and the block reader :mod:`~tsae.io.table_blocks`) reads them
as missing and warns (:class:`TableWarning`, the warning of every table read that had to read cells otherwise than
as written); :func:`absurd_as_missing` applies the same rule wherever sensor values enter a model without a table.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: a cell beyond this magnitude is read as missing, like inf: no sensor reads 1e30, and such a value
#: overflows the float32 arithmetic of the models (1e200 emptied whole columns of smooth's output)
ABSURD = 1e30


class TableWarning(UserWarning):
    """A table was read, but some of its cells had to be read as missing."""


def _absurd(x: np.ndarray) -> np.ndarray:
    """Where ``x`` is infinite or beyond :data:`ABSURD` in magnitude (NaN compares False: it is missing already)."""
    with np.errstate(invalid="ignore"):
        return np.abs(x) > ABSURD


def absurd_as_missing(x: np.ndarray) -> np.ndarray:
    """``x`` with infinite values and values beyond :data:`ABSURD` in magnitude as NaN (missing).

    The rule of the table reader (:func:`read_table`), applied wherever sensor values enter
    a model without it: a detector (fitting, batch scoring, the monitor, the Python API), and
    :func:`tsae.reconstruct` and :func:`tsae.encode` (and the files ``reconstruct`` and
    ``encode`` read), so that a 1e308 cell is a missing value everywhere. Returns ``x``
    itself when nothing is replaced, else a float64 copy.

    Examples
    --------
    >>> absurd_as_missing(np.array([1.0, 1e308, -np.inf, 1e29]))
    array([1.e+00,    nan,    nan, 1.e+29])
    """
    bad = _absurd(x)
    if not bad.any():
        return x
    out = np.array(x, dtype=np.float64)
    out[bad] = np.nan
    return out


def repair_absurd(x: np.ndarray) -> np.ndarray:
    """``x`` ``(channels, n)`` with its missing values (NaN, and infinite or beyond :data:`ABSURD`:
    :func:`absurd_as_missing`) repaired, as a model reads a series; a channel with none left is an
    :class:`~tsae.errors.EmptyChannelError` that says when its values were all beyond :data:`ABSURD`.

    Examples
    --------
    >>> repair_absurd(np.array([[1.0, np.nan, 3.0], [1e29, 1e30, 1e31]]))
    array([[1.e+00, 2.e+00, 3.e+00],
           [1.e+29, 1.e+30, 1.e+30]])
    >>> repair_absurd(np.array([[1.0, np.nan, 3.0], [1e308, 1e308, 1e308]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tsae.errors.EmptyChannelError: a channel has no finite values (channel 1): its values are all beyond 1e30 in...
    """
    from tsae.engine.preprocess import repair_missing
    from tsae.errors import EmptyChannelError

    try:
        return repair_missing(absurd_as_missing(x), empty="raise")
    except EmptyChannelError as error:
        if error.beyond or not np.isfinite(x[error.channel]).any():
            raise
        raise EmptyChannelError(error.channel, error.column, beyond=True) from None


def _absurd_as_missing(path: Path, data: np.ndarray, names: list[str]) -> None:
    """Infinite cells and cells beyond :data:`ABSURD` become NaN (missing), in place, with a warning naming them."""
    counts = []
    for row in data:  # a row at a time: no temporary the size of the table
        huge = _absurd(row)
        row[huge] = np.nan
        counts.append(int(huge.sum()))
    _warn_absurd(path, counts, names, stacklevel=4)


def _warn_absurd(path: Path, counts: Sequence[int], names: Sequence[str], stacklevel: int) -> None:
    """Warn that the ``counts`` cells of the channels ``names`` infinite or beyond :data:`ABSURD` are read as
    missing (nothing when there are none)."""
    if any(counts):
        where = [f"{names[c]} ({n})" for c, n in enumerate(counts) if n]
        warnings.warn(f"{path}: {sum(counts)} cell(s) infinite or beyond {ABSURD:g} in magnitude read as "
                      f"missing: {', '.join(where[:5])}", TableWarning, stacklevel=stacklevel)
