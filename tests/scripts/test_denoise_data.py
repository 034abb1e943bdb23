"""scripts/denoise_data.py: synthetic noise, reverberation, augmentation, packing and the packed sampler.

Synthetic data only (a tiny fake speech folder and a tiny git repository standing in for moodist).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from script_modules import load_script

dd = load_script("denoise_data")
SR = dd.SR


def _spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.fft.rfftfreq(len(x), 1 / SR), np.abs(np.fft.rfft(x)) ** 2


def _crest(x: np.ndarray) -> float:
    return float(np.abs(x).max() / dd.rms(x))


@pytest.mark.parametrize("name", sorted(dd.SYNTHETIC_NOISES))
@pytest.mark.parametrize("n", [16000, 12345])
def test_generators_return_finite_unit_float32_of_the_asked_length(name, n) -> None:
    x = dd.SYNTHETIC_NOISES[name](np.random.default_rng(0), n)
    assert x.shape == (n,) and x.dtype == np.float32 and np.isfinite(x).all()
    assert dd.rms(x) == pytest.approx(1.0, rel=0.05)


def test_generators_are_seeded() -> None:
    for gen in dd.SYNTHETIC_NOISES.values():
        a, b = gen(np.random.default_rng(5), 8000), gen(np.random.default_rng(5), 8000)
        c = gen(np.random.default_rng(6), 8000)
        assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("seed", range(6))
def test_hum_peaks_at_mains_frequency_and_has_little_high_band(seed) -> None:
    f, p = _spectrum(dd.hum(np.random.default_rng(seed), 2 * SR))
    peak = f[p.argmax()]
    assert min(abs(peak - 50), abs(peak - 60)) <= 1.0
    assert p[f > 2000].sum() < 0.02 * p.sum()


def _tonality(x: np.ndarray) -> tuple[float, float]:
    """(frequency of the strongest bin above 60 Hz, its power over the median power within +-200 Hz)."""
    f, p = _spectrum(x)
    k = int(np.argmax(np.where(f >= 60, p, 0)))
    return float(f[k]), float(p[k] / np.median(p[np.abs(f - f[k]) < 200]))


@pytest.mark.parametrize("seed", range(4))
def test_fan_has_a_tonal_peak_in_the_blade_range_and_noise_has_none(seed) -> None:
    f, tonal = _tonality(dd.fan(np.random.default_rng(seed), 2 * SR))
    assert 70 <= f <= 2500 and tonal > 30
    for name in ("coloured", "modulated"):
        assert _tonality(dd.SYNTHETIC_NOISES[name](np.random.default_rng(seed), 2 * SR))[1] < 30


def test_impulsive_generators_are_impulsive_and_coloured_noise_is_not() -> None:
    rng = np.random.default_rng(1)
    for _ in range(4):
        assert _crest(dd.clicks(rng, SR)) > 8
        assert _crest(dd.coloured_noise(rng, SR)) < 8
        x = dd.transients(rng, 2 * SR)
        frames = np.sort((x[: len(x) // 160 * 160].reshape(-1, 160) ** 2).sum(axis=1))[::-1]
        assert frames[: len(frames) // 10].sum() > 0.8 * frames.sum()  # energy in few 10 ms frames


def test_modulated_noise_level_moves_and_coloured_noise_slopes_down() -> None:
    rng = np.random.default_rng(2)
    for _ in range(4):
        x = dd.modulated_noise(rng, 2 * SR)
        level = np.sqrt((x[: len(x) // 320 * 320].reshape(-1, 320) ** 2).mean(axis=1))
        assert level.std() / level.mean() > 0.3
    f, p = _spectrum(dd.coloured_noise(np.random.default_rng(3), 4 * SR))
    assert p[(f > 100) & (f < 500)].mean() >= p[(f > 4000) & (f < 8000)].mean()


def test_loop_crop_wraps_and_babble_mixes_several_utterances() -> None:
    x = np.arange(5, dtype=np.int16)
    y = dd.loop_crop(np.random.default_rng(0), x, 12)
    assert y.dtype == np.int16 and np.array_equal(np.diff(y) % 5, np.ones(11))
    pool = [np.sin(2 * np.pi * f * np.arange(SR) / SR).astype(np.float32) for f in (200, 300, 500, 700, 1100)]
    b = dd.babble(np.random.default_rng(1), pool, SR)
    f, p = _spectrum(b)
    assert b.dtype == np.float32 and b.shape == (SR,)
    assert sum(p[np.abs(f - k) < 3].sum() > 1e-3 * p.sum() for k in (200, 300, 500, 700, 1100)) >= 2


def _rt60(h: np.ndarray) -> float:
    """T20 (Schroeder integration, -5 to -25 dB, extrapolated to 60 dB)."""
    edc = np.cumsum((h.astype(np.float64) ** 2)[::-1])[::-1]
    edc = 10 * np.log10(edc / edc[0])
    t = np.arange(len(h)) / SR
    m = (edc < -5) & (edc > -25)
    return float(-60 / np.polyfit(t[m], edc[m], 1)[0])


@pytest.mark.parametrize("rt60", [0.25, 0.5, 0.9])
def test_rir_has_the_asked_rt60_drr_and_an_early_target(rt60) -> None:
    full, early = dd.room_impulse_response(np.random.default_rng(int(rt60 * 100)), rt60, drr_db=3.0)
    assert _rt60(full) == pytest.approx(rt60, rel=0.2)
    spectrum = np.fft.rfft(full, 2 * len(full))
    f = np.fft.rfftfreq(2 * len(full), 1 / SR)
    spectrum[(f < 350) | (f > 1400)] = 0  # the 500 Hz and 1 kHz octaves
    assert _rt60(np.fft.irfft(spectrum)[1: len(full)]) == pytest.approx(rt60, rel=0.15)
    assert full[0] == 1.0 and full.dtype == np.float32
    assert 10 * np.log10(1 / np.sum(full[1:].astype(np.float64) ** 2)) == pytest.approx(3.0, abs=0.1)
    assert len(early) == int(dd.EARLY_MS * SR / 1000) and np.array_equal(early, full[: len(early)])


def test_reverberate_returns_aligned_speech_and_early_target() -> None:
    rng = np.random.default_rng(4)
    s = dd.synthetic_speech(rng, SR)
    wet, target = dd.reverberate(np.random.default_rng(9), s)
    assert wet.shape == target.shape == s.shape
    # the direct path sits at lag 0, so the target correlates best with the dry speech at lag 0
    lags = [np.dot(np.roll(s, k), target) for k in range(-20, 21)]
    assert int(np.argmax(lags)) == 20
    assert dd.rms(wet - s) > dd.rms(target - s)  # the late tail is in the input, not in the target


def test_microphone_response_high_passes_and_sometimes_band_limits() -> None:
    rng = np.random.default_rng(0)
    f = np.fft.rfftfreq(SR, 1 / SR)
    limited = 0
    for _ in range(40):
        g = dd.microphone_response(rng, SR)
        assert g.shape == f.shape and np.isfinite(g).all()
        assert g[f == 10].item() < 0.5 * g[f == 1000].item()
        limited += g[f == 7900].item() < 0.1 * g[f == 1000].item()
    assert 3 <= limited <= 25


def _upper_band_share(x: np.ndarray) -> np.ndarray:
    """Share of each row's power above 4 kHz (16 kHz audio)."""
    power = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    f = np.fft.rfftfreq(x.shape[-1], 1 / SR)
    return power[..., f > 4000].sum(-1) / power.sum(-1)


def test_telephone_band_empties_the_upper_half_of_16k_audio() -> None:
    rng = np.random.default_rng(0)
    f = np.fft.rfftfreq(SR, 1 / SR)
    edges = []
    for _ in range(30):
        g = dd.telephone_band(rng, f)
        assert np.all(g[f <= 3400] == 1.0) and np.all(g[f >= 4000] == 0.0) and np.all(np.diff(g) <= 0)
        edges.append(f[np.flatnonzero(g == 0)[0]])
    assert max(edges) - min(edges) > 100  # the edge is drawn, not fixed


def test_microphone_response_adds_the_telephone_band_only_when_asked() -> None:
    f = np.fft.rfftfreq(SR, 1 / SR)
    plain = [dd.microphone_response(np.random.default_rng(5), SR) for _ in range(2)]
    zero = dd.microphone_response(np.random.default_rng(5), SR, telephone_prob=0.0)
    assert np.array_equal(plain[0], zero) and np.array_equal(plain[0], plain[1])  # no extra draw at 0
    rng = np.random.default_rng(5)
    for _ in range(10):
        g = dd.microphone_response(rng, SR, telephone_prob=1.0)
        assert np.all(g[f >= 4000] == 0.0) and g[f == 1000].item() > 0


def test_level_and_clip() -> None:
    rng = np.random.default_rng(0)
    clean = dd.synthetic_speech(rng, SR)
    noisy = clean + 0.1 * rng.standard_normal(SR).astype(np.float32)
    for clip_prob in (0.0, 1.0):
        x, s = dd.level_and_clip(rng, noisy, clean, clip_prob=clip_prob)
        k = int(np.argmin(np.abs(np.abs(noisy) - 0.1)))
        g = x[k] / noisy[k]  # one gain for input and target
        unclipped = np.abs(x) < 1
        assert np.allclose(x[unclipped], g * noisy[unclipped], atol=1e-6) and np.allclose(s, g * clean, atol=1e-6)
        if clip_prob == 0:
            assert np.abs(x).max() <= 0.99
        else:  # the noisy input is clipped, the target is not
            assert np.abs(x).max() == 1.0 and (~unclipped).sum() > 1 and np.abs(s).max() > 1


def test_moodist_split_holds_out_whole_categories_and_a_file_of_the_others() -> None:
    paths = [f"public/sounds/{c}/{i}.mp3" for c in ("transport", "animals", "rain", "things") for i in range(4)]
    paths += ["public/sounds/binaural/a.wav", "public/sounds/silence.wav", "public/sounds/alarm.mp3",
              "public/sounds/urban/only.mp3"]
    sp = dd.moodist_split(paths)
    assert sorted(sp["skipped"]) == ["public/sounds/binaural/a.wav", "public/sounds/silence.wav"]
    for cat in dd.MOODIST_HELDOUT_CATEGORIES:
        assert all(f"/{cat}/" not in p for p in sp["train"])
    assert sum("/rain/" in p for p in sp["heldout"]) == 1 and sum("/things/" in p for p in sp["heldout"]) == 1
    assert "public/sounds/urban/only.mp3" in sp["train"] and "public/sounds/alarm.mp3" in sp["train"]
    assert sorted(sp["train"] + sp["heldout"] + sp["skipped"]) == sorted(paths)
    assert dd.moodist_split(list(reversed(paths))) == sp


# --------------------------------------------------------------------------- packing
def _write(path: Path, x: np.ndarray, sr: int = SR) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr, subtype="PCM_16")


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny speech folder shaped like shared/data/speech and a tiny moodist-like git repository."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    data = root / "speech"

    def clip(n: int = 3200) -> np.ndarray:
        return (0.3 * rng.uniform(-1, 1, n)).astype(np.float32)

    for spk in range(1000, 1024):  # none of them babble speakers; 20 are held out
        _write(data / "clean" / f"librispeech_{spk}-1-0001.flac", clip())
    for spk in ("0001", "0002", "0003", "0004"):
        _write(data / "clean" / f"so762_{spk}_000010.flac", clip())
    _write(data / "clean" / "ljspeech_LJ001-0001.flac", clip())
    for name in ("blanket_birds.wav", "blanket_rain.wav", "blanket_waves.wav"):
        _write(data / "noise" / name, clip(8000))
    repo = root / "moodist"
    for rel in ("transport/train.wav", "things/fan.wav", "things/keyboard.wav", "rain/light.wav", "rain/heavy.wav",
                "binaural/alpha.wav", "animals/dog.wav"):
        _write(repo / "public" / "sounds" / rel, clip(4410), sr=22050)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "sounds"], check=True)
    return data, repo / ".git"


@pytest.fixture(autouse=True)
def _few_synthetic_clips(monkeypatch) -> None:
    monkeypatch.setattr(dd, "SYNTHETIC_SPEECH_CLIPS", 2)  # 60 x 10 s in real packs: too slow for a test


def test_pack_round_trip_keeps_training_data_exact_and_leaves_held_out_data_out(fake_data, tmp_path, capsys) -> None:
    data, git_dir = fake_data
    out = tmp_path / "pack.safetensors"
    dd.main(["pack", str(out), "--data", str(data), "--moodist", str(git_dir)])
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "MB" in printed
    packed = dd.load_packed(out)
    m = packed.manifest
    sp = dd.split(data)
    held = {p.name for p in sp["heldout_clean"]}
    assert len(held) == 22 and not held & set(m["speech"]["files"])
    real = [n for n in m["speech"]["files"] if not n.startswith("synthetic_")]
    assert sorted(real) == sorted(p.name for v in sp["train_clean"].values() for p in v)
    assert len(m["speech"]["files"]) == len(real) + dd.SYNTHETIC_SPEECH_CLIPS
    for i, name in enumerate(m["speech"]["files"]):
        src = m["speech_sources"][packed.speech_source[i]]
        assert name.startswith(src)
        if src != "synthetic":
            assert np.array_equal(packed.speech_clip(i), dd.load(data / "clean" / name))
    noise_names = m["noise"]["files"]
    assert "shared:blanket_waves.wav" not in noise_names and "shared:blanket_birds.wav" in noise_names
    assert np.array_equal(packed.noise_clip(noise_names.index("shared:blanket_rain.wav")),
                          dd.load(data / "noise" / "blanket_rain.wav"))
    mo = m["noise"]["moodist"]
    commit = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert mo["commit"] == commit and "remvze/moodist" in mo["repo"] and "Pixabay" in mo["licence"]
    moodist = [n for n in noise_names if n.startswith("moodist:")]
    assert len(moodist) == 2  # one of 2 things and one of 2 rain; transport, animals held out; binaural skipped
    assert not any(c in n for n in moodist for c in ("transport", "animals", "binaural"))
    assert set(mo["heldout"]) >= {"public/sounds/transport/train.wav", "public/sounds/animals/dog.wav"}
    for n in moodist:  # 22.05 kHz resampled to 16 kHz, peak-normalised to 0.9
        clip = packed.noise_clip(noise_names.index(n))
        assert abs(len(clip) - 3200) <= 1 and np.abs(clip).max() == pytest.approx(0.9, abs=1e-3)


def test_pack_refuses_a_missing_mirror_and_max_files_limits(fake_data, tmp_path) -> None:
    data, _ = fake_data
    with pytest.raises(SystemExit, match="not a git mirror"):
        dd.main(["pack", str(tmp_path / "p.safetensors"), "--data", str(data), "--moodist", str(tmp_path)])
    dd.main(["pack", str(tmp_path / "p.safetensors"), "--data", str(data), "--no-moodist", "--max-files", "1"])
    m = dd.load_packed(tmp_path / "p.safetensors").manifest
    assert len(m["speech"]["files"]) == len(m["speech_sources"]) and m["noise"]["files"] == ["shared:blanket_birds.wav"]
    assert m["noise"]["moodist"] == {"used": False}


def test_opus_pack_is_smaller_and_decodes_close_to_the_pcm_pack(fake_data, tmp_path) -> None:
    data, git_dir = fake_data
    rng = np.random.default_rng(3)
    speechlike = data.parent / "speechlike"  # a smooth tone burst: what Opus codes well
    for sub in ("clean", "noise"):
        for f in (data / sub).iterdir():
            t = np.arange(16000) / SR
            x = 0.3 * np.sin(2 * np.pi * rng.uniform(150, 400) * t) * np.hanning(16000)
            _write(speechlike / sub / f.name, x.astype(np.float32))
    dd.pack(tmp_path / "pcm.safetensors", speechlike, git_dir)
    dd.main(["pack", str(tmp_path / "opus.safetensors"), "--data", str(speechlike), "--moodist", str(git_dir),
             "--codec", "opus"])
    pcm, opus = dd.load_packed(tmp_path / "pcm.safetensors"), dd.load_packed(tmp_path / "opus.safetensors")
    assert (tmp_path / "opus.safetensors").stat().st_size < (tmp_path / "pcm.safetensors").stat().st_size / 4
    assert opus.manifest["codec"].startswith("opus") and pcm.manifest["codec"] == "pcm16"
    assert np.array_equal(opus.speech_offsets, pcm.speech_offsets)
    assert np.array_equal(opus.noise_offsets, pcm.noise_offsets)
    assert opus.speech.dtype == np.int16 and len(opus.speech) == len(pcm.speech)
    real = [i for i, n in enumerate(pcm.manifest["speech"]["files"]) if not n.startswith("synthetic_")]
    for i in real:
        a, b = pcm.speech_clip(i), opus.speech_clip(i)
        assert 10 * np.log10(np.sum(a ** 2) / np.sum((a - b) ** 2)) > 15  # lossy, but the same signal
    with pytest.raises(ValueError, match="unknown codec"):
        dd.pack(tmp_path / "x.safetensors", speechlike, None, codec="mp3")
    assert not (tmp_path / "x.safetensors").exists()


def test_packed_mixer_is_seeded_finite_and_draws_only_packed_sources(fake_data, tmp_path) -> None:
    data, git_dir = fake_data
    out = tmp_path / "pack.safetensors"
    dd.pack(out, data, git_dir)
    packed = dd.load_packed(out)
    a = dd.PackedMixer(packed, seed=3, reverb_prob=0.5, clip_prob=0.2).batch(6, 8000)
    b = dd.PackedMixer(packed, seed=3, reverb_prob=0.5, clip_prob=0.2).batch(6, 8000)
    c = dd.PackedMixer(packed, seed=4, reverb_prob=0.5, clip_prob=0.2).batch(6, 8000)
    for x, y in zip(a, b, strict=True):
        assert x.shape == (6, 8000) and x.dtype == np.float32 and np.isfinite(x).all() and np.array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert np.abs(a[0]).max() <= 1.0
    assert json.loads(json.dumps(dd.PackedMixer(packed, seed=0, clip_prob=0.2).settings))["clip_prob"] == 0.2
    babbler = dd.PackedMixer(packed, seed=0, synthetic_prob=0.0, babble_prob=1.0)
    assert all(dd.rms(babbler._noise(4000)) == pytest.approx(1.0, rel=1e-3) for _ in range(3))
    phone = dd.PackedMixer(packed, seed=0, telephone_prob=1.0)
    noisy, clean = phone.batch(4, 8000)
    assert np.all(_upper_band_share(noisy) < 1e-6) and np.all(_upper_band_share(clean[np.abs(clean).max(1) > 0]) < 1e-6)
    assert np.all(_upper_band_share(a[0]) > 1e-4)  # the default mixer leaves the upper band alone
    assert phone.settings["telephone_prob"] == 1.0 and "telephone_band" in phone.settings
    with pytest.raises(ValueError, match="telephone_prob must be in"):
        dd.PackedMixer(packed, seed=0, telephone_prob=1.5)
    mixer = dd.PackedMixer(packed, seed=0)
    assert set(mixer.sources) == {"librispeech", "so762", "ljspeech", "synthetic"}  # no vctk packed

    dd.main(["sample", str(out), str(tmp_path / "listen"), "--n", "2", "--seconds", "0.5"])
    noisy, sr = sf.read(tmp_path / "listen" / "001_noisy.wav")
    assert sr == SR and noisy.shape == (SR // 2,) and len(list((tmp_path / "listen").glob("*.wav"))) == 4
    (tmp_path / "garbage.safetensors").write_bytes(b"not a pack")
    for bad in ("missing.safetensors", "garbage.safetensors"):
        with pytest.raises(SystemExit, match=f"{bad}: not a packed training file"):
            dd.main(["sample", str(tmp_path / bad), str(tmp_path / "x")])


def _found_in(s: np.ndarray, clips: list[np.ndarray]) -> bool:
    return any(np.array_equal(c[o: o + len(s)], s) for c in clips for o in np.flatnonzero(c == s[0]))


def test_packed_mixer_draws_training_speech_never_held_out_speech(fake_data, tmp_path) -> None:
    data, _ = fake_data
    out = tmp_path / "pack.safetensors"
    dd.pack(out, data, None)
    packed = dd.load_packed(out)
    train = [packed.speech_clip(i) for i in range(len(packed.speech_offsets) - 1)]
    held = [dd.load(p) for p in dd.split(data)["heldout_clean"]]
    mixer = dd.PackedMixer(packed, seed=1)
    real = 0
    for _ in range(40):
        s = mixer._speech(400)
        assert not _found_in(s, held)
        real += _found_in(s, train)
    assert real == 40
