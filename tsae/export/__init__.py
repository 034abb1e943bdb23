"""ONNX export: any model family's window pass, the streaming denoiser step, a detector's scoring network.

:func:`export_model` writes ``NAME.onnx`` and a JSON sidecar ``NAME.json`` beside it
(what a runner outside tsae needs: inputs and outputs, frame spec, sample rate,
latency, normalisation, and for a detector its threshold and smoothing), both
atomically. ``scripts/onnx_reference_runner.py`` runs all three kinds with numpy and
onnxruntime only.
"""
from __future__ import annotations

from tsae.export.api import ExportResult, export_model, sidecar_path

__all__ = ["ExportResult", "export_model", "sidecar_path"]
