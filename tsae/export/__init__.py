"""ONNX export: any model family's window pass, the streaming denoiser step, a detector's scoring network.

:func:`export_model` writes ``NAME.onnx`` and a JSON sidecar ``NAME.json`` beside it
(what a runner outside tsae needs: inputs and outputs, frame spec, sample rate,
latency, normalisation, and for a detector its threshold and smoothing), both
atomically and together. The graph carries the same JSON, and the family, tsae version,
window, hop and sample rate, as ``tsae.*`` entries of its ``metadata_props``. With
onnxruntime installed the graph is run once on another batch size than it was traced
with and refused unless it reproduces the model. ``python -m tsae.onnx_reference_runner``
runs all three kinds with numpy and onnxruntime only (:mod:`tsae.onnx_reference_runner`, one file).
"""
from __future__ import annotations

from tsae.export.api import ExportResult, export_model, sidecar_path

__all__ = ["ExportResult", "export_model", "sidecar_path"]
