"""The ``denoiser`` model family: a small causal GRU that predicts a spectral mask.

The network works on STFT frames (16 kHz, 32 ms sqrt-Hann frames, 16 ms hop by
default):

- **encoder**: per-frame log-power features, normalised online (a causal running
  mean per bin, so any input level works), joined with the features of the next
  ``lookahead`` frames, then a linear layer and a stack of GRUs -> one latent vector
  per frame ``(batch, frames, hidden)``;
- **decoder**: a linear layer + sigmoid -> a real mask per frequency bin
  ``(batch, frames, bins)`` in [0, 1], applied to the noisy spectrum.

Everything is causal apart from the fixed look-ahead (the mask of frame ``t`` sees
frames ``<= t + lookahead``; ``lookahead=0`` is strictly causal), so the same weights
serve whole files and live streams; :meth:`DenoiserNet.step` runs one frame at a
time with explicit state and answers ``lookahead`` frames late (the network is a
:class:`~tsae.models.base.StreamingModel`; :meth:`DenoiserNet.streamer` gives the
numpy one the streaming denoiser uses, with a fast float32 path on the CPU). Its shipped weights live in
``tsae_plugins/weights/denoiser.tsae`` (``tsae denoise --model denoiser``; the default model is
now the ``denoiser2`` family's).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from tsae.models.base import Autoencoder, Param, StreamingModel

__version__ = "0.1.0"

_EPS_POWER = 1e-10
#: a bin's power is capped here in the features (160 dB; a full-scale sine's bin holds about 1e5, 50 dB):
#: a corrupt sample of 1e20 is then one loud frame, where float32 squares would overflow and the running
#: means never recover. At 1e30 (the cap until 2026-12-04) the session-27 denoiser2 weights muted speech
#: for 1.5 s after such a sample (the frame's power dragged the low bins' running mean up 28 decades);
#: a cap of the power of a 1e8 sample leaves them at 0.84-0.97 of the clean run's level from 0.5 s on.
POWER_CAP = 1e16


def analysis_window(n_fft: int) -> np.ndarray:
    """The sqrt-periodic-Hann window used for analysis and synthesis (float32)."""
    n = np.arange(n_fft)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)


class SpectralFrames:
    """Causal STFT / weighted overlap-add of the streaming denoisers (needs ``n_fft``, ``hop``, ``window_fn``)."""

    n_fft: int
    hop: int
    window_fn: torch.Tensor

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        """Causal STFT of waveforms ``(batch, n)`` -> ``(batch, frames, bins)`` complex.

        The signal is left-padded with ``n_fft - hop`` zeros, as the streaming
        denoiser does, so frame ``t`` ends at sample ``(t + 1) * hop``.
        """
        pad = self.n_fft - self.hop
        x = nn.functional.pad(x, (pad, 0))
        frames = x.unfold(-1, self.n_fft, self.hop) * self.window_fn
        return torch.fft.rfft(frames, dim=-1)

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Inverse of :meth:`stft` (weighted overlap-add), trimmed to ``length`` samples."""
        frames = torch.fft.irfft(spec, n=self.n_fft, dim=-1) * self.window_fn
        batch, n_frames, _ = frames.shape
        total = (n_frames - 1) * self.hop + self.n_fft
        out = nn.functional.fold(
            frames.transpose(1, 2), (1, total), (1, self.n_fft), stride=(1, self.hop)
        ).reshape(batch, total)
        env = nn.functional.fold(
            self.window_fn.square()[None, :, None].expand(1, self.n_fft, n_frames).contiguous(),
            (1, total), (1, self.n_fft), stride=(1, self.hop),
        ).reshape(1, total)
        out = out / env.clamp_min(1e-3)
        pad = self.n_fft - self.hop
        return out[:, pad: pad + length]


class DenoiserNet(SpectralFrames, Autoencoder):
    """Causal GRU mask estimator for speech denoising (see the module docstring).

    ``window`` is the STFT frame length in samples (``n_fft``); ``channels`` must be 1
    (multichannel audio is denoised channel by channel).
    """

    name = "denoiser"
    description = "causal GRU spectral-mask speech denoiser (16 kHz, 32 ms frames)"
    params = {
        "hop": Param(256, "STFT hop in samples", min=1),
        "hidden": Param(160, "GRU hidden size", min=1),
        "layers": Param(2, "number of GRU layers", min=1),
        "norm_frames": Param(62.5, "time constant of the online feature normalisation, in frames", min=1.0),
        "lookahead": Param(0, "future frames the mask of a frame may see (each adds one hop of latency)", min=0),
        "sample_rate": Param(16000, "sample rate the model works at", min=1),
    }

    def __init__(self, channels: int = 1, window: int = 512, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        if self.channels != 1:
            raise ValueError("denoiser: channels must be 1 (channels are denoised one by one)")
        self.n_fft = self.window
        self.hop = int(self.config["hop"])
        self.bins = self.n_fft // 2 + 1
        hidden = int(self.config["hidden"])
        self.alpha = math.exp(-1.0 / float(self.config["norm_frames"]))
        self.lookahead = int(self.config["lookahead"])
        if self.lookahead < 0:
            raise ValueError(f"denoiser: lookahead must be >= 0, got {self.lookahead}")
        if not 1 <= self.hop <= self.n_fft:
            raise ValueError(f"denoiser: hop must be in [1, window={self.n_fft}], got {self.hop}")
        if self.hop == self.n_fft:  # the sqrt-Hann window is 0 at each frame's first sample: no other frame has it
            raise ValueError(f"denoiser: hop must be below window={self.n_fft} (frames that do not overlap lose "
                             f"the samples at their edges), got {self.hop}")
        self.inp = nn.Linear(2 * self.bins * (1 + self.lookahead), hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=int(self.config["layers"]), batch_first=True)
        self.out = nn.Linear(hidden, self.bins)
        self.register_buffer("window_fn", torch.from_numpy(analysis_window(self.n_fft)), persistent=False)

    # -- features ----------------------------------------------------------
    def _log_power(self, spec: torch.Tensor) -> torch.Tensor:
        power = spec.real.square() + spec.imag.square() if spec.is_complex() else spec
        return 10.0 * torch.log10(power.clamp(max=POWER_CAP) + _EPS_POWER)

    def init_state(self, batch: int = 1) -> dict[str, torch.Tensor]:
        """Fresh streaming state: running feature mean, frame count, recent features, GRU state."""
        device = self.inp.weight.device
        return {
            "mean": torch.zeros(batch, self.bins, device=device),
            "count": torch.zeros((), device=device),
            "recent": [],
            "h": torch.zeros(self.gru.num_layers, batch, self.gru.hidden_size, device=device),
        }

    def _normalise(self, lp: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        glob = mean.mean(dim=-1, keepdim=True)
        return torch.cat([(lp - mean) / 20.0, (lp - glob) / 20.0], dim=-1)

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """Normalised features ``(batch, frames, 2*bins)`` of a spectrum ``(batch, frames, bins)``."""
        lp = self._log_power(spec)
        feats = torch.empty(lp.shape[0], lp.shape[1], 2 * self.bins, device=lp.device, dtype=lp.dtype)
        mean = torch.zeros_like(lp[:, 0])
        for t in range(lp.shape[1]):
            a = min(self.alpha, t / (t + 1.0))
            mean = a * mean + (1.0 - a) * lp[:, t]
            feats[:, t] = self._normalise(lp[:, t], mean)
        return feats

    def with_lookahead(self, feats: torch.Tensor) -> torch.Tensor:
        """Join each frame's features with those of the next ``lookahead`` frames (zeros past the end)."""
        if self.lookahead == 0:
            return feats
        n = feats.shape[1]
        padded = nn.functional.pad(feats, (0, 0, 0, self.lookahead))
        return torch.cat([padded[:, k: k + n] for k in range(self.lookahead + 1)], dim=-1)

    # -- the Autoencoder interface ----------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms ``(batch, 1, n)`` -> latent ``(batch, frames, hidden)``."""
        return self.encode_spec(self.stft(x.reshape(x.shape[0], -1)))

    def encode_spec(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex spectrum ``(batch, frames, bins)`` -> latent ``(batch, frames, hidden)``."""
        with torch.no_grad():
            feats = self.with_lookahead(self.features(spec))
        z, _ = self.gru(torch.relu(self.inp(feats)))
        return z

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(batch, frames, hidden)`` -> mask ``(batch, frames, bins)`` in [0, 1]."""
        return torch.sigmoid(self.out(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Denoise waveforms ``(batch, 1, n)`` -> ``(batch, 1, n)``."""
        flat = x.reshape(x.shape[0], -1)
        spec = self.stft(nn.functional.pad(flat, (0, self.n_fft + self.lookahead * self.hop)))
        mask = self.decode(self.encode_spec(spec))
        return self.istft(spec * mask, flat.shape[-1]).reshape(x.shape)

    def loss(
        self, x_hat: torch.Tensor, target: torch.Tensor, z: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Compressed-magnitude + compressed-complex spectral loss on waveforms."""
        est = self.stft(x_hat.reshape(x_hat.shape[0], -1))
        ref = self.stft(target.reshape(target.shape[0], -1))
        return spectral_loss(est, ref)

    # -- streaming -----------------------------------------------------------
    @torch.no_grad()
    def step(self, spec: torch.Tensor, state: dict[str, Any]) -> torch.Tensor | None:
        """Take ONE frame ``spec`` ``(batch, bins)`` (complex); updates ``state`` in place.

        Returns the mask ``(batch, bins)`` of the frame ``lookahead`` steps back, or
        ``None`` while the first ``lookahead`` frames are still being collected.
        """
        lp = self._log_power(spec)
        t = float(state["count"])
        a = min(self.alpha, t / (t + 1.0))
        state["mean"] = a * state["mean"] + (1.0 - a) * lp
        state["count"] = state["count"] + 1
        state["recent"] = [*state["recent"], self._normalise(lp, state["mean"])][-(self.lookahead + 1):]
        if len(state["recent"]) <= self.lookahead:
            return None
        feats = torch.cat(state["recent"], dim=-1)
        z, state["h"] = self.gru(torch.relu(self.inp(feats))[:, None], state["h"])
        return torch.sigmoid(self.out(z[:, 0]))

    # -- the step with explicit state (ONNX export) ---------------------------
    def explicit_state(self, batch: int = 1) -> dict[str, torch.Tensor]:
        """:meth:`init_state` as fixed-size tensors, for a graph whose state is all inputs and outputs.

        ``mean`` ``(batch, bins)``, ``count`` ``(1,)`` (frames seen), ``recent``
        ``(lookahead, batch, 2*bins)`` (the previous frames' features) and ``h``
        ``(layers, batch, hidden)`` (the GRU state).
        """
        device = self.inp.weight.device
        return {
            "mean": torch.zeros(batch, self.bins, device=device),
            "count": torch.zeros(1, device=device),
            "recent": torch.zeros(self.lookahead, batch, 2 * self.bins, device=device),
            "h": torch.zeros(self.gru.num_layers, batch, self.gru.hidden_size, device=device),
        }

    def explicit_step(
        self, power: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """:meth:`step` on the power spectrum ``(batch, bins)`` of one frame, with no Python-side state.

        Returns ``(mask, ready, new_state)``: ``mask`` is that of the frame
        ``lookahead`` steps back, valid only where ``ready`` (a boolean ``(1,)``:
        false for the first ``lookahead`` frames, during which the GRU state is kept).
        """
        lp = self._log_power(power)
        count = state["count"]
        a = torch.clamp(count / (count + 1.0), max=self.alpha)
        mean = a * state["mean"] + (1.0 - a) * lp
        feats = self._normalise(lp, mean)
        recent = state["recent"]
        joined = torch.cat([*recent.unbind(0), feats], dim=-1) if self.lookahead else feats
        z, h = self.gru(torch.relu(self.inp(joined))[:, None], state["h"])
        ready = count >= self.lookahead
        h = torch.where(ready, h, state["h"])
        if self.lookahead:
            recent = torch.cat([recent[1:], feats[None]], dim=0)
        mask = torch.sigmoid(self.out(z[:, 0]))
        return mask, ready, {"mean": mean, "count": count + 1.0, "recent": recent, "h": h}

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: one frame plus the look-ahead frames."""
        return self.n_fft + self.lookahead * self.hop

    def streamer(self, fast: bool = True) -> StreamingModel:
        """This network as a :class:`~tsae.models.base.StreamingModel` that steps on numpy arrays.

        :meth:`StreamingModel.step` takes the complex spectrum of one frame ``(batch,
        bins)`` and returns the float32 mask of the frame ``lookahead`` steps back. On
        the CPU (and with ``fast``) it is :meth:`step` in float32 with numpy's matrix
        products and numba kernels for the rest (:mod:`tsae_plugins.denoise_kernels`):
        the same maths with far less overhead per frame; the weights are copied, so
        build a new streamer after changing them. Otherwise it wraps :meth:`step`.
        """
        if fast and self.inp.weight.device.type == "cpu":
            return _CompiledStepper(self)
        return _TorchStepper(self)


class _Stepper:
    """What both streamers share: the network's framing, as :class:`StreamingModel` attributes."""

    def __init__(self, net: DenoiserNet) -> None:
        self.window = net.n_fft
        self.hop = net.hop
        self.lookahead = net.lookahead
        self.latency = net.latency
        self.window_fn = net.window_fn.detach().cpu().numpy().astype(np.float32)


class _TorchStepper(_Stepper):
    """A network's ``step`` with numpy in and out (any device; the ``denoiser2`` family uses it too)."""

    def __init__(self, net: DenoiserNet) -> None:
        super().__init__(net)
        self.net = net
        self.device = next(net.parameters()).device

    def init_state(self, batch: int = 1) -> dict[str, Any]:
        return self.net.init_state(batch)

    def step(self, spec: np.ndarray, state: dict[str, Any]) -> np.ndarray | None:
        mask = self.net.step(torch.from_numpy(spec.astype(np.complex64)).to(self.device), state)
        return None if mask is None else mask.cpu().numpy()


def _float32(t: torch.Tensor) -> np.ndarray:
    """A tensor as a C-contiguous float32 numpy array (a copy of the CPU steppers' weights)."""
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


class _KernelStepper(_Stepper):
    """A CPU stepper that runs the numba kernels of :mod:`tsae_plugins.denoise_kernels` (both families' own)."""

    @property
    def kernels(self) -> Any:
        """:mod:`tsae_plugins.denoise_kernels`, looked up, not held: a module is not copied or pickled
        (``copy.deepcopy`` of a streaming denoiser failed on it)."""
        from tsae_plugins import denoise_kernels

        return denoise_kernels


class _CompiledStepper(_KernelStepper):
    """:meth:`DenoiserNet.step` in float32: products by numpy (BLAS), the rest in numba kernels.

    See :mod:`tsae_plugins.denoise_kernels`. The weights are copied (torch's transposed);
    the state is float32 arrays: the running mean, the look-ahead buffer of the last
    ``1 + lookahead`` frames' features (oldest first) and the GRU states.
    """

    def __init__(self, net: DenoiserNet) -> None:
        super().__init__(net)
        arr = _float32
        self.alpha = float(net.alpha)
        self.bins = net.bins
        self.hidden = net.gru.hidden_size
        self.w_in, self.b_in = arr(net.inp.weight).T.copy(), arr(net.inp.bias)[None]
        self.layers = [(arr(getattr(net.gru, f"weight_ih_l{k}")).T.copy(), arr(getattr(net.gru, f"bias_ih_l{k}"))[None],
                        arr(getattr(net.gru, f"weight_hh_l{k}")).T.copy(), arr(getattr(net.gru, f"bias_hh_l{k}"))[None])
                       for k in range(net.gru.num_layers)]
        self.w_out, self.b_out = arr(net.out.weight).T.copy(), arr(net.out.bias)

    def init_state(self, batch: int = 1) -> dict[str, Any]:
        span = self.lookahead + 1
        return {"mean": np.zeros((batch, self.bins), np.float32), "count": 0,
                "recent": np.zeros((batch, span * 2 * self.bins), np.float32),
                "h": np.zeros((len(self.layers), batch, self.hidden), np.float32)}

    def step(self, spec: np.ndarray, state: dict[str, Any]) -> np.ndarray | None:
        k = self.kernels
        t = state["count"]
        a = np.float32(min(self.alpha, t / (t + 1.0)))
        k.denoiser_features(np.ascontiguousarray(spec, dtype=np.complex128), state["mean"], a, state["recent"],
                          np.float32(_EPS_POWER), POWER_CAP)
        state["count"] = t + 1
        if t < self.lookahead:
            return None
        mm = matmul_for(spec.shape[0])
        x = mm(state["recent"], self.w_in)
        k.bias_relu(x[None], self.b_in)
        h = state["h"]
        for layer, (w_ih, b_ih, w_hh, b_hh) in enumerate(self.layers):
            k.gru_gates(mm(x, w_ih)[None], mm(h[layer], w_hh)[None], b_ih, b_hh, h[layer: layer + 1])
            x = h[layer]
        mask = np.empty((spec.shape[0], self.bins), np.float32)
        k.sigmoid_mask(mm(x, self.w_out), self.b_out, mask)
        return mask


def matmul_for(rows: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The matrix product the CPU steppers use for ``rows`` rows (channels or files side by side).

    ``np.matmul``, except for two or three rows, which are taken one at a time: BLAS's
    small-matrix product is slower there than that many vector products (about 20 %
    per row for stereo here), and each channel then gets exactly what it would get alone.
    """
    return _row_by_row if 1 < rows < 4 else np.matmul


def _row_by_row(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.concatenate([np.matmul(x[..., i: i + 1, :], w) for i in range(x.shape[-2])], axis=-2)


def spectral_loss(
    est: torch.Tensor,
    ref: torch.Tensor,
    *,
    scale: torch.Tensor | None = None,
    power: float = 0.3,
    complex_weight: float = 0.5,
    under_weight: float = 0.0,
    over_weight: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Level-invariant compressed spectral loss between complex spectra ``(batch, frames, bins)``.

    Both spectra are divided by ``scale`` (per example; default: the larger RMS of the two)
    before the magnitudes are compressed with ``power``. ``under_weight`` adds that much of
    the squared shortfall of the estimate's compressed magnitude below the reference's
    (part ``under``): removing speech then costs more than leaving the same amount of noise.
    ``over_weight`` adds that much of the squared excess above it (part ``over``): noise left
    then costs more than removing the same amount of speech.
    """
    if scale is None:
        scale = ref.abs().square().mean(dim=(1, 2), keepdim=True).add(1e-8).sqrt()
        scale = torch.maximum(scale, est.abs().square().mean(dim=(1, 2), keepdim=True).add(1e-8).sqrt())
    scale = scale.detach()
    est = est / scale
    ref = ref / scale
    ea = est.abs().add(1e-8)
    ra = ref.abs().add(1e-8)
    ec = ea.pow(power)
    rc = ra.pow(power)
    excess = ec - rc  # > 0: noise left, < 0: speech removed
    mag = excess.square().mean()
    cplx = ((est / ea) * ec - (ref / ra) * rc).abs().square().mean()
    total = mag + complex_weight * cplx
    parts = {"mag": float(mag.detach()), "cplx": float(cplx.detach())}
    if under_weight:
        under = excess.clamp(max=0).square().mean()
        total = total + under_weight * under
        parts["under"] = float(under.detach())
    if over_weight:
        over = excess.clamp(min=0).square().mean()
        total = total + over_weight * over
        parts["over"] = float(over.detach())
    return total, parts


def widen_lookahead(state: dict[str, torch.Tensor], model: DenoiserNet) -> dict[str, torch.Tensor]:
    """Adapt a state dict with less look-ahead to ``model`` (e.g. to fine-tune a causal model).

    The extra look-ahead inputs get zero weights, so the widened network computes
    exactly what the original did until training changes them.
    """
    weight = state["inp.weight"]
    missing = model.inp.weight.shape[1] - weight.shape[1]
    if missing < 0 or missing % (2 * model.bins):
        raise ValueError(f"denoiser: cannot widen an input layer of {weight.shape[1]} features "
                         f"to {model.inp.weight.shape[1]}")
    return {**state, "inp.weight": torch.cat([weight, weight.new_zeros(weight.shape[0], missing)], dim=1)}
