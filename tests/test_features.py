"""Tests of the DE / PSD / LDS / moving-average transformers."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from braindecode_m2s.features import (
    DEFAULT_BANDS,
    DifferentialEntropy,
    LinearDynamicalSystem,
    MovingAverage,
    PowerSpectralDensity,
)


def test_de_matches_closed_form_for_band_limited_white_noise():
    rng = np.random.default_rng(0)
    sfreq, sigma2 = 200.0, 4.0
    X = rng.standard_normal((2, 16, int(sfreq * 60))) * np.sqrt(sigma2)
    de = DifferentialEntropy(sfreq=sfreq, window_seconds=4.0).fit_transform(X)
    assert de.shape == (2, 16, 15, 5)
    # Zero-phase (forward-backward) Butterworth band-pass of prototype order N:
    # |H|^4 = (1 + Omega^(2N))^-2 in the low-pass prototype variable, whose
    # noise bandwidth relative to an ideal band-pass of the same edges is
    # int_0^inf (1 + x^n)^-2 dx = (1 - 1/n) (pi/n) / sin(pi/n), n = 2N.
    n = 2 * 4
    kappa = (1 - 1 / n) * (np.pi / n) / np.sin(np.pi / n)
    for b, (lo, hi) in enumerate(DEFAULT_BANDS):
        # White noise of variance sigma2 has a flat one-sided PSD
        # sigma2 / (sfreq / 2); the band-pass keeps kappa (hi - lo) / (sfreq / 2)
        # of its power.
        band_var = sigma2 * kappa * (hi - lo) / (sfreq / 2)
        expected = 0.5 * np.log(2 * np.pi * np.e * band_var)
        # average the per-window variances (unbiased), then compare in DE
        # units; the first and last windows hold the filter's edge transients
        var = np.exp(2 * de[:, :, 1:-1, b]) / (2 * np.pi * np.e)
        measured = 0.5 * np.log(2 * np.pi * np.e * var.mean())
        assert measured == pytest.approx(expected, abs=0.015), (lo, hi)
        # per-window values scatter around it
        assert np.median(de[..., b]) == pytest.approx(expected, abs=0.1)


def test_de_scales_with_amplitude_and_drops_remainder():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1, 2, 1000))
    de = DifferentialEntropy(sfreq=128, window_seconds=1.0)
    a, b = de.transform(X), de.transform(3 * X)
    assert a.shape == (1, 2, 1000 // 128, 5)
    np.testing.assert_allclose(b - a, np.log(3), atol=1e-9)


def test_psd_band_power_of_a_sinusoid():
    rng = np.random.default_rng(2)
    sfreq = 128.0
    t = np.arange(int(sfreq * 8)) / sfreq
    X = 2.0 * np.sin(2 * np.pi * 10.0 * t)[None, None] + 0.01 * rng.standard_normal((1, 1, t.size))
    psd = PowerSpectralDensity(sfreq=sfreq, window_seconds=2.0, log=False).fit_transform(X)
    assert psd.shape == (1, 1, 4, 5)
    # a sinusoid of amplitude 2 has power 2**2 / 2 = 2, all in 8-14 Hz
    np.testing.assert_allclose(psd[..., 2], 2.0, rtol=0.02)
    assert np.all(psd[..., [0, 1, 3, 4]] < 0.02)
    logged = PowerSpectralDensity(sfreq=sfreq, window_seconds=2.0).transform(X)
    np.testing.assert_allclose(logged, np.log(psd))


def test_psd_of_white_noise_is_proportional_to_bandwidth():
    rng = np.random.default_rng(3)
    sfreq = 200.0
    X = rng.standard_normal((1, 8, int(sfreq * 40)))
    psd = PowerSpectralDensity(sfreq=sfreq, window_seconds=4.0, log=False).transform(X)
    widths = np.array([hi - lo for lo, hi in DEFAULT_BANDS])
    np.testing.assert_allclose(psd.mean(axis=(0, 1, 2)), widths / (sfreq / 2), rtol=0.1)


def _kalman_rts_reference(y, A, C, Q, R, mu0, P0):
    """Textbook scalar Kalman filter and RTS smoother, one step at a time."""
    T = len(y)
    mf, pf, mp, pp = [0.0] * T, [0.0] * T, [0.0] * T, [0.0] * T
    for t in range(T):
        if t == 0:
            mp[t], pp[t] = mu0, P0
        else:
            mp[t], pp[t] = A * mf[t - 1], A * pf[t - 1] * A + Q
        S = C * pp[t] * C + R
        K = pp[t] * C / S
        mf[t] = mp[t] + K * (y[t] - C * mp[t])
        pf[t] = pp[t] - K * C * pp[t]
    ms = [0.0] * T
    ms[-1] = mf[-1]
    for t in reversed(range(T - 1)):
        J = pf[t] * A / pp[t + 1]
        ms[t] = mf[t] + J * (ms[t + 1] - mp[t + 1])
    return C * np.array(ms)


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(
            transition=0.9,
            observation=1.5,
            process_noise=0.05,
            observation_noise=0.3,
            initial_mean=0.2,
            initial_var=2.0,
        ),
    ],
)
def test_lds_matches_reference_kalman_smoother(params):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2, 3, 17, 5)).cumsum(axis=2)
    out = LinearDynamicalSystem(**params).fit_transform(X)
    assert out.shape == X.shape
    full = dict(
        transition=1.0,
        observation=1.0,
        process_noise=1e-3,
        observation_noise=1.0,
        initial_mean=None,
        initial_var=1.0,
    )
    full.update(params)
    A, C = full["transition"], full["observation"]
    for i, c, b in [(0, 0, 0), (1, 2, 4), (0, 1, 3)]:
        y = X[i, c, :, b]
        mu0 = y[0] / C if full["initial_mean"] is None else full["initial_mean"]
        ref = _kalman_rts_reference(
            y, A, C, full["process_noise"], full["observation_noise"], mu0, full["initial_var"]
        )
        np.testing.assert_allclose(out[i, c, :, b], ref, rtol=1e-10, atol=1e-12)
    # smoothing reduces the step-to-step variation
    assert np.abs(np.diff(out, axis=2)).mean() < np.abs(np.diff(X, axis=2)).mean()


def test_lds_on_modality_layout_and_other_axis():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((2, 4, 9))  # (n, n_features, n_windows)
    out = LinearDynamicalSystem(process_noise=0.1).transform(X)
    moved = LinearDynamicalSystem(process_noise=0.1, axis=0).transform(np.moveaxis(X, 2, 0))
    np.testing.assert_allclose(np.moveaxis(moved, 0, 2), out)


@pytest.mark.parametrize("window", [1, 4, 5])
def test_moving_average_matches_convolve(window):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((2, 3, 12, 5))
    out = MovingAverage(window=window).fit_transform(X)
    kernel = np.ones(window)
    counts = np.convolve(np.ones(12), kernel, mode="same")
    for i, c, b in [(0, 0, 0), (1, 2, 4)]:
        ref = np.convolve(X[i, c, :, b], kernel, mode="same") / counts
        np.testing.assert_allclose(out[i, c, :, b], ref, atol=1e-12)
    if window == 1:
        np.testing.assert_allclose(out, X)


def test_sklearn_contract_and_pipeline():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((3, 2, 128 * 6))
    pipe = make_pipeline(DifferentialEntropy(sfreq=128), LinearDynamicalSystem())
    out = pipe.fit_transform(X)
    assert out.shape == (3, 2, 6, 5)
    de = DifferentialEntropy(sfreq=128, window_seconds=2.0)
    assert clone(de).get_params() == de.get_params()
    assert de.set_params(window_seconds=1.0) is de and de.window_seconds == 1.0
    assert MovingAverage(window=3).fit(out) is not None


@pytest.mark.parametrize(
    "make, X, match",
    [
        (
            lambda: DifferentialEntropy(sfreq=128),
            np.zeros((2, 128 * 2)),
            r"`X` must be 3-D.*\(2, 256\)",
        ),
        (lambda: DifferentialEntropy(sfreq=128), np.full((1, 1, 300), np.nan), "1 NaN|300 NaN"),
        (
            lambda: DifferentialEntropy(sfreq=90),
            np.zeros((1, 1, 300)),
            r"\(31, 50\).*Nyquist \(45 Hz\)",
        ),
        (lambda: DifferentialEntropy(sfreq=-1), np.zeros((1, 1, 300)), "`sfreq`.*-1"),
        (
            lambda: DifferentialEntropy(sfreq=128, window_seconds=4),
            np.zeros((1, 1, 300)),
            r"300 samples are shorter than one window of 512",
        ),
        (
            lambda: DifferentialEntropy(sfreq=128, bands=[(4, 2)]),
            np.zeros((1, 1, 300)),
            r"\(4, 2\)",
        ),
        (lambda: DifferentialEntropy(sfreq=128, bands="alpha"), np.zeros((1, 1, 300)), "`bands`"),
        (
            lambda: DifferentialEntropy(sfreq=1000, window_seconds=0.02, bands=[(1, 4)]),
            np.zeros((1, 1, 25)),
            "too short to filter",
        ),
        (
            lambda: PowerSpectralDensity(sfreq=128, window_seconds=0.25),
            np.zeros((1, 1, 300)),
            "no frequency bin",
        ),
        (lambda: LinearDynamicalSystem(process_noise=0), np.zeros((1, 1, 3)), "`process_noise`"),
        (lambda: LinearDynamicalSystem(axis=5), np.zeros((1, 1, 3)), "`axis`=5"),
        (lambda: LinearDynamicalSystem(), np.zeros(3), "shape \\(3,\\)"),
        (lambda: MovingAverage(window=0), np.zeros((1, 1, 3)), "`window`.*0"),
        (lambda: MovingAverage(), np.array([[[np.inf, 1.0]]]), "1 NaN/Inf"),
    ],
)
def test_validation_errors(make, X, match):
    with pytest.raises(ValueError, match=match):
        make().fit_transform(X)


# -- empty inputs and overflow are refused, never wrong ----------------------
@pytest.mark.parametrize("shape", [(0, 3, 512), (2, 0, 512)])
@pytest.mark.parametrize("cls", [DifferentialEntropy, PowerSpectralDensity])
def test_band_features_refuse_empty_inputs(cls, shape):
    with pytest.raises(ValueError, match=r"`X` has shape .*expected at least one"):
        cls(sfreq=128.0).transform(np.zeros(shape))


@pytest.mark.parametrize("cls", [LinearDynamicalSystem, MovingAverage])
def test_smoothers_refuse_zero_windows(cls):
    with pytest.raises(ValueError, match=r"`X` has shape \(2, 3, 0, 5\).*at least one window"):
        cls().transform(np.zeros((2, 3, 0, 5)))


@pytest.mark.parametrize(
    "X, params",
    [
        (np.full((1, 2, 6), 1e100), {"observation": 1e-300}),
        (np.array([[[1e308, -1e308, 1e308]]]), {}),
    ],
)
def test_lds_overflow_refused(X, params):
    with pytest.raises(ValueError, match="LDS-smoothed values of `X` overflow float64"):
        LinearDynamicalSystem(**params).transform(X)


@pytest.mark.parametrize(
    "cls, what",
    [(DifferentialEntropy, "differential entropies"), (PowerSpectralDensity, "band powers")],
)
def test_band_feature_overflow_refused(cls, what):
    X = np.random.default_rng(0).standard_normal((1, 1, 512)) * 1e200
    with pytest.raises(ValueError, match=f"{what} of `X` overflow"):
        cls(sfreq=128.0).transform(X)


def test_raw_front_end_refuses_empty_batch():
    import torch

    from braindecode_m2s.modules.frontends import BandDifferentialEntropy

    front = BandDifferentialEntropy(sfreq=200.0)
    for shape in [(0, 3, 400), (2, 0, 400)]:
        with pytest.raises(ValueError, match="empty batch"):
            front(torch.zeros(shape))
    with pytest.raises(ValueError, match="3-D"):
        front(torch.zeros(3, 400))
