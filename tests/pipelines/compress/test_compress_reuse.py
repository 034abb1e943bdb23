"""The exact speed-ups of compressing: the same bytes as the slower ways they replace."""
from __future__ import annotations

import lzma

import numpy as np
import pytest

from tsae.pipelines.compress import entropy, residual


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 2000])
def test_the_lag_matrix_is_the_stacked_lagged_copies(n: int) -> None:
    q = np.cumsum(np.random.default_rng(n).integers(-40, 40, n)).astype(np.int64)
    stacked = np.stack([residual._lagged(q, j) for j in range(1, residual.ORDER + 1)], axis=1).astype(np.float64)
    got = residual._lag_matrix(q)
    assert got.shape == (n, residual.ORDER) and got.flags.c_contiguous
    np.testing.assert_array_equal(got, stacked)


@pytest.mark.parametrize("size", [1, 5000, 70000])
def test_lzma_with_a_fitted_dictionary_gives_the_4_mib_dictionarys_bytes(size: int) -> None:
    rng = np.random.default_rng(size)
    data = np.repeat(rng.integers(0, 9, size // 7 + 1), 7)[:size].astype(np.uint8).tobytes()
    assert entropy._lzma_encode(data) == lzma.compress(data, format=lzma.FORMAT_RAW, filters=entropy._LZMA_ENCODE)
    assert entropy._lzma_decode(entropy._lzma_encode(data), size + 1) == data


@pytest.mark.parametrize("kind", ["noise", "levels", "periodic"])
def test_a_measured_row_is_written_as_pack_ints_writes_it(kind: int) -> None:
    """Values form, alphabet form, LZMA2 form: writing a row that was measured reuses what measuring found."""
    rng = np.random.default_rng(3)
    values = {"noise": rng.integers(-300, 300, (2, 4096)),
              "levels": rng.choice([-700, 0, 90, 2000], (2, 4096)),
              "periodic": np.tile(rng.integers(-5, 5, 64), (2, 64))}[kind].astype(np.int64)
    packed = entropy.Packed()
    width, sized = packed.measure(values, entropy.ADAPTIVE)
    assert packed(values, entropy.ADAPTIVE) == entropy.pack_ints(values, entropy.ADAPTIVE)
    assert len(sized) == len(entropy.pack_ints(values, entropy.ADAPTIVE)[1])


def test_writing_a_measured_row_tries_neither_lzma_nor_the_alphabet_again(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(4).integers(-300, 300, (1, 4096)).astype(np.int64)
    packed = entropy.Packed()
    packed.measure(values, entropy.ADAPTIVE)
    tried = []
    monkeypatch.setattr(entropy, "_lzma_row", lambda *args: tried.append("lzma"))
    monkeypatch.setattr(entropy._adaptive(), "_alphabet", lambda *args: tried.append("alphabet"))
    packed(values, entropy.ADAPTIVE)
    assert not tried
