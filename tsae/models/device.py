"""Pick the torch device a model runs on: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``."""
from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch  # imported lazily at run time: `import tsae` must not load torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def device_name(device: Any = "auto") -> str:
    """The name of a device choice, checked without looking for the device: a ValueError for an unknown one.

    ``None`` is ``"auto"``; a :class:`torch.device` is taken as it is. Whether this machine
    has CUDA is :func:`resolve_device`'s to tell, when the device is used: a training
    configuration may be made on one machine for another.

    Examples
    --------
    >>> device_name(" CUDA:1 ")
    'cuda:1'
    >>> device_name("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device 'tpu': unknown device (choose one of auto, cpu, cuda)
    """
    torch_module = sys.modules.get("torch")  # a torch.device exists only once torch is imported
    if torch_module is not None and isinstance(device, torch_module.device):
        return str(device)
    name = "auto" if device is None else str(device).strip().lower()
    if name in DEVICE_CHOICES or re.fullmatch(r"cuda:\d+", name):
        return name
    raise ValueError(f"device {device!r}: unknown device (choose one of {', '.join(DEVICE_CHOICES)})")


def resolve_device(device: Any = "auto") -> torch.device:
    """Return the :class:`torch.device` for a device choice.

    Parameters
    ----------
    device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
        or an existing :class:`torch.device` (returned as is).

    Raises
    ------
    ValueError
        If the name is unknown, or CUDA is asked for on a machine without it.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    import torch

    if isinstance(device, torch.device):
        return device
    name = device_name(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():  # "cuda" or "cuda:N"
        raise ValueError(f"device {device!r}: CUDA is not available on this machine (use 'cpu' or 'auto')")
    return torch.device(name)


def available_memory(device: torch.device) -> int | None:
    """Bytes of memory free for new allocations on ``device`` (Linux's MemAvailable for the CPU, the free GPU
    memory for CUDA), or None where this cannot be told.

    Linux promises more than it has: past this, a process is not refused its memory but killed.
    """
    if device.type == "cuda":
        import torch

        with contextlib.suppress(RuntimeError):
            return int(torch.cuda.mem_get_info(device)[0])
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@contextlib.contextmanager
def torch_threads(n: int | None, *, native: bool = False) -> Iterator[None]:
    """Run torch, and the engine's numba kernels, on ``n`` CPU threads inside the block.

    None or 0 leaves the settings alone. The pipelines' networks are small: one thread
    is faster than several fighting over shared cores, and it keeps a monitor or a batch
    worker on one core. numba is always limited too: its OpenMP layer resets the
    process's OpenMP thread count when a parallel kernel starts, which would silently
    give torch more threads (and results that depend on the machine's core count).
    With ``native``, numpy's BLAS and OpenMP pools (through threadpoolctl, when
    installed) are held to ``n`` threads as well: on small arrays called many times,
    one thread is many times faster than several.
    """
    if not n:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    with _native_threads(int(n), blas=native):
        # after numba: starting numba's OpenMP pool resets the process's OpenMP thread count
        torch.set_num_threads(int(n))
        try:
            yield
        finally:
            torch.set_num_threads(previous)


@contextlib.contextmanager
def _native_threads(n: int, blas: bool) -> Iterator[None]:
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    try:
        with contextlib.ExitStack() as stack:
            if blas:
                with contextlib.suppress(ImportError):
                    from threadpoolctl import threadpool_limits

                    stack.enter_context(threadpool_limits(n))
            yield
    finally:
        numba.set_num_threads(previous)
