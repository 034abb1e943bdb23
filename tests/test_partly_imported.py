"""A module another thread is still importing is in ``sys.modules`` before its body has run. The checks that look
there so as not to import a module (numpy.ma, torch, tsae.models.base) must take such a one as not imported yet.

``tsae denoise DIR -o OUT --batch 1 --jobs 4`` failed a file in about one run of ten with "partially initialized
module 'numpy.ma' has no attribute 'MaskedArray' (most likely due to a circular import)": one thread's reader
imported numpy.ma while another's denoiser checked its chunk for a masked array.
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from tsae.engine.layout import real_array
from tsae.models.device import device_name
from tsae.plugins import _refuse_a_family


def _being_imported(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setitem(sys.modules, name, types.ModuleType(name))  # its body not run yet: no attributes


def test_a_chunk_is_read_while_numpy_ma_is_being_imported(monkeypatch) -> None:
    _being_imported(monkeypatch, "numpy.ma")
    np.testing.assert_array_equal(real_array([[0.5, 1.0]], "chunk", np.float32), np.array([[0.5, 1.0]], np.float32))


def test_a_masked_array_is_still_read_as_missing_values() -> None:
    x = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    np.testing.assert_array_equal(real_array(x), [1.0, np.nan, 3.0])


def test_a_device_is_named_while_torch_is_being_imported(monkeypatch) -> None:
    _being_imported(monkeypatch, "torch")
    assert device_name("cpu") == "cpu"


def test_a_plugin_is_registered_while_the_model_base_is_being_imported(monkeypatch) -> None:
    _being_imported(monkeypatch, "tsae.models.base")
    assert _refuse_a_family(types.SimpleNamespace()) is None
