"""Compression of series with an error bound, without a model or with an autoencoder (its quantised codes), into
``.tsz`` files.

Without a model (``None`` for the model: an error bound is then required) each block is coded by the residual
coder's own predictors alone, and neither side imports torch.

:func:`compress_series` / :func:`decompress_series` work on arrays and bytes;
:func:`compress_file` / :func:`decompress_file` on series files and ``.tsz`` containers
(format: ``docs/tsz.md``); :class:`Compressor` and :func:`iter_decompress` stream in blocks.
"""
from tsae.pipelines.compress.files import compress_file, decompress_file
from tsae.pipelines.compress.series import compress_series, decompress_series
from tsae.pipelines.compress.stream import Compressor, iter_decompress

__all__ = ["compress_series", "decompress_series", "compress_file", "decompress_file", "Compressor",
           "iter_decompress"]
