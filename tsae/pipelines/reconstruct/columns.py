"""A table's columns matched to the columns a model was trained on, by name.

A table given to a trained model (``tsae encode``, ``tsae reconstruct``, ``tsae smooth
--model``, ``tsae impute --model``) with the model's columns in another order goes through
the model in the model's order and comes back in its own; a table with other column names,
an array or audio is taken by position, as the channel count alone can tell. A pandas
DataFrame given to :func:`tsae.reconstruct`, :func:`tsae.encode`, or :func:`tsae.smooth` and
:func:`tsae.impute` with a model, is such a table.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def model_permutation(columns: list[str] | None, loaded: Any) -> list[int] | None:
    """Indices of a table's columns in the order of the columns the model was trained on, or None to keep them.

    Only a table with the same columns in another order is reordered; a table with other
    column names (or an array, or audio) is taken by position.
    """
    trained = (loaded.extra or {}).get("columns")
    if columns is None or not isinstance(trained, list) or columns == trained:
        return None
    order = [str(c) for c in trained]
    if len(set(columns)) != len(columns) or sorted(columns) != sorted(order):
        return None
    return [columns.index(c) for c in order]


def in_model_order(values: np.ndarray, columns: list[str] | None,
                   loaded: Any) -> tuple[np.ndarray, list[str] | None, list[int] | None]:
    """A table's channels and column names in the order of the columns the model was trained on, and the
    permutation (:func:`model_permutation`; None: kept as they are) that :func:`in_input_order` undoes.

    ``loaded`` None (no trained model) keeps them as they are.
    """
    perm = None if loaded is None else model_permutation(columns, loaded)
    if perm is None or columns is None:
        return values, columns, None
    return values[perm], [columns[i] for i in perm], perm


def frame_in_model_order(values: Any, loaded: Any) -> tuple[Any, list[int] | None]:
    """A pandas DataFrame with the model's columns in another order, its columns put in the model's order, and the
    permutation (:func:`model_permutation`) that :func:`in_input_order` undoes.

    Anything else (an array, a DataFrame of other column names or already in order) comes back as it is, with None.
    """
    columns = getattr(values, "columns", None)
    if columns is None or getattr(values, "ndim", None) != 2 or not hasattr(values, "iloc"):
        return values, None
    perm = model_permutation([str(c) for c in columns], loaded)
    return (values, None) if perm is None else (values.iloc[:, perm], perm)


def loaded_in_model_order(values: Any, model: Any, device: Any = None) -> tuple[Any, list[int] | None, Any]:
    """:func:`frame_in_model_order` for a function given a model file or a loaded model (or None): ``(values, the
    permutation, the model loaded)``, the model loaded only when ``values`` is a DataFrame (as it would be anyway)."""
    if model is None or not hasattr(values, "iloc"):
        return values, None, model
    from tsae.pipelines.reconstruct.series import _loaded  # series imports this module

    loaded = _loaded(model, device)
    values, perm = frame_in_model_order(values, loaded)
    return values, perm, loaded


def in_input_order(result: np.ndarray, perm: list[int] | None) -> np.ndarray:
    """Channels made in the model's column order (``perm`` from :func:`model_permutation`), back in the table's own
    order."""
    return result if perm is None else result[np.argsort(perm)]


__all__ = ["frame_in_model_order", "in_input_order", "in_model_order", "loaded_in_model_order", "model_permutation"]
