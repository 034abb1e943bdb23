"""Pick the torch device a model runs on: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch  # imported lazily at run time: `import tsae` must not load torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


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
    name = "auto" if device is None else str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: CUDA is not available on this machine (use 'cpu' or 'auto')")
        return torch.device(name)
    raise ValueError(f"device {device!r}: unknown device (choose one of {', '.join(DEVICE_CHOICES)})")


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
