"""Check that a model file's hyper-parameters build the network its tensors hold, before building it.

A crafted header can claim any size (a window of 10^6 beside 300 KB of weights) and
a family's constructor allocates what it is told. So the stored hyper-parameters are
checked against the family's declared :class:`~tsae.models.params.Param` types and bounds, then the
network is built on torch's ``meta`` device (shapes only, no memory), with a cap on
how many modules and tensors its constructor may create, and every weight's shape
and kind is compared with the tensor entries of the file. Only a file that passes is
read and built for real.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from tsae.models.container import TensorEntry
from tsae.models.device import float32_default
from tsae.models.fields import ModelFileError, check_int, check_number, check_str
from tsae.models.params import MAX_INT_HPARAM
from tsae.models.rng import kept

#: modules + tensors a constructor may create per tensor stored in the file (plus a margin)
_OBJECTS_PER_TENSOR = 8
_OBJECTS_MARGIN = 256


class _TooManyObjects(Exception):
    """Raised inside a constructor that creates far more modules or tensors than the file stores."""


def check_hparams(path: Path, family: Any, hparams: Mapping[str, Any]) -> None:
    """Check each stored hyper-parameter against the type, bounds and choices of the family's :class:`Param`.

    JSON types are strict here (a file is not a command line): a bool must be a bool (or
    0 or 1), an int an integer within the Param's bounds and ``±MAX_INT_HPARAM``, a float a
    finite number, a string a string and a tuple a list of those; names the family does
    not declare are left to its constructor (which refuses unknown ones).
    """
    from tsae.models.params import FLOATS, INTS

    declared = family.describe_params() if hasattr(family, "describe_params") else {}
    for key, value in hparams.items():
        field = f"hparams.{key}"
        if key in ("channels", "window"):
            check_int(path, field, value, 1, MAX_INT_HPARAM)
            continue
        param = declared.get(key)
        if param is None:
            continue
        kind = param.type
        if kind in (INTS, FLOATS):
            if not isinstance(value, list) or not value:
                raise ModelFileError(path, f"must be a non-empty list, not {str(value)[:40]!r}", field)
            for i, item in enumerate(value):
                _check_scalar(path, f"{field}[{i}]", int if kind is INTS else float, param, item)
        else:
            _check_scalar(path, field, kind, param, value)
        if param.choices is not None and value not in param.choices:
            choices = ", ".join(str(c) for c in param.choices)
            raise ModelFileError(path, f"{str(value)[:40]!r} is not one of {choices}", field)


def _check_scalar(path: Path, field: str, kind: Any, param: Any, value: Any) -> None:
    """One stored value against a scalar Param type and the Param's ``min``/``max``."""
    if kind is bool:
        if value not in (True, False) or isinstance(value, float):  # 0 and 1 pass: the API accepts them
            raise ModelFileError(path, f"must be true or false, not {str(value)[:40]!r}", field)
    elif kind is int:
        low = -MAX_INT_HPARAM if param.min is None else max(-MAX_INT_HPARAM, math.ceil(param.min))
        high = MAX_INT_HPARAM if param.max is None else min(MAX_INT_HPARAM, math.floor(param.max))
        check_int(path, field, value, low, high)
    elif kind is float:
        check_number(path, field, value, -math.inf if param.min is None else param.min,
                     math.inf if param.max is None else param.max)
    else:
        check_str(path, field, value)


@contextmanager
def _object_cap(limit: int) -> Iterator[None]:
    """Abort any module construction in this block once it registers more than ``limit`` modules and tensors."""
    from torch.nn.modules import module

    created = 0

    def count(*_: Any) -> None:
        nonlocal created
        created += 1
        if created > limit:
            raise _TooManyObjects

    handles = [module.register_module_module_registration_hook(count),
               module.register_module_parameter_registration_hook(count),
               module.register_module_buffer_registration_hook(count)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@float32_default()
def build(path: Path, name: str, family: Any, hparams: Mapping[str, Any], n_stored: int, *,
          meta: bool = False) -> Any:
    """Construct ``family(**hparams)``, stopped once it creates far more modules and tensors than ``n_stored``.

    With ``meta`` the network is built on torch's ``meta`` device (shapes only, no
    memory), and None is returned when the family cannot be built there (a constructor
    that computes on its tensors' values): the caller then builds it for real.

    Raises
    ------
    ModelFileError
        The constructor refuses the parameters, or asks for far more layers than the file holds.
    """
    import torch

    try:
        # the initial weights, about to be replaced by the stored ones, must not draw from the caller's generator
        with _object_cap(_OBJECTS_PER_TENSOR * n_stored + _OBJECTS_MARGIN), kept(), \
                (torch.device("meta") if meta else nullcontext()):
            return family(**hparams)
    except _TooManyObjects:
        raise ModelFileError(path, f"the stored parameters of model family {name!r} build a network far larger "
                                   f"than the {n_stored} tensors the file holds") from None
    except Exception as error:  # noqa: BLE001 - a plugin's constructor may raise anything
        if meta:
            return None
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise ModelFileError(path, f"cannot rebuild model family {name!r} from its stored parameters ({first})") \
            from None


def state_plan(model: Any) -> dict[str, tuple[tuple[int, ...], str]]:
    """Each state-dict entry's ``(shape, kind)``, ``kind`` being ``"f"``, ``"b"`` or ``"i"`` as in
    :attr:`TensorEntry.kind`."""
    import torch

    return {key: (tuple(value.shape), "b" if value.dtype == torch.bool else ("f" if value.is_floating_point() else "i"))
            for key, value in model.state_dict().items()}


def check_weights_fit(path: Path, name: str, planned: Mapping[str, tuple[tuple[int, ...], str]],
                      stored: Mapping[str, TensorEntry]) -> None:
    """Refuse stored weights whose names, shapes or kinds differ from the network's, naming the first few."""
    missing = sorted(set(planned) - set(stored))
    unexpected = sorted(set(stored) - set(planned))
    common = sorted(set(planned) & set(stored))
    shapes = [k for k in common if planned[k][0] != stored[k].shape]
    kinds = [k for k in common if k not in shapes and planned[k][1] != stored[k].kind]
    bits = []
    for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes),
                         ("wrong dtype", kinds)):
        if names:
            shown = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
            if label == "wrong shape":
                first = names[0]
                shown += (f"; {first} is {list(stored[first].shape)} in the file, "
                          f"the parameters need {list(planned[first][0])}")
            elif label == "wrong dtype":
                shown += f"; {names[0]} is stored as {stored[names[0]].dtype}"
            bits.append(f"{label}: {shown}")
    if bits:
        raise ModelFileError(path, f"weights do not fit model family {name!r} ({'; '.join(bits)})")


__all__ = ["MAX_INT_HPARAM", "build", "check_hparams", "check_weights_fit", "state_plan"]
