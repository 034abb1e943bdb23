# The package's public names, with types; tsae/_lazy.py reads this stub at run time
# to import each name on first use.
from tsae.pipelines.reconstruct.batch import BatchResult, encode_file, reconstruct, reconstruct_file, reconstruct_files
from tsae.pipelines.reconstruct.series import encode_series, reconstruct_series

__all__ = ["BatchResult", "encode_file", "encode_series", "reconstruct", "reconstruct_file", "reconstruct_files",
           "reconstruct_series"]
