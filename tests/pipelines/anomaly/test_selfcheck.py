"""The detector v2's self-check and terms: injected anomalies of every kind are found, the choice is explained,
a fit is reproducible."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.events import find_events
from tsae.pipelines.anomaly.selfcheck import KINDS, average_precision, candidates, choose, inject


def _series(n: int, seed: int) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return np.stack([np.sin(2 * np.pi * t / 30) + 0.3 * np.sin(2 * np.pi * t / 7),
                     np.cos(2 * np.pi * t / 30)]) + 0.1 * rng.normal(size=(2, n))


@pytest.fixture(scope="module")
def fitted() -> Detector:
    return Detector(device="cpu", epochs=5).fit(_series(2000, seed=0))


@pytest.mark.parametrize("kind", KINDS)
def test_each_injected_kind_is_found(fitted, kind):
    normal = _series(4000, seed=1)
    x, labels = inject(normal, kind, np.random.default_rng(2), segment=60, count=3)
    scores = fitted.decision_function(x)
    events = find_events(scores, scores > fitted.threshold_, merge_gap=fitted.event_gap)
    edges = np.flatnonzero(np.diff(np.r_[0, labels.astype(int), 0]))
    segments = list(zip(edges[::2], edges[1::2] - 1, strict=True))
    assert len(segments) == 3
    for start, end in segments:  # every injected anomaly lies in an alarm event
        assert any(e.start_index <= end and e.end_index >= start for e in events), (kind, start, end)
    assert len(events) <= len(segments) + 1  # and alarms elsewhere are rare
    assert average_precision(labels, scores) > 0.25


def test_inject_changes_only_the_labelled_samples():
    x = _series(1200, seed=3)
    for kind in KINDS:
        y, labels = inject(x, kind, np.random.default_rng(0), segment=40)
        assert labels.any() and np.array_equal(y[:, ~labels], x[:, ~labels])
        assert not np.allclose(y[:, labels], x[:, labels]), kind
    flat, labels = inject(x, "flat_line", np.random.default_rng(0), segment=40, count=1)
    hit = np.flatnonzero(np.abs(flat - x).sum(axis=1))[0]
    assert np.ptp(flat[hit, labels]) == 0.0
    spike, labels = inject(x, "spike", np.random.default_rng(0), segment=40, count=1)
    assert labels.sum() <= 2 and np.abs(spike - x).max() >= 4 * x.std(axis=1).min()
    with pytest.raises(ValueError, match="unknown anomaly kind"):
        inject(x, "meteor", np.random.default_rng(0), segment=40)


def test_average_precision_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(5):
        labels = rng.integers(0, 2, 300)
        scores = np.round(rng.normal(size=300) + labels, 1)  # with ties
        assert average_precision(labels, scores) == pytest.approx(metrics.average_precision_score(labels, scores))


def test_choice_keeps_the_full_combination_unless_clearly_beaten():
    options = candidates(("ae", "pca", "stats"))
    assert options[0] == ("ae", "pca", "stats") and len(options) == 7
    close = {options[0]: {"spike": 0.70}, ("pca",): {"spike": 0.75}}
    assert choose(close)[0] == ("ae", "pca", "stats")
    clear = {options[0]: {"spike": 0.50, "flat_line": 0.60}, ("stats",): {"spike": 0.70, "flat_line": 0.70}}
    chosen, reason = choose(clear)
    assert chosen == ("stats",) and "beat" in reason


def test_the_choice_is_explained_and_stored(fitted, tmp_path):
    check = fitted.selfcheck_
    assert set(check.chosen) <= {"ae", "pca", "stats"} and check.held_out == 600
    assert set(check.results) == {"+".join(c) for c in candidates(("ae", "pca", "stats"))}
    assert all(set(r) == {*KINDS, "mean"} for r in check.results.values())
    assert "synthetic anomalies" in check.summary()
    loaded = Detector.load(fitted.save(tmp_path / "d.tsae"), device="cpu")
    assert loaded.selfcheck_.chosen == check.chosen and loaded.selfcheck_.results == check.results
    assert loaded.state_.windows == fitted.state_.windows
    x = _series(500, seed=4)
    np.testing.assert_array_equal(loaded.decision_function(x), fitted.decision_function(x))


def test_fit_is_seeded_and_reproducible():
    x = _series(1500, seed=5)
    a = Detector(device="cpu", epochs=2, seed=3).fit(x)
    b = Detector(device="cpu", epochs=2, seed=3).fit(x)
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)
    assert a.threshold_ == b.threshold_ and a.selfcheck_.results == b.selfcheck_.results
    c = Detector(device="cpu", epochs=2, seed=4).fit(x)
    assert not np.array_equal(a.decision_scores_, c.decision_scores_)


def test_terms_and_scales_can_be_fixed():
    x = _series(1500, seed=6)
    det = Detector(device="cpu", epochs=1, terms="pca+stats", scales=[12]).fit(x)
    assert det.selfcheck_.chosen == ("pca", "stats") and det.state_.ae_weight == 0.0
    assert det.state_.windows[1:] == [12]
    with pytest.raises(ValueError, match="terms"):
        Detector(device="cpu", epochs=1, terms="pca+magic").fit(x)
    with pytest.raises(ValueError, match="linear=False"):
        Detector(device="cpu", epochs=1, terms="pca", linear=False).fit(x)
