"""The project standard on the public API: numpy-style docstrings that name every parameter, and full type hints.

The public API is ``tsae.__all__`` and ``tsae.engine.__all__`` (their classes' public methods and properties
included) and the hook specifications of ``tsae/hookspecs.py``, which plugin authors implement.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator

import pytest

import tsae
import tsae.engine
import tsae.hookspecs

_HEADER = re.compile(r"^\s*-{3,}\s*$")


def _own(obj: object) -> bool:
    """Defined in tsae (classes inherit torch's and sklearn's methods, documented there)."""
    return (getattr(obj, "__module__", None) or "").startswith(("tsae.", "tsae_plugins."))


def _public_objects() -> Iterator[tuple[str, object]]:
    seen: set[int] = set()
    for module in (tsae, tsae.engine):
        for name in module.__all__:
            obj = getattr(module, name)
            # __version__ is a string; hookimpl is pluggy's HookimplMarker instance (pluggy documents it)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and _own(obj) and id(obj) not in seen:
                seen.add(id(obj))
                yield f"{module.__name__}.{name}", obj
    for name, obj in vars(tsae.hookspecs).items():
        if inspect.isfunction(obj) and hasattr(obj, "tsae_spec"):
            yield f"tsae.hookspecs.{name}", obj


def _members(qualname: str, cls: type) -> Iterator[tuple[str, object]]:
    """The public methods and properties a class defines or inherits from a tsae class."""
    done: set[str] = set()
    for klass in cls.__mro__:
        if not _own(klass):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in done:
                continue
            done.add(name)
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property) or inspect.isfunction(member):
                yield f"{qualname}.{name}", member


def _targets() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for qualname, obj in _public_objects():
        found.append((qualname, obj))
        if inspect.isclass(obj):
            found.extend(_members(qualname, obj))
    return found


TARGETS = _targets()


def documented_parameters(doc: str | None) -> set[str] | None:
    """The names a numpy-style ``Parameters`` section documents (None: the docstring has no such section).

    An entry is a line at the section's own indentation: ``name : type``, ``name``, or grouped ``a, b : type``;
    ``*args`` and ``**kwargs`` count as ``args`` and ``kwargs``. The section ends at the next section header
    (a line underlined with dashes) or at the end of the docstring.
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    for i in range(len(lines) - 1):
        if lines[i].strip() == "Parameters" and _HEADER.match(lines[i + 1]):
            break
    else:
        return None
    body = lines[i + 2:]
    for j in range(len(body) - 1):
        if body[j].strip() and _HEADER.match(body[j + 1]):
            body = body[:j]
            break
    entries = [line for line in body if line.strip()]
    if not entries:
        return set()
    indent = len(entries[0]) - len(entries[0].lstrip())
    names: set[str] = set()
    for line in entries:
        if len(line) - len(line.lstrip()) == indent:
            head = line.split(" : ", 1)[0].rstrip(":")  # "name:" written without the space is still an entry
            names.update(part.strip().lstrip("*") for part in head.split(","))
    return names


def _signature_names(func: Callable) -> list[str]:
    params = list(inspect.signature(func).parameters.values())
    return [p.name for p in params if p.name not in ("self", "cls")]


def _doc_and_params(obj: object) -> tuple[str | None, list[str], set[str] | None]:
    """The docstring a reader sees, the parameters it must name, and the names its Parameters section holds."""
    if isinstance(obj, property):
        return obj.__doc__, [], documented_parameters(obj.__doc__)
    if inspect.isclass(obj):
        init = obj.__init__
        params = _signature_names(init) if inspect.isfunction(init) and _own(init) else []
        # numpy style documents the constructor in the class docstring; an own __init__ docstring may do it too
        documented = documented_parameters(obj.__doc__)
        if documented is None and "__init__" in vars(obj):
            documented = documented_parameters(init.__doc__)
        return obj.__doc__, params, documented
    assert callable(obj)
    return obj.__doc__, _signature_names(obj), documented_parameters(obj.__doc__)


def test_the_public_api_was_found() -> None:
    names = {qualname for qualname, _ in TARGETS}
    assert {"tsae.Detector", "tsae.Detector.fit", "tsae.denoise", "tsae.engine.Normalizer",
            "tsae.hookspecs.register_models", "tsae.Autoencoder.encode"} <= names
    assert not any(".__" in name or name.rsplit(".", 1)[-1].startswith("_") for name in names)


@pytest.mark.parametrize(("qualname", "obj"), TARGETS, ids=[q for q, _ in TARGETS])
def test_docstring_names_every_parameter_and_no_other(qualname: str, obj: object) -> None:
    doc, params, documented = _doc_and_params(obj)
    assert doc and doc.strip(), f"{qualname} has no docstring"
    if not params:
        assert not documented, f"{qualname} takes no parameters but documents {sorted(documented or ())}"
        return
    assert documented is not None, f"{qualname} has no Parameters section for {params}"
    missing = [name for name in params if name not in documented]
    stale = sorted(documented - set(params))
    assert not missing and not stale, f"{qualname}: undocumented {missing}, documented but not taken {stale}"


FUNCTIONS = [(q, getattr(obj, "fget", obj)) for q, obj in TARGETS if not inspect.isclass(obj)]
FUNCTIONS += [(f"{q}.__init__", obj.__init__) for q, obj in TARGETS
              if inspect.isclass(obj) and "__init__" in vars(obj) and inspect.isfunction(obj.__init__)]


@pytest.mark.parametrize(("qualname", "func"), FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_public_function_is_fully_annotated(qualname: str, func: Callable) -> None:
    signature = inspect.signature(func)
    bare = [p.name for p in signature.parameters.values()
            if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    assert not bare, f"{qualname}: parameters without a type hint {bare}"
    assert signature.return_annotation is not inspect.Signature.empty, f"{qualname} has no return type hint"


@pytest.mark.parametrize(("doc", "names"), [
    ("One line.", None),
    ("Sum.\n\n    Parameters\n    ----------\n    a, b : int\n        Terms.\n    *args\n        More.\n"
     "    **kwargs : dict\n        Options:\n\n        key : value\n\n    Returns\n    -------\n    c : int\n",
     {"a", "b", "args", "kwargs"}),
    ("Sum.\n\nParameters\n----------\nx\n    The input.\n", {"x"}),
    # prose after the entries, without a section header of its own, is an entry to numpydoc too (Notes is the place)
    ("Sum.\n\nParameters\n----------\nx\n    The input.\n\nMore prose.\n", {"x", "More prose."}),
])
def test_the_parameters_section_is_read_as_numpydoc_writes_it(doc: str, names: set[str] | None) -> None:
    assert documented_parameters(doc) == names
