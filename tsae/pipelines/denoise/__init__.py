"""Speech denoising: the array API, the streaming denoiser and the file jobs."""
from tsae.pipelines.denoise.denoiser import (
    StreamingDenoiser,
    default_model_path,
    denoise,
    denoise_file,
    denoise_files,
    load_denoiser,
)

__all__ = ["StreamingDenoiser", "default_model_path", "denoise", "denoise_file", "denoise_files", "load_denoiser"]
