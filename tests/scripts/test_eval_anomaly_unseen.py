"""scripts/eval_anomaly_unseen.py: its generated families and anomalies, and a tiny run of the whole table."""
from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from script_modules import load_script


@pytest.fixture(scope="module")
def eu() -> ModuleType:
    return load_script("eval_anomaly_unseen")


def test_every_family_applies_only_known_kinds_and_every_kind_is_probed(eu: ModuleType) -> None:
    assert set(eu.APPLIES) == set(eu.FAMILIES)
    used = {kind for kinds in eu.APPLIES.values() for kind in kinds}
    assert used == set(eu.KINDS)


@pytest.mark.parametrize("family", ["ecg", "machine", "trend_sine", "random_walk", "telemetry", "multi3"])
def test_each_anomaly_is_one_labelled_stretch_of_the_test_rows_and_changes_the_series_there(
        eu: ModuleType, family: str) -> None:
    train, n = 600, 1100
    base = eu.normal(family, n, np.random.default_rng(3))
    assert base.X.shape == (n, 3 if family == "multi3" else 1) and np.isfinite(base.X).all()
    for kind in eu.APPLIES[family]:
        X, y = eu.inject(base, kind, train, np.random.default_rng(4))
        labelled = np.flatnonzero(y)
        assert len(labelled) and labelled[0] >= train, (family, kind)
        assert np.all(np.diff(labelled) == 1), f"{family}/{kind}: more than one labelled stretch"
        assert not np.allclose(X[labelled], base.X[labelled]), f"{family}/{kind}: the labelled rows are unchanged"
        np.testing.assert_array_equal(X[:train], base.X[:train])  # the training prefix stays normal


def test_a_kind_that_does_not_apply_is_refused(eu: ModuleType) -> None:
    base = eu.normal("random_walk", 1000, np.random.default_rng(0))
    with pytest.raises(ValueError, match="does not apply"):
        eu.inject(base, "corr_break", 500, np.random.default_rng(0))


def test_an_unknown_family_is_a_one_line_exit(eu: ModuleType) -> None:
    with pytest.raises(SystemExit, match="unknown family ecgg; choose from ecg"):
        eu.main(["--families", "ecgg", "--only", "pca"])


def test_a_tiny_run_prints_both_tables_and_writes_every_number(eu: ModuleType, tmp_path: Path, capsys) -> None:
    pytest.importorskip("TSB_AD", reason="VUS-PR and the window are TSB-AD's (pip install --no-deps TSB-AD==1.5)")
    pytest.importorskip("sklearn", reason="the pca anchor is scikit-learn's (the eval extra)")
    out = tmp_path / "unseen.json"
    assert eu.main(["--families", "telemetry", "--kinds", "spike,flat", "--only", "pca", "--seeds", "1",
                    "--train", "400", "--test", "400", "--json", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "**PR-AUC**" in text and "**VUS-PR**" in text and "| telemetry | spike |" in text
    result = json.loads(out.read_text())
    assert result["methods"] == ["tsae", "pca"] and len(result["cases"]) == 2
    assert all(0 <= r["pr"] <= 1 for r in result["rows"])
