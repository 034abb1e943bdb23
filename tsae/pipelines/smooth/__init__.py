"""Smoothing and gap filling of series, as arrays or files."""
from tsae.pipelines.smooth.smoother import impute, impute_file, noise_sigma, smooth, smooth_file

__all__ = ["impute", "impute_file", "noise_sigma", "smooth", "smooth_file"]
