"""detect score writes all of its outputs or none; --threshold must be finite; silent sensors, whatever the chunks."""
from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.anomaly.monitor import Monitor
from tsae.pipelines.anomaly.thresholds import fit_threshold, threshold_problem

from sensor_data import write_csv


@pytest.mark.parametrize("failing", ["tsae.pipelines.anomaly.events.write_events",  # the last output
                                     "tsae.io.table_write.TableWriter.write"])  # the scores, written as they are scored
def test_score_failing_at_an_output_writes_nothing(tmp_path, detector_file, test_data, monkeypatch, failing) -> None:
    test = write_csv(tmp_path / "test.csv", test_data)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(failing, full_disk)
    result = CliRunner().invoke(cli, ["detect", "score", str(test), "--detector", str(detector_file),
                                      "-o", str(tmp_path / "scores.csv"), "--plot", str(tmp_path / "p.png"), "-q"])
    assert result.exit_code == 1 and "No space left" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv"]  # no plot, no events, no .part


# 1e31: fitted, and its file then refused at load (extra.threshold.value beyond 1e30, which no fit writes)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "-1", "-0.5", "1e31"])
def test_non_finite_or_negative_threshold_is_refused(tmp_path, value) -> None:
    train = tmp_path / "train.csv"
    train.write_text("a\n1\n2\n3\n4\n5\n")
    result = CliRunner().invoke(cli, ["detect", "fit", str(train), "-o", str(tmp_path / "d.tsae"),
                                      "--threshold", value])
    assert result.exit_code == 2
    problem = threshold_problem(value)
    assert problem is not None and ("finite" if "n" in value.lower() else "out of range [0.0, 1e+30]") in problem
    assert result.output.strip().splitlines() == [
        f"Error: Invalid value for '--threshold': {problem} (see 'cli detect fit --help')"]
    assert not (tmp_path / "d.tsae").exists()
    # scores are never negative: a negative threshold flagged every sample; the library says it in the same words
    with pytest.raises(ValueError, match=f"^threshold {re.escape(problem)}$"):
        fit_threshold(np.ones(10), float(value))


@pytest.mark.parametrize("value", ["abc", "1e", "", "POT", "Budget"])
def test_the_cli_takes_and_refuses_a_threshold_as_the_detector_does(tmp_path, value) -> None:
    # before: the CLI's own checks refused "POT", which the detector takes, and said other words than it for "abc"
    train = tmp_path / "train.csv"
    train.write_text("a\n1\n2\n3\n4\n5\n")
    result = CliRunner().invoke(cli, ["detect", "fit", str(train), "-o", str(tmp_path / "d.tsae"),
                                      "--threshold", value, "--epochs", "1"])
    problem = threshold_problem(value)
    if problem is None:  # taken, as the detector takes it
        assert result.exit_code == 0 and f"({value.lower()})" in result.output, result.output
        return
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        f"Error: Invalid value for '--threshold': {problem} (see 'cli detect fit --help')"]


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warn(self, kind: str, message: str) -> None:
        self.lines.append(message)

    def info(self, message: str) -> None:
        self.lines.append(message)


def test_silent_sensor_warnings_do_not_depend_on_chunking(detector, test_data) -> None:
    x = test_data.T.copy()
    x[1, 100:250] = np.nan   # silent for 150 samples, inside one big block
    x[2, 300:340] = np.nan   # 40: not silent
    x[0, 500:] = np.nan      # silent to the end
    seen = []
    for chunk in (1, 7, 64, x.shape[1]):
        log = _Log()
        mon = Monitor(detector, silence=100, log=log)
        for start in range(0, x.shape[1], chunk):
            mon.push(x[:, start: start + chunk])
        seen.append((mon.silent_reports, sorted(log.lines)))  # within one block, sensor by sensor
    assert seen[0][0] == 2 and len(seen[0][1]) == 3
    assert "sensor 'pressure' is reporting again" in seen[0][1]
    assert ("sensor 'pressure' silent for 100 samples: scoring the other sensors without it until it reports "
            "again") in seen[0][1]
    assert all(s == seen[0] for s in seen)
