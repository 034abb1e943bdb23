"""Every script whose docstring has a usage section names each of its long options there.

Read statically (``ast``), so no script is imported or run: a user reading a script's docstring sees every
option ``--help`` would list.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def long_options(tree: ast.Module) -> set[str]:
    """The ``--name`` strings given to any ``add_argument`` call in the module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            names.update(arg.value for arg in node.args
                         if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("--"))
    return names


def scripts_with_usage() -> list[Path]:
    return [path for path in sorted(SCRIPTS.glob("*.py"))
            if "Usage" in (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "")]


def test_there_are_scripts_with_usage_sections() -> None:
    assert len(scripts_with_usage()) >= 20


@pytest.mark.parametrize("path", scripts_with_usage(), ids=lambda path: path.stem)
def test_usage_names_every_long_option(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree) or ""
    missing = sorted(option for option in long_options(tree) if option not in docstring)
    assert not missing, f"{path.name}: its docstring does not name {missing}"


def test_a_missing_option_is_found() -> None:
    tree = ast.parse('"""Usage: ``x.py [--a]``"""\nimport argparse\np = argparse.ArgumentParser()\n'
                     'p.add_argument("--a")\np.add_argument("-b", "--bee")\n')
    docstring = ast.get_docstring(tree) or ""
    assert sorted(option for option in long_options(tree) if option not in docstring) == ["--bee"]
