# The engine's public names, with types; tsae/_lazy.py reads this stub at run time
# to import each name on first use (so importing tsae.engine does not load numba).
from tsae.engine.framing import frame, num_frames, overlap_add, window_array
from tsae.engine.layout import as_channels_first, known_layout
from tsae.engine.preprocess import Normalizer, detrend, forward_fill, missing_mask, repair_missing, resample
from tsae.engine.streaming import StreamFramer, StreamOverlapAdd

__all__ = [
    "frame",
    "overlap_add",
    "window_array",
    "num_frames",
    "StreamFramer",
    "StreamOverlapAdd",
    "missing_mask",
    "repair_missing",
    "forward_fill",
    "Normalizer",
    "detrend",
    "resample",
    "as_channels_first",
    "known_layout",
]
