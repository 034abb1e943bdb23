"""The ``denoiser2`` family: streaming step == offline forward, latency bound, size, model file, CLI.

All networks are randomly initialised (no trained weights are needed to check the
mechanics); signals are synthetic.
"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from tsae.cli import cli
from tsae.models.base import is_streaming_model
from tsae.models.modelfile import load_model, save_model
from tsae.pipelines.denoise import StreamingDenoiser, denoise
from tsae.pipelines.denoise.mask_finish import _lift
from tsae.plugins import create_model, get_model_family
from tsae_plugins import denoiser2 as denoiser2_module
from tsae_plugins.denoiser2 import denoise_loss, erb_filterbank, si_sdr, widen_state


def noisy_tone(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.03 * rng.standard_normal(len(t))
    return x.astype(np.float32)


def random_net(**hparams):
    """A randomly initialised denoiser2 whose masks are far from 1 (so any wiring error shows)."""
    torch.manual_seed(0)
    net = create_model("denoiser2", channels=1, window=512, **hparams).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


@pytest.fixture(scope="module")
def net():
    return random_net()


def offline_masks(net, x: torch.Tensor) -> torch.Tensor:
    spec = net.stft(torch.nn.functional.pad(x, (0, net.n_fft + net.lookahead * net.hop)))
    with torch.no_grad():
        return net.decode(net.encode_spec(spec)), spec


@pytest.mark.parametrize("lookahead", [0, 2])
def test_step_and_numpy_streamer_equal_offline_forward(lookahead: int) -> None:
    net = random_net(lookahead=lookahead, groups=2)
    x = torch.from_numpy(np.stack([noisy_tone(0.5, 16000, 0), 0.01 * noisy_tone(0.5, 16000, 1)]))
    x[1, 2000:6000] = 0.0  # digital silence in one row: its running means stop, the other's go on
    masks, spec = offline_masks(net, x)
    assert masks.is_complex() and masks.shape == spec.shape
    torch_state, streamer = net.init_state(2), net.streamer()
    numpy_state = streamer.init_state(2)
    stepped, fast = [], []
    for t in range(spec.shape[1]):
        a = net.step(spec[:, t], torch_state)
        b = streamer.step(spec[:, t].numpy().astype(np.complex128), numpy_state)
        assert (a is None) == (b is None) == (t < lookahead)
        if a is not None:
            stepped.append(a)
            fast.append(b)
    stepped_t = torch.stack(stepped, dim=1)
    n = stepped_t.shape[1]
    assert n == spec.shape[1] - lookahead
    torch.testing.assert_close(stepped_t, masks[:, :n], atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.stack(fast, axis=1), stepped_t.numpy(), atol=1e-5)
    assert np.abs(np.stack(fast, axis=1).imag).max() > 1e-3  # the low bins really get a phase


@pytest.mark.parametrize("fast", [True, False])
def test_silent_frames_leave_the_running_means_alone(net, fast: bool) -> None:
    streamer = net.streamer(fast=fast)
    state = streamer.init_state(2)
    x = torch.from_numpy(np.stack([noisy_tone(0.3, 16000, 0), noisy_tone(0.3, 16000, 1)]))
    spec = net.stft(x)
    for t in range(spec.shape[1]):
        streamer.step(spec[:, t].numpy().astype(np.complex128), state)
    before = {k: np.asarray(state[k]).copy() for k in ("mean", "rms", "heard")}
    assert np.all(before["heard"] == spec.shape[1])
    frame = spec[:, 0].numpy().astype(np.complex128)
    frame[1] = 0.0  # row 1 is muted, row 0 goes on
    for _ in range(20):
        mask = streamer.step(frame, state)
        assert mask is not None and np.isfinite(mask).all()
    after = {k: np.asarray(state[k]) for k in ("mean", "rms", "heard")}
    for k in before:
        np.testing.assert_array_equal(after[k][1], before[k][1])
        assert not np.array_equal(after[k][0], before[k][0])
    assert after["heard"][0] == before["heard"][0] + 20


@pytest.mark.parametrize("atten_limit", [None, 12.0])
def test_compiled_and_torch_steps_agree_through_guard_and_limit(net, atten_limit: float | None) -> None:
    """With the guard and the attenuation limit lifting the mask (silence, a quiet channel, loud bursts),
    the CPU stepper and the torch step give the same audio to float rounding."""
    x = np.stack([noisy_tone(1.5, 16000, 0), 0.05 * noisy_tone(1.5, 16000, 1)])
    x[:, :3000] = 0.0
    x[1, 12000:16000] = 0.0
    outs = []
    for fast in (True, False):
        den = StreamingDenoiser(16000, 2, model=net, atten_limit=atten_limit)
        den._stepper = net.streamer(fast=fast)
        den.reset()
        outs.append(np.concatenate([den.feed(x), den.flush()], axis=-1))
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-5)
    assert np.abs(outs[0] - x).max() > 1e-3


def test_streaming_protocol_and_declared_latency(net) -> None:
    assert is_streaming_model(net)
    for fast in (True, False):
        s = net.streamer(fast=fast)
        assert is_streaming_model(s)
        assert (s.window, s.hop, s.lookahead, s.latency) == (512, 256, 1, 768)
    assert StreamingDenoiser(16000, model=net).latency == pytest.approx(0.048)  # 32 ms frame + 16 ms look-ahead


@pytest.mark.parametrize("fast", [True, False])
def test_pipeline_blocks_bit_exact_and_equal_to_forward(net, fast: bool, stream_blocks) -> None:
    x = noisy_tone(1.2, 16000)
    whole = stream_blocks(net, x, len(x), fast)
    assert whole.shape == x.shape and whole.dtype == np.float32
    np.testing.assert_array_equal(stream_blocks(net, x, 160, fast), whole)
    np.testing.assert_array_equal(stream_blocks(net, x, 1001, fast), whole)
    with torch.no_grad():
        reference = net(torch.from_numpy(x)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(whole, reference, atol=1e-5)
    assert np.abs(whole - x).max() > 1e-3  # the random model does change the signal


@pytest.mark.parametrize("lookahead", [0, 2])
def test_block_steps_equal_frame_steps_and_forward(lookahead: int) -> None:
    """The block path (a GPU's default): the pipeline fed in any blocks gives what the frame steps and the
    offline forward give, to float rounding; steps and step can be mixed on one state."""
    net = random_net(lookahead=lookahead, groups=2)
    x = np.stack([noisy_tone(1.2, 16000, 0), 0.01 * noisy_tone(1.2, 16000, 1)])
    x[1, 3000:9000] = 0.0  # digital silence in one channel: its running means stop
    block = net.streamer(fast=False, block=True)
    assert callable(block.steps) and not hasattr(net.streamer(fast=False), "steps")
    outs = {}
    for name, stepper, size in [("frames", net.streamer(fast=False), x.shape[1]), ("whole", block, x.shape[1]),
                                ("160", block, 160), ("1001", block, 1001)]:
        den = StreamingDenoiser(16000, 2, model=net, guard=False)
        den._stepper = stepper
        den.reset()
        parts = [den.feed(x[:, i: i + size]) for i in range(0, x.shape[1], size)]
        outs[name] = np.concatenate([*parts, den.flush()], axis=-1)
    for name in ("whole", "160", "1001"):
        np.testing.assert_allclose(outs[name], outs["frames"], atol=1e-5)
    with torch.no_grad():
        reference = net(torch.from_numpy(x)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(outs["whole"], reference, atol=1e-5)
    assert np.abs(outs["whole"] - x).max() > 1e-3
    # mixed on one state: frames one by one, then a block, then one by one again
    spec = net.stft(torch.from_numpy(x))
    state, mixed = net.init_state(2), []
    for t in range(5):
        m = net.step(spec[:, t], state)
        mixed += [] if m is None else [m[:, None]]
    mixed.append(net.steps(spec[:, 5:40], state))
    mixed += [net.step(spec[:, t], state)[:, None] for t in range(40, spec.shape[1])]
    masks, _ = offline_masks(net, torch.from_numpy(x))
    got = torch.cat(mixed, dim=1)
    torch.testing.assert_close(got, masks[:, : got.shape[1]], atol=1e-5, rtol=0)
    assert net.steps(spec[:, :0], net.init_state(2)).shape == (2, 0, net.bins)


@pytest.mark.parametrize("lookahead", [0, 2])
def test_compiled_block_steps_equal_frame_steps_bit_for_bit(lookahead: int) -> None:
    """The CPU stepper's block path (what files and pipes use): a block gives what its frames give one by one,
    bit for bit, in blocks of any size and mixed with single steps; each stream of a batch gets what it gets
    alone; and both equal the torch step to float rounding."""
    net = random_net(lookahead=lookahead, groups=2)
    x = np.stack([noisy_tone(0.8, 16000, s) for s in range(3)])
    x[1, 2000:7000] = 0.0
    spec = net.stft(torch.from_numpy(x)).numpy().astype(np.complex128)  # (3, frames, bins)
    frames = spec.shape[1]
    stepper = net.streamer()
    assert callable(stepper.steps)

    def by_frames(rows: slice) -> np.ndarray:
        state = stepper.init_state(len(range(3)[rows]))
        out = [stepper.step(spec[rows, t], state) for t in range(frames)]
        assert all(m is None for m in out[:lookahead])
        return np.stack(out[lookahead:], axis=1)

    one_by_one = by_frames(slice(None))
    for cuts in ([frames], [1, 2, 40], [17, 5, 33]):  # 40 frames x 3 streams: many row blocks in one product
        state, parts, start = stepper.init_state(3), [], 0
        for size in [*cuts, frames]:
            parts.append(stepper.steps(spec[:, start: start + size], state))
            start += size
        np.testing.assert_array_equal(np.concatenate(parts, axis=1), one_by_one)
    state = stepper.init_state(3)
    mixed = [stepper.step(spec[:, 0], state)]
    mixed = [m[:, None] for m in mixed if m is not None] + [stepper.steps(spec[:, 1:30], state)]
    mixed += [stepper.step(spec[:, t], state)[:, None] for t in range(30, frames)]
    np.testing.assert_array_equal(np.concatenate(mixed, axis=1), one_by_one)
    assert stepper.steps(spec[:, :0], stepper.init_state(3)).shape == (3, 0, net.bins)
    with pytest.MonkeyPatch.context() as mp:  # a block longer than one call takes goes through in parts
        mp.setattr(denoiser2_module, "BLOCK_ROWS", 7)
        np.testing.assert_array_equal(stepper.steps(spec, stepper.init_state(3)), one_by_one)
    for row in range(3):
        np.testing.assert_array_equal(by_frames(slice(row, row + 1))[0], one_by_one[row])
    torch_state = net.init_state(3)
    stepped = [net.step(torch.from_numpy(spec[:, t].astype(np.complex64)), torch_state) for t in range(frames)]
    np.testing.assert_allclose(one_by_one, torch.stack(stepped[lookahead:], dim=1).numpy(), atol=1e-5)


def test_a_corrupt_bin_is_capped_alike_in_both_steps(net) -> None:
    """A bin far beyond any audio power enters the features at POWER_CAP with its phase, in the torch step
    (GPU, ONNX) and the compiled CPU step alike, and leaves real levels untouched."""
    from tsae_plugins.denoiser import POWER_CAP
    from tsae_plugins.denoiser2 import capped_parts

    re, im = capped_parts(torch.tensor([3e20, 1e3, 0.0, -1e30]), torch.tensor([4e20, -2.0, 0.0, 1e-3]))
    power = re.double() ** 2 + im.double() ** 2
    assert power[0] == pytest.approx(POWER_CAP, rel=1e-5) and re[0] / im[0] == pytest.approx(0.75)
    assert (re[1], im[1]) == (1e3, -2.0) and (re[2], im[2]) == (0.0, 0.0)
    assert power[3] == pytest.approx(POWER_CAP, rel=1e-5) and re[3] < 0
    spec = net.stft(torch.from_numpy(np.stack([noisy_tone(0.3, 16000, 0), noisy_tone(0.3, 16000, 1)])))
    spec[0, 5, 3:40] = 1e20 * (1 + 1j)  # a corrupt frame in one row
    torch_state, streamer = net.init_state(2), net.streamer()
    numpy_state = streamer.init_state(2)
    for t in range(spec.shape[1]):
        a = net.step(spec[:, t], torch_state)
        b = streamer.step(spec[:, t].numpy().astype(np.complex128), numpy_state)
        if a is not None:
            np.testing.assert_allclose(b, a.numpy(), atol=1e-4)


@pytest.mark.parametrize("sr,channels,n", [(44100, 2, 30011), (8000, 1, 4001)])
def test_any_rate_and_channels_keep_length(net, sr: int, channels: int, n: int) -> None:
    x = np.stack([noisy_tone(n / sr, sr, seed)[:n] for seed in range(channels)])
    y = denoise(x if channels > 1 else x[0], sr, model=net)
    assert y.shape == (x if channels > 1 else x[0]).shape and np.all(np.isfinite(y))


def test_impulse_changes_no_output_before_the_latency(net) -> None:
    den = StreamingDenoiser(16000, model=net, guard=False)
    x = noisy_tone(1.0, 16000)
    y = np.concatenate([den.feed(x), den.flush()])
    x2 = x.copy()
    x2[12000] += 0.5
    y2 = np.concatenate([den.feed(x2), den.flush()])
    changed = np.flatnonzero(y != y2)
    assert changed.min() >= 12000 - net.latency  # causal apart from one frame + the look-ahead
    assert changed.min() < 12000 - net.hop  # and the look-ahead frame is used


def test_silence_in_silence_out(net) -> None:
    assert np.abs(denoise(np.zeros((2, 16000), np.float32), 16000, model=net)).max() < 1e-6
    with torch.no_grad():
        assert net(torch.zeros(1, 1, 4000)).abs().max() < 1e-6


def test_size_bounds_and_model_file_round_trip(net, tmp_path) -> None:
    assert sum(p.numel() for p in net.parameters()) < 1_000_000
    path = save_model(tmp_path / "d2.tsae", net, sample_rate=16000)
    assert path.stat().st_size < 10 * 2**20
    loaded = load_model(path)
    assert loaded.family == "denoiser2" and loaded.sample_rate == 16000
    x = torch.from_numpy(noisy_tone(0.3, 16000))[None, None]
    with torch.no_grad():
        assert torch.equal(loaded.model.eval()(x), net(x))


def test_cli_denoise_with_a_denoiser2_model_file(net, tmp_path) -> None:
    model = save_model(tmp_path / "d2.tsae", net, sample_rate=16000)
    x = np.stack([noisy_tone(0.8, 22050, 0), noisy_tone(0.8, 22050, 1)])
    sf.write(tmp_path / "in.wav", x.T, 22050, subtype="PCM_16")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in.wav"), "--model", str(model),
                                      "-o", str(tmp_path / "out.wav"), "-q"])
    assert result.exit_code == 0, result.output
    y, sr = sf.read(tmp_path / "out.wav", always_2d=True)
    assert sr == 22050 and y.shape == x.T.shape
    np.testing.assert_allclose(y.T, denoise(sf.read(tmp_path / "in.wav", dtype="float32", always_2d=True)[0].T,
                                            22050, model=net), atol=2 / 32768)


def test_untrained_complex_mask_starts_near_the_band_gains() -> None:
    torch.manual_seed(0)
    net = get_model_family("denoiser2")(1, 512).eval()
    z = torch.zeros(3, net.gru.hidden_size)
    mask = net.decode(z)
    gains = torch.sigmoid(net.gain_out.bias) @ net.band_spread
    assert torch.all(mask.abs() <= gains + 1e-6)
    torch.testing.assert_close(mask[:, net.cplx_bins:].real, gains[net.cplx_bins:].expand(3, -1))
    assert torch.all(mask[:, : net.cplx_bins].abs() > 0.95 * gains[: net.cplx_bins])


def test_widened_lookahead_model_is_unchanged() -> None:
    short = random_net(lookahead=1, groups=2, group_hidden=8, cplx_hidden=8, hidden=16)
    wide = create_model("denoiser2", channels=1, window=512, lookahead=3, groups=2, group_hidden=8,
                        cplx_hidden=8, hidden=16).eval()
    wide.load_state_dict(widen_state(short.state_dict(), wide))
    x = torch.from_numpy(noisy_tone(0.6, 16000))[None, None]
    with torch.no_grad():
        torch.testing.assert_close(wide(x), short(x), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="cannot widen group_w"):
        widen_state(wide.state_dict(), short)


def test_widened_units_leave_the_output_unchanged_and_get_gradients() -> None:
    small = random_net(lookahead=1, groups=2, group_hidden=8, cplx_hidden=8, hidden=16)
    big = create_model("denoiser2", channels=1, window=512, lookahead=2, groups=2, group_hidden=12,
                       cplx_hidden=10, hidden=24)
    big.load_state_dict(widen_state(small.state_dict(), big))
    x = torch.from_numpy(noisy_tone(0.6, 16000))[None, None]
    with torch.no_grad():
        torch.testing.assert_close(big.eval()(x), small(x), atol=1e-6, rtol=0)
    big.train()
    clean = torch.from_numpy(noisy_tone(0.6, 16000, seed=1))[None, None]
    big.training_loss(x, clean)[0].backward()
    # the new units' output weights start at zero but are not stuck there
    assert big.gain_out.weight.grad[:, 16:].abs().sum() > 0
    assert big.gru.weight_ih_l0.grad[:16, 8:12].abs().sum() > 0  # group 0's new units into the old gates
    with pytest.raises(ValueError, match="cannot widen groups x group_hidden"):
        widen_state(big.state_dict(), small)


def test_erb_filterbank_spreads_and_averages() -> None:
    w = erb_filterbank(512, 16000, 32)
    assert w.shape == (257, 32)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)  # every bin's gain is a mix of band gains
    assert np.all(w.sum(axis=0) > 0)  # every band covers some bins
    widths = w.sum(axis=0)
    assert widths[-1] > 4 * widths[1]  # ERB bands widen with frequency


def test_loss_terms_and_gradients(net) -> None:
    clean = torch.from_numpy(np.stack([noisy_tone(0.4, 16000, s) for s in (0, 1)]))[:, None]
    noisy = clean + 0.05 * torch.randn_like(clean)
    assert float(si_sdr(clean, clean).min()) > 60
    assert abs(float(si_sdr(2 * clean + 0.1 * torch.randn_like(clean), clean).mean()) - 8.0) < 4.0
    perfect, parts = denoise_loss(net, clean, clean)
    assert parts["mag"] < 1e-8 and parts["cplx"] < 1e-8 and parts["sisdr"] > 60
    train = get_model_family("denoiser2")(1, 512)
    loss, parts, z = train.training_loss(noisy, clean)
    assert loss > perfect and set(parts) == {"mag", "cplx", "sisdr"} and z.shape[0] == 2
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in train.parameters())


def test_under_weight_costs_removed_speech_only(net) -> None:
    clean = torch.from_numpy(np.stack([noisy_tone(0.4, 16000, s) for s in (0, 1)]))[:, None]
    noise = 0.05 * torch.randn_like(clean)
    for est, removes_speech in ((0.5 * clean, True), (clean + noise, False)):
        plain, plain_parts = denoise_loss(net, est, clean)
        weighted, parts = denoise_loss(net, est, clean, under_weight=2.0)
        assert "under" not in plain_parts and parts["mag"] == plain_parts["mag"]
        assert float(weighted - plain) == pytest.approx(2.0 * parts["under"], rel=1e-4, abs=1e-7)
        if removes_speech:  # half the speech gone: every bin falls short of the clean magnitude
            assert parts["under"] > 0.5 * parts["mag"]
    removed = denoise_loss(net, 0.5 * clean, clean, under_weight=2.0)[1]["under"]
    doubled = denoise_loss(net, 2.0 * clean, clean, under_weight=2.0)[1]["under"]
    assert doubled < 1e-3 * removed  # too loud is not speech removed


def test_over_weight_costs_noise_left_only(net) -> None:
    clean = torch.from_numpy(np.stack([noisy_tone(0.4, 16000, s) for s in (0, 1)]))[:, None]
    plain, plain_parts = denoise_loss(net, 2.0 * clean, clean)
    weighted, parts = denoise_loss(net, 2.0 * clean, clean, over_weight=2.0)
    assert "over" not in plain_parts and parts["mag"] == plain_parts["mag"]
    assert float(weighted - plain) == pytest.approx(2.0 * parts["over"], rel=1e-4, abs=1e-7)
    assert parts["over"] > 0.5 * parts["mag"]  # twice too loud: every bin stands above the clean magnitude
    removed = denoise_loss(net, 0.5 * clean, clean, over_weight=2.0)[1]["over"]
    assert removed < 1e-3 * parts["over"]  # speech removed is not noise left


def lift_mask(mask: np.ndarray, low: np.ndarray | float) -> np.ndarray:
    """The finisher's compiled lift, value by value."""
    lows = np.broadcast_to(low, np.shape(mask))
    return np.array([_lift(complex(m), float(b), np.iscomplexobj(mask)) for m, b in zip(mask, lows, strict=True)])


def test_lift_mask_keeps_phase_of_complex_masks() -> None:
    real = np.array([0.1, 0.5, 0.9])
    np.testing.assert_array_equal(lift_mask(real, 0.4), [0.4, 0.5, 0.9])
    cplx = np.array([0.2j, 0.0, 0.6 * np.exp(1j), 0.499 * np.exp(1j), -0.25])
    lifted = lift_mask(cplx, np.array([0.5, 0.5, 0.3, 0.5, 0.5]))
    np.testing.assert_allclose(np.abs(lifted), [0.5, 0.5, 0.6, 0.5, 0.5])
    np.testing.assert_allclose(np.angle(lifted[[0, 2]]), [np.arctan2(0.2, 0.3), 1.0])  # 0.2j + 0.3, and kept
    assert abs(np.angle(lifted[3]) - 1.0) < 2e-3  # a gain just short of the bound keeps its phase
    assert lifted[1] == 0.5 and lifted[4] == 0.5  # no phase to keep: the noisy one


def test_lifting_a_near_zero_complex_mask_is_stable() -> None:
    """A mask a rounding error away from zero has no phase worth keeping: lifted, it barely moves."""
    tiny = 1e-9 * np.exp(1j * np.linspace(-np.pi, np.pi, 7))
    np.testing.assert_allclose(lift_mask(tiny, 0.25), 0.25, atol=1e-8)


def test_atten_limit_bounds_a_complex_mask(net) -> None:
    noise = (0.05 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
    limited = denoise(noise, 16000, model=net, atten_limit=3.0)
    rms = lambda v: float(np.sqrt(np.mean(v[8000:] ** 2)))  # noqa: E731
    assert 20 * np.log10(rms(noise) / rms(limited)) < 3.5


def test_bad_hyper_parameters() -> None:
    family = get_model_family("denoiser2")
    with pytest.raises(ValueError, match="multiple of groups"):
        family(1, 512, erb_bands=30, groups=4)
    with pytest.raises(ValueError, match="cplx_bins"):
        family(1, 128, hop=64, cplx_bins=100)
    with pytest.raises(ValueError, match="channels must be 1"):
        family(2, 512)


@pytest.mark.parametrize("options", [{}, {"strength": 0.7, "atten_limit": 6.0}])
def test_onnx_step_equals_tsae_denoise(net, options, tmp_path) -> None:
    """``tsae export`` gives the hop-by-hop graph; onnxruntime matches the streaming denoiser (guard included)."""
    pytest.importorskip("onnxruntime")
    import importlib.util
    from pathlib import Path

    from tsae.export import export_model

    spec = importlib.util.spec_from_file_location(
        "onnx_reference_runner", Path(__file__).resolve().parents[2] / "tsae/onnx_reference_runner.py")
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    path = save_model(tmp_path / "d2.tsae", net, sample_rate=16000)
    session, meta = runner.load(export_model(path, tmp_path / "d2.onnx", **options).onnx)
    assert meta["kind"] == "denoiser_step" and meta["latency_seconds"] == pytest.approx(0.048)
    x = np.stack([noisy_tone(0.6, 16000, 0), noisy_tone(0.6, 16000, 1)])
    x[:, :1600] = 0.0  # digital silence first: the guard waits for signal
    x[1, 4000:7000] = 0.0  # and in one channel later: the running means of that channel stop
    expected = denoise(x, 16000, model=path, **options)
    np.testing.assert_allclose(runner.denoise(session, meta, x), expected, atol=1e-4)
    assert np.abs(expected - x).max() > 1e-2
