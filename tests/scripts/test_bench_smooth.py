"""scripts/bench_smooth.py: the generated series and the classic methods it times tsae against."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from script_modules import load_script

bs = load_script("bench_smooth")


def test_the_series_hides_about_five_percent_in_runs_and_the_classic_fills_leave_no_gap() -> None:
    truth, noisy, gaps = bs.make_series(3, 20_000, seed=1)
    missing = np.isnan(gaps)
    assert truth.shape == noisy.shape == gaps.shape == (3, 20_000)
    assert np.isfinite(truth).all() and np.array_equal(gaps[~missing], noisy[~missing])
    assert 0.03 < missing.mean() < 0.06
    starts = missing[:, 1:] & ~missing[:, :-1]
    assert missing.sum() > 5 * starts.sum()  # runs, not lone samples
    for fill in (bs.pandas_linear, bs.scipy_spline):
        filled = fill(gaps)
        assert not np.isnan(filled).any() and np.array_equal(filled[~missing], gaps[~missing])
    assert bs.rmse(bs.scipy_savgol(noisy), truth) < bs.rmse(noisy, truth)


def test_run_cli_runs_the_given_tree_and_measures_its_own_peak(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The tsae of ``root`` runs even from another checkout (``-c`` puts the working directory first), and the peak
    is the child's own: it holds 200 MB, and a parent holding more does not raise it."""
    package = tmp_path / "tree" / "tsae"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import sys\nimport numpy as np\nheld = np.ones(25 * 2**20)\n"
        "open(sys.argv[2], 'w').write(__file__)\n")
    here = tmp_path / "elsewhere"
    (here / "tsae").mkdir(parents=True)
    (here / "tsae" / "__init__.py").write_text("raise SystemExit('the working directory ran')")
    monkeypatch.chdir(here)
    ballast = np.ones(50 * 2**20)  # 400 MB in the parent, which ru_maxrss would report for the child
    cpu, wall, peak = bs.run_cli(["job", str(tmp_path / "ran")], tmp_path / "tree")
    assert (tmp_path / "ran").read_text() == str(package / "__main__.py")
    assert 200 <= peak < 200 + ballast.nbytes / 2**20
    assert cpu >= 0 and wall > 0
