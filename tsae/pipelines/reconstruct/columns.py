"""A table's columns matched to the columns a model was trained on, by name.

A table given to a trained model (``tsae encode``, ``tsae reconstruct``, ``tsae smooth
--model``, ``tsae impute --model``) with the model's columns in another order goes through
the model in the model's order and comes back in its own. A table whose column names are
not the model's is refused, as scikit-learn refuses feature names other than those seen in
``fit``: one line naming the model's columns it lacks and the columns the model does not
know (an extra column is refused too, as its channel count always was). Channels without
names go by position, as the channel count alone can tell: an array, audio, a table without
a header (its channels are called ``ch0``, ``ch1`` ...), a DataFrame with labels that are
not strings (``0``, ``1`` ...), and any table given to a model trained on such channels. A
pandas DataFrame given to :func:`tsae.reconstruct`, :func:`tsae.encode`, or :func:`tsae.smooth`
and :func:`tsae.impute` with a model, is such a table.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsae.io.table_columns import row_numbers_hint

#: the names a reader makes up for channels that have none: ``ch0``, ``ch1`` ... (a table without a header, an
#: array, audio), ``column2`` (a blank header cell), ``0``, ``1`` ... (a DataFrame's default labels, as a model
#: trained on one stores them)
_PLACEHOLDER = re.compile(r"ch\d+|column\d+_*|\d+")


def has_names(columns: Sequence[str]) -> bool:
    """Whether ``columns`` name their channels: at least one is not a name a reader makes up (:data:`_PLACEHOLDER`)."""
    return any(not _PLACEHOLDER.fullmatch(str(c)) for c in columns)


def trained_columns(loaded: Any) -> list[str] | None:
    """The column names the model was trained on (``extra["columns"]``), None when it stores none."""
    trained = (getattr(loaded, "extra", None) or {}).get("columns")
    return [str(c) for c in trained] if isinstance(trained, list) else None


def _listed(names: Sequence[str], most: int = 5) -> str:
    """``'a', 'b'`` for the first ``most`` names, ``and N more`` after them."""
    text = ", ".join(repr(n)[:60] for n in names[:most])
    return text + (f" and {len(names) - most} more" if len(names) > most else "")


def _mismatch(columns: list[str], trained: list[str], loaded: Any, source: str | None) -> ValueError:
    """One line naming the input, the model's columns it lacks and the columns the model does not know."""
    missing = [c for c in trained if c not in columns]
    unknown = [c for c in dict.fromkeys(columns) if c not in trained]
    twice = [c for c in dict.fromkeys(columns) if columns.count(c) > 1]
    parts = ([f"the model's column(s) {_listed(missing)} missing"] if missing else []) + (
        [f"column(s) {_listed(unknown)} unknown to the model"] if unknown else []) + (
        [f"column(s) {_listed(twice)} given more than once"] if twice else [])
    model = f" ({loaded.path})" if getattr(loaded, "path", None) else ""
    where = f"{source}: its" if source else "the table's"
    return ValueError(f"{where} columns are not those the model{model} was trained on ({'; '.join(parts)}); "
                      f"a table is matched to its model by column name{row_numbers_hint(missing)}")


def check_channels(input: str | os.PathLike, channels: int, loaded: Any, samples: int | None = None) -> None:
    """One line naming the file and the model when the file's channel count is not the model's (with what to do
    about a ``.npy`` file of more channels than ``samples``: a transposed array).

    The rule of every command that runs a series file through a trained model (reconstruct, encode, compress).
    """
    if channels != loaded.channels:
        from tsae.io.series import transposed_hint

        model = f" ({loaded.path})" if getattr(loaded, "path", None) else ""
        hint = "" if samples is None else transposed_hint(input, channels, samples)
        raise ValueError(f"{input}: has {channels} channel(s) but the model was trained on {loaded.channels}{model}"
                         f"{hint}")


def model_permutation(columns: list[str] | None, loaded: Any, source: str | None = None, *,
                      named: bool = True) -> list[int] | None:
    """Indices of a table's columns in the order of the columns the model was trained on, or None to keep them.

    A table with the model's columns in another order is reordered. Columns without names
    (``named`` False, or only names a reader makes up: :func:`has_names`), or a model that
    stores none, keep their order: by position. Any other table is a ``ValueError`` naming
    ``source`` (the input), the model's columns it lacks and the columns the model does not know.
    """
    trained = None if loaded is None else trained_columns(loaded)
    if columns is None or trained is None or columns == trained:
        return None
    if len(set(columns)) == len(columns) and sorted(columns) == sorted(trained):
        return [columns.index(c) for c in trained]
    if not named or not has_names(columns) or not has_names(trained):
        return None  # channels without names, or a model trained on such channels: by position
    raise _mismatch(columns, trained, loaded, source)


def in_model_order(values: np.ndarray, columns: list[str] | None, loaded: Any, source: str | None = None,
                   ) -> tuple[np.ndarray, list[str] | None, list[int] | None]:
    """A table's channels and column names in the order of the columns the model was trained on, and the
    permutation (:func:`model_permutation`; None: kept as they are) that :func:`in_input_order` undoes.

    ``loaded`` None (no trained model) keeps them as they are. Columns other than the model's
    are a ``ValueError`` naming ``source`` (the file read).
    """
    perm = None if loaded is None else model_permutation(columns, loaded, source)
    if perm is None or columns is None:
        return values, columns, None
    return values[perm], [columns[i] for i in perm], perm


def frame_in_model_order(values: Any, loaded: Any) -> tuple[Any, list[int] | None]:
    """A pandas DataFrame with the model's columns in another order, its columns put in the model's order, and the
    permutation (:func:`model_permutation`) that :func:`in_input_order` undoes.

    Anything else (an array, a DataFrame already in order or whose labels are not all strings) comes back as it
    is, with None; a DataFrame of other column names is a ``ValueError`` naming them.
    """
    columns = getattr(values, "columns", None)
    if columns is None or getattr(values, "ndim", None) != 2 or not hasattr(values, "iloc"):
        return values, None
    labels = list(columns)
    perm = model_permutation([str(c) for c in labels], loaded, named=all(isinstance(c, str) for c in labels))
    return (values, None) if perm is None else (values.iloc[:, perm], perm)


def loaded_in_model_order(values: Any, model: Any, device: Any = None) -> tuple[Any, list[int] | None, Any]:
    """:func:`frame_in_model_order` for a function given a model file or a loaded model (or None): ``(values, the
    permutation, the model loaded)``, the model loaded only when ``values`` is a DataFrame (as it would be anyway)."""
    if model is None or not hasattr(values, "iloc"):
        return values, None, model
    from tsae.models.modelfile import as_loaded

    loaded = as_loaded(model, device)
    values, perm = frame_in_model_order(values, loaded)
    return values, perm, loaded


def source_in_model_order(source: Any, loaded: Any, input: str | os.PathLike,
                          done: str) -> tuple[list[str] | None, list[int] | None]:
    """The column names of a long table read in blocks (:class:`~tsae.io.table_blocks.TableSource`) and the
    permutation of them to the model's order (:func:`in_model_order`), its time order told as for a table read
    whole (``done``: what the job does to its rows, "encoded"); ``(None, None)`` for audio or ``.npy`` (channels go
    by position)."""
    from tsae.errors import table_columns
    from tsae.io.table_blocks import TableSource
    from tsae.io.time_order import warn_time_order

    if not isinstance(source, TableSource):
        return None, None
    warn_time_order(input, source.time, source.time_name, done)
    _, names, perm = in_model_order(np.empty((source.channels, 0)), table_columns(source.meta), loaded, str(input))
    return names, perm


def in_input_order(result: np.ndarray, perm: list[int] | None) -> np.ndarray:
    """Channels made in the model's column order (``perm`` from :func:`model_permutation`), back in the table's own
    order."""
    return result if perm is None else result[np.argsort(perm)]


__all__ = ["frame_in_model_order", "has_names", "in_input_order", "in_model_order", "loaded_in_model_order",
           "model_permutation", "trained_columns"]
