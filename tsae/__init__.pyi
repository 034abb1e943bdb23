# The public API of ``import tsae``: what IDEs and type checkers see, and the list that
# tsae/_lazy.py reads at run time to import each name on first use. Plumbing (the
# plugin manager, table readers, the trainer, preprocessing steps) stays in submodules.
from tsae.engine.framing import frame, overlap_add
from tsae.engine.streaming import StreamFramer, StreamOverlapAdd
from tsae.hookspecs import hookimpl
from tsae.models.base import Autoencoder, Param
from tsae.models.fit import fit_model_on_series as fit
from tsae.models.modelfile import load_model, save_model
from tsae.pipelines.anomaly import Detector, Monitor
from tsae.pipelines.compress import compress_series as compress
from tsae.pipelines.compress import decompress_series as decompress
from tsae.pipelines.denoise import StreamingDenoiser, denoise
from tsae.pipelines.reconstruct import encode_series as encode
from tsae.pipelines.reconstruct import reconstruct_series as reconstruct
from tsae.pipelines.smooth import impute, smooth
from tsae.plugins import register_plugin, unregister_plugin

__version__: str

__all__ = [
    "__version__",
    # speech
    "denoise",
    "StreamingDenoiser",
    # sensors
    "Detector",
    "Monitor",
    "smooth",
    "impute",
    # models
    "fit",
    "reconstruct",
    "encode",
    "compress",
    "decompress",
    "load_model",
    "save_model",
    # signal engine
    "frame",
    "overlap_add",
    "StreamFramer",
    "StreamOverlapAdd",
    # writing a plugin
    "hookimpl",
    "Autoencoder",
    "Param",
    "register_plugin",
    "unregister_plugin",
]
