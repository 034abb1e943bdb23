"""Stdout that cannot be written (``> /dev/full``, a full disk) or is closed (``>&-``): every command ends with one
line naming stdout and a non-zero status, never a traceback, never a status 0 with its output lost."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import tsae_process

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")


def _to_dev_full(*args: object, stdin: object = subprocess.DEVNULL) -> tuple[int, str]:
    with open("/dev/full", "wb") as full:
        process = tsae_process(*args, stdin=stdin, stdout=full, text=True)
        _, err = process.communicate(timeout=120)
    return process.returncode, err


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("smooth", "--help"), ("detect", "fit", "--help"),
                                  ("models",), ("plugins", "--json"), ("models", "conv1d")])
def test_what_only_prints_tells_a_stdout_that_cannot_be_written_in_one_line(args) -> None:
    # before: --help and --version ended in a traceback (OSError from click's echo, outside the command), the listing
    # commands and a command's --help in "Error: [Errno 28] No space left on device", which names nothing
    code, err = _to_dev_full(*args)
    assert code == 1 and err == "Error: stdout: cannot write it (No space left on device)\n", err


def test_monitor_tells_a_stdout_that_refused_its_summary(trained) -> None:
    # before: with no event before the end, the summary was the only record, its failure swallowed: status 0
    table, _, detector = trained
    with open(table, "rb") as stdin:
        code, err = _to_dev_full("monitor", "--detector", detector, "--format", "csv", "-q", stdin=stdin)
    assert code == 1 and err == "Error: stdout: cannot write it (No space left on device)\n", err


def test_denoise_to_a_closed_stdout_is_a_usage_error_as_for_the_other_commands(tmp_path) -> None:
    import os

    (tmp_path / "a.wav").write_bytes(b"")  # there (a missing input is the usage error told first); never read
    process = tsae_process("denoise", tmp_path / "a.wav", "-o", "-", text=True, stdout=subprocess.DEVNULL,
                           preexec_fn=lambda: os.close(1))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "'-' writes audio to stdout, which is closed here" in err, err
    assert err.count("\n") == 1


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("models",), ("plugins", "--json"),
                                  ("smooth", "--help"), ()])
def test_what_only_prints_to_a_closed_stdout_is_an_error(args) -> None:
    # before: status 0, and the help or the listing went nowhere (`cat --help >&-` fails with a write error)
    import os

    process = tsae_process(*args, text=True, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and err.startswith("Error: stdout is closed: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(("closed", "said"), [(1, "stdout is closed here"), (0, "stdin is closed here")])
def test_monitor_with_its_stdout_or_stdin_closed_is_a_usage_error_as_for_the_other_commands(trained, closed,
                                                                                          said) -> None:
    # before: status 1 (the library's ValueError), where `tsae smooth - >&-` and `tsae denoise -o - >&-` exit 2
    import os

    table, _, detector = trained
    with open(table, "rb") as stdin:
        process = tsae_process("monitor", "--detector", detector, text=True, stdin=stdin, stdout=subprocess.DEVNULL,
                               preexec_fn=lambda: os.close(closed))
        _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and err.startswith(f"Error: {said}") and err.count("\n") == 1, err


@pytest.mark.parametrize("target", ["table", "detector"])
def test_monitor_with_stdout_appending_to_what_it_reads_is_refused(trained, tmp_path, target) -> None:
    # before: `tsae monitor --detector d.tsae < x.csv >> x.csv` wrote its records into the table it read, and
    # `... >> d.tsae` appended them to the detector file, which no command could load after
    table, detector = tmp_path / "x.csv", tmp_path / "d.tsae"
    table.write_bytes(trained[0].read_bytes())
    detector.write_bytes(trained[2].read_bytes())
    appended = table if target == "table" else detector
    before = appended.read_bytes()
    with open(table, "rb") as stdin, open(appended, "ab") as stdout:
        process = tsae_process("monitor", "--detector", detector, "-q", text=True, stdin=stdin, stdout=stdout)
        _, err = process.communicate(timeout=60)
    said = "stdin: refusing to overwrite the input file (stdout goes to the file stdin reads)" if target == "table" \
        else f"{detector}: refusing to overwrite the input file (stdout goes to it)"
    assert process.returncode == 1 and err == f"Error: {said}\n", err
    assert appended.read_bytes() == before


def test_monitor_whose_reader_has_gone_ends_quietly_with_status_0(trained) -> None:
    # `tsae monitor ... | head -c0`: as `tsae models | head`, the reader took what it wanted; not an error
    import os

    table, _, detector = trained
    reader, writer = os.pipe()
    os.close(reader)
    try:
        with open(table, "rb") as stdin:
            process = tsae_process("monitor", "--detector", detector, "--every-sample", "-q", text=True, stdin=stdin,
                                   stdout=writer)
            _, err = process.communicate(timeout=60)
    finally:
        os.close(writer)
    assert (process.returncode, err) == (0, "")
