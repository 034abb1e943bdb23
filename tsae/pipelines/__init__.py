"""The pipelines, one package each: denoise, anomaly, smooth, reconstruct."""
