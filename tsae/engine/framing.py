"""Framing and overlap-add: signals ``(..., n)`` to frames ``(..., n_frames, length)`` and back.

Every public function checks its arguments first and raises one ``ValueError``
naming the bad parameter and its value; then a numba kernel does the work
(:mod:`tsae.engine._kernels`), in parallel over frames, output blocks and
channels. Leading dimensions (channels, batch) are flattened to rows, so a
``(channels, n)`` signal is as fast as a mono one.

Conventions: frame ``f`` starts at sample ``f * hop``; outputs are float32; a
window is applied by multiplication (analysis) in :func:`frame` and once more
(synthesis) in :func:`overlap_add`, which divides by the summed squared window,
so that ``overlap_add(frame(x, L, H, w), H, w)`` gives back ``x``.
"""
from __future__ import annotations

import functools
import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from tsae.engine.layout import (
    _frame_values,
    as_array,
    check_flag,
    is_dataframe,
    is_number,
    is_whole_number,
    real_array,
)
from tsae.errors import NamedMemoryError, shown

__all__ = ["frame", "overlap_add", "window_array", "window_name", "num_frames"]

_PAD_MODES = ("constant", "reflect")


# ----------------------------------------------------------------------------- checks
def _check_int(name: str, value: Any, minimum: int) -> int:
    if not is_whole_number(value):
        raise ValueError(f"{name} must be an integer, got {name}={value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value!r}")
    return int(value)


def _check_real(name: str, a: np.ndarray) -> None:
    """Refuse what has no real value (complex, text, objects); booleans are 0 and 1, as everywhere in tsae."""
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric array (bool, int or float), got dtype {a.dtype}")


def real_values(x: Any, name: str) -> np.ndarray:
    """``x`` as an array of its own real dtype (bool, int or float); Python objects (a list holding ``None``, an
    object array) as float64, ``None`` being NaN, as every series function reads them. ``None``, a ragged list,
    what holds no samples (a generator) or no real values (complex, text, dates) is an error naming ``name``."""
    a = as_array(x, name)
    if a.dtype == object:
        a = real_array(x, name)
    _check_real(name, a)
    return a


def as_signal(x: Any, name: str) -> np.ndarray:
    """:func:`real_values` with time last, for the engine's functions of a signal: a DataFrame (rows are time, one
    column per channel; a text or date column named) is turned around, a 0-d array refused."""
    a = _frame_values(x, name).T if is_dataframe(x) else real_values(x, name)
    if a.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (time on the last axis), got a 0-d array")
    return a


def _as_rows(a: np.ndarray) -> np.ndarray:
    """``(..., n)`` to C-contiguous ``(rows, n)`` in float32/float64, a view when possible (bools, ints: float32)."""
    rows = int(np.prod(a.shape[:-1], dtype=np.int64))
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    return np.ascontiguousarray(a.reshape(rows, a.shape[-1]))


@contextmanager
def _allocating(what: str, shape: tuple[int, ...]) -> Iterator[None]:
    """Name ``what`` and its size when numpy cannot allocate it (a frame length of 2**40, say)."""
    try:
        yield
    except (MemoryError, ValueError) as error:
        # numpy says "array is too big" (ValueError) past the address space, MemoryError below it
        if isinstance(error, ValueError) and "too big" not in str(error) and "maximum" not in str(error).lower():
            raise
        size = 4.0 * float(np.prod(shape, dtype=np.float64))
        raise NamedMemoryError(
            f"{what} of shape {shape} would take {size / 2**30:.3g} GiB of float32, more than can be allocated"
        ) from None


def _check_out(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if out is None:
        with _allocating("the output", shape):
            return np.empty(shape, dtype=np.float32)
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != np.float32:
        got = (out.shape, out.dtype) if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"out must be a float32 array of shape {shape}, got {got}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be C-contiguous and writeable")
    return out


# ----------------------------------------------------------------------------- windows
#: scipy's names of the Kaiser window, whose one parameter is ``beta``
_KAISER_NAMES = ("kaiser", "ksr")
_GAUSSIAN_NAMES = ("gaussian", "gauss", "gss")
_GENERAL_GAUSSIAN_NAMES = ("general gaussian", "general_gaussian", "general gauss", "general_gauss", "ggs")
_EXPONENTIAL_NAMES = ("exponential", "poisson")

#: the parameters a window's values are divided by, by scipy's names of the window: (its place among the
#: window's parameters, what it is), each to be above 0 (0 gives NaN)
_DIVISORS: dict[str, tuple[int, str]] = {
    **dict.fromkeys(_GAUSSIAN_NAMES, (0, "standard deviation")),
    **dict.fromkeys(_GENERAL_GAUSSIAN_NAMES, (1, "standard deviation (sig)")),
    **dict.fromkeys(_EXPONENTIAL_NAMES, (1, "decay (tau)")),
}

#: why a window with a parameter gave values that are not finite, or zeros only, by scipy's names of the window
_OUT_OF_RANGE: dict[str, str] = {
    **dict.fromkeys(_KAISER_NAMES, "its beta is too large: a kaiser beta above about 713 overflows"),
    **dict.fromkeys(_GAUSSIAN_NAMES, "its standard deviation is too small: the values underflow"),
    **dict.fromkeys(_GENERAL_GAUSSIAN_NAMES, "its standard deviation (sig) is too small: the values underflow"),
    **dict.fromkeys(_EXPONENTIAL_NAMES, "its center is too far outside the frame, or its decay (tau) too small: "
                                        "the values underflow"),
    **dict.fromkeys(("general hamming", "general_hamming"), "its alpha is too large: the values overflow float32"),
    **dict.fromkeys(("taylor", "taylorwin"), "its nbar is too large for the frame: the values overflow"),
}


def _window_spec(window: str | tuple) -> str | tuple:
    """What :func:`scipy.signal.get_window` takes for ``window``: ``"kaiser:8.6"`` is ``("kaiser", 8.6)``.

    A text without a colon is a window name, passed on as it is (an unknown name, or a
    window that needs a parameter such as plain ``"kaiser"``, is scipy's to refuse).
    The parameters (of a text or a tuple) are checked here: real and finite, a
    Kaiser window's ``beta`` at least 0, and a parameter a window's values are divided by
    (a Gaussian's standard deviation, an exponential window's decay) above 0.
    """
    if isinstance(window, str):
        if ":" not in window:
            return window
        first, *texts = (part.strip() for part in window.split(":"))
        values: list[float] = []
        for text in texts:
            try:
                values.append(float(text))
            except ValueError:
                raise ValueError(f"window_fn={window!r}: {text!r} is not a number (give NAME:VALUE, "
                                 "e.g. kaiser:8.6)") from None
        spec: tuple = (first, *values)
    else:
        spec = window
    name, params = (spec[0] if spec else None), spec[1:]
    if not isinstance(name, str) or not name:
        raise ValueError(f"window_fn={window!r} names no window (give NAME or NAME:VALUE, e.g. kaiser:8.6)")
    for value in params:
        if isinstance(value, (str, bytes)):
            raise ValueError(f"window_fn={shown(window)}: the {name} window's parameter must be a number, "
                             f"got {shown(value)}")
        if isinstance(value, numbers.Real) and not np.isfinite(float(value)):
            raise ValueError(f"window_fn={shown(window)}: the {name} window's parameter must be finite, "
                             f"got {shown(value)}")
    if name in _KAISER_NAMES and len(params) == 1 and isinstance(params[0], numbers.Real) and params[0] < 0:
        raise ValueError(f"window_fn={window!r}: the kaiser window's beta must be >= 0, got {params[0]!r}")
    at, what = _DIVISORS.get(name, (len(params), ""))
    if at < len(params) and isinstance(params[at], numbers.Real) and params[at] <= 0:
        raise ValueError(f"window_fn={window!r}: the {name} window's {what} must be > 0, got {params[at]!r}")
    return spec


def window_name(window_fn: Any) -> str | None:
    """``window_fn`` as the text a model file stores: a name, ``"NAME:VALUE"`` for a window with a parameter, or None.

    ``"none"`` (any case) and None are no window. A ``(name, value, ...)`` tuple, as
    :func:`scipy.signal.get_window` takes it, becomes ``"name:value"`` (``repr`` of the
    float, so reading it back gives the same value and the same window). The window is
    checked (:func:`window_array`): a bad one is a ``ValueError`` naming it.

    Examples
    --------
    >>> window_name("kaiser:8.6"), window_name(("kaiser", 14)), window_name("None")
    ('kaiser:8.6', 'kaiser:14.0', None)
    """
    if window_fn is None or (isinstance(window_fn, str) and window_fn.strip().lower() == "none"):
        return None
    if not isinstance(window_fn, (str, tuple)):
        raise ValueError(f"window_fn must be a window name (such as 'hann' or 'kaiser:8.6') or None, "
                         f"got {type(window_fn).__name__}")
    given = window_fn.strip() if isinstance(window_fn, str) else window_fn
    spec = _window_spec(given)
    if isinstance(spec, tuple):
        if not all(is_number(v) for v in spec[1:]):
            raise ValueError(f"window_fn={window_fn!r}: only numbers can be stored as a window's parameters")
        text = ":".join([spec[0], *(repr(float(v)) for v in spec[1:])])
    else:
        text = spec
    window_array(given, 16)  # an unknown name, or one that needs a parameter, is told now
    return text


#: windows longer than this are made anew each time, not kept by the cache (one of 2**30 samples is 4 GiB)
_CACHED_WINDOW = 1 << 20


def _named_window(window: str | tuple, length: int) -> np.ndarray:
    spec = _window_spec(window)
    if length > _CACHED_WINDOW:
        return _cached_window.__wrapped__(spec, length, window)
    try:
        return _cached_window(spec, length, window)
    except TypeError:  # a tuple holding a list: not hashable, so not cached
        return _cached_window.__wrapped__(spec, length, window)


@functools.lru_cache(maxsize=64)
def _cached_window(window: str | tuple, length: int, shown: str | tuple) -> np.ndarray:
    from scipy.signal import get_window

    try:
        with np.errstate(all="ignore"):  # a window of NaN (kaiser beyond beta ~713) is told below
            w = get_window(window, length, fftbins=True)
    except (ValueError, TypeError) as error:
        hint = ""
        if isinstance(window, str) and "must have parameters" in str(error):
            hint = " (give it as kaiser:BETA, e.g. kaiser:8.6)" if window in _KAISER_NAMES else \
                f" (give it as {window}:VALUE)"
        raise ValueError(f"window_fn={shown!r} is not a window scipy.signal.get_window knows ({error}){hint}") \
            from None
    with np.errstate(over="ignore"):
        w = np.ascontiguousarray(w, dtype=np.float32)
    finite = bool(np.isfinite(w).all())
    if not finite or not w.any():
        name = window[0] if isinstance(window, tuple) else window
        why = _OUT_OF_RANGE.get(name, "a parameter is out of its range") if isinstance(name, str) else ""
        raise ValueError(f"window_fn={shown!r} gives {'non-finite window values' if not finite else 'only zeros'}"
                         f" for a frame of {length} samples ({why})")
    w.flags.writeable = False  # shared by every caller through the cache
    return w


@functools.lru_cache(maxsize=64)
def _ones(length: int) -> np.ndarray:
    w = np.ones(length, dtype=np.float32)
    w.flags.writeable = False
    return w


def window_array(window_fn: Any, length: int) -> np.ndarray | None:
    """The float32 taper of ``length`` samples that ``window_fn`` names, or ``None``.

    Parameters
    ----------
    window_fn : None, str, tuple or array_like
        ``None`` (no window), a name or ``(name, parameter)`` tuple understood by
        :func:`scipy.signal.get_window` (``"hann"``, ``"hamming"``, ``("kaiser", 8.0)``,
        ...) or a name with its parameter after a colon (``"kaiser:8.0"``, as a model
        file stores it, see :func:`window_name`), computed periodic (``fftbins=True``)
        as librosa does, or the window values themselves, of shape ``(length,)``.
    length : int
        Frame length in samples.

    Returns
    -------
    numpy.ndarray or None
        A read-only float32 array of shape ``(length,)`` for a named window (it is
        cached), a float32 copy for an array, ``None`` for ``None``.

    Examples
    --------
    >>> window_array("hann", 4)
    array([0. , 0.5, 1. , 0.5], dtype=float32)
    >>> window_array(None, 4) is None
    True
    """
    length = _check_int("length", length, 1)
    if window_fn is None:
        return None
    if isinstance(window_fn, (str, tuple)):
        with _allocating("a window", (length,)):
            if length > _MAX_WINDOW:
                raise MemoryError  # numpy's and scipy's words for it would be "not a window scipy knows"
            return _named_window(window_fn, length)
    w = as_array(window_fn, "window_fn")
    if w.dtype.kind not in "iuf":
        raise ValueError(f"window_fn must be None, a window name or a real array, got dtype {w.dtype}")
    if w.shape != (length,):
        raise ValueError(f"window_fn must have shape ({length},) to match length={length}, got shape {w.shape}")
    out = np.array(w, dtype=np.float32, order="C")
    if not np.isfinite(out).all():
        raise ValueError("window_fn must hold finite values (within float32's range)")
    return out


#: more float64 values than an address space holds (scipy computes a window in float64)
_MAX_WINDOW = np.iinfo(np.intp).max // 8


#: bytes per sample that making a named window of float32 takes at its peak: scipy's float64 window and the
#: temporaries of its formula (3 or 4 arrays for the cosine, Kaiser and Gaussian families), then the float32 copy
WINDOW_BYTES_PER_SAMPLE = 4 * 8 + 4


def window_bytes(window_fn: Any, length: int) -> int:
    """The bytes of memory making the window of ``length`` samples that ``window_fn`` names takes at its peak: 0 for
    None (no window is made; see :func:`frame_window`), ``4 * length`` for an array (its float32 copy)."""
    if window_fn is None:
        return 0
    return (WINDOW_BYTES_PER_SAMPLE if isinstance(window_fn, (str, tuple)) else 4) * int(length)


def _kernel_window(window_fn: Any, length: int) -> np.ndarray:
    """The window the overlap-add kernels multiply by: ones for ``None`` (x * 1 is exact)."""
    with _allocating("a window", (length,)):
        w = window_array(window_fn, length)
        return _ones(length) if w is None else w


#: what the framing kernel takes for no window: nothing of a frame's length is made
_NO_WINDOW = np.zeros(0, dtype=np.float32)
_NO_WINDOW.flags.writeable = False


def frame_window(window_fn: Any, length: int) -> np.ndarray:
    """The window :func:`tsae.engine._kernels.frame_rows` multiplies by: an empty array for ``None`` (no multiply)."""
    with _allocating("a window", (length,)):
        w = window_array(window_fn, length)
        return _NO_WINDOW if w is None else w


# ----------------------------------------------------------------------------- frame
def num_frames(n: int, length: int, hop: int, pad: bool = False, center: bool = False) -> int:
    """How many frames :func:`frame` makes from ``n`` samples.

    Parameters
    ----------
    n : int
        Signal length in samples.
    length, hop : int
        Frame length and hop in samples.
    pad : bool
        Count the zero-padded tail frames too (the smallest count whose last frame
        reaches the end of the signal).
    center : bool
        The signal is first padded with ``length // 2`` samples on both sides.

    Returns
    -------
    int
        ``1 + (n - length) // hop`` without padding (0 when the signal is shorter
        than a frame), ``1 + ceil((n - length) / hop)`` with ``pad``, and 0 for an
        empty signal.

    Examples
    --------
    >>> num_frames(1000, 512, 128)
    4
    >>> num_frames(1000, 512, 128, pad=True)
    5
    """
    n = _check_int("n", n, 0)
    length = _check_int("length", length, 1)
    hop = _check_int("hop", hop, 1)
    pad, center = check_flag("pad", pad), check_flag("center", center)
    if n == 0:
        return 0
    if center:
        n += 2 * (length // 2)
    if n < length:
        return 1 if pad else 0
    if pad:
        return 1 + -(-(n - length) // hop)
    return 1 + (n - length) // hop


def frame(
    x: Any,
    length: int,
    hop: int,
    window_fn: Any = None,
    *,
    pad: bool = False,
    center: bool = False,
    pad_mode: str = "constant",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Slice a signal into (windowed) overlapping frames.

    Parameters
    ----------
    x : array_like, shape (..., n)
        Real signal, time on the last axis; leading axes (channels, batch) are kept.
        Integer and boolean inputs are converted to float32 (booleans as 0 and 1, as
        the rest of tsae reads them).
    length : int
        Frame length in samples (> 0).
    hop : int
        Samples between the starts of consecutive frames (> 0).
    window_fn : None, str, tuple or array_like, optional
        Multiplies every frame; see :func:`window_array` (``"hann"``, ...).
    pad : bool, default False
        Zero-pad the tail so that every sample lies in a frame; a signal shorter
        than ``length`` then gives one frame.
    center : bool, default False
        Pad ``length // 2`` samples on both sides first (as librosa does), so that
        frame ``f`` is centred on sample ``f * hop``.
    pad_mode : {"constant", "reflect"}, default "constant"
        How ``center`` pads: zeros or a mirror image of the signal.
    out : numpy.ndarray, optional
        A C-contiguous float32 array of the output shape to write into (reused
        across calls it saves the allocation, which is most of the cost).

    Returns
    -------
    numpy.ndarray, shape (..., n_frames, length), float32
        ``n_frames`` is :func:`num_frames` ``(n, length, hop, pad, center)``. A new
        array (or ``out``), never a view of ``x``.

    Raises
    ------
    ValueError
        For a non-positive ``length`` or ``hop``, a signal shorter than ``length``
        without ``pad``/``center``, a window of the wrong length, a 0-d, complex
        or non-numeric ``x``, an unknown ``pad_mode``, or a wrong ``out``.

    Examples
    --------
    >>> x = np.arange(10, dtype=np.float32)
    >>> frame(x, 4, 3)
    array([[0., 1., 2., 3.],
           [3., 4., 5., 6.],
           [6., 7., 8., 9.]], dtype=float32)
    >>> frame(np.ones((2, 1000)), 512, 128, "hann").shape
    (2, 4, 512)
    """
    length = _check_int("length", length, 1)
    hop = _check_int("hop", hop, 1)
    pad, center = check_flag("pad", pad), check_flag("center", center)
    x = as_signal(x, "x")
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"pad_mode must be one of {_PAD_MODES}, got pad_mode={pad_mode!r}")
    if not isinstance(window_fn, (str, tuple)):
        window_array(window_fn, length)  # a bad window array is named before the signal's length is checked
    n = x.shape[-1]
    n_frames = num_frames(n, length, hop, pad=pad, center=center)
    if n_frames == 0 and not pad:
        extra = " (with centring)" if center else ""
        turned = x.ndim == 2 and x.shape[0] >= length  # (n, channels), as pandas and soundfile lay it out
        raise ValueError(
            f"length={length} is larger than the signal (n={n} samples{extra}); "
            "pass pad=True or center=True, or a shorter length"
            + (f" (x has shape {x.shape}: time is the last axis; an (n, channels) array is passed as x.T)"
               if turned else "")
        )
    lead = x.shape[:-1]
    result = _check_out(out, lead + (n_frames, length))
    if result.size == 0:
        return result
    w = frame_window(window_fn, length)
    rows = _as_rows(x)
    start = 0
    if center:
        half = length // 2
        if pad_mode == "reflect":
            rows = np.pad(rows, ((0, 0), (half, half)), mode="reflect")
        else:
            start = -half  # the kernel reads outside the signal as zeros
    from tsae.engine import _kernels  # numba, loaded when a kernel runs

    _kernels.frame_rows(rows, start, hop, w, result.reshape(rows.shape[0], n_frames, length))
    return result


# ----------------------------------------------------------------------------- overlap-add
def overlap_add(
    frames: Any,
    hop: int,
    window_fn: Any = None,
    length: int | None = None,
    *,
    center: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Rebuild a signal from frames by weighted overlap-add: the inverse of :func:`frame`.

    Each output sample is ``sum_f frames[f] * window / sum_f window**2`` over the
    frames that cover it (with ``window_fn=None``: the mean of the covering frames).
    Samples whose window sum is zero (no frame, or only zeros of the window, such
    as the first sample under a periodic Hann window) are 0. Therefore
    ``overlap_add(frame(x, L, H, w), H, w)`` returns ``x`` on every other sample,
    whatever the window and hop.

    Parameters
    ----------
    frames : array_like, shape (..., n_frames, length)
        Real frames; leading axes (channels, batch) are kept. Integer and boolean
        frames are converted to float32 (booleans as 0 and 1).
    hop : int
        Hop the frames were taken with (> 0).
    window_fn : None, str, tuple or array_like, optional
        The analysis window used by :func:`frame`; see :func:`window_array`.
    length : int, optional
        Length of the output (trimmed, or padded with zeros). Default: all the
        samples the frames cover, ``(n_frames - 1) * hop + frame_length``, less the
        centring padding when ``center`` is true.
    center : bool, default False
        The frames were taken with ``center=True``: drop the ``frame_length // 2``
        padding samples at the start (and at the end when ``length`` is None).
    out : numpy.ndarray, optional
        A C-contiguous float32 array of the output shape to write into.

    Returns
    -------
    numpy.ndarray, shape (..., n_samples), float32

    Raises
    ------
    ValueError
        For a non-positive ``hop``, frames of fewer than 2 dimensions or of zero
        length, a window of the wrong length, non-numeric frames, a negative
        ``length`` or a wrong ``out``.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    >>> y = overlap_add(frame(x, 256, 64, "hann", pad=True), 64, "hann", length=1000)
    >>> bool(np.allclose(y[1:], x[1:], atol=1e-5))  # y[0] is 0: the Hann window is 0 there
    True
    """
    hop = _check_int("hop", hop, 1)
    frames = real_values(frames, "frames")
    if frames.ndim < 2:
        raise ValueError(f"frames must have shape (..., n_frames, length), got shape {frames.shape}")
    n_frames, frame_length = frames.shape[-2], frames.shape[-1]
    if frame_length == 0:
        raise ValueError(f"frames must have a non-zero frame length, got shape {frames.shape}")
    w = _kernel_window(window_fn, frame_length)
    total = (n_frames - 1) * hop + frame_length if n_frames else 0
    offset = frame_length // 2 if center else 0
    if length is None:
        size = max(0, total - 2 * offset)
    else:
        size = _check_int("length", length, 0)
    lead = frames.shape[:-2]
    result = _check_out(out, lead + (size,))
    if result.size == 0:
        return result
    rows = int(np.prod(lead, dtype=np.int64))
    if frames.dtype not in (np.float32, np.float64):
        frames = frames.astype(np.float32)
    stacked = np.ascontiguousarray(frames.reshape(rows, n_frames, frame_length))
    if n_frames == 0:
        result[...] = 0.0
        return result
    from tsae.engine import _kernels  # numba, loaded when a kernel runs

    _kernels.overlap_add_rows(stacked, hop, w, w * w, result.reshape(rows, size), offset)
    return result
