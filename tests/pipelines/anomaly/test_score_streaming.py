"""`tsae detect score` streams: it scores, writes the scores and finds the events block by block, with the bytes
the whole arrays give (the blocks made small here, so that their seams fall inside events and silent stretches)."""
from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import tsae.io.table_blocks as table_blocks
import tsae.io.tables as tables
from tsae.pipelines.anomaly import block_scoring, files
from tsae.pipelines.anomaly.files import score_file

from memory_helpers import traced_peak
from sensor_data import SENSORS, make_series


def _whole_array_score(test: Path, det, output: Path, events: Path, silence: int | None = 100) -> None:
    """What ``tsae detect score`` wrote before it streamed: every array whole, then the events and the table."""
    from tsae.io.tables import column_format, time_cells, write_table
    from tsae.pipelines.anomaly.events import find_events, write_events

    table = files.read_data(test, text_columns=True)
    order, _ = files._sensor_order(test, list(table.columns), det.sensors_, list(table.text_columns))
    X = table.values[order]
    blocks, early = block_scoring.JoinedBlocks(), []  # the early error rows too: the events' bounds (onset.py)
    stretches = det._score_each(X, None, silence, blocks, None, early.append)
    scores, contrib = blocks.joined()
    contrib = contrib.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        silent = files._silent_sensors(test, np.isfinite(X).any(axis=1), list(det.sensors_), silence, stretches)
    flags = (scores > det.threshold_).astype(np.int64)
    time = table.time
    times = None
    if time is not None:  # the time column's cells in the scores file: dates as text, numbers as numbers
        cells = time_cells(time, column_format([time], time=True), table.time_utc).tolist()
        times = [None if not c else c if time.dtype.kind == "M" else json.loads(c) for c in cells]
    found = find_events(scores, flags, contrib, det.sensors_, times=times, merge_gap=det.event_gap,
                        onset=np.concatenate(early), onset_base=det.state_.contrib_base)
    if times is not None:
        silent = [dict(entry, time=times[entry["index"]], since_time=times[entry["since_index"]]) for entry in silent]
    columns = {"score": scores, "anomaly": flags, **{f"contrib_{name}": contrib[i] for i, name in
                                                     enumerate(det.sensors_)}}
    write_events(events, found, silent_sensors=silent)
    write_table(output, columns, time=time, time_name=table.time_name, time_utc=table.time_utc)


def forbidden(*args, **kwargs):
    raise AssertionError("the table was read whole")


def _series_with_faults(n: int = 1500) -> np.ndarray:
    x = make_series(n, seed=3)
    x[300:520, 1] += 2.5          # a long event: across many seams
    x[700:706, 0] += 6.0          # a short one
    x[900:1150, 2] = np.nan       # a silent sensor (silence 100), across seams
    x[1300:1304, 1] = np.nan      # a short gap: held, not silent
    return x


def _write(path: Path, x: np.ndarray, time: list[str]) -> Path:
    lines = [",".join(["time", *SENSORS])]
    for stamp, row in zip(time, x, strict=True):
        lines.append(",".join([stamp, *("" if not np.isfinite(v) else repr(float(v)) for v in row)]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _iso(n: int, utc: bool = False) -> list[str]:
    start = np.datetime64("2024-03-01T00:00:00", "ms")
    stamps = [str(start + np.timedelta64(250 * i, "ms")) for i in range(n)]
    return [s + "Z" for s in stamps] if utc else stamps


@pytest.mark.parametrize("read", ["whole", "in blocks"])
@pytest.mark.parametrize("block", [37, 256])
@pytest.mark.parametrize(("case", "suffix", "events_suffix"), [
    ("iso dates", ".csv", ".json"),
    ("utc dates", ".csv.gz", ".csv"),
    ("counter", ".csv.xz", ".csv.gz"),
    ("drift", ".csv", ".json"),
])
def test_the_streamed_scores_and_events_are_those_of_the_whole_arrays(tmp_path, monkeypatch, detector, block, case,
                                                                      suffix, events_suffix, read) -> None:
    monkeypatch.setattr(block_scoring, "SCORE_BLOCK", block)
    x = _series_with_faults()
    time = [str(i) for i in range(len(x))] if case == "counter" else _iso(len(x), utc=case == "utc dates")
    test = _write(tmp_path / "test.csv", x, time)
    det = detector
    if case == "drift":  # a copy: the fixture is shared
        det = copy.copy(detector).set_params(drift_rate=0.01, drift_every=4 * detector.window_)
    with warnings.catch_warnings(), monkeypatch.context() as patch:
        warnings.simplefilter("ignore")
        if read == "in blocks":  # the table read in blocks too, in chunks of rows that are not the scoring's
            patch.setattr(table_blocks, "LONG_TABLE_BYTES", 0)
            patch.setattr(tables, "READ_ROWS", 100)
            patch.setattr(files, "read_data", forbidden)
        summary = score_file(test, det, tmp_path / f"streamed{suffix}", events=tmp_path / f"streamed{events_suffix}",
                             quiet=True)
    _whole_array_score(test, det, tmp_path / f"whole{suffix}", tmp_path / f"whole{events_suffix}")
    assert summary["events"] >= 2 and summary["silent_sensors"], summary  # the seams cut events and a silence
    assert (tmp_path / f"streamed{suffix}").read_bytes() == (tmp_path / f"whole{suffix}").read_bytes()
    assert (tmp_path / f"streamed{events_suffix}").read_bytes() == (tmp_path / f"whole{events_suffix}").read_bytes()


def test_scoring_a_long_file_holds_no_whole_length_arrays_beyond_the_table(tmp_path, monkeypatch, detector) -> None:
    monkeypatch.setattr(block_scoring, "SCORE_BLOCK", 512)
    n = 60_000
    x = make_series(n, seed=4)
    test = _write(tmp_path / "long.csv", x, _iso(n))
    read = files.read_data
    after_read: dict[str, int] = {}

    def read_then_reset(*args, **kwargs):  # the peak from when the table is read on
        import tracemalloc

        table = read(*args, **kwargs)
        after_read["current"] = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        return table

    monkeypatch.setattr(files, "read_data", read_then_reset)
    _, peak = traced_peak(lambda: score_file(test, detector, tmp_path / "s.csv", quiet=True))
    grown = peak - after_read["current"]
    table = n * (3 + 1) * 8  # the sensors' and the time's float64 values
    # a check of the time order takes a few of the time column's size; the whole scores, contributions and times
    # (a Python list) took 18 times the table
    assert grown < 2 * table, f"{grown / 1e6:.1f} MB beyond the table's {table / 1e6:.1f} MB"


def _scales_and_rows(detector):
    core = detector.core()
    z = core._normalised(make_series(30_000, seed=5))  # > 4096 frames of the main scale: several network batches
    return core.scales, z


def test_a_scale_scores_a_block_in_a_few_times_its_frames(detector) -> None:
    import tracemalloc

    scales, z = _scales_and_rows(detector)
    assert scales[0].model is not None and all(scale.term.pca is not None for scale in scales)
    for scale in scales:
        frames = (len(z) - scale.window) // scale.hop * scale.window * z.shape[1] * 8  # (F, L, C) float64
        tracemalloc.start()
        try:
            scale.push(z)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # the frames, their errors and one term's working array or two; whole-array arithmetic took 8 or 9 times
        assert peak < 5 * frames, f"window {scale.window}: {peak / frames:.1f} times the frames"


def test_the_frame_errors_are_those_of_whole_array_arithmetic(detector) -> None:
    from tsae.pipelines.anomaly.model_slots import slotted_forward

    scales, z = _scales_and_rows(detector)
    for scale in scales:
        starts = np.arange(0, len(z) - scale.window + 1, scale.hop)
        frames = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(z, scale.window, axis=0)[starts]
                                      .transpose(0, 2, 1))
        term, whole = scale.term, np.zeros(frames.shape)
        if scale.model is not None:
            inputs = np.ascontiguousarray(frames.transpose(0, 2, 1))
            recon = slotted_forward(scale.model, inputs, np.arange(len(frames)), device=scale.device, dtype=scale.dtype)
            whole += scale.ae_weight * (recon.transpose(0, 2, 1) - frames) ** 2 / scale.ae_scale
        flat = frames.transpose(0, 2, 1).reshape(len(frames), -1) - term.pca.mean
        recon = (flat @ term.pca.components.T) @ term.pca.components
        lin = ((flat - recon) ** 2).reshape(len(frames), z.shape[1], scale.window).transpose(0, 2, 1)
        whole += term.pca_weight * lin / term.pca.err_scale
        whole += (term.stats_weight * term.stats.distance(frames) / term.stats.err_scale)[:, None, :]
        # the subspace term sums each frame's products in its own fixed order, not BLAS's: to its rounding
        np.testing.assert_allclose(scale.frame_errors(frames), whole, rtol=1e-12, atol=0)


def test_a_scale_scores_the_same_rows_in_any_groups_of_frames(detector, monkeypatch) -> None:
    from tsae.pipelines.anomaly import scoring

    z = detector.core()._normalised(make_series(3000, seed=8))

    def scored(group: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        monkeypatch.setattr(scoring, "CPU_MODEL_FRAMES", group)
        scales = detector.core(early=True).scales
        rows = [np.concatenate([scale.push(z[:1700]), scale.push(z[1700:]), scale.flush()]) for scale in scales]
        return rows, [np.concatenate(scale.early_rows) for scale in scales]

    (rows, early), (grouped, grouped_early) = scored(4096), scored(7)
    for whole, groups in zip([*rows, *early], [*grouped, *grouped_early], strict=True):
        assert len(whole) == 3000 and np.isfinite(whole[max(detector.state_.windows):]).all()
        # each frame's errors are the same bits whatever frames are scored with it (the subspace kernel, the
        # network's fixed places: model_slots)
        np.testing.assert_array_equal(groups, whole)


def test_a_core_loads_its_kernels_before_the_first_sample(detector_file) -> None:
    # numba loads a kernel (or compiles it) on its first call: half a second a monitor's first samples waited for.
    # A fresh process: this one's kernels ran long ago
    import subprocess
    import sys

    script = f"""
import numpy as np
from tsae.pipelines.anomaly import _kernels
from tsae.pipelines.anomaly.detector import Detector

kernels = (_kernels.overlap_add, _kernels.window_stats, _kernels.add_weighted_squares)
assert not any(kernel.signatures for kernel in kernels)
core = Detector.load({str(detector_file)!r}, device="cpu").core()
loaded = [list(kernel.signatures) for kernel in kernels]
assert all(loaded), loaded
x = np.random.default_rng(0).normal(size=(3, 400))
for start in range(0, 400, 50):
    core.push(x[:, start:start + 50])
core.flush()
assert [list(kernel.signatures) for kernel in kernels] == loaded  # the samples ran what was loaded
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("problem", ["ragged", "word", "changed"])
def test_a_long_table_with_a_problem_late_is_an_error_and_no_output(tmp_path, monkeypatch, detector, problem) -> None:
    monkeypatch.setattr(table_blocks, "LONG_TABLE_BYTES", 0)
    monkeypatch.setattr(tables, "READ_ROWS", 100)
    n = 1500
    test = _write(tmp_path / "test.csv", make_series(n, seed=6), _iso(n))
    lines = test.read_text().splitlines()
    if problem == "ragged":
        lines[1400] = "2024-03-01T00:05:49.750,1"
    elif problem == "word":
        lines[1400] = lines[1400].rsplit(",", 1)[0] + ",oops"
    test.write_text("\n".join(lines) + "\n")
    expected = None
    if problem == "changed":  # rows cut between the passes (rows a logger appends are not read: no error)
        opened = table_blocks.open_table_blocks

        def open_then_change(*args, **kwargs):
            source = opened(*args, **kwargs)
            test.write_text("\n".join(lines[:-1]) + "\n")
            return source

        monkeypatch.setattr(table_blocks, "open_table_blocks", open_then_change)
        expected = f"{test}: cannot read (it changed while it was read)"
    else:
        with pytest.raises(ValueError) as whole:
            tables.read_table(test)
        expected = str(whole.value)
    with pytest.raises(ValueError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score_file(test, detector, tmp_path / "s.csv", quiet=True)
    assert str(info.value) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv"]  # no scores, no events, no temporary file


def test_detect_score_opens_a_long_table_as_smooth_and_reconstruct_do(tmp_path, monkeypatch, detector) -> None:
    # one rule (table_blocks.open_long_table) decides which tables every job reads in blocks; detect score had a twin
    monkeypatch.setattr(table_blocks, "LONG_TABLE_BYTES", 0)
    n = 600
    test = _write(tmp_path / "test.csv", make_series(n, seed=6), _iso(n))
    lines = test.read_text().splitlines()
    test.write_text("\n".join([lines[0] + ",status", *(line + ",ok" for line in lines[1:])]) + "\n")
    source = table_blocks.open_long_table(test, text_columns=True)  # no series output: detect score's scores
    assert source is not None and source.columns == list(SENSORS) and list(source.text_columns) == ["status"]
    assert table_blocks.open_long_table(test, tmp_path / "out.wav") is None  # audio: from the table read whole
    opened = table_blocks.open_long_table
    calls = []

    def recorded(*args, **kwargs):
        calls.append((args, kwargs))
        return opened(*args, **kwargs)

    monkeypatch.setattr(table_blocks, "open_long_table", recorded)
    monkeypatch.setattr(files, "read_data", forbidden)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score_file(test, detector, tmp_path / "s.csv", quiet=True)
        assert len(calls) == 1
        # with a plot too (it was read whole for one): drawn from the rows as they are scored
        score_file(test, detector, tmp_path / "p.csv", plot=tmp_path / "p.png", quiet=True)
        monkeypatch.undo()
        monkeypatch.setattr(table_blocks, "LONG_TABLE_BYTES", 1 << 60)
        monkeypatch.setattr(table_blocks, "open_table_blocks", forbidden)
        score_file(test, detector, tmp_path / "w.csv", plot=tmp_path / "w.png", quiet=True)
    assert (tmp_path / "p.csv").read_bytes() == (tmp_path / "s.csv").read_bytes() == (tmp_path / "w.csv").read_bytes()
    assert (tmp_path / "p.png").read_bytes() == (tmp_path / "w.png").read_bytes()


@pytest.mark.parametrize("drift", [False, True], ids=["core", "drifting core"])
def test_a_core_takes_no_samples_after_its_flush(detector, drift) -> None:
    # before: a push after flush framed its samples before the overlap means' start: a compiled kernel wrote outside
    # its arrays (glibc "free(): invalid size" and an abort at exit), or a numpy concatenate error from deep inside
    x = make_series(200, seed=3).T
    core = detector.core(drift_rate=0.01, drift_every=4 * 24) if drift else detector.core()
    core.push(x[:, :10])
    core.push(x[:, 10:20])
    scores, contrib = core.flush()
    assert scores.shape == (20,) and contrib.shape == (len(SENSORS), 20)
    for chunk in (x[:, 20:30], x[:, :0]):
        with pytest.raises(RuntimeError, match=r"^the scoring core was flushed \(its stream ended\): it takes no more "
                                               r"samples; score a new stream with a new core \(detector.core\(\)\)$"):
            core.push(chunk)
    again = core.flush()  # flushing again gives nothing, as the monitor's
    assert again[0].shape == (0,) and again[1].shape == (len(SENSORS), 0)


def test_a_core_is_told_early_as_true_or_false(detector) -> None:
    # before: detector.core(early="no") kept the early rows, as any non-empty text is true
    with pytest.raises(TypeError, match=r"^early must be True or False, got 'no'$"):
        detector.core(early="no")
