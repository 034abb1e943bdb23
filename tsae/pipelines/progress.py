"""The progress bar of a long series job: samples per channel done, on stderr (tqdm, imported when used)."""
from __future__ import annotations

from typing import Any


def sample_bar(total: int | None, desc: str, show: bool, *, leave: bool = True) -> Any:
    """A tqdm bar counting samples (``bar.update(m)``), shown only with ``show``; ``total`` None: a counter.

    Examples
    --------
    >>> with sample_bar(10, "score", False) as bar:
    ...     bar.update(10)
    """
    from tqdm import tqdm

    return tqdm(total=total, unit="sample", unit_scale=True, desc=desc, disable=not show, leave=leave)


__all__ = ["sample_bar"]
