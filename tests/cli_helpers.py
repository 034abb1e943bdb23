"""Running the CLI in a test and checking its one-line errors (importable by bare name: pytest puts tests/, the
folder of tests/conftest.py, on sys.path)."""
from __future__ import annotations

from click.testing import CliRunner, Result

from tsae.cli import cli


def run(*args: object) -> Result:
    """``tsae ARGS...`` in-process, each argument as text."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """The command failed with one line, no traceback, holding every fragment."""
    assert result.exit_code != 0
    text = result.output.strip()
    assert text.count("\n") == 0 and "Traceback" not in text, text
    for fragment in fragments:
        assert fragment in text, text
