"""`tsae compress DATA -o x.tsz --max-error E` without a model, and `tsae decompress` of its container: round trips,
one-line refusals, and neither command imports torch."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from cli_helpers import ROOT, assert_one_line_error, run

from tsae.io.series import read_series


@pytest.fixture()
def table(tmp_path):
    rng = np.random.default_rng(4)
    x = np.cumsum(rng.normal(size=(600, 2)), axis=0)
    path = tmp_path / "s.csv"
    path.write_text("time,a,b\n" + "".join(f"{i},{float(a)!r},{float(b)!r}\n" for i, (a, b) in enumerate(x)))
    return path


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".wav"])
def test_a_round_trip_without_a_model_keeps_the_bound(tmp_path, table, suffix):
    x = read_series(table)[0]
    data = tmp_path / f"s{suffix}"
    if suffix == ".npy":
        np.save(data, x)
    elif suffix == ".wav":
        x = x / (2 * np.abs(x).max())
        sf.write(data, x.T, 8000, subtype="FLOAT")
    else:
        data = table
    packed = run("compress", data, "-o", tmp_path / "s.tsz", "--max-error", "1e-3", "--relative")
    assert packed.exit_code == 0, packed.output
    assert "bits/value" in packed.output
    back = tmp_path / f"back{suffix}"
    result = run("decompress", tmp_path / "s.tsz", "-o", back)
    assert result.exit_code == 0, result.output
    y = read_series(back)[0]
    assert (np.abs(x - y) <= 1e-3 * np.ptp(x, axis=1)[:, None] * (1 + 1e-12)).all()


def test_without_a_model_max_error_is_required(tmp_path, table):
    result = run("compress", table, "-o", tmp_path / "s.tsz")
    assert_one_line_error(result, "compressing without a model needs --max-error")
    result = run("compress", table, "-o", tmp_path / "s.tsz", "--relative")
    assert_one_line_error(result, "compressing without a model needs --max-error")
    result = run("compress", table, "-o", tmp_path / "s.tsz", "--max-error", "0.1", "--latent-step", "0.1")
    assert_one_line_error(result, "--latent-step applies only with a MODEL")
    assert not (tmp_path / "s.tsz").exists()


def test_a_lone_model_file_is_named_as_one(tmp_path):
    (tmp_path / "m.tsae").write_bytes(b"not read")
    result = run("compress", tmp_path / "m.tsae", "-o", tmp_path / "s.tsz", "--max-error", "0.1")
    assert_one_line_error(result, "m.tsae is a model file: give the series to compress after it")
    result = run("compress", "a.csv", "b.csv", "c.csv", "-o", tmp_path / "s.tsz")
    assert_one_line_error(result, "expected [MODEL] DATA (one or two paths), got 3")


def test_a_model_given_to_decompress_a_container_without_one_is_refused(tmp_path, table):
    assert run("compress", table, "-o", tmp_path / "s.tsz", "--max-error", "0.01").exit_code == 0
    (tmp_path / "m.tsae").write_bytes(b"not read")
    result = run("decompress", tmp_path / "s.tsz", "-o", tmp_path / "back.csv", "--model", tmp_path / "m.tsae")
    assert_one_line_error(result, "the container was written without a model")
    assert not (tmp_path / "back.csv").exists()


@pytest.mark.slow  # a fresh process: tsae's imports and the coder's kernels, about 5 s
def test_neither_command_imports_torch(tmp_path, table):
    """Nor what a small model-free job does not use: scipy.linalg (numba's BLAS check, ~0.2 s), tqdm with -q."""
    code = (
        "import sys\n"
        "from tsae.cli import main\n"
        "for args in sys.argv[1:3]:\n"
        "    try:\n"
        "        main(args.split('|'))\n"
        "    except SystemExit as end:\n"
        "        assert not end.code, end.code\n"
        "    print(*(name in sys.modules for name in ('torch', 'scipy.linalg', 'tqdm')), sep=',')\n"
    )
    tsz, back = tmp_path / "s.tsz", tmp_path / "back.csv"
    done = subprocess.run([sys.executable, "-c", code, f"compress|{table}|-o|{tsz}|--max-error|1e-3|-q",
                           f"decompress|{tsz}|-o|{back}|-q"], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False,False,False", "False,False,False"]
    assert back.is_file()
