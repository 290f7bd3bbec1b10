"""Raw-EEG DE front end against closed forms (the `m2s demo` tests are in test_demo.py)."""

import math

import pytest
import torch

from braindecode_m2s.modules import BandDifferentialEntropy


def test_sine_de_matches_closed_form():
    sfreq, n = 200.0, 400
    t = torch.arange(n) / sfreq
    amplitude = 3.0
    x = amplitude * torch.sin(2 * math.pi * 10.0 * t)  # 10 Hz: alpha band (8-14)
    front = BandDifferentialEntropy(sfreq, window_seconds=1.0)
    de = front(x.repeat(2, 3, 1))
    assert de.shape == (2, 3, 2, 5)
    expected = 0.5 * math.log(2 * math.pi * math.e * amplitude**2 / 2)
    torch.testing.assert_close(de[..., 2], torch.full((2, 3, 2), expected), rtol=1e-4, atol=1e-4)
    assert (de[..., [0, 1, 3, 4]] < expected - 10).all()  # other bands ~empty


def test_white_noise_band_variance():
    g = torch.Generator().manual_seed(0)
    sfreq, sigma = 100.0, 2.0
    x = sigma * torch.randn(1, 50, 100 * 40, generator=g)
    front = BandDifferentialEntropy(sfreq, window_seconds=4.0, bands=[(10.0, 20.0)])
    de = front(x)
    # flat spectrum: the band holds (20 - 10) / 50 of the variance
    expected = 0.5 * math.log(2 * math.pi * math.e * sigma**2 * 10 / 50)
    assert abs(float(de.mean()) - expected) < 0.02


def test_front_end_is_differentiable_and_validates():
    front = BandDifferentialEntropy(128.0, window_seconds=1.0)
    x = torch.randn(2, 4, 256, requires_grad=True)
    front(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match="shorter than one"):
        front(torch.randn(1, 4, 100))
    with pytest.raises(ValueError, match="Nyquist"):
        BandDifferentialEntropy(50.0, bands=[(1.0, 40.0)])
    with pytest.raises(ValueError, match="no FFT bin"):
        BandDifferentialEntropy(200.0, window_seconds=0.05, bands=[(1.0, 4.0)])
    with pytest.raises(ValueError, match="sfreq"):
        BandDifferentialEntropy(0)
