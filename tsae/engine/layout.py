"""The one array layout of tsae: time is the last axis.

A series is ``(n,)`` (one channel) or ``(n_channels, n_samples)``. A pandas DataFrame
(rows are time steps, columns are channels) is turned around by its labels, so it is
never ambiguous. A 2-D array with more rows than columns is almost always a
``(n_samples, n_channels)`` array passed by mistake, so it is refused with the fix in
the message instead of being silently treated as thousands of very short channels,
unless it is marked as laid out on purpose (:func:`known_layout`: what the file
readers return).
"""
from __future__ import annotations

from typing import Any

import numpy as np


class KnownLayout(np.ndarray):
    """A ``(channels, n)`` array whose layout is known, never taken for a transposed one (see :func:`known_layout`)."""


def known_layout(x: Any) -> np.ndarray:
    """Mark ``x``, already ``(channels, n)``, so that :func:`as_channels_first` takes it as it is.

    A table read from a file has one channel per column however few rows it holds:
    a 3-column CSV of 2 rows is 3 channels of 2 samples, not a transposed array.
    Arithmetic keeps the mark and ``np.asarray`` drops it.

    Examples
    --------
    >>> as_channels_first(known_layout(np.zeros((3, 2))))[0].shape
    (3, 2)
    """
    return np.asarray(x).view(KnownLayout)


def is_dataframe(x: Any) -> bool:
    """True for a pandas-like table (has ``columns`` and ``to_numpy``)."""
    return hasattr(x, "columns") and hasattr(x, "to_numpy")


def as_channels_first(x: Any, name: str = "x", *, dtype: Any = np.float64) -> tuple[np.ndarray, bool]:
    """Return ``x`` as a ``(n_channels, n_samples)`` array and whether it was 1-D.

    Parameters
    ----------
    x : array_like or DataFrame
        ``(n,)``, ``(n_channels, n_samples)``, or a DataFrame with one column per channel.
    name : str
        What to call ``x`` in error messages.
    dtype : numpy dtype
        The dtype of the returned array.

    Returns
    -------
    array : np.ndarray
        ``(n_channels, n_samples)``.
    was_1d : bool
        True when ``x`` was one-dimensional (callers give 1-D back for 1-D in).

    Raises
    ------
    ValueError
        For other dimensions, an empty series, or a 2-D array with more rows than
        columns (a transposed input).

    Examples
    --------
    >>> as_channels_first([1.0, 2.0, 3.0])[0].shape
    (1, 3)
    >>> as_channels_first(np.zeros((3, 2)))
    Traceback (most recent call last):
    ...
    ValueError: x: got shape (3, 2), but series are (channels, n) with time on the last axis; pass x.T
    """
    if is_dataframe(x):
        arr = np.asarray(x.to_numpy(dtype=np.float64, na_value=np.nan), dtype=dtype).T
        was_1d = False
    else:
        known = isinstance(x, KnownLayout)
        arr = np.asarray(x, dtype=dtype)
        was_1d = arr.ndim == 1
        if was_1d:
            arr = arr[None, :]
        if not known and arr.ndim == 2 and 0 < arr.shape[1] < arr.shape[0]:  # (n, 0) is empty, not transposed
            raise ValueError(f"{name}: got shape {arr.shape}, but series are (channels, n) with time on the "
                             f"last axis; pass {name}.T")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be (n,) or (channels, n), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} is empty")
    return arr, was_1d
