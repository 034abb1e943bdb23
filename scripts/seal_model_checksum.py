"""Write a copy of a tsae model file whose header carries ``weights_sha256`` (and ``tsae_sha256``, the header's
own), its tensors' bytes unchanged.

Model files saved before ``save_model`` recorded the checksum (the shipped denoiser weights among them) load
without the check that finds a damaged byte in the tensors. This rewrites only the safetensors JSON header: the
data section is copied byte for byte, so the weights, and every output of the model, stay bit-identical.

    python scripts/seal_model_checksum.py plugins/weights/denoiser.tsae -o /tmp/denoiser.tsae
"""
from __future__ import annotations

import argparse
import json
import shutil
import struct
import sys
from pathlib import Path

from tsae.models.container import read_container, read_tensor, tensors_digest
from tsae.models.modelfile import HEADER_DIGEST_KEY, HEADER_KEY, header_digest, read_model_header


def sealed_header(path: Path) -> tuple[bytes, int]:
    """The safetensors header of ``path`` (length prefix included) with ``weights_sha256`` in the tsae header and
    ``tsae_sha256`` beside it, and where the file's data section starts. A file that already carries one is checked
    against its tensors."""
    read_model_header(path)  # a file load_model refuses is not sealed
    with open(path, "rb") as handle:
        container = read_container(path, handle)
        digest = tensors_digest((name, entry.dtype, entry.shape, read_tensor(path, handle, container, entry))
                                for name, entry in container.tensors.items())
        handle.seek(0)
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length).decode("utf-8"))
    tsae_header = json.loads(header["__metadata__"][HEADER_KEY])
    if tsae_header.get("weights_sha256") not in (None, digest):
        raise ValueError(f"{path}: its tensors do not match its weights_sha256 (damaged?); not sealed")
    tsae_header["weights_sha256"] = digest
    text = json.dumps(tsae_header, allow_nan=False)
    header["__metadata__"][HEADER_KEY] = text
    header["__metadata__"][HEADER_DIGEST_KEY] = header_digest(text)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # as safetensors writes it: the data section 8-byte aligned
    return struct.pack("<Q", len(raw)) + raw, container.data_start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True, help="the sealed copy (never the input)")
    args = parser.parse_args(argv)
    if args.output.exists() and args.output.resolve() == args.model.resolve():
        parser.error("the output must not be the input")
    try:
        head, data_start = sealed_header(args.model)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    partial = args.output.with_name(args.output.name + ".part")
    with open(args.model, "rb") as source, open(partial, "wb") as out:
        out.write(head)
        source.seek(data_start)
        shutil.copyfileobj(source, out)
    read_model_header(partial)
    partial.replace(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
