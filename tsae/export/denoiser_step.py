"""The streaming denoiser as one ONNX step: ``hop`` samples and the state in, ``hop`` samples and the state out.

:class:`DenoiserStep` is what :class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser`
does at the model's sample rate for one hop, with every piece of state an explicit
tensor: the last ``n_fft - hop`` input samples (framing), the network's state
(:meth:`explicit_state` of the family), the spectra waiting for their look-ahead
frames, the clean-signal guard's noise-floor tracker and the overlap-add tail. The
FFTs are matrix products with fixed cosine/sine tables (exact to float32 rounding,
and every ONNX runtime has MatMul). The output lags the input by
:attr:`DenoiserStep.delay` samples: a runner drops that many leading samples and
feeds that many zeros at the end, which gives the samples ``tsae denoise`` writes.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from tsae.io.audio import LOUDEST
from tsae.models.base import SILENT_POWER
from tsae.pipelines.denoise import mask_finish as _finish

_EPS = 1e-20


class DenoiserStep(nn.Module):
    """One hop of the streaming denoiser (see the module docstring).

    Parameters
    ----------
    net
        A streaming denoiser network with ``explicit_state`` / ``explicit_step``: on a
        frame's power spectrum, returning a real mask (the ``denoiser`` family), or, where
        its ``mask_kind`` is ``"complex"``, on the frame's real and imaginary parts,
        returning those of a complex mask (``denoiser2``).
    strength, atten_limit, guard
        As for :class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser`, fixed in the graph;
        :attr:`atten_limit` is the limit applied (``inf``: none).
    """

    analysis_re: torch.Tensor
    analysis_im: torch.Tensor
    synthesis_re: torch.Tensor
    synthesis_im: torch.Tensor
    window: torch.Tensor
    envelope: torch.Tensor

    def __init__(self, net: Any, *, strength: float = 1.0, atten_limit: float | None = None,
                 guard: bool = True) -> None:
        super().__init__()
        stepper = net.streamer(fast=False)
        self.net = net
        self.n_fft, self.hop, self.lookahead = int(stepper.window), int(stepper.hop), int(stepper.lookahead)
        if self.n_fft % self.hop:
            raise ValueError(f"denoiser export needs a frame length ({self.n_fft}) that is a multiple of the hop "
                             f"({self.hop})")
        n, bins = self.n_fft, self.n_fft // 2 + 1
        self.bins = bins
        win = np.asarray(stepper.window_fn, np.float64)
        k = np.arange(bins)[None, :] * np.arange(n)[:, None] * (2.0 * np.pi / n)
        weight = np.full(bins, 2.0)
        weight[0] = 1.0
        weight[-1] = 1.0 if n % 2 == 0 else 2.0
        self._table("analysis_re", win[:, None] * np.cos(k))  # windowed frame -> spectrum
        self._table("analysis_im", -win[:, None] * np.sin(k))
        self._table("synthesis_re", (weight[:, None] * np.cos(k.T)) / n)  # spectrum -> frame (irfft)
        sin_part = -(weight[:, None] * np.sin(k.T)) / n
        sin_part[0] = 0.0
        if n % 2 == 0:
            sin_part[-1] = 0.0
        self._table("synthesis_im", sin_part)
        self._table("window", win)
        wsq = win * win
        self._table("envelope", wsq.reshape(n // self.hop, self.hop).sum(axis=0))
        self.guard = bool(guard)
        self.complex_mask = getattr(net, "mask_kind", "real") == "complex"
        self.atten_limit = _finish.resolved_atten_limit(atten_limit, net)  # None: the model's default; inf: none
        self.strength, self.floor = _finish.finish_settings(strength, self.atten_limit)

    def _table(self, name: str, value: np.ndarray) -> None:
        self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32), persistent=False)

    @property
    def delay(self) -> int:
        """Samples between an input sample and its output: the framing's ``n_fft - hop`` plus the look-ahead."""
        return self.n_fft - self.hop + self.lookahead * self.hop

    def initial_state(self, batch: int = 1) -> dict[str, torch.Tensor]:
        """The state of a fresh stream of ``batch`` channels (names in graph order)."""
        device = self.analysis_re.device
        zeros = torch.zeros
        state = {"frame_tail": zeros(batch, self.n_fft - self.hop, device=device)}
        state.update({f"net_{k}": v for k, v in self.net.explicit_state(batch).items()})
        state.update({
            "pending_re": zeros(self.lookahead, batch, self.bins, device=device),
            "pending_im": zeros(self.lookahead, batch, self.bins, device=device),
            "guard_started": zeros(batch, 1, device=device),  # per channel, as mask_finish keeps them
            "guard_frames": zeros(batch, 1, device=device),
            "guard_smooth": zeros(batch, self.bins, device=device),
            "guard_noise": zeros(batch, self.bins, device=device),
            "guard_minima": torch.full((_finish.GUARD_BLOCKS, batch, self.bins), torch.inf, device=device),
            "ola_tail": zeros(batch, self.n_fft - self.hop, device=device),
        })
        return state

    def forward(self, samples: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``samples`` ``(batch, hop)`` and the state (as :meth:`initial_state`) -> ``(batch, hop)`` and the state.

        NaN and infinite samples are taken as silence, and samples beyond :data:`~tsae.io.audio.LOUDEST` times
        full scale are clipped to it, as by :meth:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser.feed`.
        """
        names = list(self.initial_state(1))
        s = dict(zip(names, state, strict=True))
        samples = torch.where(torch.isfinite(samples), samples, torch.zeros_like(samples))
        samples = torch.clamp(samples, -LOUDEST, LOUDEST)  # squared, a larger one overflows float32's spectra
        frame = torch.cat([s["frame_tail"], samples], dim=-1)
        re, im = frame @ self.analysis_re, frame @ self.analysis_im
        net_state = {k[4:]: v for k, v in s.items() if k.startswith("net_")}
        if self.complex_mask:  # a family that corrects the phase: spectrum in, complex mask out
            (mask, mask_im), ready, net_state = self.net.explicit_step(re, im, net_state)
        else:
            mask, ready, net_state = self.net.explicit_step(re * re + im * im, net_state)
            mask_im = None
        if self.lookahead:
            old_re, old_im = s["pending_re"][0], s["pending_im"][0]
            pending_re = torch.cat([s["pending_re"][1:], re[None]], dim=0)
            pending_im = torch.cat([s["pending_im"][1:], im[None]], dim=0)
        else:
            old_re, old_im, pending_re, pending_im = re, im, s["pending_re"], s["pending_im"]
        guard = self._guard(old_re, old_im, s, ready)
        if mask_im is None:
            if self.guard:
                mask = torch.maximum(mask, guard[0])
            if self.floor > 0:
                mask = torch.clamp(mask, min=self.floor)
            if self.strength < 1.0:
                mask = 1.0 - self.strength * (1.0 - mask)
            synth = (old_re * mask) @ self.synthesis_re + (old_im * mask) @ self.synthesis_im
        else:
            synth = self._complex_synthesis(old_re, old_im, mask, mask_im, guard[0])
        acc = torch.cat([s["ola_tail"], torch.zeros_like(samples)], dim=-1) + synth * self.window
        out = torch.where(ready, acc[:, : self.hop] / self.envelope, torch.zeros_like(samples))
        ola_tail = torch.where(ready, acc[:, self.hop:], s["ola_tail"])
        new = {"frame_tail": frame[:, self.hop:], **{f"net_{k}": v for k, v in net_state.items()},
               "pending_re": pending_re, "pending_im": pending_im, **guard[1], "ola_tail": ola_tail}
        return (out, *(new[k] for k in names))

    def _complex_synthesis(self, re: torch.Tensor, im: torch.Tensor, mask_re: torch.Tensor, mask_im: torch.Tensor,
                           guard: torch.Tensor) -> torch.Tensor:
        """One frame through a complex mask (guard, floor and strength as ``mask_finish`` does) -> the frame."""
        lows = ([guard] if self.guard else []) + ([torch.full_like(guard, self.floor)] if self.floor > 0 else [])
        for low in lows:  # gain raised to at least ``low`` (mask_finish._lift: the phase turns to 0 as it falls)
            mag = torch.sqrt(mask_re * mask_re + mask_im * mask_im)
            shifted_re = mask_re + torch.clamp(low - mag, min=0.0)
            size = torch.sqrt(shifted_re * shifted_re + mask_im * mask_im)
            scale = low / torch.clamp(size, min=1e-30)
            kept = mag >= low
            mask_re = torch.where(kept, mask_re, torch.where(size > 0, shifted_re * scale, low))
            mask_im = torch.where(kept, mask_im, torch.where(size > 0, mask_im * scale, torch.zeros_like(mask_im)))
        if self.strength < 1.0:
            mask_re = 1.0 - self.strength * (1.0 - mask_re)
            mask_im = self.strength * mask_im
        out_re = re * mask_re - im * mask_im
        out_im = re * mask_im + im * mask_re
        return out_re @ self.synthesis_re + out_im @ self.synthesis_im

    def _guard(self, re: torch.Tensor, im: torch.Tensor, s: dict[str, torch.Tensor],
               ready: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The guard's lower bound on the mask and its next state (see :mod:`tsae.pipelines.denoise.mask_finish`)."""
        power = re * re + im * im
        silent = power.mean(dim=-1, keepdim=True) < SILENT_POWER
        started = s["guard_started"] > 0
        starts_now = ready & ~started & ~silent
        smooth = torch.where(silent, s["guard_smooth"],
                             _finish.GUARD_SMOOTH * s["guard_smooth"] + (1 - _finish.GUARD_SMOOTH) * power)
        noise = torch.where(silent, s["guard_noise"], torch.minimum(s["guard_noise"], smooth))
        smooth = torch.where(starts_now, power, smooth)
        noise = torch.where(starts_now, power, noise)
        active = ready & (started | starts_now)
        frames = s["guard_frames"] + 1.0
        floor = torch.minimum(noise, s["guard_minima"].amin(dim=0))
        block_done = frames >= _finish.GUARD_BLOCK
        minima = torch.where(block_done, torch.cat([s["guard_minima"][1:], noise[None]], dim=0), s["guard_minima"])
        noise_next = torch.where(block_done, smooth, noise)
        frames = torch.where(block_done, torch.zeros_like(frames), frames)
        snr_db = 10.0 * torch.log10((power + _EPS) / torch.clamp(floor, min=_EPS))
        lift = torch.where(silent, torch.ones_like(power),
                           torch.clamp((snr_db - _finish.GUARD_DB) / _finish.GUARD_RAMP, 0.0, 1.0))
        lift = torch.where(active, lift, torch.ones_like(power))
        return lift, {
            "guard_started": torch.where(active, torch.ones_like(s["guard_started"]), s["guard_started"]),
            "guard_frames": torch.where(active, frames, s["guard_frames"]),
            "guard_smooth": torch.where(active, smooth, s["guard_smooth"]),
            "guard_noise": torch.where(active, noise_next, s["guard_noise"]),
            "guard_minima": torch.where(active, minima, s["guard_minima"]),
        }
