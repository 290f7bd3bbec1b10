"""Differentiable front end: raw EEG windows -> band differential entropy.

M2S reads EEG as sequences of band features, as the SEED datasets distribute
them (Duan, Zhu & Lu, 2013). This module turns braindecode's usual raw
windows ``(batch, n_chans, n_times)`` into that form, inside the network, so a
raw-signal pipeline and a feature pipeline feed the same encoder.

For a window of :math:`N` samples with real FFT :math:`X_f`, the variance of
the signal restricted to band :math:`b` follows from Parseval's theorem,

.. math::

    \\sigma_b^2 = \\frac{1}{N^2} \\sum_{f \\in b} c_f |X_f|^2, \\qquad
    c_f = 2 \\text{ except } c_0 = c_{N/2} = 1,

and, for a Gaussian band-limited signal, its differential entropy is
(Duan, Zhu & Lu, 2013)

.. math::

    h_b = \\tfrac{1}{2} \\log (2 \\pi e \\sigma_b^2).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..bands import SEED_IV_BANDS

__all__ = ["BandDifferentialEntropy", "SEED_IV_BANDS"]


class BandDifferentialEntropy(nn.Module):
    """Raw EEG to band differential-entropy window sequences.

    Splits each raw sample into non-overlapping windows of
    ``window_seconds`` and computes the differential entropy of every band in
    every window through the FFT (module docstring). It has no learnable
    parameters; gradients flow through it.

    Parameters
    ----------
    sfreq : float
        Sampling frequency (Hz).
    window_seconds : float
        Length of one feature window (s).
    bands : sequence of (float, float)
        Band edges in Hz, ``[low, high)``; default SEED-IV's five bands.
    eps : float
        Added to the band variance before the logarithm.

    Shapes
    ------
    Input ``(batch, n_chans, n_times)``; output ``(batch, n_chans, n_windows,
    n_bands)`` with ``n_windows = n_times // round(window_seconds * sfreq)``
    (trailing samples are dropped).

    References
    ----------
    .. [de] Duan, R.-N., Zhu, J.-Y., & Lu, B.-L. (2013). Differential entropy
       feature for EEG-based emotion classification. IEEE/EMBS NER, 81-84.
    """

    def __init__(self, sfreq, window_seconds=1.0, bands=SEED_IV_BANDS, eps=1e-12):
        super().__init__()
        if not sfreq or sfreq <= 0:
            raise ValueError(f"sfreq must be a positive number; got {sfreq!r}.")
        self.sfreq = float(sfreq)
        self.window_samples = int(round(window_seconds * sfreq))
        if self.window_samples < 2:
            raise ValueError(
                f"window_seconds={window_seconds} at sfreq={sfreq} gives "
                f"{self.window_samples} samples; need at least 2."
            )
        bands = [tuple(map(float, b)) for b in bands]
        nyquist = self.sfreq / 2
        for low, high in bands:
            if not 0 <= low < high <= nyquist:
                raise ValueError(
                    f"Band ({low}, {high}) Hz must satisfy 0 <= low < high <= "
                    f"Nyquist ({nyquist} Hz)."
                )
        self.bands = bands
        self.eps = eps
        n = self.window_samples
        freqs = torch.fft.rfftfreq(n, d=1.0 / self.sfreq)
        weight = torch.full_like(freqs, 2.0)
        weight[0] = 1.0
        if n % 2 == 0:
            weight[-1] = 1.0
        masks = torch.stack([((freqs >= low) & (freqs < high)).float() for low, high in bands])
        empty = [b for b, m in zip(bands, masks) if m.sum() == 0]
        if empty:
            raise ValueError(
                f"Bands {empty} contain no FFT bin at a {n}-sample window "
                f"({self.sfreq / n:.3g} Hz resolution); lengthen window_seconds."
            )
        # (n_freqs, n_bands): variance weights per band (Parseval)
        self.register_buffer("band_weights", (masks * weight / n**2).T, persistent=False)

    @property
    def n_bands(self):
        """Number of bands."""
        return len(self.bands)

    def forward(self, x):
        """Compute band DE per window.

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, n_chans, n_times)``.

        Returns
        -------
        torch.Tensor
            ``(batch, n_chans, n_windows, n_bands)``.

        Raises
        ------
        ValueError
            If ``x`` is not 3-D, is an empty batch or has no channels, or is
            shorter than one window.
        """
        if x.ndim != 3:
            raise ValueError(
                f"Raw EEG must be 3-D (batch, n_chans, n_times); got shape {tuple(x.shape)}."
            )
        batch, n_chans, n_times = x.shape
        if batch == 0 or n_chans == 0:
            raise ValueError(
                f"Raw EEG has shape {tuple(x.shape)}; expected at least one sample and "
                f"one channel (an empty batch has no features to compute)."
            )
        n_windows = n_times // self.window_samples
        if n_windows < 1:
            raise ValueError(
                f"Raw EEG of {n_times} samples is shorter than one "
                f"{self.window_samples}-sample feature window; expected n_times >= "
                f"{self.window_samples}."
            )
        windows = x[..., : n_windows * self.window_samples].reshape(
            batch, n_chans, n_windows, self.window_samples
        )
        # Squared magnitudes of float32 samples overflow beyond ~1.8e19; the
        # spectrum is computed in float64 so that every finite input gives a
        # finite log-variance, which fits the input's dtype again.
        wide = (
            windows.to(torch.float64)
            if windows.dtype in (torch.float16, torch.bfloat16, torch.float32)
            else windows
        )
        power = torch.fft.rfft(wide, dim=-1).abs() ** 2
        variance = power @ self.band_weights.to(power.dtype)
        de = 0.5 * torch.log(2 * math.pi * math.e * (variance + self.eps))
        return de.to(x.dtype) if x.is_floating_point() else de
