"""Lazy exports for a package ``__init__``: each public name is imported on first use.

The package's type stub (``__init__.pyi`` beside ``__init__.py``) is the single list
of exports: IDEs and type checkers read it as the package's interface, and
:func:`attach_stub` reads its ``from module import name [as alias]`` lines to know
where each name lives. So ``import tsae`` loads neither torch nor numba, yet every
name is visible to static tools, and a name cannot be exported in one place only.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def if_imported(module: str, name: str) -> Any:
    """``module.name`` when ``module`` is imported, else None, without importing it.

    None too while another thread is still importing ``module``: it is in ``sys.modules`` before its body has
    run (``tsae denoise DIR --jobs 4`` failed a file with "partially initialized module 'numpy.ma' has no
    attribute 'MaskedArray'" while a reader thread imported ``numpy.ma``).
    """
    return getattr(sys.modules.get(module), name, None)


def read_stub(stub: Path) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Read a package stub: where each exported name lives, and the stub's ``__all__``.

    Parameters
    ----------
    stub
        Path of the ``.pyi`` file.

    Returns
    -------
    exports : dict
        Each name imported by an absolute ``from module import name [as alias]`` line
        (the alias when there is one), mapped to ``(module, name)``.
    public : list of str
        The stub's ``__all__`` literal, or the imported names when it has none.
    """
    tree = ast.parse(stub.read_text(encoding="utf-8"), filename=str(stub))
    exports: dict[str, tuple[str, str]] = {}
    public: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module not in (None, "__future__"):
            for alias in node.names:
                exports[alias.asname or alias.name] = (str(node.module), alias.name)
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            public = list(ast.literal_eval(node.value))
    return exports, list(exports) if public is None else public


def attach_stub(
    package: str, init_file: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Make the names imported in ``init_file``'s stub lazy attributes of ``package``.

    Use as the last line of a package ``__init__.py``::

        __getattr__, __dir__, __all__ = attach_stub(__name__, __file__)

    Parameters
    ----------
    package
        The package's ``__name__``.
    init_file
        The package's ``__file__``; the stub is the ``.pyi`` file beside it.

    A name the stub does not export but that is a submodule (``tsae.plugins``) is imported
    on first access, as ``import tsae.plugins`` would; ``dir()`` lists the exports only.

    Returns
    -------
    tuple
        The module-level ``__getattr__`` and ``__dir__`` functions, and ``__all__``
        (the stub's; names it lists that are not imported there, such as
        ``__version__``, are defined by the ``__init__`` itself).
    """
    exports, public = read_stub(Path(init_file).with_suffix(".pyi"))
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name not in exports:
            # a submodule, as the docs write them (tsae.plugins.get_pipeline): imported on first use
            submodule = f"{package}.{name}"
            if not name.startswith("_") and importlib.util.find_spec(submodule) is not None:
                return importlib.import_module(submodule)  # the import sets it on the package
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = exports[name]
        value = getattr(importlib.import_module(module), attribute)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(public)

    return __getattr__, __dir__, public
