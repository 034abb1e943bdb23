"""Speech denoising with the shipped model (causal, 32 ms look-ahead): arrays, files and live streams.

One object, :class:`StreamingDenoiser`, does all the work: it takes chunks of any
size (10-20 ms for live audio, seconds for files), resamples to the model's rate
(16 kHz) with a streaming soxr resampler, cuts 32 ms sqrt-Hann frames with the
engine's :class:`~tsae.engine.streaming.StreamFramer`, asks the model for a
spectral mask (real, or complex for a family that corrects the phase) frame by
frame through the streaming-model protocol
(:class:`~tsae.models.base.StreamingModel`: its state is carried; a model with
look-ahead answers a few frames late, and those frames wait), and overlap-adds the
result back with :class:`~tsae.engine.streaming.StreamOverlapAdd`. Every frame
goes through exactly the same operations whatever the chunking, so feeding a file
in blocks gives output identical to feeding it at once (the tests check this bit
for bit). A streamer with ``steps`` (``denoiser2``) takes each block's frames at once
instead: its CPU stepper stays bit-exact across chunkings, its GPU one agrees with
other chunkings to float rounding (about 1e-7).

:func:`denoise` (arrays) and :func:`~tsae.pipelines.denoise.files.denoise_file` /
:func:`~tsae.pipelines.denoise.files.denoise_files` (files, bounded memory, atomic
writes) are thin wrappers.
"""
from __future__ import annotations

import copy
import functools
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np

from tsae.engine.layout import (
    _frame_values,
    _warn_row_order,
    as_channels_first,
    check_flag,
    check_fraction,
    is_dataframe,
    is_number,
    is_whole_number,
    plain,
    real_array,
)
from tsae.engine.polyphase import PolyphaseResampler, polyphase_filter
from tsae.errors import shown
from tsae.io.audio import LOUDEST, AudioWarning
from tsae.pipelines.denoise.mask_finish import MaskFinisher, finish_settings, resolved_atten_limit

DEFAULT_MODEL_RESOURCE = "weights/denoiser2.tsae"


# --------------------------------------------------------------------------- models
def default_model_path() -> Path:
    """Path of the model file shipped in the ``tsae_plugins`` package."""
    from importlib import resources

    return Path(str(resources.files("tsae_plugins").joinpath(DEFAULT_MODEL_RESOURCE)))


def shipped_models() -> dict[str, Path]:
    """The denoiser model files shipped with tsae, by name (the file name without ``.tsae``)."""
    folder = default_model_path().parent
    return {p.stem: p for p in sorted(folder.glob("*.tsae"))}


def model_path(model: str | os.PathLike | None) -> Path:
    """The file of ``model``: ``None`` is the default model, the bare name of a shipped model (see
    :func:`shipped_models`) is that model's file, and anything else is a path (``./denoiser`` for a
    local file of that name)."""
    if model is None:
        return default_model_path()
    if not str(model).strip():  # Path("") is the working folder
        raise ValueError(f"model must be a model file or the name of a shipped model, got {shown(model)}")
    shipped = shipped_models()
    return shipped[model] if isinstance(model, str) and model in shipped else Path(model)


@functools.lru_cache(maxsize=8)
def _load_cached(resolved: str, mtime: float, device: str, given: str) -> tuple[Any, int]:
    # keyed by the resolved file (a model changed in place is loaded again); its errors name the path as given
    del resolved
    return _load_path(Path(given), device)


def _load_path(path: Path, device: Any) -> tuple[Any, int]:
    from tsae.models.modelfile import load_model

    if not path.exists():
        raise ValueError(f"{path}: no such model file")
    loaded = load_model(path, device=str(device))
    net = loaded.model
    if not _is_streaming(net):
        from tsae.pipelines.anomaly.detector_file import DETECTOR_KIND

        if (loaded.extra or {}).get("kind") == DETECTOR_KIND:  # its network is a plain family's
            raise ValueError(f"{path}: is an anomaly detector (tsae detect score / tsae monitor), not a denoiser "
                             "(--model takes a 'denoiser' or 'denoiser2' model file, or a shipped model's name)")
        raise ValueError(f"{path}: model family {loaded.family!r} is not a streaming denoiser "
                         "(train one with the 'denoiser' or 'denoiser2' family; a plugin's family streams when it "
                         "implements tsae.models.base.StreamingModel with streamer(), docs/plugins.md)")
    return net.eval(), model_rate(path, loaded.sample_rate, net)


def model_rate(path: Path, stored: float | None, net: Any) -> int:
    """The rate in Hz a denoiser file runs at, checked before any audio is resampled to it.

    The file's ``sample_rate`` (the rate of the audio it was trained on; ``tsae train`` on 48 kHz
    files stores 48000), else the network's own ``sample_rate`` parameter; either must be a rate
    :func:`checked_rate` takes (a crafted 1e12 Hz made the resampler allocate until
    ``std::bad_alloc``, and 1.5 Hz was taken as 1 and denoised without a word). ``tsae export`` checks it too.
    """
    from tsae.models.fields import ModelFileError

    field = "sample_rate" if stored is not None else "hparams.sample_rate"
    rate = stored if stored is not None else getattr(net, "config", {}).get("sample_rate", 16000)
    try:
        return checked_rate(rate)
    except ValueError as error:
        raise ModelFileError(path, f"{str(error).removeprefix('sample_rate ')} (a denoiser's rate)", field) from None


def _is_streaming(net: Any) -> bool:
    """A network the streaming denoiser can run: a :class:`StreamingModel` with a numpy ``streamer``."""
    from tsae.models.base import is_streaming_model

    return is_streaming_model(net) and callable(getattr(net, "streamer", None))


def load_denoiser(model: Any = None, device: str = "cpu") -> tuple[Any, int]:
    """Return ``(network, sample_rate)`` for ``model``.

    ``model`` is ``None`` (the default shipped model), a path to a ``.tsae`` file, the name of
    a shipped model (:func:`shipped_models`), or an already built streaming network (a
    :class:`~tsae.models.base.StreamingModel` with a numpy ``streamer()``, such as an instance of
    the ``denoiser`` family).
    """
    # The denoiser runs frame by frame (16 ms steps, a few hundred thousand weights):
    # per-frame GPU launches are slower than the CPU, so "auto" means the CPU here.
    from tsae.models.device import device_name, resolve_device

    dev = resolve_device("cpu" if device_name(device) == "auto" else device)
    if model is not None and _is_streaming(model):
        return _ready(model, dev), int(model.config.get("sample_rate", 16000))
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a model file, the name of a shipped model or a loaded denoiser network, "
                        f"not {type(model).__name__}")
    path = model_path(model)
    try:
        found = path.exists()
    except OSError as error:  # a name the file system refuses (longer than it takes: ENAMETOOLONG)
        raise ValueError(f"{path}: cannot read ({error.strerror or error})") from None
    if not found:
        raise ValueError(f"{path}: no such model file")
    return _load_cached(str(path.resolve()), path.stat().st_mtime, str(dev), str(path))


def _ready(net: Any, device: Any) -> Any:
    """``net`` on ``device`` in eval mode: the caller's own network is never moved or switched out of training
    (a copy is, when either must change)."""
    tensors = [*net.parameters(), *net.buffers()]
    if not net.training and all(t.device == device for t in tensors):
        return net
    return copy.deepcopy(net).to(device).eval()


# --------------------------------------------------------------------------- streaming
#: the resamplers ``resample_quality`` names: tsae's low-delay polyphase filter, then soxr's qualities
RESAMPLE_QUALITIES = ("LD", "QQ", "LQ", "MQ", "HQ", "VHQ")


def checked_resample_quality(value: Any) -> str:
    """The one of :data:`RESAMPLE_QUALITIES` that ``value`` names, in any case (``"ld"``, as the command line takes
    it), else a ``ValueError`` saying which it may be."""
    if not isinstance(value, str) or value.strip().upper() not in RESAMPLE_QUALITIES:
        named = ", ".join(RESAMPLE_QUALITIES[:-1]) + f" or {RESAMPLE_QUALITIES[-1]}"
        raise ValueError(f"resample_quality must be {named}, got {shown(value)}")
    return value.strip().upper()


#: the sample rates the denoiser takes, in Hz (below 4 kHz there is no speech band to keep; at 1 Hz the
#: resampler would make 16,000 samples of each one)
MIN_RATE, MAX_RATE = 4000, 768000


def check_low_delay(sample_rate: int, model_rate: int) -> None:
    """Raise :class:`~tsae.engine.polyphase.RatioTooFineError` where the low-delay resampler (``"LD"``) cannot go
    from ``sample_rate`` to the model's ``model_rate`` and back (47999 Hz to 16000 Hz)."""
    if sample_rate != model_rate:
        polyphase_filter(sample_rate, model_rate)
        polyphase_filter(model_rate, sample_rate)


def checked_rate(sample_rate: Any) -> int:
    """``sample_rate`` as an int of Hz, or a ``ValueError`` saying what a denoiser rate must be.

    Examples
    --------
    >>> checked_rate(44100.0)
    44100
    >>> checked_rate(1)
    Traceback (most recent call last):
    ...
    ValueError: sample_rate must be within [4000, 768000] Hz, got 1
    """
    # an int is whole whatever its size (10 ** 400 has no float: math.isfinite would overflow)
    whole = not isinstance(sample_rate, (bool, np.bool_)) and (
        isinstance(sample_rate, numbers.Integral)
        or (isinstance(sample_rate, numbers.Real) and math.isfinite(sample_rate) and float(sample_rate).is_integer()))
    if not whole:
        raise ValueError(f"sample_rate must be a whole number of Hz, got {shown(sample_rate)}")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise ValueError(f"sample_rate must be within [{MIN_RATE}, {MAX_RATE}] Hz, got {sample_rate}")
    return int(sample_rate)


#: the largest float: a number of seconds beyond it (10 ** 400) has no float
_FLOAT_MAX = float(np.finfo(np.float64).max)
#: the most channels one stream takes (WAV's channel count is 16 bits): a stream holds about 40 kB per channel
MAX_CHANNELS = 65535


def checked_channels(channels: Any) -> int:
    """``channels`` as an int in [1, :data:`MAX_CHANNELS`], or a ``ValueError`` naming it.

    Examples
    --------
    >>> checked_channels(10 ** 30)
    Traceback (most recent call last):
    ...
    ValueError: channels must be an int within [1, 65535], got 1000000000000000000000000000000
    """
    if not is_whole_number(channels) or not 1 <= cast(Any, channels) <= MAX_CHANNELS:
        raise ValueError(f"channels must be an int within [1, {MAX_CHANNELS}], got {shown(channels)}")
    return int(channels)


def checked_seconds(name: str, seconds: Any) -> float:
    """``seconds`` as a float if it is a finite number above 0 (not a bool or text), else a ``ValueError`` naming it.

    Examples
    --------
    >>> checked_seconds("block_seconds", 0)
    Traceback (most recent call last):
    ...
    ValueError: block_seconds must be a finite number of seconds > 0, got 0
    """
    # NaN, infinities and ints beyond any float too
    if not is_number(seconds) or not 0 < cast(Any, seconds) <= _FLOAT_MAX:
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {shown(seconds)}")
    return float(seconds)


def checked_atten_limit(atten_limit: Any) -> float | None:
    """``atten_limit`` in dB as a float (``None``: the model's default; ``inf``: no limit), or a ``ValueError``
    naming it.

    Examples
    --------
    >>> checked_atten_limit(12)
    12.0
    >>> checked_atten_limit("12")
    Traceback (most recent call last):
    ...
    ValueError: atten_limit must be None or a number of dB >= 0, got '12'
    """
    if atten_limit is None:
        return None
    if not is_number(atten_limit):
        raise ValueError(f"atten_limit must be None or a number of dB >= 0, got {shown(atten_limit)}")
    try:
        limit = float(atten_limit)
    except OverflowError:  # an int beyond any float (10 ** 400): no limit, as inf is
        limit = math.inf if cast(Any, atten_limit) > 0 else -math.inf
    if not limit >= 0:  # NaN too
        raise ValueError(f"atten_limit must be >= 0 dB, got {atten_limit}")
    return limit


#: the largest float32 magnitude: the denoiser works on float32 samples
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _finite_peak(arr: np.ndarray, block: int = 1 << 20) -> float:
    """The largest finite magnitude in ``arr`` (0 if none), a block at a time: no full-size temporaries."""
    flat = arr.reshape(-1)
    peak = 0.0
    for start in range(0, flat.size, block):
        part = np.abs(flat[start : start + block])
        finite = part[np.isfinite(part)]
        if finite.size:
            peak = max(peak, float(finite.max()))
    return peak


def _all_integers(arr: np.ndarray) -> bool:
    """True when the Python objects of ``arr`` are integers (``None``, a missing sample, aside), and there are some."""
    values = [v for v in arr.reshape(-1) if v is not None]
    return bool(values) and all(is_whole_number(v) for v in values)


def _integer_refusal(name: str, dtype: np.dtype, typed: bool) -> str:
    """The refusal of integer samples, with the division that makes them floats (unsigned PCM is centred on half)."""
    if not typed:  # a list's ints have no sample format: numpy's int64 would suggest dividing by 2 ** 63
        return (f"{name} holds integer samples: pass float samples in [-1, 1] (for example "
                f"np.asarray({name}) / 32768 for 16-bit PCM)")
    if dtype.itemsize > 4:  # no PCM format has 64 bits: int64 holds samples of another (pandas' and numpy's default)
        return (f"{name} holds {dtype} samples: pass float samples in [-1, 1] (divide by the full scale of "
                f"their PCM format, for example {name} / 32768 for 16-bit PCM)")
    half = 2 ** (8 * dtype.itemsize - 1)
    scaled = f"({name} - {half}) / {half}" if dtype.kind == "u" else f"{name} / {half}"
    return f"{name} holds {dtype} samples: pass float samples in [-1, 1] (for example {scaled})"


def _samples_array(audio: Any, name: str) -> np.ndarray:
    """``audio`` as an array of its own dtype; what is not a sequence of samples (a generator, a dict) named."""
    arr = plain(audio, name)
    # a ragged list, text or a generator named; dtype kept
    return arr if isinstance(arr, np.ndarray) else real_array(arr, name, None)


def float_samples(audio: Any, name: str) -> Any:
    """``audio`` ready for :func:`~tsae.engine.layout.real_array` as float32 samples, or a ``ValueError`` naming it.

    Integer PCM (a numpy array, a torch tensor, an ``array.array``, a list or tuple of ints) is
    refused: its full scale is not 1, so it would come out thousands of times too loud. So are
    booleans, and floats beyond what float32 holds (they would turn into infinities, read as
    silence). A list holding floats is float samples. A DataFrame's columns are held to the same rule (an
    integer or boolean column is refused as such an array is), and pass as they are.
    """
    if is_dataframe(audio):
        for kind in getattr(audio, "dtypes", []):
            if getattr(kind, "kind", None) in ("i", "u"):  # numpy's and pandas' nullable Int16 alike
                raise ValueError(_integer_refusal(name, np.dtype(getattr(kind, "numpy_dtype", kind)), True))
            if getattr(kind, "kind", None) == "b":
                raise ValueError(f"{name} holds booleans: pass float samples in [-1, 1]")
        return audio
    arr = _samples_array(audio, name)
    typed = arr.dtype != object and not isinstance(audio, (list, tuple, range))
    if arr.dtype.kind in "iu" or (arr.dtype == object and _all_integers(arr)):
        raise ValueError(_integer_refusal(name, arr.dtype, typed))
    if arr.dtype.kind == "b":
        raise ValueError(f"{name} holds booleans: pass float samples in [-1, 1]")
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
        peak = _finite_peak(np.ma.getdata(arr))
        if peak > _FLOAT32_MAX:
            raise ValueError(f"{name} holds samples up to {peak:.3g}, beyond what float32 holds (the denoiser's "
                             "samples; full scale is 1): scale it to [-1, 1]")
    return arr


class StreamingDenoiser:
    """Denoise audio chunk by chunk with bounded memory and a fixed latency.

    Parameters
    ----------
    sample_rate
        Rate of the audio you feed, 4000 to 768000 Hz (resampled internally to the model's
        16 kHz). What that round trip loses (above the model's band, 8 kHz, at higher rates;
        the top edge of the input's band at lower ones) is kept at the gain ``strength`` and
        ``atten_limit`` allow: ``atten_limit`` dB down at full strength (removed with no limit;
        the model cannot tell speech from noise there), kept whole at strength 0.
    channels
        Number of channels; each is denoised independently.
    model
        ``None`` for the shipped model, a ``.tsae`` path, or a denoiser network.
    strength
        0 returns the input unchanged (as float32, NaN and infinite samples silent; :meth:`feed` returns
        each chunk at once), 1 applies the full model (default).
    atten_limit
        Maximum attenuation in dB, like DeepFilterNet's ``--atten-lim``; 12-20 dB keeps some
        ambience. ``None``: the model's ``default_atten_limit`` (45 dB for the shipped
        ``denoiser2``: deeper gains leave spectral holes that cost more than the noise they
        remove; none for ``denoiser``); ``inf``: no limit. :attr:`atten_limit` is the one applied.
    device
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (the CPU: this frame-by-frame model is
        faster there than with one GPU launch per 16 ms frame). A network passed as
        ``model`` is copied when it must move there or leave training mode: yours is
        left as it is.
    guard
        Keep (nearly) clean signal intact: a causal per-bin noise-floor tracker
        (minimum statistics) lifts the mask towards 1 where the local SNR is above
        40 dB (fully at 55 dB; :mod:`~tsae.pipelines.denoise.mask_finish`). On by default: it keeps
        nearly clean recordings nearly untouched and costs noisy speech little (a lower
        threshold lets loud transient noise through: the floor it tracks is that of the
        quieter moments around it).
    resample_quality
        Resampler used when ``sample_rate`` is not the model's rate: ``"LD"``, tsae's low-delay
        polyphase filter (:class:`~tsae.engine.polyphase.PolyphaseResampler`: flat to 7 kHz, 80 dB down
        from 8 kHz, about 2.5 ms each way at 48 and 44.1 kHz, 5 ms at 8 kHz, the same for every sample;
        the default of live audio), or a soxr quality: ``"HQ"`` (default) adds about 37 ms of latency
        in each direction; ``"LQ"`` about 20 ms and 60 ms; ``"QQ"`` (cubic, some aliasing) almost none;
        soxr gives its samples back in bursts, so the wait varies from chunk to chunk. Files are not
        affected by latency (the output is aligned with the input).

    Notes
    -----
    :meth:`feed` returns the samples that are final so far, aligned with the input
    (the first call returns fewer samples than it got: the model needs a full frame
    and its look-ahead, :attr:`latency` in all);
    :meth:`flush` returns the rest, so ``feed(a) + feed(b) + flush()`` has exactly
    ``len(a) + len(b)`` samples and equals ``feed(a + b) + flush()``. After
    :meth:`flush` the object is reset and can take a new stream.

    ``copy.deepcopy`` (or ``pickle``) taken mid-stream goes on exactly as the original
    would, and feeding one leaves the other as it was; ``copy.copy`` is the same fork
    sharing the network. A stream fed at another rate than the model's is copied only
    before its first feed or after a flush (soxr's resamplers cannot be copied): a
    ``TypeError`` says so.

    Examples
    --------
    Live audio in 10 ms chunks (here one second of noise stands in for a microphone):

    >>> import numpy as np
    >>> den = StreamingDenoiser(48000)
    >>> audio = 0.1 * np.random.default_rng(0).standard_normal(48000).astype(np.float32)
    >>> out = [den.feed(audio[i: i + 480]) for i in range(0, len(audio), 480)]
    >>> out.append(den.flush())
    >>> sum(len(o) for o in out) == len(audio)
    True
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        channels: int = 1,
        *,
        model: Any = None,
        strength: float = 1.0,
        atten_limit: float | None = None,
        device: str = "cpu",
        guard: bool = True,
        resample_quality: str = "HQ",
    ) -> None:
        strength = check_fraction("strength", strength)
        self.atten_limit = checked_atten_limit(atten_limit)
        channels = checked_channels(channels)
        resample_quality = checked_resample_quality(resample_quality)
        self.guard = check_flag("guard", guard)
        self.sample_rate = checked_rate(sample_rate)
        self.net, self.model_rate = load_denoiser(model, device)
        self.channels = channels
        self.atten_limit = resolved_atten_limit(self.atten_limit, self.net)  # None: the model's default
        self.strength, floor = finish_settings(strength, self.atten_limit)
        self.resample_quality = resample_quality
        if resample_quality == "LD":  # a rate pair it cannot do, said now
            check_low_delay(self.sample_rate, self.model_rate)
        self._stepper = self.net.streamer()
        self.n_fft = int(self._stepper.window)
        self.hop = int(self._stepper.hop)
        self.lookahead = int(self._stepper.lookahead)
        self._win = np.asarray(self._stepper.window_fn, dtype=np.float32)
        # what the round trip through the model's rate loses (above the model's Nyquist frequency when the input's
        # rate is higher; the top edge of the input's own band when it is lower, e.g. 3.6-4 kHz of 8 kHz audio)
        # is kept at the gain the options allow: none at full strength, all of it at strength 0, the
        # attenuation limit between
        self._high_gain = 1.0 - self.strength * (1.0 - floor) if self.sample_rate != self.model_rate else 0.0
        self._finisher = MaskFinisher(self.channels, self.n_fft // 2 + 1, guard=self.guard, floor=floor,
                                      strength=self.strength)
        self.reset()
        self._mono = self.channels == 1  # the layout of a stream never fed: (n,) for one channel

    @property
    def latency(self) -> float:
        """The algorithmic latency in seconds: the model's (one frame plus its look-ahead, at the model's own rate),
        plus the delays of ``resample_quality="LD"``'s resamplers at another rate (constant: half of each filter).

        A stream at another rate with a soxr quality also waits for the soxr resamplers, which give their samples
        back in bursts: fed 10 ms chunks of silence with the default ``resample_quality="HQ"``, the output trailed
        the input by 67-128 ms at 48 kHz, 71-151 ms at 44.1 kHz and 116-219 ms at 8 kHz (48-62 ms at 16 kHz);
        ``"LQ"`` by 59-95 ms at 48 kHz; ``"QQ"`` kept it at 48-64 ms at 48 and 8 kHz, with a plainer filter.
        ``"LD"`` kept it at 55-69 ms at 48 and 44.1 kHz and 59-73 ms at 8 kHz, never above :attr:`latency`. 0 at
        strength 0 (or an attenuation limit of 0 dB), where :meth:`feed` returns each chunk as it comes.
        """
        if self._passthrough:
            return 0.0
        ld = [rs.delay for rs in (self._rs_in, self._rs_out) if isinstance(rs, PolyphaseResampler)]
        return self._stepper.latency / self.model_rate + sum(ld)

    def reset(self) -> None:
        """Forget the stream: fresh model state and buffers."""
        c = self.channels
        self._state = self._stepper.init_state(c)
        from tsae.engine.streaming import StreamFramer, StreamOverlapAdd

        # engine framing: sqrt-Hann analysis, weighted overlap-add synthesis (bit-exact streaming)
        self._framer = StreamFramer(self.n_fft, self.hop, window_fn=self._win, channels=c)
        self._framer.push(np.zeros((c, self.n_fft - self.hop), np.float32))  # causal left padding
        self._olaer = StreamOverlapAdd(self.n_fft, self.hop, window_fn=self._win, channels=c)
        self._pending = np.zeros((c, 0, self.n_fft // 2 + 1), np.complex128)  # spectra waiting for their masks
        self._finisher.reset()
        self._drop = self.n_fft - self.hop
        self._n_in = 0
        self._n_out = 0
        self._n_model_in = 0
        self._n_model_out = 0
        self._new_resamplers()
        self._raw = np.zeros((c, 0), np.float32)
        self._low = np.zeros((c, 0), np.float32)
        self._loud_told = False  # told once a stream

    def _new_resamplers(self) -> None:
        """Fresh resamplers to the model's rate and back (none at the model's rate)."""
        import soxr

        def stream(rate_in: int, rate_out: int) -> Any:
            if self.resample_quality == "LD":
                return PolyphaseResampler(rate_in, rate_out, self.channels)
            return soxr.ResampleStream(rate_in, rate_out, self.channels, dtype="float32",
                                       quality=self.resample_quality)

        resampling = self.sample_rate != self.model_rate and not self._passthrough
        self._rs_in = stream(self.sample_rate, self.model_rate) if resampling else None
        self._rs_out = stream(self.model_rate, self.sample_rate) if resampling else None
        # the high band is the input minus its round trip through the model's rate (aligned like the output)
        self._rs_low = stream(self.model_rate, self.sample_rate) if resampling and self._high_gain > 0 else None

    def __repr__(self) -> str:
        """The model's family, the stream's rate and channels, and the samples per channel fed since the flush."""
        return (f"StreamingDenoiser(model={getattr(self.net, 'name', type(self.net).__name__)!r}, "
                f"sample_rate={self.sample_rate}, channels={self.channels}, fed={self._n_in})")

    # -- copies ---------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """What ``copy.deepcopy`` and ``pickle`` copy: everything but soxr's resamplers, which are rebuilt.

        soxr's resamplers keep their state in C and cannot be copied, so a stream that resamples
        with them is copied only where they hold nothing: before its first feed or after a flush
        (``"LD"``'s are copied with the rest, at any time).
        """
        if isinstance(self._rs_in, PolyphaseResampler):
            return dict(self.__dict__)
        if self._rs_in is not None and self._n_in:
            raise TypeError(f"cannot copy a StreamingDenoiser mid-stream at {self.sample_rate} Hz: the soxr resampler "
                            f"to the model's {self.model_rate} Hz keeps a state that cannot be copied; copy it before "
                            f"its first feed() or after flush(), or feed it {self.model_rate} Hz audio")
        return {**self.__dict__, "_rs_in": None, "_rs_out": None, "_rs_low": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._rs_in is None:
            self._new_resamplers()

    def __copy__(self) -> StreamingDenoiser:
        """A fork of the stream, as ``copy.deepcopy`` makes, that shares the network (which streaming never changes).

        A shallow copy sharing the stream's buffers would not be a copy: feeding it would move the original.
        """
        return copy.deepcopy(self, {id(self.net): self.net, id(self._stepper): self._stepper})

    # -- public -------------------------------------------------------------
    def feed(self, chunk: np.ndarray) -> np.ndarray:
        """Add float samples (``(n,)`` mono or ``(channels, n)``); return the finished ones, same layout.

        Parameters
        ----------
        chunk
            The next samples: ``(n,)`` mono or ``(channels, n)`` floats, or a DataFrame with one
            column per channel (the result is then ``(channels, n)``). It is never modified and the
            result is a new array. NaN and infinite samples are taken as silence; integer PCM (a
            list of ints too) is refused, as by :func:`denoise`.
        """
        return self._feed(chunk)

    def _feed(self, chunk: Any) -> np.ndarray:
        """:meth:`feed`; called from one frame below the caller, so that a warning names the caller's line."""
        x, mono = self._as_2d(chunk)
        self._n_in += x.shape[1]
        if self._passthrough:  # the input itself, not the STFT round trip's float32 rounding of it (as files)
            self._n_out += x.shape[1]
            y = np.array(x, np.float32, order="C")  # a new array: x may be the caller's chunk
            return y[0] if mono else y
        if self._rs_in is not None:
            raw = x
            x = _resampled(self._rs_in, x, last=False)
            self._keep_high_band(raw, x, last=False)
        self._n_model_in += x.shape[1]
        y = self._process(x)
        y = self._with_high_band(self._to_output(y, last=False))
        return y[0] if mono else y

    def flush(self) -> np.ndarray:
        """Return the remaining samples and reset for a new stream (:meth:`feed` may go on with it).

        The result is laid out as the last chunk fed was; a stream never fed gives an empty
        ``(0,)`` for one channel, ``(channels, 0)`` for more.
        """
        c = self.channels
        if self._passthrough:  # every sample was returned as it came
            mono = self._mono
            self.reset()
            self._mono = mono
            return np.zeros(0 if mono else (c, 0), np.float32)
        parts = []
        if self._rs_in is not None:
            x = _resampled(self._rs_in, np.zeros((c, 0), np.float32), last=True)
            self._keep_high_band(np.zeros((c, 0), np.float32), x, last=True)
            self._n_model_in += x.shape[1]
            parts.append(self._process(x))
        parts.append(self._process(np.zeros((c, self.n_fft + self.lookahead * self.hop), np.float32)))
        y = np.concatenate(parts, axis=1)
        missing = self._n_model_in - (self._n_model_out - y.shape[1])
        y = y[:, : max(missing, 0)]
        y = self._to_output(y, last=True)
        extra = self._n_in - self._n_out
        if extra < 0:
            y = y[:, : y.shape[1] + extra]
        elif extra > 0:
            y = np.concatenate([y, np.zeros((c, extra), np.float32)], axis=1)
        y = self._with_high_band(y, final=True)
        mono = self._mono
        self.reset()
        self._mono = mono
        return y[0] if mono else y

    # -- internals ------------------------------------------------------------
    _mono = False

    @property
    def _passthrough(self) -> bool:
        """Strength 0 (or an attenuation limit of 0 dB): nothing is removed, so every sample is final at once."""
        return self.strength == 0.0

    _loud_told = False  # whether samples beyond LOUDEST were warned about (once a stream: reset() clears it)

    def _as_2d(self, chunk: np.ndarray) -> tuple[np.ndarray, bool]:
        samples = float_samples(chunk, "chunk")
        x = _frame_chunk(samples) if is_dataframe(samples) else real_array(samples, "chunk", np.float32)
        mono = x.ndim == 1
        if mono:
            x = x[None]
        if x.ndim != 2 or x.shape[0] != self.channels:
            turned = x.ndim == 2 and x.shape[1] == self.channels and not is_dataframe(samples)  # soundfile's layout
            raise ValueError(f"expected {self.channels} channel(s) as (channels, n), got shape {np.shape(chunk)}"
                             + ("; pass chunk.T" if turned else ""))
        if not np.all(np.isfinite(x)):
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        loud = np.abs(x) > LOUDEST
        if loud.any():  # as the audio reader clips them: squared, such samples overflow float32's features
            peak = float(np.abs(x).max())
            x = np.clip(x, -LOUDEST, LOUDEST)
            if not self._loud_told:
                self._loud_told = True
                warnings.warn(f"audio: {int(loud.sum())} samples are up to {peak:.3g} times full scale (clipped to "
                              f"{LOUDEST:g}; was it scaled by mistake?)", AudioWarning,
                              stacklevel=4)  # _as_2d, _feed, then feed or denoise: their caller
        self._mono = mono
        return x, mono

    def _keep_high_band(self, raw: np.ndarray, model_rate: np.ndarray, *, last: bool) -> None:
        """Queue input samples and their round trip through the model's rate (the high band is their difference)."""
        if self._rs_low is None:
            return
        low = _resampled(self._rs_low, model_rate, last=last)
        self._raw = np.concatenate([self._raw, raw.astype(np.float32)], axis=1)
        self._low = np.concatenate([self._low, low.astype(np.float32)], axis=1)

    def _with_high_band(self, y: np.ndarray, *, final: bool = False) -> np.ndarray:
        """``y`` plus the high band of the input samples it stands for, times the high band's gain."""
        if self._rs_low is None or y.shape[1] == 0:
            return y
        n = y.shape[1]
        if final and self._low.shape[1] < n:  # the round trip's last sample or so
            self._low = np.pad(self._low, ((0, 0), (0, n - self._low.shape[1])))
        high = self._raw[:, :n] - self._low[:, :n]
        self._raw, self._low = self._raw[:, n:], self._low[:, n:]
        return (y + np.float32(self._high_gain) * high).astype(np.float32)

    def _to_output(self, y: np.ndarray, *, last: bool) -> np.ndarray:
        y = y.astype(np.float32)
        if self._rs_out is not None:
            y = _resampled(self._rs_out, y, last=last)
        self._n_out += y.shape[1]
        return np.ascontiguousarray(y)

    def _process(self, x: np.ndarray) -> np.ndarray:
        """Model-rate samples in -> aligned model-rate samples out."""
        frames = self._framer.push(np.ascontiguousarray(x, dtype=np.float32))  # (channels, k, n_fft)
        n_frames = frames.shape[1]
        specs = np.fft.rfft(frames.astype(np.float64), axis=-1)  # row by row: the same whatever the chunking
        # the spectra of the frames waiting for their masks (a model with look-ahead answers late), then these
        pending = np.concatenate([self._pending, specs], axis=1)
        steps = getattr(self._stepper, "steps", None)
        if steps is not None:  # the model takes the block at once (fewer weight reads, or GPU launches, per frame)
            masks = steps(specs, self._state) if n_frames else specs[:, :0]
        else:
            answers = [self._stepper.step(specs[:, t], self._state) for t in range(n_frames)]
            answers = [m for m in answers if m is not None]  # None: still collecting its look-ahead frames
            masks = np.stack(answers, axis=1) if answers else specs[:, :0]
        done = masks.shape[1]
        self._pending = pending[:, done:]
        synth = np.fft.irfft(self._finisher.apply_frames(pending[:, :done], masks), n=self.n_fft,
                             axis=-1).astype(np.float32)
        out = self._olaer.push(synth)
        if self._drop:
            k = min(self._drop, out.shape[1])
            out = out[:, k:]
            self._drop -= k
        self._n_model_out += out.shape[1]
        return out


def _resampled(stream: Any, x: np.ndarray, *, last: bool) -> np.ndarray:
    """``(channels, n)`` samples through ``stream`` (a :class:`PolyphaseResampler` or a soxr stream, which takes
    ``(n, channels)``), ``(channels, m)`` back."""
    if isinstance(stream, PolyphaseResampler):
        return stream.push(x, last=last)
    return stream.resample_chunk(np.ascontiguousarray(x.T), last=last).T


def _frame_chunk(frame: Any) -> np.ndarray:
    """A DataFrame chunk (one column per channel) as ``(channels, n)`` float32, as :func:`denoise` reads one."""
    if len(frame) == 0:
        return np.zeros((len(frame.columns), 0), np.float32)
    _warn_row_order(frame, "chunk", stacklevel=6)  # from _frame_chunk, _as_2d, _feed, feed: feed's caller
    return np.asarray(_frame_values(frame, "chunk"), dtype=np.float32).T  # _as_2d checks its channels


# --------------------------------------------------------------------------- blocks
#: the most samples (frames times channels; a file batch's files together) the denoiser is fed at once, from a
#: file or an array: its spectra and resamplers hold some 20 times that (a block of 5 s of 128 channels at 48 kHz
#: took 2.9 GB, 1024 channels some 20 GB); 2**23 samples keep a batch of 16 stereo files at 48 kHz in 5 s blocks,
#: and a block's work under 1 GB. The output does not depend on it.
MAX_BLOCK_SAMPLES = 1 << 23


def block_frames(rate: float, channels: int, seconds: float = 5.0) -> int:
    """Frames of one block fed to the denoiser: ``seconds`` at ``rate``, fewer for many ``channels`` (at most
    :data:`MAX_BLOCK_SAMPLES` samples in all), at least 1."""
    return max(1, min(int(seconds * rate), MAX_BLOCK_SAMPLES // channels))


# --------------------------------------------------------------------------- arrays


def denoise(
    audio: np.ndarray,
    sample_rate: int,
    *,
    strength: float = 1.0,
    model: Any = None,
    device: str = "cpu",
    atten_limit: float | None = None,
    resample_quality: str = "HQ",
) -> np.ndarray:
    """Denoise speech in an array.

    Parameters
    ----------
    audio
        ``(n,)`` mono or ``(channels, n)`` float samples (any sample rate); a
        DataFrame has one column per channel. Integer PCM (an integer array, or a list of
        ints) is refused (divide it by its full scale first); NaN and infinite samples are
        taken as silence, and samples beyond 1000 times full scale are clipped to it, with an
        :class:`~tsae.io.audio.AudioWarning` (as the audio reader does).
    sample_rate
        Sample rate of ``audio`` in Hz.
    strength, atten_limit, model, device, resample_quality
        As for :class:`StreamingDenoiser`.

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``audio`` (a DataFrame's ``(n, channels)`` comes back channels first,
        ``(channels, n)``, as every series in tsae).
    """
    # (n, channels) as soundfile.read gives it is refused ("pass audio.T"), a DataFrame turned around
    x2, mono = as_channels_first(float_samples(audio, "audio"), "audio", dtype=np.float32)
    x = x2[0] if mono else x2
    channels = x2.shape[0]
    den = StreamingDenoiser(sample_rate, channels, model=model, strength=strength,
                            atten_limit=atten_limit, device=device, resample_quality=resample_quality)
    # in blocks, as the file path streams: the spectra and resamplers hold some 20 times what they are fed
    block = block_frames(den.sample_rate, channels)
    parts = []
    for start in range(0, x.shape[-1], block):  # a loop, not a comprehension: a warning names our caller's line
        parts.append(den._feed(x[..., start: start + block]))
    parts.append(den.flush())
    return np.concatenate(parts, axis=-1)
