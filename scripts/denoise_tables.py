"""Pure helpers of scripts/eval_denoise.py: noise categories, group means and markdown tables."""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

NOISY = "noisy input"
DFN = "DeepFilterNet3"
NOISE_SOURCES = ("blanket", "blankie", "speechcommands", "moodist", "pixabay", "synthetic")


def noise_category(name: str) -> str:
    """The kind of noise a noise file holds, from its name: source prefix and numbering removed.

    >>> noise_category("blanket_coffee_shop.wav"), noise_category("babble_librispeech_train_03.wav")
    ('coffee shop', 'babble')
    """
    stem = Path(name).stem.lower()
    if stem.startswith("babble"):
        return "babble"
    head, _, rest = stem.partition("_")
    if head in NOISE_SOURCES and rest:
        stem = rest
    stem = re.sub(r"[_\- ]*\d+$", "", stem)
    return re.sub(r"[_\-]+", " ", stem).strip() or Path(name).stem


def print_table(title: str, columns: Sequence[str], rows: dict[str, list[float]], fmt: str,
                signed: Collection[str] = ()) -> None:
    """A markdown table: one row per method, rows in ``signed`` with a sign, NaN cells (empty group) as '-'."""
    print(f"| {title} | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, vals in rows.items():
        f = fmt.replace("{:", "{:+") if name in signed else fmt
        print(f"| {name} | " + " | ".join("-" if np.isnan(v) else f.format(v) for v in vals) + " |")
    print()


def group_means(values: np.ndarray, keys: Sequence, groups: Sequence) -> list[float]:
    """Mean of ``values`` over the items whose key is in each group (a group is a key or a set of keys)."""
    keys_arr = np.asarray(keys, dtype=object)
    out = []
    for g in groups:
        mask = np.isin(keys_arr, list(g) if isinstance(g, (set, frozenset)) else [g])
        out.append(float(values[mask].mean()) if mask.any() else float("nan"))
    return out


def with_differences(rows: dict[str, list[float]], tsae: Sequence[str]) -> dict[str, list[float]]:
    """``rows`` plus, per tsae model, its difference to DeepFilterNet3 and to the best anchor per column."""
    anchors = [n for n in rows if n != NOISY and n not in tsae]
    if not anchors:
        return rows
    out = dict(rows)
    best = np.nanmax([rows[a] for a in anchors], axis=0)
    for t in tsae:
        if DFN in rows:
            out[f"{t} - {DFN}"] = list(np.array(rows[t]) - np.array(rows[DFN]))
        out[f"{t} - best anchor"] = list(np.array(rows[t]) - best)
    return out
