"""Run a model exported by ``tsae export`` with numpy and onnxruntime only (no tsae, no torch).

This is the reference for using the exported graphs elsewhere (an edge device, another
language): everything a runner needs is in the JSON sidecar beside the ``.onnx`` file,
also stored in the graph itself (metadata entry ``tsae.sidecar``).

    python -m tsae.onnx_reference_runner den.onnx noisy16k.wav -o clean.wav     # denoiser step
    python -m tsae.onnx_reference_runner pump.onnx today.csv -o scores.csv       # detector
    python -m tsae.onnx_reference_runner model.onnx sensors.csv -o recon.csv     # any model: reconstruction
    python -m tsae.onnx_reference_runner model.onnx talk.wav -o recon.wav        # one trained on audio

WAV files are read and written with the standard library (16-bit PCM), as input to any
model (a window model's reconstruction of one may be written as WAV at its rate); CSV inputs
have one column per channel and an optional header line; CSV outputs have a header, as tsae's commands write
them (``score`` for a detector, else the model's table columns, ``ch0``, ``ch1``... without names). The
denoiser runs at the sample rate in the sidecar (16 kHz for the shipped model):
resample other rates first (sox, ffmpeg).

The file imports nothing of tsae nor torch: it runs alone where numpy and onnxruntime are installed
(``python onnx_reference_runner.py MODEL.onnx INPUT -o OUTPUT``).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import wave
from pathlib import Path

import numpy as np


def load(onnx_path: str | Path, threads: int = 1):
    """The onnxruntime session (``threads`` intra-op threads) and the sidecar of ``onnx_path``.

    The sidecar is the copy inside the graph (its ``tsae.sidecar`` metadata entry), which
    always belongs to it; a graph without one (an older export) needs the ``.json`` beside it.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    embedded = session.get_modelmeta().custom_metadata_map.get("tsae.sidecar")
    meta = json.loads(embedded if embedded else Path(onnx_path).with_suffix(".json").read_text())
    return session, meta


# ----------------------------------------------------------------------------- denoiser step
def initial_state(meta: dict, batch: int) -> dict[str, np.ndarray]:
    """Zero (or +inf) state tensors for ``batch`` channels, keyed by the graph's input names."""
    state = {}
    for spec in meta["state"].values():
        shape = [batch if d == "batch" else int(d) for d in spec["shape"]]
        fill = np.inf if spec["initial"] == "inf" else float(spec["initial"])
        state[spec["input"]] = np.full(shape, fill, np.float32)
    return state


class StreamingRunner:
    """Feed any number of samples per call; get back the finished ones (``delay_samples`` late)."""

    def __init__(self, session, meta: dict, channels: int) -> None:
        self.session, self.meta, self.hop = session, meta, int(meta["hop"])
        self.state = initial_state(meta, channels)
        self.rename = {spec["output"]: spec["input"] for spec in meta["state"].values()}
        self.outputs = [o.name for o in session.get_outputs()]
        self.buffer = np.zeros((channels, 0), np.float32)

    def feed(self, x: np.ndarray) -> np.ndarray:
        """Samples ``(channels, n)`` in; the output for every whole hop so far ``(channels, k * hop)`` out."""
        self.buffer = np.concatenate([self.buffer, x.astype(np.float32)], axis=1)
        done = []
        while self.buffer.shape[1] >= self.hop:
            results = self.session.run(None, {"samples": self.buffer[:, : self.hop], **self.state})
            self.buffer = self.buffer[:, self.hop:]
            done.append(results[0])
            self.state = {self.rename[name]: value for name, value in zip(self.outputs[1:], results[1:], strict=True)}
        return np.concatenate(done, axis=1) if done else np.zeros((len(self.buffer), 0), np.float32)


def denoise(session, meta: dict, audio: np.ndarray) -> np.ndarray:
    """Denoise ``(channels, n)`` audio at ``meta["sample_rate"]`` hop by hop; same length out."""
    delay, n = int(meta["delay_samples"]), audio.shape[1]
    runner = StreamingRunner(session, meta, audio.shape[0])
    tail = np.zeros((audio.shape[0], delay + runner.hop), np.float32)  # pushes the last samples out
    out = np.concatenate([runner.feed(audio), runner.feed(tail)], axis=1)
    return out[:, delay: delay + n]


# ----------------------------------------------------------------------------- windows and detectors
def frames(x: np.ndarray, window: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``(k, channels, window)`` of ``x`` ``(channels, n)`` starting at 0, hop, ... and their starts."""
    starts = np.arange(0, x.shape[1] - window + 1, hop)
    return np.stack([x[:, s: s + window] for s in starts]).astype(np.float32), starts


def overlap_mean(values: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Each sample's mean over the windows covering it ``(channels, n)``; uncovered tail samples repeat the last."""
    acc = np.zeros((values.shape[1], n))
    count = np.zeros(n)
    for s, v in zip(starts, values, strict=True):
        acc[:, s: s + values.shape[2]] += v
        count[s: s + values.shape[2]] += 1
    covered = int(np.nonzero(count)[0][-1]) + 1
    acc[:, covered:] = (acc[:, covered - 1] / count[covered - 1])[:, None]
    count[covered:] = 1
    return acc / count


def moving_mean(x: np.ndarray, k: int, centered: bool) -> np.ndarray:
    """Moving mean of ``k`` samples along time, clipped at both ends (as tsae smooths scores)."""
    ahead = k // 2 if centered else 0
    behind = k - 1 - ahead
    c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    idx = np.arange(x.shape[1])
    lo, hi = np.maximum(0, idx - behind), np.minimum(x.shape[1], idx + ahead + 1)
    return (c[:, hi] - c[:, lo]) / (hi - lo)


#: a value beyond this in magnitude is missing, as tsae reads tables and arrays (no sensor reads 1e35)
ABSURD = 1e30


def present(x: np.ndarray) -> np.ndarray:
    """Where ``x`` holds a value: not NaN, not infinite, not beyond :data:`ABSURD` in magnitude."""
    with np.errstate(invalid="ignore"):
        return np.abs(x) <= ABSURD


def forward_fill(x: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Replace missing values (see :func:`present`) by the channel's previous value (``first`` before the first)."""
    x = x.copy()
    last = np.asarray(first, np.float64).copy()
    for t in range(x.shape[1]):
        bad = ~present(x[:, t])
        x[bad, t] = last[bad]
        last = x[:, t]
    return x


def detector_scores(session, meta: dict, x: np.ndarray) -> np.ndarray:
    """Anomaly score of every sample of ``x`` ``(sensors, n)`` (n >= window).

    A scale whose window is longer than the series scores nothing, as in tsae (its input
    gets one window of zeros, whose error is not used).
    """
    x = forward_fill(_checked_channels(x, meta), meta["normalizer"]["center"])
    if x.shape[1] < int(meta["window"]):
        raise ValueError(f"{x.shape[1]} sample(s): shorter than the detector's window ({meta['window']})")
    scales = meta.get("scales") or [{"input": "window", "output": "error", "window": meta["window"],
                                     "hop": meta["hop"]}]
    used = [s["window"] <= x.shape[1] for s in scales]
    cut = [frames(x, s["window"], s["hop"]) if fits else (np.zeros((1, x.shape[0], s["window"]), np.float32), None)
           for s, fits in zip(scales, used, strict=True)]
    stats = [s for s in scales if s.get("stats_output")]  # the shared rise's statistics errors, when discounted
    outputs = session.run([s["output"] for s in scales] + [s["stats_output"] for s in stats],
                          {s["input"]: w for s, (w, _) in zip(scales, cut, strict=True)})
    errors, by_scale = outputs[:len(scales)], dict(zip([s["input"] for s in stats], outputs[len(scales):],
                                                       strict=True))
    rows = np.zeros(x.shape)
    for e, (_, starts), fits in zip(errors, cut, used, strict=True):
        if fits and starts is not None:
            rows += overlap_mean(e.astype(np.float64), starts, x.shape[1])
    smoothings = [(meta["smooth"], 1.0), *meta.get("short_smooth", [])]  # each length's score times its factor
    plain = None  # the score without the point excess, where it has one
    score = np.max([moving_mean(rows, length, meta["centered"]).sum(axis=0) * factor / meta["channels"]
                    for length, factor in smoothings], axis=0)
    if meta.get("short_smooth") and float(meta.get("point_weight", 0.0)) > 0 and meta.get("point_ceiling"):
        length, factor = min(meta["short_smooth"])  # the shortest smoothing's excess over its normal ceiling
        shortest = moving_mean(rows, length, meta["centered"])
        excess = np.maximum(shortest - np.asarray(meta["point_ceiling"], np.float64)[:, None], 0.0)
        added = float(meta["point_weight"]) * factor * np.nan_to_num(excess).sum(axis=0) / meta["channels"]
        plain, score = score, score + np.minimum(added, float(meta["point_cap"]) * score)
    if float(meta.get("shared_rise", 1.0)) > 1.0 and meta.get("shared_base") is not None and by_scale:
        parts = [overlap_mean(by_scale[s["input"]].astype(np.float64), starts, x.shape[1])
                 for s, (_, starts), fits in zip(scales, cut, used, strict=True)
                 if fits and starts is not None and s["input"] in by_scale]
        if parts:  # a scale with statistics fitted the series
            ratio = moving_mean(np.sum(parts, axis=0), meta["smooth"], meta["centered"]) / \
                np.asarray(meta["shared_base"])[:, None]
            with np.errstate(invalid="ignore"):
                rise = np.median(ratio, axis=0)
            divisor = np.where(np.isfinite(rise), np.clip(rise, 1.0, float(meta["shared_rise"])), 1.0)
            score, plain = score / divisor, None if plain is None else plain / divisor
    if plain is not None:  # the excess never lifts a score across the threshold
        alarm = float(meta["threshold"])
        score = np.where(plain > alarm, score, np.minimum(score, np.maximum(plain, alarm)))
    return score


def _checked_channels(x: np.ndarray, meta: dict) -> np.ndarray:
    """``x`` as float64 ``(channels, n)``; another channel count than the graph's is a one-line ``ValueError``."""
    x = np.asarray(x, np.float64)
    x = x[None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] != int(meta["channels"]):
        raise ValueError(f"has {x.shape[0] if x.ndim == 2 else x.shape} channel(s) but the model takes "
                         f"{meta['channels']}")
    return x


def fill_gaps(x: np.ndarray) -> np.ndarray:
    """Missing samples (NaN, inf, beyond 1e30) of each channel linearly interpolated, the ends the nearest value.

    tsae fills a window model's gaps so before framing; a channel with no value is a ``ValueError``.
    """
    x = np.array(x, np.float64)
    t = np.arange(x.shape[1])
    for c, row in enumerate(x):
        good = present(row)
        if not good.any():
            raise ValueError(f"a channel has no finite values (channel {c})")
        if not good.all():
            row[~good] = np.interp(t[~good], t[good], row[good])
    return x


def reconstruct(session, meta: dict, x: np.ndarray) -> np.ndarray:
    """Reconstruction of ``x`` ``(channels, n)`` through a window model, as the sidecar's ``usage`` says."""
    x = fill_gaps(_checked_channels(x, meta))
    norm = meta.get("normalizer") or {}
    center = np.asarray(norm.get("center", 0.0), np.float64).reshape(-1, 1)
    scale = np.asarray(norm.get("scale", 1.0), np.float64).reshape(-1, 1)
    window, n = int(meta["window"]), x.shape[1]
    hop = int((meta.get("frame") or {}).get("hop") or window)
    taper = np.ones(window) if meta.get("taper") is None else np.asarray(meta["taper"], np.float64)
    xn = (x - center) / scale
    lead = 0 if meta.get("taper") is None else max(1, window // 8)  # a taper: mirror both ends by window // 8
    if lead:
        xn = np.pad(xn, ((0, 0), (lead, lead)), mode="reflect" if n > 1 else "edge")
    m = xn.shape[1]
    count = 1 if m <= window else -(-(m - window) // hop) + 1  # windows that cover every sample
    padded = np.zeros((x.shape[0], (count - 1) * hop + window))
    padded[:, :m] = xn
    starts = np.arange(count) * hop
    windows = np.stack([padded[:, s: s + window] * taper for s in starts]).astype(np.float32)
    recon = session.run(["reconstruction"], {"window": windows})[0].astype(np.float64)
    acc, weight = np.zeros_like(padded), np.zeros(padded.shape[1])
    for s, r in zip(starts, recon, strict=True):
        acc[:, s: s + window] += r * taper
        weight[s: s + window] += taper**2
    y = np.divide(acc, weight, out=np.zeros_like(acc), where=weight > 0)[:, lead: lead + n]
    return y * scale + center


# ----------------------------------------------------------------------------- files
#: a data size at or above this means "until the end of the file" (a streamed WAV: ffmpeg and sox write 0xFFFFFFFF)
UNKNOWN_SIZE = 0x7FFF0000


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV -> float32 ``(channels, n)`` and the sample rate; a file cut short is a ``ValueError``."""
    try:
        opened = wave.open(str(path))
    except wave.Error as error:  # float, mu-law, WAVE_FORMAT_EXTENSIBLE (before Python 3.12): "unknown format: 3"
        if not str(error).startswith("unknown format"):
            raise
        raise SystemExit(f"{path}: only 16-bit PCM WAV is read here, not WAV format {str(error).split(':')[-1].strip()}"
                         " (convert with sox or ffmpeg)") from None
    except EOFError:
        raise ValueError("its WAV header is cut short (truncated, or not a WAV file)") from None
    with opened as f:
        if f.getsampwidth() != 2:
            raise SystemExit(f"{path}: only 16-bit PCM WAV is read here (convert with sox or ffmpeg)")
        width, announced, rate = 2 * f.getnchannels(), f.getnframes(), f.getframerate()
        raw = f.readframes(announced)
    frames = len(raw) // width
    if frames < announced and announced * width < UNKNOWN_SIZE:
        raise ValueError(f"file ends after {frames} of the {announced} sample frames its header announces "
                         "(truncated or corrupt)")
    data = np.frombuffer(raw[: frames * width], "<i2").reshape(-1, width // 2)
    return (data.T / 32768.0).astype(np.float32), rate


def write_wav(path: str | Path, audio: np.ndarray, rate: int) -> None:
    """float ``(channels, n)`` -> 16-bit PCM WAV, as tsae writes it (the scale read_wav reads, rounded, clipped)."""
    pcm = np.clip(np.round(audio.T * 32768.0), -32768, 32767).astype("<i2")
    # opened here, not by wave: a Wave_write that failed to open prints "Exception ignored ..." as it is collected
    with open(path, "wb") as handle, wave.open(handle, "wb") as f:
        f.setnchannels(audio.shape[0])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())


def read_csv(path: str | Path, names: list[str] | None = None) -> np.ndarray:
    """Numeric CSV (one column per channel, optional header) -> ``(channels, n)``; empty cells are NaN.

    With a header and ``names`` (a detector's sensors), those columns are taken in that
    order (a timestamp column beside them is left out); otherwise every column.
    """
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    if not lines:
        raise ValueError("no rows")
    header = [h.strip() for h in lines[0].split(",")]
    columns, first = list(range(len(header))), 1
    try:
        [float(v) for v in header if v]
    except ValueError:  # a header line
        lines, first = lines[1:], 2
        missing = [n for n in names or [] if n not in header]
        if missing:
            raise ValueError(f"no column {missing[0]!r} (the model's sensors: {', '.join(names or [])})") from None
        columns = [header.index(n) for n in names] if names else columns
    rows = []
    for number, line in enumerate(lines, start=first):
        cells = line.split(",")
        try:
            rows.append([float(cells[c]) if c < len(cells) and cells[c].strip() else np.nan for c in columns])
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
    return np.array(rows, np.float64).T


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_output(output: str, reads: list[str]) -> None:
    """Refuse an output that would replace a file this run reads (the model, its sidecar, the input), one that is no
    regular file (the finished file is renamed onto the output: run as root, ``-o /dev/full`` replaced the device
    with a file), or one in a folder that does not exist."""
    out = Path(output)
    if out.exists() and not out.is_file():
        raise SystemExit(f"{output}: not a regular file (a folder, a device or a pipe); refusing to replace it")
    if not out.parent.is_dir():
        raise SystemExit(f"{output}: no folder {out.parent} to write it in")
    for path in map(Path, reads):
        if out.exists() and path.exists() and out.samefile(path):
            raise SystemExit(f"{output}: refusing to overwrite {path}, which this run reads")


def _write_atomic(output: str, write) -> None:
    """``write(temporary path)``, then rename it to ``output``: no partial output on an error."""
    out = Path(output)
    tmp = out.with_name(f".{out.name}.part{out.suffix}")
    try:
        write(str(tmp))
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def _is_wav(path: str) -> bool:
    return path.lower().endswith(".wav")


def csv_header(meta: dict, channels: int) -> list[str]:
    """A CSV output's column names, as tsae's own commands write them: ``score`` for a detector (as the first
    column of ``tsae detect score``), else the model's table columns, ``ch<i>`` where a channel has no name."""
    if meta["kind"] == "detector":
        return ["score"]
    names = meta.get("columns") or [None] * channels
    return [name if name else f"ch{i}" for i, name in enumerate(names)]


def _output_kind(output: str, model_kind: str, source: str) -> str:
    """What ``output`` is written as, by its suffix: ``"wav"``, ``"npy"`` or ``"csv"`` (any other suffix).

    One that cannot hold the result is refused before anything runs (a window model's reconstruction of a table
    went to ``clean.wav`` as CSV text, and the denoiser's audio to ``clean.csv`` as a WAV file).
    """
    if model_kind == "denoiser_step":
        if not _is_wav(output):
            raise SystemExit(f"{output}: the denoiser writes audio: give a .wav output")
        return "wav"
    if _is_wav(output):
        if model_kind == "detector" or not _is_wav(source):
            raise SystemExit(f"{output}: a .wav output is a window model's reconstruction of a .wav input "
                             f"(its sample rate); write .csv or .npy")
        return "wav"
    return "npy" if output.endswith(".npy") else "csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the .onnx file written by tsae export (its .json beside it)")
    parser.add_argument("input", help="a .wav (any model), or .csv / .npy (detector, window model)")
    parser.add_argument("-o", "--output", required=True,
                        help=".wav (denoiser; window model with a .wav input), .csv or .npy (detector, window model)")
    args = parser.parse_args()
    if importlib.util.find_spec("onnxruntime") is None:  # said as such, not as the model file's problem
        raise SystemExit('onnxruntime is not installed: pip install onnxruntime (or pip install "tsae[onnx]")')
    _check_output(args.output, [args.model, str(Path(args.model).with_suffix(".json")), args.input])
    try:
        session, meta = load(args.model)
    except Exception as error:  # noqa: BLE001 - onnxruntime, JSON and file errors alike: one line
        raise SystemExit(f"{args.model}: {_first_line(error)}") from None
    kind = _output_kind(args.output, meta["kind"], args.input)
    try:
        if meta["kind"] == "denoiser_step":
            audio, rate = read_wav(args.input)
            if rate != meta["sample_rate"]:
                raise SystemExit(f"{args.input}: {rate} Hz; the model runs at {meta['sample_rate']} Hz "
                                 "(resample first)")
            result = denoise(session, meta, audio)
        else:
            if _is_wav(args.input):  # audio a model was trained on: its channels by position
                x, rate = read_wav(args.input)
            else:
                x = np.load(args.input, allow_pickle=False) if args.input.endswith(".npy") else \
                    read_csv(args.input, meta.get("sensors") if meta["kind"] == "detector" else meta.get("columns"))
            result = (detector_scores(session, meta, x)[None] if meta["kind"] == "detector"
                      else reconstruct(session, meta, x))
    except (ValueError, OSError, EOFError, wave.Error) as error:
        raise SystemExit(f"{args.input}: {_first_line(error)}") from None

    def write(tmp: str) -> None:
        if kind == "wav":
            write_wav(tmp, result, rate)
        elif kind == "npy":
            np.save(tmp, result)
        else:
            np.savetxt(tmp, result.T, delimiter=",", fmt="%.9g", header=",".join(csv_header(meta, len(result))),
                       comments="")

    try:
        _write_atomic(args.output, write)
    except OSError as error:  # a full disk, a folder made read-only meanwhile: the output's error, named so
        raise SystemExit(f"{args.output}: cannot write it ({error.strerror or _first_line(error)})") from None

if __name__ == "__main__":
    main()
