"""Crafted detector files: every scoring field refused in one line naming the file and the field."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tsae.cli import cli
from tsae.models.fields import ModelFileError
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.detector_file import DETECTOR_VERSION, FIELD_VERSIONS, _array_of
from tsae.pipelines.anomaly.scoring import LEVEL_HUBER, StatsTerm

from sensor_data import write_csv


def _extra(key: str, value):
    def mutate(head: dict) -> None:
        target = head["extra"]
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        target[last] = value
    return mutate


def _frame(key: str, value):
    def mutate(head: dict) -> None:
        head["frame"][key] = value
    return mutate


def _array(name: str, change):
    def mutate(state: dict) -> None:
        state[f"arrays.{name}"] = change(state[f"arrays.{name}"].clone())
    return mutate


def _poke(value: float):
    def change(tensor: torch.Tensor) -> torch.Tensor:
        tensor.view(-1)[0] = value
        return tensor
    return change


def _drop(name: str):
    def mutate(state: dict) -> None:
        del state[f"arrays.{name}"]
    return mutate


HEADER_CASES = [
    # settings only fitting uses: a loaded detector takes them back (get_params, clone), so they are checked too
    (_extra("settings.error_norm", "yes"), "extra.settings.error_norm", "must be true or false, got 'yes'"),
    (_extra("settings.pca_variance", 2.0), "extra.settings.pca_variance", "must be a number in (0, 1]"),
    (_extra("settings.scales", [1]), "extra.settings.scales", "'auto' or a list of window lengths"),
    (_extra("threshold.value", math.nan), "extra.threshold.value", "must be a finite number, not nan"),
    (_extra("threshold.value", "inf"), "extra.threshold.value", "must be a number, not 'inf'"),
    (_extra("threshold.value", [5.0]), "extra.threshold.value", "must be a number, not [5.0]"),
    # a negative threshold: every sample of every file an anomaly (scores are never negative), loaded silently
    (_extra("threshold.value", -1.0), "extra.threshold.value", "-1.0 is out of range [0.0, 1e+30]"),
    (_extra("threshold", None), "extra.threshold", "must be a JSON object, not None"),
    (_extra("threshold.method", 3), "extra.threshold.method", "must be a string"),
    (_extra("sensors", ["temp", "pressure"]), "extra.sensors", "names 2 sensors but the network has 3 channels"),
    (_extra("sensors", [1, 2, 3]), "extra.sensors", "must be a list of sensor names"),
    (_extra("sensors", ["temp", "flow", "temp"]), "extra.sensors", "names sensor 'temp' more than once"),
    (_extra("smooth", 0), "extra.smooth", "0 is out of range [1,"),
    (_extra("smooth", [5]), "extra.smooth", "must be an integer"),
    (_extra("centered", "yes"), "extra.centered", "must be true or false"),
    (_extra("linear_weight", -1.0), "extra.linear_weight", "out of range"),
    (_extra("stats_weight", -1.0), "extra.stats_weight", "out of range"),
    (_extra("merge_gap", -5), "extra.merge_gap", "out of range"),
    (_extra("settings.threshold", math.inf), "extra.settings.threshold", "must be a finite number"),
    # a negative or non-finite fixed threshold (a number or its text) loaded, and a refit flagged every sample
    (_extra("settings.threshold", -1.0), "extra.settings.threshold", "-1.0 is out of range [0.0, 1e+30]"),
    (_extra("settings.threshold", "-2"), "extra.settings.threshold", "-2.0 is out of range [0.0, 1e+30]"),
    (_extra("settings.threshold", "nan"), "extra.settings.threshold", "must be a finite number, not nan"),
    (_extra("settings.threshold", "magic"), "extra.settings.threshold", "unknown method"),
    # a file from a newer tsae: said to be out of range, where a newer model file format says to upgrade
    (_extra("version", DETECTOR_VERSION + 1), "extra.version",
     f"{DETECTOR_VERSION + 1} is newer than this tsae reads ({DETECTOR_VERSION}); upgrade tsae"),
    (_extra("version", 0), "extra.version", f"0 is out of range [1, {DETECTOR_VERSION}]"),
    (_extra("stats_level_huber", 0.0), "extra.stats_level_huber", "0.0 is out of range (0.0, 1e+30]"),
    (_extra("stats_level_huber", "3"), "extra.stats_level_huber", "must be a number, not '3'"),
    (_extra("stats_level_huber", math.inf), "extra.stats_level_huber", "must be a finite number"),
    (_extra("early_threshold", -1.0), "extra.early_threshold", "-1.0 is out of range (0.0, 1e+30]"),
    (_extra("early_threshold", "3"), "extra.early_threshold", "must be a number, not '3'"),
    (_extra("early_threshold", math.nan), "extra.early_threshold", "must be a finite number, not nan"),
    # a self-check's held-out count not a number: a bare ValueError of int() naming no file, or a TypeError (fuzz)
    (_extra("selfcheck.held_out", "x"), "extra.selfcheck.held_out", "must be an integer, not 'x'"),
    (_extra("selfcheck.held_out", [1]), "extra.selfcheck.held_out", "must be an integer, not [1]"),
    (_extra("selfcheck.held_out", []), "extra.selfcheck.held_out", "must be an integer, not []"),
    (_extra("selfcheck.held_out", -5), "extra.selfcheck.held_out", "-5 is out of range [0,"),
    (_extra("decision_scores_step", 0), "extra.decision_scores_step", "0 is out of range [1,"),
    (_extra("n_samples_fit", -1), "extra.n_samples_fit", "-1 is out of range [0,"),
    # the training scores kept must be one in decision_scores_step of n_samples_fit (the fixture's 900)
    (_extra("n_samples_fit", 5000), "array 'decision_scores'", "holds 900 scores, but one in 1 of 5000 training"),
    (_frame("hop", 0), "frame.hop", "0 is out of range [1,"),
    (_frame("hop", -3), "frame.hop", "-3 is out of range [1,"),
    (_frame("hop", 25), "frame.hop", "25 is larger than frame.window (24)"),
    (_frame("hop", [3]), "frame.hop", "must be an integer, not [3]"),
    (_frame("window", 48), "frame.window", "48 differs from the network's window (24)"),
]
def _version(version: int, *, drop: tuple[str, ...] = (), **settings):
    """The file said to be of ``version``, its fields ``drop`` (in extra and extra.settings) left out."""
    def mutate(head: dict) -> None:
        head["extra"]["version"] = version
        for key in drop:
            head["extra"].pop(key, None)
            head["extra"]["settings"].pop(key, None)
        head["extra"]["settings"].update(settings)
    return mutate


# weights and factors no fit writes: every score inf (1e308 times a score)
HEADER_CASES += [
    (_extra("ae_weight", 1e308), "extra.ae_weight", "1e+308 is out of range [0.0, 1e+30]"),
    (_extra("linear_weight", 1e308), "extra.linear_weight", "1e+308 is out of range [0.0, 1e+30]"),
    (lambda head: head["extra"]["scales"][0].update(pca_weight=1e308), "extra.scales[0].pca_weight",
     "out of range [0.0, 1e+30]"),
    (lambda head: head["extra"]["short_smooth"][0].__setitem__(1, 1e308), "extra.short_smooth[0][1]",
     "1e+308 is out of range [0.001, 1000.0]"),
    # factors and gaps far beyond what a fit writes (factors 0.1 to 3; the merge gap a user's number of samples)
    (lambda head: head["extra"]["short_smooth"][0].__setitem__(1, 1e30), "extra.short_smooth[0][1]",
     "1e+30 is out of range [0.001, 1000.0]"),
    (lambda head: head["extra"]["short_smooth"][0].__setitem__(1, 1e-9), "extra.short_smooth[0][1]",
     "1e-09 is out of range [0.001, 1000.0]"),
    (_extra("merge_gap", 2**62), "extra.merge_gap", f"{2**62} is out of range [0, 1048576]"),
    (_extra("merge_gap", 2**20 + 1), "extra.merge_gap", "1048577 is out of range [0, 1048576]"),
]
# thresholds and levels no fit writes: loaded (a threshold of 1e308 flagged nothing, early alarms never came)
HEADER_CASES += [
    (_extra("threshold.value", 1e308), "extra.threshold.value", "1e+308 is out of range [0.0, 1e+30]"),
    (_extra("early_threshold", 1e308), "extra.early_threshold", "1e+308 is out of range (0.0, 1e+30]"),
    (_extra("calibration_mean", 1e308), "extra.calibration_mean", "1e+308 is out of range (0.0, 1e+30]"),
    (_extra("stats_level_huber", 1e308), "extra.stats_level_huber", "1e+308 is out of range (0.0, 1e+30]"),
    (_extra("settings.threshold", 1e35), "extra.settings.threshold", "1e+35 is out of range [0.0, 1e+30]"),
    # the alarm budget's settings (read when the threshold is fitted again): no fit writes them beyond 1e30
    (_extra("settings.alarms_per_day", 1e308), "extra.settings.alarms_per_day", "1e+308 is out of range (0.0, 1e+30]"),
    (_extra("settings.sample_interval", 1e308), "extra.settings.sample_interval",
     "1e+308 is out of range [1e-30, 1e+30]"),
    # a day of 1e-308 s steps is more rows than float64 counts: fitting the threshold again was an internal error
    (_extra("settings.sample_interval", 1e-308), "extra.settings.sample_interval",
     "1e-308 is out of range [1e-30, 1e+30]"),
    # a whole number beyond float's range: OverflowError from math.isfinite, a traceback (fuzz)
    (_extra("settings.holdout", 10**400), "extra.settings.holdout", "must be a number in (0, 1)"),
    (_extra("settings.q", 10**60), "extra.settings.q", "must be a number in (0, 1)"),
]
# a version 6 file edited to say an older version was loaded with the newer fields, read as this version reads them
HEADER_CASES += [
    (_version(5), "extra.shared_rise", "a field of detector files of version 6 and later, but the file says version 5"),
    (_version(5, drop=("shared_rise",), timezone="Europe/Berlin"), "extra.settings.timezone", "version 6 and later"),
    (_version(4, drop=("shared_rise", "seasonal")), "array 'shared_base'",
     "of version 6 and later, but the file says version 4"),
    (_version(2, drop=("shared_rise",)), "extra.stats_level_huber", "of version 3 and later"),
]
ARRAY_CASES = [
    (_array("err_scale", _poke(math.nan)), "array 'err_scale'", "holds NaN or infinite values"),
    (_array("err_scale", _poke(0.0)), "array 'err_scale'", "must hold only positive values"),
    (_array("std", _poke(-1.0)), "array 'std'", "must hold only positive values"),
    (_array("mean", _poke(math.inf)), "array 'mean'", "holds NaN or infinite values"),
    (_array("mean", lambda t: t[:2].clone()), "array 'mean'", "has shape (2,), expected (3,)"),
    (_array("pca_components", _poke(math.nan)), "array 'pca_components'", "holds NaN"),
    (_array("pca_components", lambda t: t[:, :10].clone()), "array 'pca_components'", "expected (k, 72)"),
    (_array("contrib_base", _poke(math.nan)), "array 'contrib_base'", "holds NaN"),
    (_drop("err_scale"), "array 'err_scale'", "is missing"),
    # subnormal divisors: loaded, then NaN scores with numpy's RuntimeWarnings only, or the data blamed (fuzz, before)
    (_array("err_scale", _poke(1e-320)), "array 'err_scale'", "holds 1e-320, below 1.18e-38 (float32's smallest"),
    (_array("stats_spread", _poke(1e-320)), "array 'stats_spread'", "below 1.18e-38 (float32's"),
    (_array("std", _poke(5e-324)), "array 'std'", "holds 4.94e-324, below 1.18e-38"),
    # tiny but normal divisors: loaded, then every score inf (a value of 1 over 1e-200, squared, overflows)
    (_array("stats_spread", _poke(1e-200)), "array 'stats_spread'", "holds 1e-200, below 1.18e-38"),
    (_array("std", _poke(1e-200)), "array 'std'", "holds 1e-200, below 1.18e-38"),
    (_array("err_scale", _poke(1e-100)), "array 'err_scale'", "holds 1e-100, below 1.18e-38"),
    (_array("stats_err_scale", _poke(1e-300)), "array 'stats_err_scale'", "holds 1e-300, below 1.18e-38"),
    (_array("pca_err_scale", _poke(1e-40)), "array 'pca_err_scale'", "holds 1e-40, below 1.18e-38"),
    # values no fit writes: loaded, then every score inf, every sample flagged, peaks written as JSON null
    (_array("pca_mean", _poke(1e308)), "array 'pca_mean'", "holds 1e+308, beyond 1e+30 in magnitude"),
    (_array("pca_components", _poke(-1e200)), "array 'pca_components'", "holds 1e+200, beyond 1e+30"),
    (_array("stats_median", _poke(1e308)), "array 'stats_median'", "holds 1e+308, beyond 1e+30"),
    (_array("mean", _poke(1e31)), "array 'mean'", "holds 1e+31, beyond 1e+30"),
    (_array("std", _poke(1e300)), "array 'std'", "holds 1e+300, beyond 1e+30"),
    # training scores: labels_ and an older file's calibration mean come from them
    (_array("decision_scores", _poke(1e308)), "array 'decision_scores'", "holds 1e+308, beyond 1e+30"),
    (_array("decision_scores", _poke(-math.inf)), "array 'decision_scores'", "holds inf, beyond 1e+30"),
]


def _field_name(place: str, name: str) -> str:
    return {"extra": f"extra.{name}", "settings": f"extra.settings.{name}"}.get(place, name)


def _older(version: int, keep: tuple[str, str] | None = None):
    """Mutators ``(header, tensors)`` that make the fixture a file of ``version``: its newer fields
    (:data:`FIELD_VERSIONS`) left out, but ``keep`` ``(place, name)``."""
    newer = [(p, n) for v, p, n in FIELD_VERSIONS if v > version and (p, n) != keep]

    def header(head: dict) -> None:
        head["extra"]["version"] = version
        for p, n in newer:
            if p != "array":
                (head["extra"] if p == "extra" else head["extra"]["settings"]).pop(n, None)

    def tensors(state: dict) -> None:
        for key in [k for k in state if k.startswith("arrays.")]:
            if any(p == "array" and _array_of(key[len("arrays."):], n) for p, n in newer):
                del state[key]

    return header, tensors


@pytest.mark.parametrize("since,place,name", FIELD_VERSIONS, ids=lambda v: str(v))
def test_a_field_newer_than_the_files_version_is_refused(detector_file, craft_model_file, since, place, name) -> None:
    # before: only the fields of versions 3 to 6 were checked; a version 1 file with ae_weight, scales, the
    # statistics arrays, the early threshold ... (version 2) or the thinned scores' fields (version 4) loaded
    older = since - 1
    drop_header, drop_arrays = _older(older, keep=(place, name))

    def header(head: dict) -> None:
        drop_header(head)
        if place != "array":
            target = head["extra"] if place == "extra" else head["extra"]["settings"]
            if target.get(name) is None:
                target[name] = "x"  # a field the fixture has not: its presence is what is refused

    def tensors(state: dict) -> None:
        drop_arrays(state)
        if place == "array" and not any(_array_of(k[len("arrays."):], name) for k in state if k.startswith("arrays.")):
            state[f"arrays.{name.replace('<i>', '0')}"] = torch.zeros(1)

    path = craft_model_file(detector_file, "older.tsae", header=header, tensors=tensors)
    with pytest.raises(ModelFileError) as info:
        Detector.load(path)
    message = str(info.value)
    assert f"is a field of detector files of version {since} and later, but the file says version {older}" in message
    if place != "array":
        assert info.value.field == _field_name(place, name), message
    else:
        assert info.value.field.startswith("array '") and _array_of(info.value.field[7:-1], name), message


@pytest.mark.parametrize("version", range(1, DETECTOR_VERSION))
def test_a_file_of_an_older_version_loads_without_the_newer_fields(detector_file, craft_model_file, version) -> None:
    header, tensors = _older(version)
    det = Detector.load(craft_model_file(detector_file, f"v{version}.tsae", header=header, tensors=tensors))
    assert det.threshold_ > 0 and (det.state_.stats is None) == (version < 2)


def refused(path, field: str, match: str) -> None:
    with pytest.raises(ModelFileError) as info:
        Detector.load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: {field}: "), message
    assert match in message and info.value.field == field, message


@pytest.mark.parametrize("mutate,field,match", HEADER_CASES)
def test_crafted_detector_header_fields(detector_file, craft_model_file, mutate, field, match) -> None:
    refused(craft_model_file(detector_file, "crafted.tsae", header=mutate), field, match)


@pytest.mark.parametrize("mutate,field,match", ARRAY_CASES)
def test_crafted_detector_arrays(detector_file, craft_model_file, mutate, field, match) -> None:
    refused(craft_model_file(detector_file, "crafted.tsae", tensors=mutate), field, match)


def test_nan_network_weights_in_a_detector(detector_file, craft_model_file) -> None:
    def poison(state):
        key = next(k for k in state if not k.startswith("arrays.") and state[k].is_floating_point())
        state[key] = state[key].clone()
        state[key].view(-1)[0] = math.nan

    with pytest.raises(ModelFileError, match="holds NaN or infinite values") as info:
        Detector.load(craft_model_file(detector_file, "nan.tsae", tensors=poison))
    assert info.value.field.startswith("weight '")


def test_the_cli_names_the_file_and_the_field(tmp_path, detector_file, craft_model_file, test_data) -> None:
    crafted = craft_model_file(detector_file, "crafted.tsae", header=_extra("threshold.value", math.nan))
    test = write_csv(tmp_path / "test.csv", test_data)
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(cli, ["detect", "score", str(test), "--detector", str(crafted), "-o", str(out), "-q"])
    assert result.exit_code == 1 and not out.exists()
    assert result.output.strip() == f"Error: {crafted}: extra.threshold.value: must be a finite number, not nan"


def test_the_saved_detector_still_loads_and_scores(detector, detector_file, test_data) -> None:
    loaded = Detector.load(detector_file)
    np.testing.assert_allclose(loaded.decision_function(test_data.T[:, :200]),
                               detector.decision_function(test_data.T[:, :200]), rtol=1e-9)
    assert loaded.threshold_ == detector.threshold_ and loaded.sensors_ == detector.sensors_


def test_a_file_without_settings_keeps_its_fixed_threshold(detector_file, craft_model_file) -> None:
    # files written before the settings: the threshold's method stood in for the setting, and "fixed" is none
    def mutate(head: dict) -> None:
        del head["extra"]["settings"]
        head["extra"]["threshold"].update(method="fixed", value=7.5)

    det = Detector.load(craft_model_file(detector_file, "old.tsae", header=mutate))
    assert det.threshold == 7.5 and det.threshold_ == 7.5


def test_an_older_file_scores_its_statistics_levels_squared(detector, detector_file, craft_model_file,
                                                            test_data) -> None:
    # version 2 files had no stats_level_huber: their statistics terms' normal levels were set on squared levels
    # (nor the fields of versions 4 to 7: spectral shape, shared rise, point excess, which the comparison below
    # leaves out too)
    mutate, older = _older(2)
    old = Detector.load(craft_model_file(detector_file, "old.tsae", header=mutate, tensors=older))
    terms = [t.stats for t in [old.state_.primary_term(), *old.state_.scales] if t.stats is not None]
    assert terms and all(t.level_huber is None for t in terms)
    new = Detector.load(detector_file)
    assert all(t.stats.level_huber == LEVEL_HUBER for t in [new.state_.primary_term(), *new.state_.scales]
               if t.stats is not None)
    x = test_data.T[:, :300].copy()
    x[0, 100:200] += 20 * x[0].std()  # a level far beyond the huber point: the two distances differ
    assert not np.allclose(old.decision_function(x), new.decision_function(x))
    for t in [new.state_.primary_term(), *new.state_.scales]:
        if t.stats is not None:
            t.stats.level_huber = t.stats.band_median = t.stats.band_spread = None
    new.state_.shared_rise, new.state_.shared_base = 1.0, None
    new.state_.point_weight = 0.0
    np.testing.assert_allclose(old.decision_function(x), new.decision_function(x), rtol=1e-9)


def test_the_statistics_level_distance_turns_linear_beyond_its_huber_point() -> None:
    frames = np.zeros((5, 8, 1))
    frames[:, :, 0] = np.array([0.0, 0.5, 1.0, 2.0, 4.0])[:, None]  # levels 0..4, no spread or steps
    term = StatsTerm(median=np.zeros((1, 3)), spread=np.ones((1, 3)), err_scale=np.ones(1), level_huber=1.0)
    squared = StatsTerm(median=np.zeros((1, 3)), spread=np.ones((1, 3)), err_scale=np.ones(1), level_huber=None)
    rest = squared.distance(frames[:1])[0, 0]  # the spread's and steps' part, the same for every frame
    np.testing.assert_allclose(term.distance(frames)[:, 0] - rest, [0.0, 0.25, 1.0, 3.0, 7.0])
    np.testing.assert_allclose(squared.distance(frames)[:, 0] - rest, [0.0, 0.25, 1.0, 4.0, 16.0])


def test_a_loaded_detector_fits_as_the_file_was_fitted(train_data, craft_model_file, tmp_path) -> None:
    # before, load kept only the scoring settings: get_params() gave the defaults of how it was fitted, and
    # sklearn's clone of a loaded detector fitted another detector (error_norm off, the default scales...)
    from sklearn import base

    fitted = Detector(window=24, epochs=2, device="cpu", error_norm=True, pca_variance=0.9, seed=7, holdout=0.25,
                      scales=[8], linear=False).fit(train_data.T)
    path = fitted.save(tmp_path / "d.tsae")
    loaded = Detector.load(path)
    kept = ("error_norm", "pca_variance", "seed", "holdout", "scales", "linear", "epochs")
    assert {k: loaded.get_params()[k] for k in kept} == {k: fitted.get_params()[k] for k in kept}
    assert base.clone(loaded).error_norm is True


def test_a_long_fit_keeps_every_kth_training_score(detector, tmp_path, test_data, monkeypatch) -> None:
    # before, every training score was stored as float64: 8 MB per million rows, 80 MB for 4 months at 1 Hz,
    # all read by load; scoring reads none of them
    import tsae.pipelines.anomaly.detector_file as detector_file

    monkeypatch.setattr(detector_file, "MAX_SAVED_SCORES", 100)  # the fixture's 900 training samples: one in 9
    loaded = Detector.load(detector.save(tmp_path / "d.tsae"))
    assert (loaded.decision_scores_step_, loaded.n_samples_fit_) == (9, 900)
    assert (detector.decision_scores_step_, detector.n_samples_fit_) == (1, 900)
    np.testing.assert_array_equal(loaded.decision_scores_, detector.decision_scores_[::9])
    assert loaded.labels_.shape == (900,) and loaded.labels_.dtype == detector.labels_.dtype
    np.testing.assert_array_equal(loaded.decision_function(test_data.T), detector.decision_function(test_data.T))
    monkeypatch.setattr(detector_file, "MAX_SAVED_SCORES", 40)  # saved again: the steps compose (9 * 3)
    again = Detector.load(loaded.save(tmp_path / "again.tsae"))
    assert (again.decision_scores_step_, again.n_samples_fit_, again.decision_scores_.size) == (27, 900, 34)
    np.testing.assert_array_equal(again.decision_scores_, detector.decision_scores_[::27])


def _flagged(detector: Detector) -> Detector:
    """A shallow copy of ``detector`` whose training labels flag runs that one score in 9 would not tell."""
    import copy

    flagged = copy.copy(detector)
    scores = detector.decision_scores_.copy()
    scores[[10, 11, 500]] = scores[300:340] = 2 * detector.threshold_
    flagged.decision_scores_ = scores
    flagged.labels_ = (scores > detector.threshold_).astype(np.int64)
    return flagged


def test_labels_of_a_long_fit_are_one_per_training_sample(detector, tmp_path, monkeypatch) -> None:
    # as PyOD's labels_: they were the 100 kept scores' labels only (labels_.sum() counted one flagged sample in 9)
    import tsae.pipelines.anomaly.detector_file as detector_file

    monkeypatch.setattr(detector_file, "MAX_SAVED_SCORES", 100)
    flagged = _flagged(detector)
    loaded = Detector.load(flagged.save(tmp_path / "d.tsae"))
    np.testing.assert_array_equal(loaded.labels_, flagged.labels_)  # from the runs the file keeps: exact
    monkeypatch.setattr(detector_file, "MAX_SAVED_SCORES", 40)
    again = Detector.load(loaded.save(tmp_path / "again.tsae"))
    np.testing.assert_array_equal(again.labels_, flagged.labels_)  # the runs are saved again


def test_labels_of_a_long_fit_with_too_many_runs_stand_for_the_samples_up_to_the_next_kept_score(
        detector, tmp_path, monkeypatch) -> None:
    import tsae.pipelines.anomaly.detector_file as detector_file

    monkeypatch.setattr(detector_file, "MAX_SAVED_SCORES", 100)
    monkeypatch.setattr(detector_file, "MAX_SAVED_RUNS", 0)  # none kept: as a file written before them
    flagged = _flagged(detector)
    loaded = Detector.load(flagged.save(tmp_path / "d.tsae"))
    assert loaded.labels_.shape == (900,)
    np.testing.assert_array_equal(loaded.labels_, np.repeat(flagged.labels_[::9], 9))


@pytest.mark.parametrize("runs", [[[500, 501], [10, 12]], [[10, 12], [12, 20]], [[-1, 3]], [[899, 901]], [[5, 5]]])
def test_a_file_with_flagged_runs_out_of_order_is_refused(detector, tmp_path, monkeypatch, craft_model_file,
                                                          runs) -> None:
    import tsae.pipelines.anomaly.detector_file as detector_file

    monkeypatch.setattr(detector_file, "MAX_SAVED_SCORES", 100)
    path = detector.save(tmp_path / "d.tsae")

    def plant(state: dict) -> None:
        state["arrays.flagged_runs"] = torch.tensor(runs, dtype=torch.int64)

    with pytest.raises(ModelFileError, match=r"array 'flagged_runs'.*not in order within the 900 training samples"):
        Detector.load(craft_model_file(path, "bad.tsae", tensors=plant))


def test_a_short_fit_and_an_older_file_keep_every_training_score(detector, detector_file, craft_model_file) -> None:
    def older(head: dict) -> None:  # written before the step and the count
        del head["extra"]["decision_scores_step"], head["extra"]["n_samples_fit"]

    for path in (detector_file, craft_model_file(detector_file, "old.tsae", header=older)):
        loaded = Detector.load(path)
        assert (loaded.decision_scores_step_, loaded.n_samples_fit_) == (1, 900)
        np.testing.assert_array_equal(loaded.decision_scores_, detector.decision_scores_)


def test_a_merge_gap_a_file_could_not_hold_is_refused_by_the_detector() -> None:
    with pytest.raises(ValueError, match=r"merge_gap=2097152 is out of range \[0, 1048576\]"):
        Detector(merge_gap=2**21)


def test_a_fit_writes_short_smoothing_factors_its_file_loads(train_data, tmp_path) -> None:
    # a tiny short_margin makes the factors huge: the fit clips them to what the loader takes, so the file loads
    det = Detector(window=24, terms="pca", scales=(), device="cpu", short_margin=1e-6).fit(train_data.T)
    factors = [factor for _, factor in det.state_.short_smooth]
    assert factors and max(factors) == 1e3
    loaded = Detector.load(det.save(tmp_path / "d.tsae"), device="cpu")
    assert [factor for _, factor in loaded.state_.short_smooth] == factors
