"""Hostile command-line options: every bad value or combination is one line naming the option, exit != 0,
no traceback and no output; a value that is accepted runs correctly."""
from __future__ import annotations

from cli_helpers import assert_one_line_error, run


def test_debug_after_the_command_is_a_usage_error_not_a_traceback(tmp_path) -> None:
    # `--debug` belongs to `tsae`, before the command; given after it, it is an unknown option of that command
    # (it showed click's NoSuchOption traceback: the whole line was searched for --debug)
    result = run("frame", tmp_path / "missing.wav", "--debug")
    assert_one_line_error(result, "No such option '--debug'", "tsae --debug frame")
    assert result.exit_code == 2
