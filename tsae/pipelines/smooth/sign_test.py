"""The one-sided sign test that decides whether a fill restores hidden stretches of observed samples better than
another more often than chance would: the imputer's wide window (:mod:`~tsae.pipelines.smooth.imputer`) and the
fill from the series' cycle (:mod:`~tsae.pipelines.smooth.seasonal`) are each taken only when it says so."""
from __future__ import annotations

import math

__all__ = ["sign_test"]


def sign_test(wins: int, stretches: int) -> float:
    """The chance of at least ``wins`` wins in ``stretches`` fair coin tosses (a one-sided sign test)."""
    return sum(math.comb(stretches, k) for k in range(wins, stretches + 1)) / 2.0 ** stretches
