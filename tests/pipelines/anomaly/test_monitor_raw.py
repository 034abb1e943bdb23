"""``tsae monitor --raw``: binary sample rows on stdin score exactly like the batch detector."""
import io
import json

import numpy as np
from click.testing import CliRunner

from tsae.cli import cli
from tsae.io.raw_samples import RawSampleSource
from tsae.pipelines.anomaly.monitor import run_monitor


class Trickle(io.RawIOBase):
    """A pipe handing out at most ``piece`` bytes per read."""

    def __init__(self, data: bytes, piece: int) -> None:
        self.data, self.pos, self.piece = data, 0, piece

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.piece, len(self.data) - self.pos)
        buffer[:n] = self.data[self.pos: self.pos + n]
        self.pos += n
        return n


def test_raw_f64_rows_equal_batch_scores(detector, detector_file, test_data):
    data = test_data.astype("<f8").tobytes() + b"\x01\x02\x03"  # rows (n, sensors) and a cut last row
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.BufferedReader(Trickle(data, 1001)), stdout=out, stderr=err,
                       every_sample=True, raw="f64")
    assert code == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    scores = [r["score"] for r in records if r["type"] == "sample"]
    np.testing.assert_allclose(scores, detector.decision_function(test_data.T), rtol=1e-6, atol=1e-6)
    assert records[-1]["samples"] == len(test_data)
    assert "3 byte(s) dropped" in err.getvalue()


def test_raw_f32_through_the_cli_with_nan_gaps(detector, detector_file, test_data):
    x = test_data.astype("<f4")
    x[100:103, 1] = np.nan  # missing values: held like text gaps
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--raw", "--every-sample", "-q"],
                                input=x.tobytes())
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    samples = [r for r in records if r["type"] == "sample"]
    assert len(samples) == len(x) and all(np.isfinite(r["score"]) for r in samples)
    assert records[-1]["type"] == "summary"


def test_raw_usage_errors(detector_file):
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--format", "s16"], input=b"")
    assert result.exit_code == 2 and "add --raw" in result.output
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--raw", "--format", "csv"])
    assert result.exit_code == 2 and "--raw reads binary rows" in result.output


def test_source_blocks_are_bounded_and_typed():
    rows = np.arange(30, dtype="<i2").reshape(10, 3)
    source = RawSampleSource(io.BufferedReader(Trickle(rows.tobytes(), 1000)), 3, "s16", block_rows=4)
    blocks = list(source.blocks())
    assert [b.shape for b in blocks] == [(3, 4), (3, 4), (3, 2)] and blocks[0].dtype == np.float64
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), rows.T)
    assert source.rows == 10 and source.stray_bytes == 0
