"""The shipped denoiser weights carry the tensors' checksum (weights_sha256), and it holds; the script that added
it rewrites only the header."""
from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

import pytest

from tsae.models.container import read_container, read_tensor, tensors_digest
from tsae.models.modelfile import HEADER_DIGEST_KEY, load_model, read_model_header

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "plugins" / "weights").glob("*.tsae"))


def _digest(path: Path) -> str:
    with open(path, "rb") as handle:
        container = read_container(path, handle)
        return tensors_digest((name, entry.dtype, entry.shape, read_tensor(path, handle, container, entry))
                              for name, entry in container.tensors.items())


def _data(path: Path) -> bytes:
    raw = path.read_bytes()
    return raw[8 + struct.unpack("<Q", raw[:8])[0]:]


def test_there_are_shipped_weights() -> None:
    assert {p.name for p in SHIPPED} >= {"denoiser.tsae", "denoiser2.tsae"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_weights_carry_a_checksum_that_holds(path: Path) -> None:
    # before: neither shipped file had weights_sha256, so a damaged byte in their tensors loaded unnoticed
    assert read_model_header(path).get("weights_sha256") == _digest(path)


def test_a_damaged_shipped_file_is_refused(tmp_path) -> None:
    damaged = tmp_path / "denoiser.tsae"
    raw = bytearray((ROOT / "plugins" / "weights" / "denoiser.tsae").read_bytes())
    raw[-100] ^= 0x40
    damaged.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"do not match the checksum in the header \(weights_sha256\)"):
        load_model(damaged)


def test_sealing_rewrites_the_header_only(tmp_path) -> None:
    spec = importlib.util.spec_from_file_location("seal_model_checksum", ROOT / "scripts" / "seal_model_checksum.py")
    assert spec is not None and spec.loader is not None
    seal = importlib.util.module_from_spec(spec)
    sys.modules["seal_model_checksum"] = seal
    spec.loader.exec_module(seal)
    source = ROOT / "plugins" / "weights" / "denoiser.tsae"
    assert seal.main([str(source), "-o", str(tmp_path / "copy.tsae")]) == 0  # sealed already: checked, kept
    assert _data(tmp_path / "copy.tsae") == _data(source)
    assert read_model_header(tmp_path / "copy.tsae")["weights_sha256"] == _digest(source)
    with open(tmp_path / "copy.tsae", "rb") as handle:  # and the header's own checksum, which holds
        assert len(read_container(tmp_path / "copy.tsae", handle).metadata[HEADER_DIGEST_KEY]) == 64
    with pytest.raises(SystemExit):
        seal.main([str(source), "-o", str(source)])
