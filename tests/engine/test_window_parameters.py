"""A window parameter that gives no usable window (NaN, inf or zeros only) is refused with what is wrong with that
parameter, for each window family that can give one, not with the kaiser window's words."""
from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run

from tsae.engine.framing import window_array, window_name


@pytest.mark.parametrize(("window", "fragment"), [
    ("gaussian:0", "the gaussian window's standard deviation must be > 0, got 0.0"),
    ("gss:-2", "the gss window's standard deviation must be > 0, got -2.0"),
    (("gaussian", 0), "the gaussian window's standard deviation must be > 0, got 0"),
    ("general_gaussian:1.5:0", "the general_gaussian window's standard deviation (sig) must be > 0, got 0.0"),
    ("exponential:0:0", "the exponential window's decay (tau) must be > 0, got 0.0"),
    ("gaussian:1e-200", "non-finite window values for a frame of 16 samples (its standard deviation is too small"),
    ("kaiser:1000", "non-finite window values for a frame of 16 samples (its beta is too large: a kaiser beta above"),
    ("exponential:1000", "gives only zeros for a frame of 16 samples (its center is too far outside the frame"),
    ("general_hamming:1e300", "(its alpha is too large: the values overflow float32)"),
])
def test_a_window_parameter_out_of_range_names_its_problem(window, fragment) -> None:
    with pytest.raises(ValueError) as caught:
        window_name(window)
    assert fragment in str(caught.value), caught.value
    if "must be > 0" not in fragment:  # told once the window is computed, as window_array computes it
        with pytest.raises(ValueError, match="kaiser beta" if "kaiser" in fragment else "^(?!.*kaiser)"):
            window_array(window, 16)


@pytest.mark.parametrize("window", ["gaussian:2", "general_gaussian:1.5:3", "exponential:0:2", "kaiser:8.6", "hann"])
def test_a_window_in_range_is_as_before(window) -> None:
    w = window_array(window, 16)
    assert np.isfinite(w).all() and w.any()


def test_frame_tells_a_gaussian_of_no_spread_in_one_line(tmp_path) -> None:
    np.save(tmp_path / "x.npy", np.sin(np.arange(200) / 5)[None])
    out = tmp_path / "f.npy"
    result = run("frame", tmp_path / "x.npy", "-o", out, "--window", "16", "--window-fn", "gaussian:0")
    assert_one_line_error(result, "'--window-fn'", "standard deviation must be > 0, got 0.0")
    assert "kaiser" not in result.output and not out.exists()
