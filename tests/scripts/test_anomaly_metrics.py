"""scripts/anomaly_metrics.py: event F1 (events for recall, samples for precision, no point adjustment)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "anomaly_metrics.py"
spec = importlib.util.spec_from_file_location("anomaly_metrics", SCRIPT)
assert spec is not None and spec.loader is not None
metrics = importlib.util.module_from_spec(spec)
spec.loader.exec_module(metrics)

LABELS = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0])  # two labelled events: rows 2-3 and row 7


def test_labelled_events_are_half_open_runs() -> None:
    assert metrics.labelled_events(LABELS) == [(2, 4), (7, 8)]
    assert metrics.labelled_events(np.ones(3)) == [(0, 3)]


def test_one_alarm_sample_per_event_is_a_perfect_score() -> None:
    scores = np.array([0, 0, 5, 0, 0, 0, 0, 4, 0, 0], dtype=float)
    assert metrics.event_f1(LABELS, scores) == pytest.approx(1.0)


def test_best_threshold_of_a_hand_made_case() -> None:
    # threshold 5: one true alarm, recall 1/2, precision 1 -> 2/3; threshold 4: adds a false alarm,
    # recall 1/2, precision 1/2 -> 1/2; threshold 3: both events, precision 2/3 -> 0.8 (the best)
    scores = np.array([0, 0, 5, 0, 0, 4, 0, 3, 0, 0], dtype=float)
    assert metrics.event_f1(LABELS, scores) == pytest.approx(0.8)


def test_alarming_everything_is_not_rewarded() -> None:
    # one alarm covering the series finds both events, but its precision is the anomaly rate (3/10)
    assert metrics.event_f1(LABELS, np.zeros(10)) == pytest.approx(2 * 0.3 / 1.3)


def test_ties_are_one_threshold_and_gaps_do_not_count() -> None:
    scores = np.array([np.nan, 0, 1, 0, 0, 1, 0, 0, 0, 0])  # a tie between a hit and a false alarm
    assert metrics.event_f1(LABELS, scores) == pytest.approx(2 * 0.5 * 0.5 / 1.0)
    assert metrics.event_f1(np.zeros(10), scores) == 0.0
