"""A command that writes a plot says where, as it does for its other outputs, and keeps quiet under -q."""
from __future__ import annotations

from click.testing import CliRunner

from tsae.cli import cli


def test_detect_score_says_where_it_wrote_the_plot(tmp_path, trained) -> None:
    # before: the scores' line alone; the plot was written without a word (tsae encode --plot says 'wrote PATH')
    src, _, det = trained
    scores, plot = tmp_path / "scores.csv", tmp_path / "scores.png"
    args = ["detect", "score", str(src), "--detector", str(det), "-o", str(scores), "--plot", str(plot)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert result.stdout == "" and lines[-1] == f"wrote {plot}" and plot.stat().st_size > 0
    assert lines[-2].startswith(f"{scores}: 600 rows")
    quiet = CliRunner().invoke(cli, [*args[:-3], str(tmp_path / "q.csv"), "--plot", str(tmp_path / "q.png"), "-q"])
    assert quiet.exit_code == 0 and quiet.output == "" and (tmp_path / "q.png").exists()
