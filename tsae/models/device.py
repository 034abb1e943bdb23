"""Pick the torch device a model runs on: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``."""
from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tsae._lazy import if_imported

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
    torch_device = if_imported("torch", "device")  # a torch.device exists only once torch is imported
    if torch_device is not None and isinstance(device, torch_device):
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


def _meminfo(path: str, key: str) -> int | None:
    """The size in bytes that a ``/proc`` status file gives for ``key`` (``MemAvailable:  123 kB``), None if none."""
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def free_memory(device: Any = "cpu") -> int | None:
    """Bytes that can still be allocated on ``device`` (a :class:`torch.device` or its name), None when unknown.

    On the CPU: the memory Linux reports available (free plus reclaimable caches), and
    no more than the address space a ``ulimit -v`` still leaves this process. On CUDA:
    the device's free memory.
    """
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    if kind == "cuda":
        import torch

        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except Exception:  # noqa: BLE001 - no driver, no such device: unknown
            return None
    free = _meminfo("/proc/meminfo", "MemAvailable")
    try:
        import resource
    except ImportError:  # Windows
        return free
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    used = _meminfo(f"/proc/{os.getpid()}/status", "VmSize")
    if limit != resource.RLIM_INFINITY and used is not None:
        free = max(0, limit - used) if free is None else min(free, max(0, limit - used))
    return free


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
    try:
        with _native_threads(int(n), blas=native):
            # after numba: starting numba's OpenMP pool resets the process's OpenMP thread count
            torch.set_num_threads(int(n))
            yield
    finally:
        # after numba's threads are restored, which resets the OpenMP thread count again: torch on 1 thread
        # before a block was on 2 after it (its results depend on the threads: a monitor then scored other bits)
        torch.set_num_threads(previous)


@contextlib.contextmanager
def float32_default() -> Iterator[None]:
    """torch's default dtype float32 inside the block (or the function it decorates), the caller's after it.

    tsae's networks and the tensors they make are float32: built after a caller's
    ``torch.set_default_dtype(torch.float64)`` they got float64 weights that float32 windows do not fit.
    """
    import torch

    previous = torch.get_default_dtype()
    if previous == torch.float32:  # the usual case: nothing set, nothing shared with other threads touched
        yield
        return
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@contextlib.contextmanager
def grad_enabled() -> Iterator[None]:
    """Autograd on inside the block (or the function it decorates), also under a caller's ``torch.no_grad()`` or
    ``torch.inference_mode()``, where building and training a network raised "the training loss does not depend
    on the network's weights"."""
    import torch

    with torch.inference_mode(False), torch.enable_grad():
        yield


@contextlib.contextmanager
def native_threads(n: int) -> Iterator[None]:
    """:func:`torch_threads` without torch: numba's kernels and numpy's BLAS and OpenMP pools held to ``n`` threads
    inside the block (for work that runs no network, and need not import torch).

    The native pools are those loaded at the first call (numpy's, numba's): the scan for them is done once, not at
    each block (about 0.4 ms a call, a tenth of a second over the blocks of a minute of 48 kHz audio).
    """
    with _native_threads(int(n), blas=False):  # numba's threads; the native pools through the controller kept
        controller = _pools()
        with contextlib.nullcontext() if controller is None else controller.limit(limits=int(n)):
            yield


def _pools() -> Any:
    """threadpoolctl's controller of the native thread pools loaded now, or None without threadpoolctl.

    Scanned again whenever modules were imported since the last scan: a pool loads with a module (torch's OpenMP,
    ``scipy.linalg``'s own OpenBLAS, which tsae no longer imports at start-up), and a controller taken before it
    would leave it on every core. A loop that imports nothing new (a fleet's devices, a file's blocks) reuses one.
    """
    return _pools_after(len(sys.modules))


@functools.lru_cache(maxsize=1)
def _pools_after(modules: int) -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def _native_threads(n: int, blas: bool) -> Iterator[None]:
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    try:
        with contextlib.ExitStack() as stack:
            controller = _pools() if blas else None
            if controller is not None:  # scanned for once, not at each call (0.7 ms: a fleet's every device)
                stack.enter_context(controller.limit(limits=n))
            yield
    finally:
        numba.set_num_threads(previous)
