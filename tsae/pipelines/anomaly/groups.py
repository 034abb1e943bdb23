"""The samples of many devices in one series (a fleet's long-format table): which device each sample is of.

``groups`` names each sample's device, as scikit-learn's ``groups`` of ``GroupKFold`` does: an array of labels
``(n_samples,)``, or, for a DataFrame, the name of the column(s) that hold them (``"host"``), as pandas'
``groupby("host")``. A device's samples are its series, in the order given; the devices come in the order each
first appears.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tsae._warning_filters import ignored, recorded


def group_columns(group_by: str | Sequence[str] | None, *, what: str = "column", name: str = "group_by"
                  ) -> tuple[str, ...]:
    """``group_by`` as a tuple of the names of the columns that name the devices: a name alone as one, each
    stripped, once; a ValueError when it names none (the argument's ``name``, and ``what`` it names: columns, or a
    stream's tags). The one place ``group_by`` is normalised (``detect score``/``fit``, the monitor's devices,
    ``groups=`` naming a DataFrame's columns).

    Examples
    --------
    >>> group_columns("host"), group_columns(["host", " line", "host"]), group_columns(None)
    (('host',), ('host', 'line'), ())
    """
    if group_by is None:
        return ()
    names = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    if not names or not all(isinstance(one, str) and one.strip() for one in names):
        raise ValueError(f"{name} must name one {what} or more (such as 'host'), got {group_by!r}")
    return tuple(dict.fromkeys(one.strip() for one in names))


def device_labels(X: Any, groups: Any) -> tuple[Any, np.ndarray]:
    """``(X without the device columns, each sample's device label)``.

    ``groups`` is an array of labels, one per sample (X unchanged), or the name(s) of columns of a DataFrame ``X``
    (taken out of it: no sensors).

    Raises
    ------
    ValueError
        A column name ``X`` lacks, or labels not one per sample (named in the message).
    """
    named = isinstance(groups, str) or (isinstance(groups, (tuple, list)) and bool(groups) and all(
        isinstance(g, str) for g in groups) and hasattr(X, "columns"))  # else a label per sample
    if named:
        if not hasattr(X, "columns"):
            raise ValueError(f"groups={groups!r} names a column: X must be a DataFrame (else pass a label per sample)")
        names = group_columns(groups, name="groups")
        missing = [name for name in names if name not in X.columns]
        if missing:
            raise ValueError(f"groups: no column {', '.join(map(repr, missing))} in X (columns: "
                             f"{', '.join(map(str, list(X.columns)[:10]))})")
        labels = np.array(["\x1f".join(map(str, row)) for row in zip(*(X[name] for name in names), strict=True)])
        return X.drop(columns=list(names)), labels
    labels = np.asarray(groups)
    if labels.ndim != 1:
        raise ValueError(f"groups must hold one label per sample (1-D), got shape {labels.shape}")
    return X, labels


def group_order(labels: np.ndarray, n: int) -> tuple[np.ndarray, list[int], list[Any]]:
    """``(order, breaks, devices)``: the sample indices device by device (each device's in the order given, the
    devices in the order each first appears), where each device after the first begins in that order, and the
    devices' labels.

    Examples
    --------
    >>> order, breaks, devices = group_order(np.array(["a", "b", "a", "b", "b"]), 5)
    >>> order.tolist(), breaks, [str(d) for d in devices]
    ([0, 2, 1, 3, 4], [2], ['a', 'b'])
    """
    if len(labels) != n:
        raise ValueError(f"groups holds {len(labels)} label(s) for {n} sample(s): one per sample")
    uniques, first, codes = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniques))  # devices in order of first appearance
    device_of = rank[codes.reshape(-1)]
    order = np.argsort(device_of, kind="stable")
    counts = np.bincount(device_of, minlength=len(uniques))
    breaks = np.cumsum(counts)[:-1].tolist()
    devices = [uniques[i] for i in np.argsort(first, kind="stable")]
    return order, [int(b) for b in breaks], devices


@contextlib.contextmanager
def row_order_within_devices(X: Any, labels: np.ndarray) -> Iterator[None]:
    """Within the block, a DataFrame's index is judged device by device, not as a whole.

    A fleet's rows interleave, so the whole index repeats and goes back at every device change; the warning that a
    single series' index is out of order would be said of every fleet. It is said of the first device whose own
    index goes back or repeats (named), as ``tsae detect score --group-by`` judges each device's time column.
    """
    from tsae.engine.layout import _warn_row_order

    if getattr(X, "index", None) is not None and hasattr(X, "iloc") and len(labels) == len(X.index):
        order, breaks, devices = group_order(labels, len(labels))
        for rows, label in zip(np.split(order, breaks), devices, strict=True):
            with recorded() as said:
                _warn_row_order(type(X)(index=X.index[rows]), "X", f" (device {label})")  # reads the index alone
            if said:
                warnings.warn(said[0].message, said[0].category, stacklevel=3)
                break
    with ignored(message=r"X: the DataFrame's index is not in increasing order"):
        yield


def in_order(values: Any, order: np.ndarray) -> Any:
    """``values`` (one per sample, or None) in ``order``."""
    if values is None:
        return None
    return np.asarray(values)[order]


__all__ = ["device_labels", "group_columns", "group_order", "in_order", "row_order_within_devices"]
