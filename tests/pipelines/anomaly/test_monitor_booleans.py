"""A sensor's boolean is 1 or 0 in `tsae detect score`'s table and in every record format of `tsae monitor`, so
their scores are equal. Before, the table was refused ("not a number ('True')"), CSV records holding one were
malformed and JSON booleans were missing values, while line protocol read them as 1/0."""
import io
import json

import numpy as np
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.anomaly.monitor import run_monitor

from sensor_data import SENSORS

NS = 1_709_251_200_000_000_000  # 2024-03-01T00:00:00Z
STEP = 10 * 10**9


def _scores(detector_file, lines: list[str]) -> list[float]:
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err,
                       every_sample=True)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 0 and records[-1]["malformed"] == 0, err.getvalue()[-600:]
    return [r["score"] for r in records if r["type"] == "sample"]


def test_boolean_sensor_values_score_alike_in_batch_and_every_monitor_format(detector_file, test_data, tmp_path):
    data = test_data[:240].tolist()
    middle = float(np.median(test_data[:240, 2]))
    flags = [row[2] > middle for row in data]
    words = ["True" if flag else "false" for flag in flags]

    def cells(k):
        return [repr(data[k][0]), repr(data[k][1]), words[k]]

    table = tmp_path / "same.csv"
    table.write_text("time," + ",".join(SENSORS) + "\n" + "".join(f"{k}," + ",".join(cells(k)) + "\n"
                                                                 for k in range(len(data))))
    result = CliRunner().invoke(cli, ["detect", "score", str(table), "--detector", str(detector_file),
                                      "-o", str(tmp_path / "s.csv"), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    batch = np.genfromtxt(tmp_path / "s.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")["score"]

    csv = table.read_text().splitlines()
    as_json = [json.dumps({"time": k, "temp": data[k][0], "pressure": data[k][1], "flow": flags[k]})
               for k in range(len(data))]
    influx = [f"pump temp={data[k][0]!r},pressure={data[k][1]!r},flow={'t' if flags[k] else 'F'} {NS + k * STEP}"
              for k in range(len(data))]
    for lines in (csv, as_json, influx):
        np.testing.assert_allclose(_scores(detector_file, lines), batch, rtol=1e-9, atol=1e-12)
