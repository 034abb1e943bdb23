"""The ``denoiser2`` model family: ERB-band gains plus a complex ratio mask, frequency-grouped GRUs.

The second speech denoiser (issue 13) works like the first one on causal STFT frames
(16 kHz, 32 ms sqrt-Hann frames, 16 ms hop by default) but corrects the phase of the
low bands instead of keeping the noisy phase:

- **features** per frame: the log energies of ``erb_bands`` bands spaced on the ERB-rate
  scale (:func:`erb_filterbank`), normalised online (causal running mean per band, and
  the level relative to the mean over bands), and the complex spectrum of the lowest
  ``cplx_bins`` bins divided by their running RMS (so any input level works; digital
  silence leaves the running means alone, :func:`running_update`);
  each frame's features are joined with those of the next ``lookahead`` frames;
- **encoder**: the band features split into ``groups`` frequency groups, each with its
  own linear layer and GRU (a grouped, block-diagonal recurrence), the complex features
  through a linear layer, then one full-band GRU over all of them -> one latent vector
  per frame ``(batch, frames, hidden)``;
- **decoder**: a gain per ERB band (sigmoid, spread to the bins by linear interpolation
  on the ERB-rate axis) for the whole band, times a complex ratio mask (magnitude at most
  1, any phase) on the lowest ``cplx_bins`` bins -> a complex mask ``(batch, frames, bins)``.

Everything is causal apart from the look-ahead: the mask of frame ``t`` sees frames
``<= t + lookahead``, so the algorithmic latency is ``window + lookahead * hop``
samples (512 + 256 = 768 samples, 48 ms, by default). :meth:`Denoiser2Net.step`
runs one frame at a time with explicit state and :meth:`Denoiser2Net.streamer` gives
the float32 CPU stepper the streaming denoiser uses (numba kernels, blocks of
frames at once: :mod:`tsae_plugins.denoise_kernels`); both equal the offline
:meth:`Denoiser2Net.forward` to float rounding. :func:`denoise_loss` is the training
loss (compressed magnitude + compressed complex + SI-SDR).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from tsae.models.base import SILENT_POWER, Autoencoder, Param, StreamingModel
from tsae_plugins.denoiser import (
    POWER_CAP,
    SpectralFrames,
    _float32,
    _KernelStepper,
    _TorchStepper,
    analysis_window,
    spectral_loss,
)

__version__ = "0.1.0"

_EPS_POWER = 1e-10
#: initial bias of the complex mask's real part: tanh(2) = 0.96, so an untrained mask starts near 1
_CRM_BIAS = 2.0


def erb_filterbank(n_fft: int, sample_rate: int, bands: int) -> np.ndarray:
    """Linear-interpolation weights ``(bins, bands)`` of the rfft bins on ``bands`` ERB-spaced centres.

    The band centres are uniform on the ERB-rate scale (Glasberg & Moore,
    ``21.4 * log10(1 + 0.00437 f)``) from 0 Hz to Nyquist; each bin's weights sum to 1
    (the two neighbouring centres share it), so ``gains @ weights.T`` spreads band gains
    over the bins, and the column-normalised weights average bin powers into bands.
    """
    if bands < 2:
        raise ValueError(f"erb_filterbank: need at least 2 bands, got {bands}")
    bins = n_fft // 2 + 1
    freqs = np.arange(bins) * (sample_rate / n_fft)
    rate = 21.4 * np.log10(1.0 + 0.00437 * freqs)
    centres = np.linspace(0.0, rate[-1], bands)
    pos = np.interp(rate, centres, np.arange(bands, dtype=np.float64))
    low = np.minimum(np.floor(pos).astype(int), bands - 2)
    frac = pos - low
    weights = np.zeros((bins, bands))
    weights[np.arange(bins), low] = 1.0 - frac
    weights[np.arange(bins), low + 1] = frac
    return weights.astype(np.float32)


#: a bin whose larger part is beyond this is first scaled down to it, so its square stays finite in float32
PART_CAP = 1e18


def capped_parts(re: torch.Tensor, im: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bins' real and imaginary parts scaled down, phase kept, to a power of at most ``POWER_CAP``.

    No real audio comes near the cap (a full-scale sine's bin: about 1e5); a corrupt sample does,
    and uncapped its bins would reach the recurrences 1e13 times larger than any trained input and
    hold the GRU states saturated for seconds after it.
    """
    first = torch.clamp(PART_CAP / torch.maximum(re.abs(), im.abs()).clamp(min=1e-30), max=1.0)
    re, im = re * first, im * first
    shrink = torch.clamp(math.sqrt(POWER_CAP) / torch.sqrt(re.square() + im.square() + 1e-30), max=1.0)
    return re * shrink, im * shrink


def running_update(
    value: torch.Tensor, mean: torch.Tensor, heard: torch.Tensor, silent: torch.Tensor, alpha: float
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One step of the features' running means, rows ``(batch, width)``; ``heard`` ``(batch,)`` frames in them.

    The factor is ``min(alpha, heard / (heard + 1))`` (a plain average while few frames
    are in). Returns the means this frame is normalised with and, to carry on, the means
    and ``heard`` after it. A digitally silent frame (``silent``) is normalised like any
    other but leaves the carried means and ``heard`` as they were: silence says nothing
    about the level, and a second of it would drag the means 100 dB down, so the speech
    after a muted stretch (or after leading zeros) would look 100 dB too loud.
    """
    a = torch.clamp(heard / (heard + 1.0), max=alpha)[:, None]
    used = a * mean + (1.0 - a) * value
    keep = silent[:, None]
    return used, (torch.where(keep, mean, used), torch.where(silent, heard, heard + 1.0))


def running_means(
    levels: torch.Tensor, silent: torch.Tensor, alpha: float,
    mean: torch.Tensor | None = None, heard: torch.Tensor | None = None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """:func:`running_update` frame after frame, for all frames at once.

    ``levels`` ``(batch, frames, width)``, ``silent`` ``(batch, frames)``; ``mean`` ``(batch, width)``
    and ``heard`` ``(batch,)`` are the carried means before the first frame (default: none yet).
    Returns the means each frame is normalised with and the carried ``(mean, heard)`` after the
    last. The carried means follow ``C_t = b_t C_(t-1) + c_t`` (``b_t`` the frame's factor, 1 for a
    silent frame, which leaves them alone), an affine recurrence computed as a parallel prefix scan:
    about ``log2(frames)`` rounds of whole-tensor operations instead of a handful per frame (a
    Python loop of small kernels was the slow part of a training step on a GPU).
    """
    if mean is None:
        mean = torch.zeros_like(levels[:, 0])
    if heard is None:
        heard = torch.zeros(levels.shape[0], dtype=levels.dtype, device=levels.device)
    if levels.shape[1] == 0:
        return levels, (mean, heard)
    loud = (~silent).to(levels.dtype)
    counts = heard[:, None] + torch.cumsum(loud, dim=1) - loud  # frames in the means before each frame
    a = torch.clamp(counts / (counts + 1.0), max=alpha)[..., None]
    keep = silent[..., None]
    factor = torch.where(keep, torch.ones_like(a), a)
    carried = torch.where(keep, torch.zeros_like(levels), (1.0 - a) * levels)
    step = 1
    while step < levels.shape[1]:  # Hillis-Steele: each entry composes the span of 2 * step frames ending at it
        carried = torch.cat([carried[:, :step], carried[:, step:] + factor[:, step:] * carried[:, :-step]], dim=1)
        factor = torch.cat([factor[:, :step], factor[:, step:] * factor[:, :-step]], dim=1)
        step *= 2
    carried = carried + factor * mean[:, None]  # the means carried in, decayed
    before = torch.cat([mean[:, None], carried[:, :-1]], dim=1)
    return a * before + (1.0 - a) * levels, (carried[:, -1], heard + loud.sum(dim=1))


class Denoiser2Net(SpectralFrames, Autoencoder):
    """ERB-gain + complex-ratio-mask speech denoiser with frequency-grouped GRUs (see the module docstring).

    ``window`` is the STFT frame length in samples; ``channels`` must be 1
    (multichannel audio is denoised channel by channel).
    """

    name = "denoiser2"
    #: the attenuation limit (dB) the pipelines apply when the user gives none: gains below -45 dB leave
    #: spectral holes that cost naturalness more than the noise they remove. Chosen on the 32 decision
    #: mixtures of scripts/eval_denoise.py (seed 99; none / 60 / 50 / 45 / 40 / 35 / 30 / 20 dB): 45 dB is
    #: the strongest limit that lost no score (PESQ 1.646 -> 1.667, DNSMOS SIG 2.923 -> 2.950, BAK 3.594 ->
    #: 3.598, OVRL 2.512 -> 2.536, STOI and SI-SDR unchanged); 30 dB gained more PESQ (1.689) but lost BAK
    #: (3.417) and OVRL (2.487). On the 64 report mixtures (seed 1234): PESQ 1.710 -> 1.733, OVRL 2.549 ->
    #: 2.558, STOI and SI-SDR unchanged.
    default_atten_limit = 45.0
    description = ("ERB gains + low-band complex mask, frequency-grouped GRUs (16 kHz, 32 ms frames; latency 48 ms "
                   "by default, 64 ms in the shipped model)")
    params = {
        "hop": Param(256, "STFT hop in samples", min=1),
        "erb_bands": Param(32, "ERB-spaced bands of the envelope features and gains", min=2),
        "cplx_bins": Param(128, "lowest STFT bins that get a complex mask (phase correction)", min=1),
        "groups": Param(4, "frequency groups of the banded features, each with its own GRU", min=1),
        "group_hidden": Param(48, "GRU size of each frequency group", min=1),
        "cplx_hidden": Param(96, "size of the complex-feature layer", min=1),
        "hidden": Param(192, "size of the full-band GRU", min=1),
        "norm_frames": Param(62.5, "time constant of the online feature normalisation, in frames", min=1.0),
        "lookahead": Param(1, "future frames the mask of a frame may see (each adds one hop of latency)", min=0),
        "sample_rate": Param(16000, "sample rate the model works at", min=1),
    }

    def __init__(self, channels: int = 1, window: int = 512, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        cfg = self.config
        if self.channels != 1:
            raise ValueError("denoiser2: channels must be 1 (channels are denoised one by one)")
        self.n_fft = self.window
        self.hop = int(cfg["hop"])
        self.bins = self.n_fft // 2 + 1
        self.lookahead = int(cfg["lookahead"])
        self.erb_bands = int(cfg["erb_bands"])
        self.cplx_bins = int(cfg["cplx_bins"])
        self.groups = int(cfg["groups"])
        if not 1 <= self.hop <= self.n_fft:
            raise ValueError(f"denoiser2: hop must be in [1, window={self.n_fft}], got {self.hop}")
        if self.hop == self.n_fft:  # the sqrt-Hann window is 0 at each frame's first sample: no other frame has it
            raise ValueError(f"denoiser2: hop must be below window={self.n_fft} (frames that do not overlap lose "
                             f"the samples at their edges), got {self.hop}")
        if self.cplx_bins > self.bins:
            raise ValueError(f"denoiser2: cplx_bins ({self.cplx_bins}) must be at most the {self.bins} bins")
        if self.erb_bands % self.groups:
            raise ValueError(f"denoiser2: erb_bands ({self.erb_bands}) must be a multiple of groups ({self.groups})")
        self.alpha = math.exp(-1.0 / float(cfg["norm_frames"]))
        span = self.lookahead + 1
        group_in = span * 2 * (self.erb_bands // self.groups)
        gh, ch, hidden = int(cfg["group_hidden"]), int(cfg["cplx_hidden"]), int(cfg["hidden"])
        self.group_w = nn.Parameter(torch.randn(self.groups, group_in, gh) / math.sqrt(group_in))
        self.group_b = nn.Parameter(torch.zeros(self.groups, gh))
        self.group_gru = nn.ModuleList(nn.GRU(gh, gh, batch_first=True) for _ in range(self.groups))
        self.cplx_in = nn.Linear(span * 2 * self.cplx_bins, ch)
        self.gru = nn.GRU(self.groups * gh + ch, hidden, batch_first=True)
        self.gain_out = nn.Linear(hidden, self.erb_bands)
        self.crm_out = nn.Linear(hidden, 2 * self.cplx_bins)
        with torch.no_grad():
            self.crm_out.bias[: self.cplx_bins].fill_(_CRM_BIAS)
        weights = erb_filterbank(self.n_fft, int(cfg["sample_rate"]), self.erb_bands)
        self.register_buffer("window_fn", torch.from_numpy(analysis_window(self.n_fft)), persistent=False)
        self.register_buffer("band_avg", torch.from_numpy(weights / weights.sum(axis=0, keepdims=True)),
                             persistent=False)
        self.register_buffer("band_spread", torch.from_numpy(np.ascontiguousarray(weights.T)), persistent=False)

    # -- features ----------------------------------------------------------
    def _levels(self, re: torch.Tensor, im: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Band levels in dB ``(..., erb_bands)``, low-bin powers ``(..., cplx_bins)`` and which spectra are
        digital silence (mean bin power below ``SILENT_POWER``, ``(...)`` bool) of spectra ``(..., bins)``."""
        power = (re.square() + im.square()).clamp(max=POWER_CAP)
        silent = power.mean(dim=-1) < SILENT_POWER
        return 10.0 * torch.log10(power @ self.band_avg + _EPS_POWER), power[..., : self.cplx_bins], silent

    def _normalised(self, re: torch.Tensor, im: torch.Tensor, band_db: torch.Tensor, mean: torch.Tensor,
                    rms: torch.Tensor) -> torch.Tensor:
        """Features ``(..., 2*erb_bands + 2*cplx_bins)`` from the levels and their running means (``mean``, ``rms``)."""
        glob = mean.mean(dim=-1, keepdim=True)
        scale = torch.rsqrt(rms + _EPS_POWER)
        c = self.cplx_bins
        low_re, low_im = capped_parts(re[..., :c], im[..., :c])
        return torch.cat([(band_db - mean) / 20.0, (band_db - glob) / 20.0, low_re * scale, low_im * scale], dim=-1)

    def _features_of(
        self, re: torch.Tensor, im: torch.Tensor, mean: torch.Tensor, rms: torch.Tensor, heard: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features of one frame's real and imaginary parts ``(batch, bins)``.

        ``mean`` (band levels in dB) and ``rms`` (low-bin powers) are the running means
        before this frame and ``heard`` ``(batch,)`` the frames that went into them;
        returns the features and the three after this frame (see :func:`running_update`).
        """
        band_db, low, silent = self._levels(re, im)
        levels, kept = running_update(torch.cat([band_db, low], dim=-1), torch.cat([mean, rms], dim=-1),
                                      heard, silent, self.alpha)
        e = self.erb_bands
        feats = self._normalised(re, im, band_db, levels[..., :e], levels[..., e:])
        return feats, kept[0][..., :e], kept[0][..., e:], kept[1]

    def _frame_features(self, spec: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        """:meth:`_features_of` one complex frame ``(batch, bins)``, carrying the running means in ``state``."""
        feats, state["mean"], state["rms"], state["heard"] = self._features_of(
            spec.real, spec.imag, state["mean"], state["rms"], state["heard"])
        return feats

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """Features ``(batch, frames, 2*erb_bands + 2*cplx_bins)`` of a spectrum ``(batch, frames, bins)``.

        What :meth:`step` computes frame by frame; the running means as a scan over all the
        frames at once (:func:`running_means`), equal to the steps' to float rounding.
        """
        return self._block_features(spec, self.init_state(spec.shape[0]))

    def _block_features(self, spec: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        """:meth:`features` of frames ``(batch, frames, bins)`` that follow the stream in ``state`` (its running
        means carried in and updated), as :meth:`_frame_features` frame after frame gives them."""
        re, im = spec.real, spec.imag
        band_db, low, silent = self._levels(re, im)
        start = torch.cat([state["mean"], state["rms"]], dim=-1)
        mean, (carried, state["heard"]) = running_means(torch.cat([band_db, low], dim=-1), silent, self.alpha,
                                                        start, state["heard"])
        e = self.erb_bands
        state["mean"], state["rms"] = carried[:, :e], carried[:, e:]
        return self._normalised(re, im, band_db, mean[..., :e], mean[..., e:])

    def with_lookahead(self, feats: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, 1 + lookahead, features)``: each frame with the next ``lookahead`` (zeros past the end)."""
        n = feats.shape[1]
        padded = nn.functional.pad(feats, (0, 0, 0, self.lookahead))
        return torch.stack([padded[:, k: k + n] for k in range(self.lookahead + 1)], dim=2)

    def _split(self, joined: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Joined features ``(..., span, features)`` -> per-group inputs ``(..., groups, in)`` and complex inputs."""
        lead = joined.shape[:-2]
        e2 = 2 * self.erb_bands
        bands = joined[..., :e2].reshape(*lead, -1, 2, self.groups, self.erb_bands // self.groups)
        n = len(lead)  # positive axes: a negative permutation does not export to ONNX
        grouped = bands.permute(*range(n), n + 2, n, n + 1, n + 3).reshape(*lead, self.groups, -1)
        return grouped, joined[..., e2:].reshape(*lead, -1)

    # -- the Autoencoder interface ----------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms ``(batch, 1, n)`` -> latent ``(batch, frames, hidden)``."""
        return self.encode_spec(self.stft(x.reshape(x.shape[0], -1)))

    def encode_spec(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex spectrum ``(batch, frames, bins)`` -> latent ``(batch, frames, hidden)``."""
        with torch.no_grad():
            joined = self.with_lookahead(self.features(spec))
        return self._sequence_latents(joined)[0]

    def _sequence_latents(
        self, joined: torch.Tensor, gh: list[torch.Tensor] | None = None, h: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Joined features ``(batch, frames, span, features)`` through the recurrences -> latents ``(batch, frames,
        hidden)``, the groups' GRU states and the full-band one's after the last frame; ``gh`` and ``h`` are the
        states before the first (default: zeros). :meth:`_latent_step` is the same for one frame."""
        grouped, cplx = self._split(joined)
        g_in = torch.relu(torch.einsum("btgi,gio->btgo", grouped, self.group_w) + self.group_b)
        g_out, g_state = [], []
        for k, gru in enumerate(self.group_gru):
            out, state = gru(g_in[:, :, k], None if gh is None else gh[k])
            g_out.append(out)
            g_state.append(state)
        z, h = self.gru(torch.cat([*g_out, torch.relu(self.cplx_in(cplx))], dim=-1), h)
        return z, g_state, h

    def decode_parts(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent ``(..., hidden)`` -> the real and imaginary parts of the mask ``(..., bins)``.

        Band gains spread over all bins, times a complex ratio mask of magnitude below 1
        on the lowest ``cplx_bins`` bins (real tensors only: what ONNX can export).
        """
        gains = torch.sigmoid(self.gain_out(z)) @ self.band_spread
        raw = self.crm_out(z)
        c = self.cplx_bins
        re, im = raw[..., :c], raw[..., c:]
        radius = torch.sqrt(re.square() + im.square() + 1e-8)
        shrink = torch.tanh(radius) / radius * gains[..., :c]
        high = gains[..., c:]
        return torch.cat([re * shrink, high], dim=-1), torch.cat([im * shrink, torch.zeros_like(high)], dim=-1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(..., hidden)`` -> complex mask ``(..., bins)`` (:meth:`decode_parts`)."""
        return torch.complex(*self.decode_parts(z))

    def _denoise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms ``(batch, 1, n)`` -> denoised waveforms of the same shape and the latent."""
        flat = x.reshape(x.shape[0], -1)
        spec = self.stft(nn.functional.pad(flat, (0, self.n_fft + self.lookahead * self.hop)))
        z = self.encode_spec(spec)
        return self.istft(spec * self.decode(z), flat.shape[-1]).reshape(x.shape), z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Denoise waveforms ``(batch, 1, n)`` -> ``(batch, 1, n)``."""
        return self._denoise(x)[0]

    def loss(
        self, x_hat: torch.Tensor, target: torch.Tensor, z: torch.Tensor | None = None, **weights: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """:func:`denoise_loss` of denoised waveforms ``x_hat`` against clean ``target`` (``(batch, 1, n)``);
        ``weights`` are its keyword weights (e.g. ``under_weight``)."""
        return denoise_loss(self, x_hat, target, **weights)

    def training_loss(
        self, x: torch.Tensor, target: torch.Tensor, **weights: float
    ) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        """Denoise noisy ``x`` and score it against clean ``target``: ``(loss, parts, latent)`` for the trainer."""
        out, z = self._denoise(x)
        loss, parts = self.loss(out, target, **weights)
        return loss, parts, z

    # -- streaming -----------------------------------------------------------
    def init_state(self, batch: int = 1) -> dict[str, Any]:
        """Fresh streaming state: running feature means (and the frames in them), recent features, the GRU states."""
        device = self.group_w.device
        gh = self.group_gru[0].hidden_size
        return {"mean": torch.zeros(batch, self.erb_bands, device=device),
                "rms": torch.zeros(batch, self.cplx_bins, device=device),
                "heard": torch.zeros(batch, device=device), "recent": [],
                "gh": [torch.zeros(1, batch, gh, device=device) for _ in self.group_gru],
                "h": torch.zeros(1, batch, self.gru.hidden_size, device=device)}

    def _latent_step(
        self, joined: torch.Tensor, gh: list[torch.Tensor], h: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """One frame through the recurrences: joined features ``(batch, span, features)`` -> latent ``(batch, hidden)``.

        ``gh`` (one ``(1, batch, group_hidden)`` per group) and ``h`` ``(1, batch, hidden)``
        are the GRU states before the frame; their new values are returned.
        """
        grouped, cplx = self._split(joined)
        g_in = torch.relu(torch.einsum("bgi,gio->bgo", grouped, self.group_w) + self.group_b)
        g_out, g_state = [], []
        for k, gru in enumerate(self.group_gru):
            out, state = gru(g_in[:, None, k], gh[k])
            g_out.append(out[:, 0])
            g_state.append(state)
        z, h = self.gru(torch.cat([*g_out, torch.relu(self.cplx_in(cplx))], dim=-1)[:, None], h)
        return z[:, 0], g_state, h

    @torch.no_grad()
    def step(self, spec: torch.Tensor, state: dict[str, Any]) -> torch.Tensor | None:
        """Take ONE frame ``spec`` ``(batch, bins)`` (complex); updates ``state`` in place.

        Returns the complex mask ``(batch, bins)`` of the frame ``lookahead`` steps back,
        or ``None`` while the first ``lookahead`` frames are still being collected.
        """
        state["recent"] = [*state["recent"], self._frame_features(spec, state)][-(self.lookahead + 1):]
        if len(state["recent"]) <= self.lookahead:
            return None
        z, state["gh"], state["h"] = self._latent_step(torch.stack(state["recent"], dim=1), state["gh"], state["h"])
        return self.decode(z)

    @torch.no_grad()
    def steps(self, spec: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        """:meth:`step` on many frames at once: ``spec`` ``(batch, frames, bins)`` -> the masks ``(batch, k, bins)``
        of the ``k`` frames they complete (``lookahead`` fewer at the stream's start), ``state`` updated as the
        steps would, so the two can be mixed.

        The recurrences run over the whole block (one cuDNN call per GRU on a GPU instead of
        a dozen small launches per frame); equal to :meth:`step` to float rounding.
        """
        span = self.lookahead + 1
        feats = list(self._block_features(spec, state).unbind(1))
        waiting = state["recent"][len(state["recent"]) - min(len(state["recent"]), self.lookahead):]
        seq = [*waiting, *feats]
        state["recent"] = [*state["recent"], *feats][-span:]
        ready = len(seq) - self.lookahead
        if ready <= 0:
            return spec.new_zeros((spec.shape[0], 0, self.bins))
        stacked = torch.stack(seq, dim=1)  # (batch, frames, features)
        joined = torch.stack([stacked[:, k: k + ready] for k in range(span)], dim=2)
        z, state["gh"], state["h"] = self._sequence_latents(joined, state["gh"], state["h"])
        return self.decode(z)

    # -- the step with explicit state (ONNX export) ---------------------------
    #: :class:`~tsae.export.denoiser_step.DenoiserStep` hands :meth:`explicit_step` the real and
    #: imaginary parts of a frame and gets those of a complex mask back
    mask_kind = "complex"

    def explicit_state(self, batch: int = 1) -> dict[str, torch.Tensor]:
        """:meth:`init_state` as fixed-size tensors, for a graph whose state is all inputs and outputs.

        ``mean`` ``(batch, erb_bands)``, ``rms`` ``(batch, cplx_bins)``, ``heard`` ``(batch,)``
        (the frames in those means), ``count`` ``(1,)`` (frames so far), ``recent`` ``(lookahead,
        batch, features)`` (the previous frames' features), ``gh`` ``(groups, batch,
        group_hidden)`` and ``h`` ``(1, batch, hidden)`` (the GRU states).
        """
        fresh = self.init_state(batch)
        width = 2 * self.erb_bands + 2 * self.cplx_bins
        return {"mean": fresh["mean"], "rms": fresh["rms"], "heard": fresh["heard"],
                "count": torch.zeros(1, device=fresh["h"].device),
                "recent": torch.zeros(self.lookahead, batch, width, device=fresh["h"].device),
                "gh": torch.cat(fresh["gh"], dim=0), "h": fresh["h"]}

    def explicit_step(
        self, re: torch.Tensor, im: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor, dict[str, torch.Tensor]]:
        """:meth:`step` on the real and imaginary parts ``(batch, bins)`` of one frame, with no Python-side state.

        Returns ``((mask_re, mask_im), ready, new_state)``: the mask is that of the frame
        ``lookahead`` steps back, valid only where ``ready`` (a boolean ``(1,)``: false for
        the first ``lookahead`` frames, during which the GRU states are kept).
        """
        count = state["count"]
        feats, mean, rms, heard = self._features_of(re, im, state["mean"], state["rms"], state["heard"])
        recent = state["recent"]
        joined = torch.stack([*recent.unbind(0), feats], dim=1)
        old_gh = state["gh"]
        z, gh, h = self._latent_step(joined, [old_gh[k: k + 1] for k in range(self.groups)], state["h"])
        ready = count >= self.lookahead
        gh_next = torch.where(ready, torch.cat(gh, dim=0), old_gh)
        h = torch.where(ready, h, state["h"])
        if self.lookahead:
            recent = torch.cat([recent[1:], feats[None]], dim=0)
        new = {"mean": mean, "rms": rms, "heard": heard, "count": count + 1.0, "recent": recent, "gh": gh_next,
               "h": h}
        return self.decode_parts(z), ready, new

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: one frame plus the look-ahead frames."""
        return self.n_fft + self.lookahead * self.hop

    def streamer(self, fast: bool = True, block: bool | None = None) -> StreamingModel:
        """This network as a :class:`~tsae.models.base.StreamingModel` that steps on numpy arrays.

        Its ``step`` takes the complex spectrum of one frame ``(batch, bins)`` and returns
        the complex64 mask of the frame ``lookahead`` steps back. On the CPU (and with
        ``fast``) it is :meth:`step` in float32 in numba kernels (the weights are copied:
        build a new streamer after changing them), with a ``steps`` that takes a block of
        frames and gives them bit for bit what ``step`` gives one by one; otherwise it wraps
        :meth:`step`. With ``block`` (default: on a GPU) it wraps :meth:`steps` as its
        ``steps`` too: a few kernel launches per block instead of dozens per frame, at the
        price of bit-exactness across chunkings (feeding a stream in other blocks changes the
        output at float rounding, about 1e-7; frame by frame it does not change at all).
        The streaming denoiser feeds a stepper that has ``steps`` whole blocks of frames.
        """
        on_cpu = self.group_w.device.type == "cpu"
        if block if block is not None else not on_cpu:
            return _TorchBlockStepper(self)  # type: ignore[arg-type]
        if fast and on_cpu:
            return _CompiledStepper2(self)
        return _TorchStepper(self)  # type: ignore[arg-type]


class _TorchBlockStepper(_TorchStepper):
    """The torch step with numpy in and out, and :meth:`Denoiser2Net.steps` as ``steps`` for a block of frames
    (the streaming denoiser uses it when a stepper has it)."""

    def steps(self, spec: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        """Complex spectra ``(batch, frames, bins)`` -> the complex64 masks ``(batch, k, bins)`` they complete."""
        masks = self.net.steps(torch.from_numpy(spec.astype(np.complex64)).to(self.device), state)
        return masks.cpu().numpy()


#: most rows (frames x streams) the CPU stepper's layers take in one call (a few MB of buffers)
BLOCK_ROWS = 512


class _CompiledStepper2(_KernelStepper):
    """:meth:`Denoiser2Net.step` in float32 in numba (features, then the layers in one call; own products).

    See :mod:`tsae_plugins.denoise_kernels`. The weights are copied (torch's transposed,
    the groups' stacked, the two output heads side by side) and packed in column tiles
    (``pack_columns``); the state is float32 arrays: the running means, the look-ahead
    buffers of the last ``1 + lookahead`` frames' features (band features by group in each
    group's input order, complex features) and the GRU states (the groups' as ``(groups,
    batch, group_hidden)``). :meth:`steps` takes a block of frames at once (the streaming
    denoiser then feeds it whole chunks), bit for bit what :meth:`step` gives frame by frame.
    """

    def __init__(self, net: Denoiser2Net) -> None:
        super().__init__(net)  # type: ignore[arg-type]
        from tsae_plugins import denoise_kernels  # imports numba: only when a stepper is built

        arr = _float32
        pack = denoise_kernels.pack_columns

        def cell(grus: list[nn.GRU]) -> tuple[np.ndarray, ...]:
            w_ih, b_ih, w_hh, b_hh = (np.stack([arr(getattr(g, f"{name}_l0")) for g in grus])
                                      for name in ("weight_ih", "bias_ih", "weight_hh", "bias_hh"))
            return (np.stack([pack(w.T) for w in w_ih]), np.ascontiguousarray(b_ih),
                    np.stack([pack(w.T) for w in w_hh]), np.ascontiguousarray(b_hh))

        self.alpha = float(net.alpha)
        self.cplx_bins, self.groups, self.bins = net.cplx_bins, net.groups, net.bins
        self.band_avg, self.band_spread = arr(net.band_avg), arr(net.band_spread)
        self.group_w = np.stack([pack(w) for w in arr(net.group_w)])
        self.group_b = arr(net.group_b)
        self.cplx_w, self.cplx_b = pack(arr(net.cplx_in.weight).T), arr(net.cplx_in.bias)[None]
        self.group_cell = cell(list(net.group_gru))
        w_ih, self.b_ih, w_hh, self.b_hh = cell([net.gru])
        self.w_ih, self.w_hh = w_ih[0], w_hh[0]
        self.w_heads = pack(np.concatenate([arr(net.gain_out.weight), arr(net.crm_out.weight)]).T)
        self.b_heads = np.concatenate([arr(net.gain_out.bias), arr(net.crm_out.bias)])
        self.shapes = (net.erb_bands, net.group_gru[0].hidden_size, net.gru.hidden_size)

    def init_state(self, batch: int = 1) -> dict[str, Any]:
        bands, group_hidden, hidden = self.shapes
        span = self.lookahead + 1
        return {"mean": np.zeros((batch, bands), np.float32),
                "rms": np.zeros((batch, self.cplx_bins), np.float32),
                "heard": np.zeros(batch, np.float32), "count": 0,
                "band_recent": np.zeros((self.groups, batch, span * 2 * bands // self.groups), np.float32),
                "cplx_recent": np.zeros((batch, span * 2 * self.cplx_bins), np.float32),
                "gh": np.zeros((self.groups, batch, group_hidden), np.float32),
                "h": np.zeros((1, batch, hidden), np.float32)}

    def step(self, spec: np.ndarray, state: dict[str, Any]) -> np.ndarray | None:
        """One frame ``(batch, bins)`` -> the complex64 mask of the frame ``lookahead`` back (None: not yet)."""
        masks = self.steps(spec[:, None], state)
        return masks[:, 0] if masks.shape[1] else None

    def steps(self, spec: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        """Complex spectra ``(batch, frames, bins)`` -> the complex64 masks ``(batch, k, bins)`` of the ``k``
        frames they complete (``lookahead`` fewer at the stream's start), ``state`` updated.

        Long blocks go through in parts of at most :data:`BLOCK_ROWS` rows (frames times streams), so the
        layers' buffers stay small whatever a caller hands over at once; the parts change no bit.
        """
        batch, frames = spec.shape[:2]
        part = max(1, BLOCK_ROWS // max(batch, 1))
        if frames <= part:
            return self._block(spec, state)
        return np.concatenate([self._block(spec[:, i: i + part], state) for i in range(0, frames, part)], axis=1)

    def _block(self, spec: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        k = self.kernels
        batch, frames = spec.shape[:2]
        t = state["count"]
        ready = frames - max(0, min(frames, self.lookahead - t))
        band, cplx = state["band_recent"], state["cplx_recent"]
        band_seq = np.empty((self.groups, ready, *band.shape[1:]), np.float32)
        cplx_seq = np.empty((ready, *cplx.shape), np.float32)
        k.denoiser2_frames(np.ascontiguousarray(spec, dtype=np.complex128), self.band_avg, state["mean"],
                           state["rms"], state["heard"], np.float32(self.alpha), SILENT_POWER, self.cplx_bins,
                           band, cplx, np.float32(_EPS_POWER), POWER_CAP, PART_CAP, t, self.lookahead, band_seq,
                           cplx_seq)
        state["count"] = t + frames
        mask = np.empty((ready, batch, self.bins), np.complex64)
        if ready:
            k.denoiser2_layers(band_seq, cplx_seq, state["gh"], state["h"], self.group_w, self.group_b,
                               *self.group_cell, self.cplx_w, self.cplx_b, self.w_ih, self.b_ih, self.w_hh,
                               self.b_hh, self.w_heads, self.b_heads, self.band_spread, mask)
        return mask.transpose(1, 0, 2)


def si_sdr(est: torch.Tensor, ref: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB of waveforms ``(batch, ..., n)`` (one value per example)."""
    est = est.reshape(est.shape[0], -1)
    ref = ref.reshape(ref.shape[0], -1)
    est = est - est.mean(dim=-1, keepdim=True)
    ref = ref - ref.mean(dim=-1, keepdim=True)
    proj = (est * ref).sum(-1, keepdim=True) / (ref.square().sum(-1, keepdim=True) + eps) * ref
    return 10.0 * torch.log10((proj.square().sum(-1) + eps) / ((est - proj).square().sum(-1) + eps))


def _block_rows(old: int, new: int, blocks: int = 1) -> np.ndarray:
    """Where ``blocks`` stacked runs of ``old`` rows (GRU gates: 3) land among ``blocks`` runs of ``new``."""
    return np.concatenate([np.arange(old) + b * new for b in range(blocks)])


def widen_state(state: dict[str, torch.Tensor], model: Denoiser2Net) -> dict[str, torch.Tensor]:
    """Fit a smaller ``denoiser2`` state dict into ``model`` (to fine-tune a wider or farther-seeing network).

    ``model`` may have more look-ahead and larger ``group_hidden``, ``cplx_hidden`` and
    ``hidden`` than the network ``state`` came from (everything else must match). The
    old weights keep their places; every new unit keeps ``model``'s own random input
    weights, but its outputs enter the old units (and the mask layers) with zero
    weights, as do the features of the extra future frames (they come last in each
    input). So the widened network computes exactly what the original did, and training
    can grow the new units from there (their outputs reach the loss, so they get gradients).
    """
    target = model.state_dict()
    old_gh = state["group_b"].shape[1]
    old_ch = state["cplx_in.bias"].shape[0]
    old_h = state["gru.weight_hh_l0"].shape[1]
    gh, ch, h = model.group_gru[0].hidden_size, model.cplx_in.out_features, model.gru.hidden_size
    if old_gh > gh or old_ch > ch or old_h > h or state["group_b"].shape[0] != model.groups:
        raise ValueError(f"denoiser2: cannot widen groups x group_hidden / cplx_hidden / hidden of "
                         f"{state['group_b'].shape[0]} x {old_gh} / {old_ch} / {old_h} to "
                         f"{model.groups} x {gh} / {ch} / {h}")
    for key in ("group_w", "cplx_in.weight"):
        have, want = state[key].shape[-2 if key == "group_w" else 1], target[key].shape[-2 if key == "group_w" else 1]
        per_frame = want // (model.lookahead + 1)
        if have > want or (want - have) % per_frame or have % per_frame:
            raise ValueError(f"denoiser2: cannot widen {key} of {have} inputs to {want}")
    main_in = np.concatenate([_block_rows(old_gh, gh) + k * gh for k in range(model.groups)]
                             + [np.arange(old_ch) + model.groups * gh])
    # (old rows' new places, old columns' new places) of each 2-D weight (rows = outputs);
    # for 1-D biases only the rows count
    places: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
        "cplx_in.weight": (np.arange(old_ch), np.arange(state["cplx_in.weight"].shape[1])),
        "cplx_in.bias": (np.arange(old_ch), None),
        "gru.weight_ih_l0": (_block_rows(old_h, h, 3), main_in),
        "gru.weight_hh_l0": (_block_rows(old_h, h, 3), np.arange(old_h)),
        "gru.bias_ih_l0": (_block_rows(old_h, h, 3), None),
        "gru.bias_hh_l0": (_block_rows(old_h, h, 3), None),
        "gain_out.weight": (np.arange(model.erb_bands), np.arange(old_h)),
        "gain_out.bias": (np.arange(model.erb_bands), None),
        "crm_out.weight": (np.arange(2 * model.cplx_bins), np.arange(old_h)),
        "crm_out.bias": (np.arange(2 * model.cplx_bins), None),
    }
    for k in range(model.groups):
        for part in ("ih", "hh"):
            places[f"group_gru.{k}.weight_{part}_l0"] = (_block_rows(old_gh, gh, 3), np.arange(old_gh))
            places[f"group_gru.{k}.bias_{part}_l0"] = (_block_rows(old_gh, gh, 3), None)
    out: dict[str, torch.Tensor] = {}
    for key, fresh in target.items():
        old = state[key]
        new = fresh.detach().clone()
        if key in ("group_w", "group_b"):
            # per group: (inputs, units) and (units,): the units are the last axis here
            rows = np.arange(old_gh)
            if key == "group_b":
                new[:, rows] = old
            else:
                new[:, :, rows] = 0.0
                new[:, : old.shape[1], rows] = old
            out[key] = new
            continue
        rows, cols = places[key]
        if cols is None:
            new[torch.from_numpy(rows)] = old
        else:
            r = torch.from_numpy(rows)
            new[r] = 0.0
            new[r[:, None], torch.from_numpy(cols)[None, :]] = old
        out[key] = new
    return out


def denoise_loss(
    net: SpectralFrames,
    est: torch.Tensor,
    ref: torch.Tensor,
    *,
    power: float = 0.3,
    complex_weight: float = 0.5,
    sisdr_weight: float = 0.01,
    under_weight: float = 0.0,
    over_weight: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Training loss of denoised waveforms ``est`` against clean ``ref`` (both ``(batch, ..., n)``).

    ``mag + complex_weight * cplx + under_weight * under + over_weight * over - sisdr_weight * SI-SDR``:
    the compressed-magnitude and compressed-complex spectral terms (magnitudes to the power
    ``power``, level invariant; on ``net``'s STFT), the shortfall of the estimate's
    compressed magnitude below the reference's (speech removed) and its excess above it
    (noise left; see ``spectral_loss``), and the mean SI-SDR in dB. The parts are returned
    by name (``mag``, ``cplx``, ``under`` and ``over`` when weighted, ``sisdr``).
    """
    flat_est, flat_ref = est.reshape(est.shape[0], -1), ref.reshape(ref.shape[0], -1)
    spectral, parts = spectral_loss(net.stft(flat_est), net.stft(flat_ref), power=power,
                                    complex_weight=complex_weight, under_weight=under_weight,
                                    over_weight=over_weight)
    sdr = si_sdr(flat_est, flat_ref).mean()
    return spectral - sisdr_weight * sdr, {**parts, "sisdr": float(sdr.detach())}
