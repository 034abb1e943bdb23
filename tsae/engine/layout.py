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

import math
import numbers
from typing import Any, cast

import numpy as np

from tsae._lazy import if_imported
from tsae.errors import first_line, shown


class KnownLayout(np.ndarray):
    """A ``(channels, n)`` array whose layout is known, never taken for a transposed one (see :func:`known_layout`)."""


#: the smallest divisor (a scale, a spread, an error level) tsae divides by, and a model or detector file may store:
#: float32's smallest normal number, 1.18e-38 (:mod:`tsae.models.fields` refuses a file's smaller one). A score
#: divides a value of magnitude at most 1e30 (what the readers keep, ``tables.ABSURD``) by a scale, the result by an
#: error level (or a statistic by a spread, then by its level) and squares between: with every divisor at least
#: this, the largest stays near 1e250, finite in float64, while one of 1e-200 (normal in float64) made every score
#: inf. No data gives a smaller one: :class:`~tsae.engine.preprocess.Normalizer` takes a spread below it as none (a
#: constant channel, scale 1), and spreads and error levels are measured on normalised data (a stats spread is at
#: least its fit's floor, 0.25)
SMALLEST_DIVISOR = float(np.finfo(np.float32).tiny)


def known_layout(x: Any) -> np.ndarray:
    """Mark ``x``, already ``(channels, n)``, so that :func:`as_channels_first` takes it as it is.

    A table read from a file has one channel per column however few rows it holds:
    a 3-column CSV of 2 rows is 3 channels of 2 samples, not a transposed array.
    A DataFrame (rows are time, one column per channel) is turned around first, and the
    masked values of a masked array are NaN (missing), as :func:`real_array` takes them.
    Arithmetic keeps the mark and ``np.asarray`` drops it.

    Parameters
    ----------
    x : array_like or pandas.DataFrame
        ``(channels, n)``, or a DataFrame with one column per channel.

    Examples
    --------
    >>> as_channels_first(known_layout(np.zeros((3, 2))))[0].shape
    (3, 2)
    """
    x = _frame_values(x, "x").T if is_dataframe(x) else plain(_unmasked(x), "x")
    return np.asarray(x).view(KnownLayout)


def _unmasked(x: Any) -> Any:
    """A numeric masked array as float64 with its masked values NaN (missing); anything else as it is.

    ``np.asarray`` drops the mask and keeps whatever lies under it.
    """
    masked = if_imported("numpy.ma", "MaskedArray")  # none exists before it is imported: importing it costs ~15 ms
    if masked is not None and isinstance(x, masked) and x.dtype.kind in "biuf":
        return x.astype(np.float64).filled(np.nan)
    return x


def plain(x: Any, name: str = "x") -> Any:
    """``x`` ready for ``np.asarray``: a torch tensor detached and on the CPU; ``None`` refused by name.

    ``np.asarray`` fails inside torch on a tensor that requires grad, lives on a GPU or holds
    bfloat16 (which numpy has no dtype for: it becomes float32, which holds it exactly).

    Examples
    --------
    >>> plain(None, "audio")
    Traceback (most recent call last):
    ...
    TypeError: audio is required, got None
    """
    if x is None:
        raise TypeError(f"{name} is required, got None")
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        x = x.detach().cpu()
        if not x.dtype.is_complex and x.dtype.is_floating_point and x.element_size() < 4:
            x = x.float()  # bfloat16 has no numpy dtype; float16 and bfloat16 fit in float32 exactly
        return x.numpy()
    return x


def check_flag(name: str, value: Any) -> bool:
    """``value`` if it is a bool (numpy's too), else a TypeError naming ``name``: "no" or 0.5 is not an answer.

    Examples
    --------
    >>> check_flag("pad", np.bool_(True))
    True
    >>> check_flag("pad", "yes")
    Traceback (most recent call last):
    ...
    TypeError: pad must be True or False, got 'yes'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {shown(value)}")
    return bool(value)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number (numpy's too), not a bool (``True`` is no amount) nor text."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_whole_number(value: Any) -> bool:
    """Whether ``value`` is an integer (numpy's too), not a bool nor a float such as 2.0."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_fraction(name: str, value: Any) -> float:
    """``value`` as a float if it is a real number in [0, 1] (not a bool or text), else a ValueError naming ``name``.

    The one check of a blend option such as ``strength`` (``tsae.smooth``, ``tsae.denoise``).

    Examples
    --------
    >>> check_fraction("strength", np.float32(0.5))
    0.5
    >>> check_fraction("strength", 2)
    Traceback (most recent call last):
    ...
    ValueError: strength must be a number within [0, 1], got 2
    """
    # compared as it is: an int beyond any float (10 ** 400) has no float() and is simply out of range
    if not is_number(value) or not 0 <= cast(Any, value) <= 1:  # NaN too
        raise ValueError(f"{name} must be a number within [0, 1], got {shown(value)}")
    return float(value)


def as_array(x: Any, name: str) -> np.ndarray:
    """``np.asarray(x)`` of a :func:`plain` ``x``, its ValueError (a ragged list: "setting an array element with a
    sequence") named: every array argument is read through it."""
    try:
        return np.asarray(plain(x, name))
    except ValueError as error:
        raise ValueError(f"{name}: {first_line(error)}") from None


def real_array(x: Any, name: str = "x", dtype: Any = np.float64) -> np.ndarray:
    """``x`` as a ``dtype`` array, refusing what has no real value (complex numbers, text, dates).

    ``np.asarray(x, dtype=float)`` would keep the real part of complex numbers (with only a
    warning) and parse numeric text: both hide a mistake. Booleans are 0 and 1. Python objects
    (a list holding ``None`` for a missing value) are converted, ``None`` becoming NaN, and the
    masked values of a masked array are NaN (missing) too; an integer too large for a float (``10**400``) is
    infinite, as a table cell of its digits reads. A ragged list (rows of different
    lengths) is a one-line ``ValueError`` naming ``name``, and what holds no samples at all (a generator,
    a dict) a ``TypeError``.

    Examples
    --------
    >>> real_array([1, None, 3])
    array([ 1., nan,  3.])
    >>> real_array(np.ones(3) + 1j, "audio")
    Traceback (most recent call last):
    ...
    ValueError: audio must hold real numbers, got dtype complex128
    >>> real_array({"a": 1.0}, "x")
    Traceback (most recent call last):
    ...
    TypeError: x must be an array of samples, got dict
    >>> real_array([[1, 2], [3]], "audio")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: audio: setting an array element with a sequence...
    """
    given = type(x).__name__
    x = _unmasked(x)  # masked values are missing ones
    raw = x if isinstance(x, np.ndarray) else as_array(x, name)
    if raw.ndim == 0 and raw.dtype == object and not isinstance(raw.item(), numbers.Number):
        # np.asarray wraps any object (a generator, a dict, a set): it holds no samples at all
        raise TypeError(f"{name} must be an array of samples, got {given}")
    if raw.dtype.kind not in "biufO":
        raise ValueError(f"{name} must hold real numbers, got dtype {raw.dtype}")
    try:
        return np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold real numbers (it holds Python objects that are not)") from None
    except OverflowError:  # an integer beyond a float's range (10**400): infinite, as a table cell of 400 nines reads
        try:
            return np.asarray(np.vectorize(_float_or_infinite, otypes=[np.float64])(raw), dtype=dtype)
        except (TypeError, ValueError):  # beside it, what is no number at all
            raise ValueError(f"{name} must hold real numbers (it holds Python objects that are not)") from None


def _float_or_infinite(value: Any) -> float:
    """``value`` as a float; an integer too large for one is infinite (with its sign), None NaN."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def is_dataframe(x: Any) -> bool:
    """True for a pandas-like table (has ``columns`` and ``to_numpy``)."""
    return hasattr(x, "columns") and hasattr(x, "to_numpy")


def _frame_values(frame: Any, name: str) -> np.ndarray:
    """A DataFrame's values as float64 ``(n, columns)``; a date, time or text column is a named ValueError."""
    for column, kind in zip(frame.columns, getattr(frame, "dtypes", []), strict=False):
        if getattr(kind, "kind", None) in ("m", "M"):
            raise ValueError(f"{name}: column {str(column)!r} holds dates or times, not values: make it the index "
                             f"({name}.set_index({str(column)!r})) or leave it out")
        if getattr(kind, "kind", None) == "O" or str(kind).startswith("string"):
            text = next((v for v in frame[column].array if isinstance(v, str)), None)
            if text is not None:  # to_numpy would parse numeric text, which an array of text is refused for
                raise ValueError(f"{name}: column {str(column)!r} is not numeric (it holds text: {shown(text)}); "
                                 f"convert it (pd.to_numeric({name}[{str(column)!r}])) or leave it out")
    try:
        return frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        for column in frame.columns:
            try:
                frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{name}: column {str(column)!r} is not numeric ({str(error)[:60]})") from None
        raise


def _warn_row_order(frame: Any, name: str, of: str = "", *, stacklevel: int = 4) -> None:
    """Warn when a DataFrame's index (times, or numbers) goes back or repeats: its rows are used in their order.

    As the table reader warns about a file's time column: a shuffled or appended frame was smoothed,
    imputed or scored as it stands, without a word. A default ``RangeIndex`` and labels that are not
    times or numbers are left alone. ``of`` says whose rows they are (" (device a)": a fleet's device);
    ``stacklevel`` is the warning's, counted from here (4: the caller of a public function that calls a helper
    that calls this).
    """
    index = getattr(frame, "index", None)
    kind = getattr(getattr(index, "dtype", None), "kind", None)
    if index is None or kind not in ("M", "m", "i", "u", "f") or type(index).__name__ == "RangeIndex":
        return
    if index.is_monotonic_increasing and index.is_unique:
        return
    import warnings

    from tsae.io.tables import TableWarning
    from tsae.io.time_order import repeated_times

    values = np.asarray(index.asi8 if kind in ("M", "m") else index, dtype=np.float64)
    if kind in ("M", "m"):  # a missing date (NaT) is neither a step back nor a repeat
        values = values[~np.asarray(index.isna())]
    else:
        values = values[~np.isnan(values)]
    back = int(np.count_nonzero(np.diff(values) < 0))
    repeats = repeated_times(values)[0]
    what = "; ".join(part for part in (f"{back} step(s) back" if back else "",
                                       f"{repeats} row(s) repeat an earlier index" if repeats else "") if part)
    if not what:
        return
    fixes = ([f"{name}.sort_index()"] if back else []) + ([f"{name}[~{name}.index.duplicated()]"] if repeats else [])
    warnings.warn(f"{name}{of}: the DataFrame's index is not in increasing order ({what}); its rows are used in their "
                  f"order, each as a sample of its own (first: {', then '.join(fixes)})", TableWarning,
                  stacklevel=stacklevel)


#: at most this many rows of a transposed-looking array may be channels: the error names the other reading too
_FEW_CHANNELS = 256


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
    ValueError: x: got shape (3, 2), but series are (channels, n) with time on the last axis; pass x.T (or, for 3
    channels of 2 samples, tsae.engine.known_layout(x))
    """
    if is_dataframe(x):
        _warn_row_order(x, name)
        arr = np.asarray(_frame_values(x, name), dtype=dtype).T
        was_1d = False
    else:
        known = isinstance(x, KnownLayout)
        arr = real_array(x, name, dtype)
        was_1d = arr.ndim == 1
        if was_1d:
            arr = arr[None, :]
        if not known and arr.ndim == 2 and 0 < arr.shape[1] < arr.shape[0]:  # (n, 0) is empty, not transposed
            fix = f"{name}.T" if name.isidentifier() else "it transposed (.T)"  # 'series 1.T' is no Python
            # rows that could be channels (a microphone array, a sensor bank) may be meant as such
            other = (f" (or, for {arr.shape[0]} channels of {arr.shape[1]} samples, tsae.engine.known_layout("
                     f"{name if name.isidentifier() else 'x'}))") if arr.shape[0] <= _FEW_CHANNELS else ""
            raise ValueError(f"{name}: got shape {arr.shape}, but series are (channels, n) with time on the "
                             f"last axis; pass {fix}{other}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be (n,) or (channels, n), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no channels (shape {arr.shape})")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} is empty")
    return arr, was_1d
