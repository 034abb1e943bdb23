"""The one array layout of tsae: time is the last axis.

A series is ``(n,)`` (one channel) or ``(n_channels, n_samples)``. A pandas DataFrame
(rows are time steps, columns are channels) is turned around by its labels, so it is
never ambiguous. A 2-D array with more rows than columns is almost always a
``(n_samples, n_channels)`` array passed by mistake, so it is refused with the fix in
the message instead of being silently treated as thousands of very short channels.
"""
from __future__ import annotations

from typing import Any

import numpy as np


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
        arr = np.asarray(x, dtype=dtype)
        was_1d = arr.ndim == 1
        if was_1d:
            arr = arr[None, :]
        if arr.ndim == 2 and 0 < arr.shape[1] < arr.shape[0]:  # (n, 0) is empty, not transposed
            raise ValueError(f"{name}: got shape {arr.shape}, but series are (channels, n) with time on the "
                             f"last axis; pass {name}.T")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be (n,) or (channels, n), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} is empty")
    return arr, was_1d
