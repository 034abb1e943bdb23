"""A series whose level follows a line gets subspace terms that see each window's shape, not its level: on a sine
riding a trend, whose test rows leave the training range, a warped cycle and a noisy stretch score highest inside
themselves; a series without a trend keeps the level-seeing subspace (its detector as before); a constant added to a
window leaves the level-free subspace error as it was; the scores stream as they batch; the detector file keeps the
setting, and a file before it (version 7) scores with the level seen, as it did."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.models.fields import ModelFileError
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.scoring import (
    POINT_CAP,
    POINT_CAP_BEFORE_8,
    DetectorState,
    LinearTerm,
    ScaleTerm,
    _ScaleScorer,
    own_level_removed,
)
from tsae.pipelines.anomaly.selfcheck import average_precision
from tsae.pipelines.anomaly.terms import fit_window_terms, trend_fit

pytestmark = pytest.mark.filterwarnings("ignore::tsae.pipelines.anomaly.fitting.FitWarning")
TRAIN, N, PERIOD = 1200, 2200, 80


def _trend_sine(warp_at: int | None = None, noise: slice | None = None) -> np.ndarray:
    """A sine of period 80 on a rise of 1.2 over 2200 rows, a little noise ``(1, n)``; the cycle starting at
    ``warp_at`` 1.5 times as long (the later ones delayed), or ``noise``: noise of 0.25 of the spread added."""
    t = np.arange(N, dtype=np.float64)
    phase = t / PERIOD
    if warp_at is not None:
        cycle = warp_at / PERIOD
        slow = np.clip((t - warp_at) / (1.5 * PERIOD), 0.0, 1.0)  # the cycle's share run through
        phase = np.where(t < warp_at, phase, np.where(slow < 1.0, cycle + slow, phase - 0.5))
    rng = np.random.default_rng(3)
    x = np.sin(2 * np.pi * phase) + 1.2 * t / N + 0.08 * rng.standard_normal(N)
    if noise is not None:
        x[noise] += 0.25 * x[:TRAIN].std() * rng.standard_normal(len(range(N)[noise]))
    return x[None, :]


def level_free(det: Detector, on: bool) -> None:
    """Turn ``det``'s subspace terms' ``level_free`` on or off."""
    for term in [det.state_.primary_term(), *det.state_.scales]:
        if term.pca is not None:
            term.pca.level_free = on


@pytest.fixture(scope="module")
def det() -> Detector:
    return Detector(seed=0, device="cpu").fit(_trend_sine()[:, :TRAIN])


@pytest.mark.parametrize("case", ["warp", "noise"])
def test_a_change_of_shape_on_a_trend_scores_highest_inside_it(det, case) -> None:
    # before: the test rows' level beyond the training range raised the subspace and autoencoder errors of every
    # normal window three- to four-fold: the highest score of the warp lay at the end of the series, and the
    # average precision of the test rows was 0.14 (warp) and 0.24 (noise); now 0.99 and 1.00
    start = 20 * PERIOD  # row 1600, 400 rows past the training rows
    if case == "warp":
        x, inside = _trend_sine(warp_at=start), slice(start, start + 3 * PERIOD // 2)
    else:
        inside = slice(start, start + PERIOD)
        x = _trend_sine(noise=inside)
    assert all(term.pca is None or term.pca.level_free for term in [det.state_.primary_term(), *det.state_.scales])
    scores = det.decision_function(x)
    top = TRAIN + int(np.nanargmax(scores[TRAIN:]))
    assert inside.start <= top < inside.stop, (case, top, det.selfcheck_.chosen)
    labels = np.zeros(N, dtype=bool)
    labels[inside] = True
    assert average_precision(labels[TRAIN:], scores[TRAIN:]) > 0.8


def test_only_a_level_that_follows_a_line_takes_the_level_off() -> None:
    z = _trend_sine()[:, :840]
    assert trend_fit(z, PERIOD) > 0.99
    t = np.arange(1200)
    wander = np.sin(2 * np.pi * t / 80) + 0.3 * np.sin(2 * np.pi * t / 700)  # a slow swing, not a line
    assert trend_fit(wander[None], PERIOD) < 0.9
    steps = np.repeat(np.random.default_rng(0).choice([0.0, 1.0, 2.5], 15), 80)[None]  # levels among commands
    assert trend_fit(steps, PERIOD) < 0.9
    assert trend_fit(z[:, :400], PERIOD) == 0.0  # 5 windows: too few to tell a trend
    plain = Detector(seed=0, device="cpu", epochs=2).fit(wander[None])
    assert plain.state_.pca is not None and not plain.state_.pca.level_free
    assert all(not term.pca.level_free for term in plain.state_.scales if term.pca is not None)


def test_a_constant_added_to_a_window_leaves_its_subspace_error_as_it_was() -> None:
    z = np.vstack([np.sin(np.arange(900) / 7.0), np.cos(np.arange(900) / 5.0)])
    z += 0.05 * np.random.default_rng(0).standard_normal(z.shape)
    pca = fit_window_terms(z, 40, 0.9, level_free=True)[0]
    seen = fit_window_terms(z, 40, 0.9, level_free=False)[0]
    frames = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(z, 40, axis=1)[:, ::10].transpose(1, 2, 0))
    lifted = frames + np.array([3.0, -2.0])  # each sensor's level moved, the shape kept

    def errors(term: LinearTerm, values: np.ndarray) -> np.ndarray:
        scorer = _ScaleScorer(ScaleTerm(40, 10, pca=term, pca_weight=1.0), channels=2)
        return scorer.frame_errors(values)

    np.testing.assert_allclose(errors(pca, lifted), errors(pca, frames), atol=1e-9)
    assert errors(seen, lifted).mean() > 100 * errors(seen, frames).mean()  # the level-seeing subspace: far off
    np.testing.assert_allclose(own_level_removed(lifted, axis=1), own_level_removed(frames, axis=1), atol=1e-12)


def test_the_scores_stream_as_they_batch_and_survive_the_file(det, tmp_path) -> None:
    x = _trend_sine(noise=slice(1700, 1780))
    batch = det.decision_function(x)
    for blocks in (171, 7):  # blocks of 13 samples, of 315
        core = det.core()
        streamed = [core.push(block)[0] for block in np.array_split(x, blocks, axis=1)] + [core.flush()[0]]
        np.testing.assert_array_equal(np.concatenate(streamed), batch)
    state: DetectorState = Detector.load(det.save(tmp_path / "d.tsae"), device="cpu").state_
    assert all(t.pca is None or t.pca.level_free for t in [state.primary_term(), *state.scales])
    np.testing.assert_array_equal(Detector.load(tmp_path / "d.tsae", device="cpu").decision_function(x), batch)


def test_a_file_before_version_8_scores_with_the_level_seen(det, tmp_path, craft_model_file) -> None:
    det.save(tmp_path / "d.tsae")

    def older(head: dict) -> None:
        head["extra"]["version"] = 7
        head["extra"].pop("pca_level_free")
        head["extra"].pop("point_cap")  # version 8 too: a file before it scores with POINT_CAP_BEFORE_8

    old = Detector.load(craft_model_file(tmp_path / "d.tsae", "v7.tsae", header=older), device="cpu")
    terms = [t.pca for t in [old.state_.primary_term(), *old.state_.scales] if t.pca is not None]
    assert terms and not any(t.level_free for t in terms)
    x = _trend_sine()
    level_free(det, False)
    det.state_.point_cap = POINT_CAP_BEFORE_8
    try:
        np.testing.assert_array_equal(old.decision_function(x), det.decision_function(x))
    finally:
        level_free(det, True)
        det.state_.point_cap = POINT_CAP



def test_a_trend_with_a_repaired_gap_or_over_a_fleet_still_follows_a_line() -> None:
    # before: a 40-sample gap held at its last value moved its window's mean by half a cycle's swing (trend_fit
    # 0.69: the level-seeing subspace), and two devices on the same rise, read as one series, had a saw for levels
    # (0.87); each device alone, and the series without the gap, 1.00
    x = _trend_sine()[:, :TRAIN]
    gappy = x.copy()
    gappy[:, 300:340] = np.nan
    gappy[:, 700:705] = np.nan
    det = Detector(seed=0, device="cpu", epochs=1).fit(gappy)
    assert all(term.pca is None or term.pca.level_free for term in [det.state_.primary_term(), *det.state_.scales])
    fleet = np.concatenate([x, x + 0.3], axis=1)
    assert trend_fit(fleet, PERIOD) < 0.9
    assert trend_fit(fleet, PERIOD, breaks=[TRAIN]) > 0.99
    det = Detector(seed=0, device="cpu", epochs=1).fit(fleet, groups=np.repeat(["p", "q"], TRAIN))
    assert all(term.pca is None or term.pca.level_free for term in [det.state_.primary_term(), *det.state_.scales])


def test_level_free_in_a_file_without_subspace_terms_is_refused(det, tmp_path, craft_model_file) -> None:
    # before: loaded without a word (the flag had nothing to act on, and was gone once the detector was saved again)
    det.save(tmp_path / "d.tsae")

    def no_subspace(state: dict) -> None:
        for key in [key for key in state if "pca_" in key]:
            del state[key]

    crafted = craft_model_file(tmp_path / "d.tsae", "crafted.tsae", tensors=no_subspace)
    with pytest.raises(ModelFileError, match=r"crafted\.tsae: extra\.pca_level_free: is true but the file holds no "
                                             r"subspace terms"):
        Detector.load(crafted, device="cpu")
