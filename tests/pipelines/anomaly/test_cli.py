import gzip
import json
import lzma
import signal
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

import tsae
from tsae.cli import cli

from sensor_data import SENSORS, make_series, write_csv


def invoke(*args):
    result = CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)
    return result.exit_code, result.output


def test_fit_and_score(tmp_path, train_data, test_data):
    train = write_csv(tmp_path / "train.csv", train_data)
    test = write_csv(tmp_path / "test.csv", test_data)
    det = tmp_path / "d.tsae"
    code, out = invoke("detect", "fit", train, "-o", det, "--window", "24", "--epochs", "2", "--device", "cpu", "-q")
    assert code == 0, out
    scores = tmp_path / "scores.csv"
    code, out = invoke("detect", "score", test, "--detector", det, "-o", scores, "--plot", tmp_path / "p.png", "-q")
    assert code == 0, out
    header = scores.read_text().splitlines()[0].split(",")
    assert header == ["time", "score", "anomaly"] + [f"contrib_{s}" for s in SENSORS]
    assert len(scores.read_text().splitlines()) == len(test_data) + 1
    events = json.loads((tmp_path / "scores.events.json").read_text())["events"]
    assert any(e["start_index"] <= 405 <= e["end_index"] for e in events)
    assert (tmp_path / "p.png").stat().st_size > 1000
    code, out = invoke("detect", "score", test, "--detector", det, "-o", tmp_path / "s2.csv",
                       "--events", tmp_path / "ev.csv", "-q")
    assert code == 0 and (tmp_path / "ev.csv").read_text().startswith("start,end")


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("time,temp,pressure,flow\n", ""),
    ("time,temp,pressure,flow\n0,1,2\n1,1,2,3,4\n", ""),
    ("\x00\x01\x02garbage\xff", ""),
    ("time,status\n0,ok\n1,warn\n", "no numeric data columns (column(s) 'status' hold text)"),  # only the time
])
def test_bad_training_csv(tmp_path, content, message):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content.encode("latin-1"))
    out_path = tmp_path / "d.tsae"
    code, out = invoke("detect", "fit", bad, "-o", out_path, "--epochs", "1", "-q")
    assert code != 0
    lines = [line for line in out.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0].lower()
    assert "Traceback" not in out
    assert not out_path.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".d.tsae")]


def test_bad_score_inputs(tmp_path, detector_file, test_data):
    test = write_csv(tmp_path / "test.csv", test_data)
    out_path = tmp_path / "scores.csv"
    not_a_detector = tmp_path / "fake.tsae"
    not_a_detector.write_bytes(b"this is not a model file")
    for args in (
        ["detect", "score", tmp_path / "missing.csv", "--detector", detector_file, "-o", out_path],
        ["detect", "score", test, "--detector", not_a_detector, "-o", out_path],
        ["detect", "score", write_csv(tmp_path / "other.csv", test_data, sensors=["a", "b", "temp"]),
         "--detector", detector_file, "-o", out_path],
        ["detect", "score", write_csv(tmp_path / "short.csv", test_data[:5]), "--detector", detector_file,
         "-o", out_path],
        ["detect", "score", test, "--detector", detector_file, "-o", test],  # would overwrite the input
    ):
        code, out = invoke(*args, "-q")
        assert code != 0, args
        errors = [line for line in out.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "Traceback" not in out, out
        assert not out_path.exists()
    assert test.read_text().startswith("time,temp")


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.xz"])
def test_score_writes_compressed_events(tmp_path, detector_file, test_data, suffix):
    # before: "events file must end in .json or .csv", after the scoring
    test = write_csv(tmp_path / "test.csv", test_data)
    events = tmp_path / f"ev{suffix}"
    code, out = invoke("detect", "score", test, "--detector", detector_file, "-o", tmp_path / "s.csv",
                       "--events", events, "-q")
    assert code == 0, out
    opener = gzip.open if suffix == ".csv.gz" else lzma.open
    with opener(events, "rt", encoding="utf-8") as handle:
        rows = handle.read().splitlines()
    assert rows[0].startswith("start,end,start_index") and len(rows) > 1
    assert (tmp_path / "s.csv").exists()


def forbid_scoring(monkeypatch, why: str) -> None:
    """Any scoring fails the test: what is checked must be refused before the file is scored."""
    from tsae.pipelines.anomaly.detector import Detector

    def never(*args, **kwargs):
        raise AssertionError(f"scored before {why}")

    monkeypatch.setattr(Detector, "_score_each", never)  # what score_with_contributions and score_file call


def test_an_unknown_events_suffix_is_refused_before_scoring(tmp_path, detector_file, test_data, monkeypatch):
    forbid_scoring(monkeypatch, "the events file was checked")
    test = write_csv(tmp_path / "test.csv", test_data)
    code, out = invoke("detect", "score", test, "--detector", detector_file, "-o", tmp_path / "s.csv",
                       "--events", tmp_path / "ev.txt", "-q")
    errors = [line for line in out.splitlines() if line.strip()]
    assert code != 0 and len(errors) == 1 and "Traceback" not in out, out
    assert errors[0] == (f"Error: {tmp_path / 'ev.txt'}: events file must end in .json or .csv "
                         "(or .csv.gz, .csv.bz2, .csv.xz: compressed)")
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "ev.txt").exists()


def test_monitor_rejects_a_model_file_that_is_not_a_detector(tmp_path):
    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    plain = tmp_path / "plain.tsae"
    save_model(plain, create_model("conv1d", channels=1, window=8, depth=1, hidden=4, latent=2))
    code, out = invoke("monitor", "--detector", plain)
    assert code != 0 and "not a tsae detector" in out


def test_ctrl_c_ends_cleanly(detector_file, test_data):
    """SIGINT while waiting for input: summary on stderr, exit 130, no traceback."""
    header = "time," + ",".join(SENSORS) + "\n"
    rows = [f"{i},{r[0]},{r[1]},{r[2]}\n" for i, r in enumerate(test_data[:200])]

    def scored(n: int) -> int:  # sample records a monitor has written once it has read n rows
        records = tsae.Monitor(detector_file, every_sample=True).push_lines([header, *rows[:n]])
        return sum(r["type"] == "sample" for r in records)

    # scores become final a hop at a time: end on a row that completes one, so that
    # seeing `expected` records proves the monitor has read every row
    n = next(n for n in range(100, 200) if scored(n) > scored(n - 1))
    expected = scored(n)
    lines = [header, *rows[:n]]
    proc = subprocess.Popen([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file),
                             "--every-sample"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)  # a monitor that never gets there ends the test, not CI
    watchdog.start()
    proc.stdin.write("".join(lines))
    proc.stdin.flush()
    out, seen = "", 0
    while seen < expected:  # blocks until the monitor writes the records of the rows it has read
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        out += line
        seen += json.loads(line)["type"] == "sample"
    watchdog.cancel()
    proc.send_signal(signal.SIGINT)
    # stdin stays open until the monitor has exited: closing it (communicate does) raced the
    # signal on a loaded machine, and a monitor that saw the end of its input first exited 0
    proc.wait(timeout=60)
    rest, err = proc.communicate(timeout=30)
    out += rest
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "summary:" in err
    assert json.loads(out.strip().splitlines()[-1])["samples"] == n


def test_monitor_cli_max_time_jump(detector_file):
    text = "time,temp,pressure,flow\n0,0.1,0.2,0.3\n500,0.1,0.2,0.3\n1,0.1,0.2,0.3\n"
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--max-time-jump", "100", "-q"],
                                input=text, catch_exceptions=False)
    summary = json.loads(result.output.splitlines()[-1])
    assert result.exit_code == 0 and summary["time_jumps"] == 1 and summary["out_of_order"] == 0
    assert invoke("monitor", "--detector", detector_file, "--max-time-jump", "0")[0] == 2


def test_scoring_a_long_file_shows_a_progress_bar_on_a_terminal_unless_quiet(tmp_path, detector_file, monkeypatch,
                                                                            capsys):
    # before: the detector file loads quiet, so `tsae detect score` of 200k rows showed no bar, -q or not
    from tsae.pipelines.anomaly.files import score_file

    test = tmp_path / "long.csv"
    rows = make_series(200_000, seed=2)
    test.write_text("temp,pressure,flow\n" + "\n".join(f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in rows) + "\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    score_file(test, detector_file, tmp_path / "scores.csv", quiet=False)
    assert "score:" in (err := capsys.readouterr().err) and "/200k [" in err
    score_file(test, detector_file, tmp_path / "quiet.csv", quiet=True)
    assert capsys.readouterr().err == ""


def test_fitting_on_a_long_file_shows_the_training_rows_scored_on_a_terminal_unless_quiet(tmp_path, monkeypatch,
                                                                                        capsys):
    # before: after the network's training, the fit scored every training row (about 10 s for 3 M rows) with no bar
    import tsae.pipelines.anomaly.block_scoring as block_scoring
    from tsae.pipelines.anomaly.files import fit_detector_file

    train = tmp_path / "long.csv"
    rows = make_series(3000, seed=2)
    train.write_text("temp,pressure,flow\n" + "\n".join(f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in rows) + "\n")
    monkeypatch.setattr(block_scoring, "SCORE_BLOCK", 512)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    fit_detector_file(train, tmp_path / "d.tsae", window=24, epochs=1, device="cpu")
    assert "score:" in (err := capsys.readouterr().err) and "/3.00k [" in err
    fit_detector_file(train, tmp_path / "q.tsae", window=24, epochs=1, device="cpu", quiet=True)
    assert "score:" not in capsys.readouterr().err


def test_reading_a_table_shows_a_row_counter_on_a_terminal_unless_quiet(tmp_path, detector_file, monkeypatch, capsys):
    # before: reading a table showed nothing (about 3 s per 100 MB; a 1 GB table, half a minute of silence)
    import tsae.pipelines.progress as progress
    from tsae.pipelines.anomaly.files import fit_detector_file, score_file
    from tsae.pipelines.smooth.files import smooth_file

    table = tmp_path / "t.csv"
    rows = make_series(2000, seed=2)
    table.write_text("temp,pressure,flow\n" + "\n".join(f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in rows) + "\n")
    monkeypatch.setattr(progress, "READ_BAR_DELAY", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    jobs = [lambda quiet, out: fit_detector_file(table, out.with_suffix(".tsae"), window=24, epochs=1, device="cpu",
                                                 quiet=quiet),
            lambda quiet, out: score_file(table, detector_file, out, quiet=quiet),
            lambda quiet, out: smooth_file(table, out, quiet=quiet, steps=0)]
    for i, job in enumerate(jobs):
        job(False, tmp_path / f"shown{i}.csv")
        assert "read t.csv: " in capsys.readouterr().err
        job(True, tmp_path / f"quiet{i}.csv")
        assert "read t.csv" not in capsys.readouterr().err


@pytest.mark.parametrize("name", ["scores.npy", "scores.wav", "scores.json", "scores.flac", "scores.npz",
                                  "scores.parquet"])
def test_scores_named_like_another_kind_of_file_are_refused_before_scoring(tmp_path, detector_file, test_data, name):
    """-o scores.npy (or .wav, .json) wrote CSV text under that name, which every reader of its kind then failed on;
    now one line naming the output and a .csv name, before any scoring, and nothing is written."""
    test = write_csv(tmp_path / "test.csv", test_data)
    code, out = invoke("detect", "score", test, "--detector", detector_file, "-o", tmp_path / name, "-q")
    assert code == 1 and "Traceback" not in out, out
    assert name in out and "scores.csv" in out, out
    # -o scores.json was told that tsae writes tables, arrays (.npy) and audio (.wav ...), which scores are not
    assert "the scores are written as a CSV table" in out and "arrays: .npy" not in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv"]


def test_a_plot_format_matplotlib_cannot_write_is_refused_before_scoring(tmp_path, detector_file, test_data,
                                                                          monkeypatch):
    """--plot p.gif was refused only after the whole file was scored (minutes on a long file)."""
    forbid_scoring(monkeypatch, "the plot's name was checked")
    test = write_csv(tmp_path / "test.csv", test_data)
    code, out = invoke("detect", "score", test, "--detector", detector_file, "-o", tmp_path / "s.csv",
                       "--plot", tmp_path / "p.gif", "-q")
    assert code == 1 and "p.gif: plot must be .png, .pdf, .svg or .jpg" in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv"]


def test_npy_arrays_are_fitted_and_scored_as_the_python_api_reads_them(tmp_path, train_data, test_data):
    """`detect fit x.npy` said 'not a text table (binary data)', while smooth, impute, reconstruct, encode, compress
    and frame read .npy arrays; an array (sensors, samples) is now read as Detector.fit reads one: sensors s0, s1 ...
    (an (n, sensors) array is told to be saved transposed)."""
    import numpy as np

    from tsae.pipelines.anomaly.detector import Detector

    np.save(tmp_path / "train.npy", train_data.T)
    np.save(tmp_path / "test.npy", test_data.T.astype(np.float32))
    det = tmp_path / "d.tsae"
    code, out = invoke("detect", "fit", tmp_path / "train.npy", "-o", det, "--window", "24", "--epochs", "2",
                       "--device", "cpu", "-q")
    assert code == 0, out
    fitted = Detector.load(det)
    assert list(fitted.sensors_) == ["s0", "s1", "s2"]
    code, out = invoke("detect", "score", tmp_path / "test.npy", "--detector", det, "-o", tmp_path / "s.csv", "-q")
    assert code == 0, out
    header, first = (tmp_path / "s.csv").read_text().splitlines()[:2]
    assert header == "score,anomaly,contrib_s0,contrib_s1,contrib_s2"
    scores = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1)[:, 0]
    np.testing.assert_allclose(scores, fitted.decision_function(test_data.T.astype(np.float32)), rtol=1e-9)
    np.save(tmp_path / "tall.npy", test_data)  # (samples, sensors): saved as pandas and most code hold it
    code, out = invoke("detect", "score", tmp_path / "tall.npy", "--detector", det, "-o", tmp_path / "t.csv", "-q")
    assert code == 1 and "tall.npy" in out and "save it transposed" in out and "Traceback" not in out, out
    code, out = invoke("detect", "fit", tmp_path / "tall.npy", "-o", tmp_path / "t.tsae", "-q")
    assert code == 1 and "save it transposed" in out, out
    (tmp_path / "cut.npy").write_bytes((tmp_path / "test.npy").read_bytes()[:500])
    code, out = invoke("detect", "score", tmp_path / "cut.npy", "--detector", det, "-o", tmp_path / "c.csv", "-q")
    assert code == 1 and "cut.npy" in out and "Traceback" not in out, out


def test_a_text_column_that_is_no_sensor_is_ignored_when_scoring(tmp_path, detector_file, test_data):
    """A status or note column in the scored file stopped `detect score` ("line 2, column 'status': not a number
    ('ok')"), while columns that are not the detector's sensors are ignored (as the monitor ignores the field);
    a sensor's column with text is still an error naming its line."""
    import numpy as np

    plain = write_csv(tmp_path / "plain.csv", test_data)
    lines = plain.read_text().splitlines()
    status = [lines[0] + ",status"] + [f"{line},{'ok' if i % 7 else 'check valve'}" for i, line in enumerate(lines[1:])]
    (tmp_path / "status.csv").write_text("\n".join(status) + "\n")
    code, out = invoke("detect", "score", plain, "--detector", detector_file, "-o", tmp_path / "a.csv", "-q")
    assert code == 0, out
    code, out = invoke("detect", "score", tmp_path / "status.csv", "--detector", detector_file,
                       "-o", tmp_path / "b.csv")
    assert code == 0, out
    assert "'status' are not sensors of the detector: ignored" in out
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    bad = lines[:3] + [lines[3].replace(lines[3].split(",")[2], "ERR", 1)] + lines[4:]
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n")
    code, out = invoke("detect", "score", tmp_path / "bad.csv", "--detector", detector_file, "-o", tmp_path / "c.csv")
    assert code == 1 and f"line 4, column {SENSORS[1]!r}: not a number ('ERR')" in out, out
    assert not np.any([p.name.startswith("c.") for p in tmp_path.iterdir()])


def with_column(path, source, name, cell):
    """``source`` (a CSV written by write_csv) with a last column ``name``, ``cell(i)`` on data row i."""
    lines = source.read_text().splitlines()
    rows = [f"{lines[0]},{name}"] + [f"{line},{cell(i)}" for i, line in enumerate(lines[1:])]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_text_column_is_left_out_of_the_fit_as_scoring_leaves_it_out(tmp_path, train_data, test_data):
    """`detect fit` stopped at a status column of words ("line 2, column 'status': not a number ('ok')") that
    `detect score` ignores: the fit leaves a column of text (blanks aside) out, told once, and its detector scores
    a file with that column; a sensor's column of numbers with a cell of text is the same error in both."""
    from tsae.pipelines.anomaly.detector import Detector

    train = write_csv(tmp_path / "train.csv", train_data)
    status = with_column(tmp_path / "status.csv", train, "status",
                         lambda i: "" if i % 5 == 0 else "ok" if i % 7 else "check valve")
    det = tmp_path / "d.tsae"
    code, out = invoke("detect", "fit", status, "-o", det, "--window", "24", "--epochs", "1", "--device", "cpu")
    assert code == 0, out
    told = [line for line in out.splitlines() if "'status'" in line]
    assert len(told) == 1 and str(status) in told[0] and "text" in told[0], out
    assert Detector.load(det).sensors_ == SENSORS
    test = with_column(tmp_path / "test_status.csv", write_csv(tmp_path / "test.csv", test_data), "status",
                       lambda i: "ok")
    code, out = invoke("detect", "score", test, "--detector", det, "-o", tmp_path / "s.csv")
    assert code == 0 and "'status' are not sensors of the detector: ignored" in out, out
    # a sensor's column with a cell of text: the fit and the scoring say the same, and write nothing
    lines = train.read_text().splitlines()
    cells = lines[3].split(",")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines[:3] + [",".join([*cells[:2], "ERR", *cells[3:]])] + lines[4:]) + "\n")
    expected = f"Error: {bad}: line 4, column {SENSORS[1]!r}: not a number ('ERR')"
    code, out = invoke("detect", "fit", bad, "-o", tmp_path / "bad.tsae", "--window", "24", "--epochs", "1", "-q")
    assert code == 1 and out.strip() == expected, out
    assert not (tmp_path / "bad.tsae").exists()
    code, out = invoke("detect", "score", bad, "--detector", det, "-o", tmp_path / "b.csv", "-q")
    assert code == 1 and out.strip() == expected, out
    # a column of numbers with a cell of text that is no sensor of the detector is one in the fit: an error there
    mixed = with_column(tmp_path / "mixed.csv", train, "note", lambda i: "n/a?" if i == 40 else str(i))
    code, out = invoke("detect", "fit", mixed, "-o", tmp_path / "m.tsae", "--window", "24", "--epochs", "1", "-q")
    assert code == 1 and out.strip() == f"Error: {mixed}: line 42, column 'note': not a number ('n/a?')", out
    assert not (tmp_path / "m.tsae").exists()


@pytest.mark.parametrize("family", [[], ["--family", "conv1d"]])
def test_init_from_a_denoiser_or_a_broken_file_is_told_in_the_model_files_name(tmp_path, train_data, family):
    """`detect fit --init denoiser2.tsae` said "train.csv: .../denoiser2.tsae: the denoiser2 family declares no
    encoder weights to start from" (with --family: "train.csv: ...: is a denoiser2 model, not conv1d"), and a
    broken --init file with --family was told under the training file's name too."""
    from tsae.pipelines.denoise.denoiser import model_path

    train = write_csv(tmp_path / "train.csv", train_data)
    denoiser = model_path("denoiser2")
    cut = tmp_path / "cut.tsae"
    cut.write_bytes(denoiser.read_bytes()[:300])
    out_path = tmp_path / "d.tsae"
    for init, problem in ((denoiser, "is a denoiser (the 'denoiser2' family, for tsae denoise), not a series "
                                     "model or a detector: it has no encoder to start from"),
                          (cut, "truncated file")):
        code, out = invoke("detect", "fit", train, "-o", out_path, "--init", init, *family, "--epochs", "1", "-q")
        errors = [line for line in out.splitlines() if line.strip()]
        assert code == 1 and len(errors) == 1 and errors[0].startswith(f"Error: {init}: {problem}"), out
        assert str(train) not in out and not out_path.exists()
    code, out = invoke("detect", "fit", train, "-o", out_path, "--init", tmp_path / "none.tsae", *family, "-q")
    assert code == 2 and f"{tmp_path / 'none.tsae'}: no such file" in out, out
    assert str(train) not in out and not out_path.exists()
