"""scripts/eval_anomaly.py's summary table (no data: a made-up summary)."""
from __future__ import annotations

from types import ModuleType

import pytest
from script_modules import load_script


@pytest.fixture
def ea(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.setenv(var, "1")  # the script sets them on import; this process gets its own back
    return load_script("eval_anomaly")


def test_the_seconds_cell_says_tsae_is_slower_when_it_is(ea: ModuleType) -> None:
    """tsae 1.5 s beside an anchor's 0.3 s read '4.7x fastest' (on --set heldout --series valve2): as if tsae
    were the faster one. The cell is tsae's seconds over the fastest anchor's."""
    measures = {key: 0.5 for key, _ in ea.MEASURES}
    summary = {"tsae": {**measures, "series": 4, "failed": 0, "seconds": 1.5},
               "pca": {**measures, "series": 4, "failed": 0, "seconds": 0.3}}
    lead = next(line for line in ea.markdown("t", summary).splitlines() if line.startswith("| tsae lead"))
    assert lead.endswith("| 5.0x the fastest anchor's |")
    assert "x fastest" not in lead


def test_a_series_not_in_the_set_is_told_not_measured_as_none(ea: ModuleType, capsys,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``--set heldout --series <a dev series>`` printed '0 series measured' and empty tables without saying why."""
    if not (ea.DEV_DATA / "manifest.csv").is_file():
        pytest.skip(f"the development series are not at {ea.DEV_DATA} (../shared, absent on a user's machine)")
    monkeypatch.setattr(ea, "tsb_ad", lambda: None)  # the set is told before any method (or TSB-AD) is needed
    assert ea.main(["--set", "dev", "--series", "valve2", "--only", "pca", "-q"]) == 2
    err = capsys.readouterr().err
    assert "no series of the dev set has 'valve2' in its name" in err and "--set heldout" in err
