"""Speech denoising: the array API, the streaming denoiser and the file jobs."""
from tsae.pipelines.denoise.denoiser import StreamingDenoiser, default_model_path, denoise, load_denoiser
from tsae.pipelines.denoise.files import default_output, denoise_file, denoise_files

__all__ = ["StreamingDenoiser", "default_model_path", "default_output", "denoise", "denoise_file", "denoise_files",
           "load_denoiser"]
