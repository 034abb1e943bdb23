"""What a small command's start-up avoids: modules it does not use, and the collector's work at exit."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_helpers import ROOT


def _fresh(code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_imports_neither_torch_nor_numpy() -> None:
    code = (
        "import sys\n"
        "from tsae.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(*(name in sys.modules for name in ('torch', 'numpy', 'numba')), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert "Usage: tsae" in done.stdout
    assert done.stderr.split() == ["False", "False", "False"]


def test_numba_target_loads_without_scipy_linalg() -> None:
    """numba's arraymath imports scipy.linalg for its BLAS check; tsae answers the check without that import."""
    code = (
        "import sys\n"
        "from tsae.engine._numba_blas import defer_blas_check\n"
        "defer_blas_check()\n"
        "import numba.np.arraymath as arraymath, numba.np.linalg as linalg\n"
        "print('scipy.linalg' in sys.modules, arraymath._HAVE_BLAS, linalg.ensure_blas.__module__)\n"
    )
    assert _fresh(code).split() == ["False", "True", "numba.np.linalg"]  # numba's own check is back for BLAS kernels


@pytest.mark.slow  # compiles a kernel (not cached): about 2 s
def test_a_blas_kernel_still_compiles_and_runs_after_the_deferred_check() -> None:
    code = (
        "import sys\n"
        "from tsae.engine._numba_blas import defer_blas_check\n"
        "defer_blas_check()\n"
        "import numba, numpy as np\n"
        "f = numba.njit(lambda a, b: (np.dot(a, b), np.vdot(a, b)))\n"
        "print('scipy.linalg' in sys.modules, *f(np.arange(3.0), np.ones(3)), 'scipy.linalg' in sys.modules)\n"
    )
    assert _fresh(code).split() == ["False", "3.0", "3.0", "True"]  # numba's own check ran when dot compiled


def test_a_command_process_collects_rarely_and_not_at_exit() -> None:
    code = (
        "import atexit, gc\n"
        "from tsae.cli.process_gc import YOUNG_THRESHOLD, tune_for_command\n"
        "tune_for_command()\n"
        "print(gc.get_threshold()[0] == YOUNG_THRESHOLD, gc.get_freeze_count() == 0)\n"
        "atexit._run_exitfuncs()\n"  # what the interpreter runs at exit (CPython), before its final collections
        "print(gc.get_freeze_count() > 0)\n"
    )
    assert _fresh(code).split() == ["True", "True", "True"]


def test_a_collection_turned_off_stays_off() -> None:
    code = "import gc\ngc.set_threshold(0)\nfrom tsae.cli.process_gc import tune_for_command\ntune_for_command()\n" \
           "print(gc.get_threshold()[0])"
    assert _fresh(code).split() == ["0"]


def test_only_the_command_s_own_process_is_tuned() -> None:
    """``main()`` (console script, ``python -m tsae``) tunes the collector; ``main(args)`` in a caller's process not."""
    code = (
        "import gc, sys\n"
        "from tsae.cli import main\n"
        "for args in ([['--version']], []):\n"
        "    sys.argv = ['tsae', '--version']\n"
        "    try:\n"
        "        main(*args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    print(gc.get_threshold()[0] > 700)\n"
    )
    assert [word for word in _fresh(code).split() if word in ("True", "False")] == ["False", "True"]
