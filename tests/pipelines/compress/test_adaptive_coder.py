"""The adaptive coder (id 4): exact round trips, its forms, old coders still read, corrupt streams refused."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tsae.pipelines.compress import compress_series, decompress_series
from tsae.pipelines.compress.container import Reader, encode_block, write_header, write_payload, write_trailer
from tsae.pipelines.compress.entropy import ADAPTIVE, CODERS, DEFAULT_CODER, coder_id, pack_ints, unpack_ints
from tsae.pipelines.compress.residual import TAPS, USES_TAPS, code_residual, decode_residual, fit_taps, taps_residual

from compress_helpers import walk

FIXTURES = Path(__file__).parents[2] / "fixtures" / "tsz"
INT64 = np.iinfo(np.int64)


def _round_trip(values: np.ndarray) -> bytes:
    width, data = pack_ints(values, ADAPTIVE)
    back = unpack_ints(data, width, values.size, ADAPTIVE, values.shape).reshape(values.shape)
    np.testing.assert_array_equal(back, values)
    return data


def _bursts(n: int, seed: int = 0) -> np.ndarray:
    """Laplacian integers whose spread jumps between quiet and loud stretches of 500 values."""
    rng = np.random.default_rng(seed)
    scale = np.repeat(rng.choice([0.3, 5.0, 300.0, 2e5], size=n // 500 + 1), 500)[:n]
    return np.rint(rng.laplace(size=n) * scale).astype(np.int64)


def test_it_is_the_default_coder_and_has_id_4():
    assert DEFAULT_CODER == "adaptive" and coder_id("adaptive") == ADAPTIVE == 4 == CODERS.index("adaptive")


# one array, rows each coded, short rows (one array: 400 values leave little to learn from)
@pytest.mark.parametrize(("shape", "ratio"), [((20_000,), 0.97), ((3, 4_000), 0.97), ((4, 100), 1.0)])
def test_laplacian_streams_with_bursts_round_trip_smaller_than_lzma(shape, ratio):
    values = _bursts(int(np.prod(shape))).reshape(shape)
    data = _round_trip(values)
    assert len(data) < ratio * len(pack_ints(values, coder_id("lzma"))[1])


@pytest.mark.parametrize("values", [
    np.zeros(0, np.int64), np.array([0]), np.array([-7]), np.array([INT64.min]), np.array([INT64.max]),
    np.array([INT64.min, INT64.max, 0, -1, 1] * 30), np.full(1000, INT64.min),
    np.random.default_rng(1).integers(INT64.min, INT64.max, 700, dtype=np.int64, endpoint=True),
    np.random.default_rng(2).integers(INT64.min, INT64.max, (2, 600), dtype=np.int64, endpoint=True),
], ids=["empty", "zero", "one", "min", "max", "extremes", "all-min", "random-int64", "random-rows"])
def test_empty_single_and_extreme_values_round_trip(values):
    _round_trip(values)


def test_few_levels_take_the_alphabet_form_and_round_trip():
    rng = np.random.default_rng(3)
    levels = np.array([-10, 2, 15, 27, 801, 825])
    values = levels[np.minimum(np.cumsum(rng.random(3000) < 0.1) % 7, 5)]  # a slow walk over six levels
    data = _round_trip(values)
    assert data[0] == 1  # the alphabet form
    assert len(data) < 0.5 * len(pack_ints(values, coder_id("lzma"))[1])


def test_a_periodic_row_falls_back_to_byte_planes_with_lzma():
    values = np.tile(np.random.default_rng(4).integers(-500, 500, 288), 20)
    data = _round_trip(values)
    assert data[0] == 2 and len(data) < 0.2 * values.size


def test_a_sparse_periodic_row_is_never_coded_worse_than_by_lzma():
    """A noise-free periodic row that the adaptive coder codes to under a bit a value (here: a spike every 60 values,
    as NAB's art_increase_spike_density): zlib at level 1 comes out larger than the adaptive form, LZMA2 much
    smaller; the row takes LZMA2's form, at most its form and width bytes more than coder 2."""
    values = np.zeros(3400, np.int64)
    values[::60] = 50
    data = _round_trip(values)
    assert data[0] == 2 and len(data) <= len(pack_ints(values, coder_id("lzma"))[1]) + 2


def test_the_coded_bytes_never_change():
    """Integer arithmetic only: the same bytes on every machine and release (a change needs a new coder id)."""
    data = pack_ints(_bursts(5000, seed=7), ADAPTIVE)[1] + pack_ints(_bursts(5000, seed=8).reshape(5, 1000),
                                                                     ADAPTIVE)[1]
    assert hashlib.sha256(data).hexdigest()[:16] == GOLDEN


GOLDEN = "b3bf0283a11e7e8a"


def _coded(n: int = 4000) -> tuple[int, bytes]:
    return pack_ints(_bursts(n, seed=5), ADAPTIVE)


@pytest.mark.parametrize("damage", ["truncated", "extended", "flipped", "form", "empty"])
def test_a_corrupt_stream_is_a_value_error(damage):
    width, data = _coded()
    rng = np.random.default_rng(6)
    bad = {"truncated": [data[:-1], data[: len(data) // 2]],
           "extended": [data + b"\0", data + b"\x01\x02"],
           "flipped": [bytearray(data) for _ in range(20)],
           "form": [b"\x07" + data[1:]],
           "empty": [b""]}[damage]
    if damage == "flipped":
        for copy in bad:
            at = int(rng.integers(1, len(data)))
            copy[at] ^= 1 << int(rng.integers(0, 8))
    for stream in bad:
        with pytest.raises(ValueError, match="corrupt|coded data"):
            unpack_ints(bytes(stream), width, 4000, ADAPTIVE)


def test_a_hostile_count_costs_no_more_than_the_values_declared():
    # a few bytes claiming a million values: refused once the stream runs out, not after decoding them all
    with pytest.raises(ValueError, match="corrupt adaptively coded data"):
        unpack_ints(b"\x00" + bytes(16), 0, 1_000_000, ADAPTIVE)
    with pytest.raises(ValueError, match="wider than"):  # values wider than the width the section states
        width, data = pack_ints(np.array([70000, -3] * 50), ADAPTIVE)
        unpack_ints(data, width - 1, 100, ADAPTIVE)


def test_a_container_with_a_corrupt_adaptive_section_is_one_error_naming_the_file(vq_model):
    good = compress_series(vq_model, walk(2000), max_error=1e-3, block_windows=200)
    reader = Reader(io.BytesIO(good), "g")
    block = next(reader.blocks())
    payload = bytearray(encode_block(block, ADAPTIVE))
    payload[len(payload) // 2] ^= 0x10  # inside the residual's coded bytes, under a valid block checksum
    out = io.BytesIO()
    write_header(out, reader.header)
    write_payload(out, bytes(payload))
    write_trailer(out, {"samples": block.samples, "blocks": 1})
    with pytest.raises(ValueError, match=r"^h\.tsz: .*corrupt"):
        decompress_series(out.getvalue(), vq_model, name="h.tsz")


def test_a_container_written_before_the_adaptive_coder_decodes_as_it_did(vq_model):
    data = (FIXTURES / "v3_lzma.tsz").read_bytes()
    y = decompress_series(data, vq_model, name="v3_lzma.tsz")
    np.testing.assert_array_equal(y, np.load(FIXTURES / "v3_lzma.npy"))


@pytest.mark.parametrize("coder", ["lzma", "zlib", "raw"])
def test_the_byte_plane_coders_still_write_and_read(vq_model, coder):
    x = walk(320)
    y = decompress_series(compress_series(vq_model, x, max_error=1e-2, coder=coder), vq_model)
    assert np.abs(y - x).max() <= 1e-2


def test_an_oversampled_signal_is_predicted_by_its_taps_and_comes_back_exactly():
    t = np.arange(6000)
    rng = np.random.default_rng(8)
    q = np.rint(3000 * np.sin(t / 9.0) * np.sin(t / 210.0) + rng.normal(size=t.size)).astype(np.int64)[None]
    size = lambda ints: len(pack_ints(ints, ADAPTIVE)[1])  # noqa: E731
    stored, modes, coefs, taps, _ = code_residual(q, np.zeros_like(q), size, codes_cost=0)
    assert modes.tolist()[0] in USES_TAPS  # the taps, or the interpolation of every other value between anchors
    assert size(stored[0]) < 0.8 * size(np.diff(q[0]))
    np.testing.assert_array_equal(decode_residual(stored, modes, np.zeros_like(q), coefs, taps), q)
    own = fit_taps(q[0])[None]
    long = taps_residual(q[0], own[0])[None]
    assert size(long[0]) < 0.8 * size(np.diff(q[0]))
    np.testing.assert_array_equal(decode_residual(long, np.array([TAPS]), np.zeros_like(q), None, own), q)
    with pytest.raises(ValueError, match="taps missing or malformed"):
        decode_residual(stored, modes, np.zeros_like(q), coefs, None)


def _oversampled(n: int = 6000) -> np.ndarray:
    """Two channels of a slowly modulated sine, 9 samples a radian, with a little noise: the taps' case."""
    t = np.arange(n)
    rng = np.random.default_rng(9)
    return np.stack([np.sin(t / 9.0) * np.sin(t / 210.0), np.cos(t / 7.0)]) + 1e-4 * rng.normal(size=(2, n))


@pytest.mark.parametrize("coder", ["adaptive", "lzma", "zlib"])
def test_only_the_adaptive_coder_writes_the_taps_mode(vq_model, coder):
    """A container of a byte-plane coder must stay readable by a tsae from before the taps mode (4) and its section."""
    x = _oversampled()
    data = compress_series(vq_model, x, max_error=1e-4, coder=coder)
    blocks = list(Reader(io.BytesIO(data), "t").blocks())
    modes = np.concatenate([block.arrays["predictor"] for block in blocks])
    assert np.isin(modes, USES_TAPS).any() == (coder == "adaptive")
    assert any("taps" in block.arrays for block in blocks) == (coder == "adaptive")
    assert np.abs(decompress_series(data, vq_model) - x).max() <= 1e-4


@pytest.mark.slow  # a process of its own: 2-4 s
def test_a_byte_plane_container_decompresses_without_loading_numba(vq_model, tmp_path):
    """numba costs a process 0.2 s to import (and 0.3 s more to start its first kernel): only the adaptive coder's
    kernels need it when decompressing."""
    (tmp_path / "x.tsz").write_bytes(compress_series(vq_model, walk(3000), max_error=1e-3, coder="lzma"))
    code = ("import sys; from pathlib import Path; from compress_helpers import FakeVQ, WINDOW, loaded; "
            "from tsae.pipelines.compress import decompress_series; "
            f"decompress_series(Path({str(tmp_path / 'x.tsz')!r}).read_bytes(), loaded(FakeVQ(2, WINDOW))); "
            "print('numba' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=Path(__file__).parent)
    assert out.stdout.strip() == "False"

