"""Smoothing and gap filling of series, as arrays or files."""
from tsae.pipelines.smooth.files import impute_file, smooth_file
from tsae.pipelines.smooth.imputer import impute
from tsae.pipelines.smooth.smoother import noise_sigma, smooth

__all__ = ["impute", "impute_file", "noise_sigma", "smooth", "smooth_file"]
