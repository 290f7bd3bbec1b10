"""Band features of EEG and peripheral signals, and their temporal smoothing.

scikit-learn transformers that turn raw signals ``(n, n_chans, n_times)`` into
the feature-window layout of the models, ``(n, n_chans, n_windows, n_bands)``,
and smooth features along the window axis:

- :class:`DifferentialEntropy` — differential entropy (DE) of the band-passed
  signal in non-overlapping windows (Duan, Zhu & Lu, 2013), the feature the
  SEED family distributes;
- :class:`PowerSpectralDensity` — band power from Welch's periodogram in the
  same windows;
- :class:`LinearDynamicalSystem` — Kalman filter + Rauch–Tung–Striebel
  smoother along the window axis, the "LDS" smoothing of the SEED features
  (Shi & Lu, 2010);
- :class:`MovingAverage` — centred moving average along the window axis, the
  SEED features' "movingAve" smoothing.

All four are stateless (``fit`` only validates and returns ``self``).

References
----------
.. [1] Duan, R.-N., Zhu, J.-Y., & Lu, B.-L. (2013). Differential entropy
   feature for EEG-based emotion classification. 6th International IEEE/EMBS
   Conference on Neural Engineering (NER), 81–84.
   https://doi.org/10.1109/NER.2013.6695876
.. [2] Shi, L.-C., & Lu, B.-L. (2010). Off-line and on-line vigilance
   estimation based on linear dynamical system and manifold learning. 32nd
   Annual International Conference of the IEEE EMBS, 6587–6590.
   https://doi.org/10.1109/IEMBS.2010.5627125
.. [3] Zheng, W.-L., & Lu, B.-L. (2015). Investigating critical frequency
   bands and channels for EEG-based emotion recognition with deep neural
   networks. IEEE Transactions on Autonomous Mental Development, 7(3),
   162–175. https://doi.org/10.1109/TAMD.2015.2431497
.. [4] Welch, P. (1967). The use of fast Fourier transform for the estimation
   of power spectra. IEEE Transactions on Audio and Electroacoustics, 15(2),
   70–73. https://doi.org/10.1109/TAU.1967.1161901
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import signal
from sklearn.base import BaseEstimator, TransformerMixin

from .bands import SEED_IV_BANDS
from .utils.check import check_finite, check_float, check_int

__all__ = [
    "DEFAULT_BANDS",
    "DifferentialEntropy",
    "PowerSpectralDensity",
    "LinearDynamicalSystem",
    "MovingAverage",
]

#: SEED-IV's five bands in Hz: delta, theta, alpha, beta, gamma (the table of
#: :mod:`braindecode_m2s.bands`, shared with the raw-EEG front end of the model).
DEFAULT_BANDS = SEED_IV_BANDS


def _check_signals(X, name="X"):
    """Validate raw signals: a finite 3-D float array (n, n_chans, n_times)."""
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(
            f"`{name}` must be 3-D (n_trials_or_epochs, n_chans, n_times); got shape {X.shape}."
        )
    if min(X.shape) < 1:
        raise ValueError(
            f"`{name}` has shape {X.shape}; expected at least one trial or epoch, one "
            f"channel and one sample."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"`{name}` must be real numbers; got dtype {X.dtype}.")
    check_finite(X, f"`{name}`")
    return X.astype(np.float64, copy=False)


def _check_output(out, X, what):
    """Refuse results that overflowed float64 (inputs of absurd magnitude)."""
    if not np.all(np.isfinite(out)):
        peak = float(np.max(np.abs(X))) if np.size(X) else 0.0
        raise ValueError(
            f"{what} of `X` overflow float64 (input values up to {peak:.3g}); expected "
            f"inputs of physiological magnitude."
        )
    return out


def _check_bands(bands, sfreq):
    """Validate ``bands`` against the Nyquist frequency; return (lo, hi) pairs."""
    if isinstance(bands, dict):
        bands = list(bands.values())
    try:
        pairs = [(float(lo), float(hi)) for lo, hi in bands]
    except (TypeError, ValueError):
        raise ValueError(
            f"`bands` must be a sequence of (low, high) pairs in Hz; got {bands!r}."
        ) from None
    if not pairs:
        raise ValueError("`bands` must hold at least one (low, high) pair; got none.")
    nyquist = sfreq / 2.0
    for lo, hi in pairs:
        if not (0.0 <= lo < hi < nyquist):
            raise ValueError(
                f"`bands` entry ({lo:g}, {hi:g}) Hz is invalid for sfreq={sfreq:g} Hz; "
                f"expected 0 <= low < high < Nyquist ({nyquist:g} Hz)."
            )
    return pairs


def _band_sos(lo, hi, sfreq, order):
    """Butterworth band-pass (low-pass when ``lo == 0``) in second-order sections."""
    if lo == 0.0:
        return signal.butter(order, hi, btype="lowpass", fs=sfreq, output="sos")
    return signal.butter(order, (lo, hi), btype="bandpass", fs=sfreq, output="sos")


def _window_samples(window_seconds, sfreq, n_times):
    n_win = int(round(window_seconds * sfreq))
    if n_win < 2:
        raise ValueError(
            f"`window_seconds`={window_seconds:g} s at sfreq={sfreq:g} Hz gives "
            f"{n_win} samples per window; expected at least 2."
        )
    if n_times < n_win:
        raise ValueError(
            f"Signals of {n_times} samples are shorter than one window of "
            f"{n_win} samples (`window_seconds`={window_seconds:g} s at "
            f"{sfreq:g} Hz); expected n_times >= {n_win}."
        )
    return n_win


def _split_windows(X, n_win):
    """(..., n_times) -> (..., n_windows, n_win); a trailing remainder is dropped."""
    n_windows = X.shape[-1] // n_win
    X = X[..., : n_windows * n_win]
    return X.reshape(*X.shape[:-1], n_windows, n_win)


class _BandFeature(TransformerMixin, BaseEstimator):
    """Shared validation of the raw-signal band features."""

    def _validate(self):
        sfreq = check_float("sfreq", self.sfreq, 0, low_open=True)
        window_seconds = check_float("window_seconds", self.window_seconds, 0, low_open=True)
        return sfreq, _check_bands(self.bands, sfreq), window_seconds

    def fit(self, X, y=None):
        """Validate the parameters and ``X``; nothing is learned.

        Parameters
        ----------
        X : array-like, shape (n, n_chans, n_times)
        y : ignored

        Returns
        -------
        self
        """
        sfreq, _, window_seconds = self._validate()
        X = _check_signals(X)
        _window_samples(window_seconds, sfreq, X.shape[-1])
        return self

    def __sklearn_is_fitted__(self):
        return True


class DifferentialEntropy(_BandFeature):
    r"""Differential entropy of band-passed signals in non-overlapping windows.

    Each channel is band-passed with a zero-phase Butterworth filter
    (:func:`scipy.signal.sosfiltfilt`) for every band, cut into
    non-overlapping windows of ``window_seconds`` (a trailing remainder
    shorter than one window is dropped), and the differential entropy of each
    window is computed under the Gaussian assumption of Duan, Zhu & Lu (2013)
    [1]_:

    .. math:: h(X) = \tfrac{1}{2}\log\left(2\pi e\,\sigma^2\right),

    with :math:`\sigma^2` the variance of the band-passed samples of the
    window. For a band-limited Gaussian signal this equals the logarithm of
    the band energy up to a constant, which is why DE and log band power
    behave alike.

    Parameters
    ----------
    sfreq : float
        Sampling frequency of the signals in Hz.
    bands : sequence of (float, float) | dict
        Frequency bands in Hz; a band whose low edge is 0 is a low-pass.
        Default: SEED-IV's delta 1–4, theta 4–8, alpha 8–14, beta 14–31 and
        gamma 31–50 Hz [3]_.
    window_seconds : float
        Window length in seconds (SEED: 1 s; SEED-IV: 4 s).
    filter_order : int
        Order of each Butterworth filter (applied forward and backward, so
        the magnitude response is squared).

    Notes
    -----
    The forward-backward filter has the squared magnitude response of the
    Butterworth filter, so white noise of flat one-sided spectral density
    :math:`S` keeps the variance :math:`\kappa\,S\,(f_h - f_l)` with
    :math:`\kappa = (1 - 1/n)\,(\pi/n)/\sin(\pi/n)`, :math:`n = 2N` for
    prototype order :math:`N` (:math:`\kappa \approx 0.898` for the default
    :math:`N = 4`): DE values sit a constant :math:`\tfrac12\log\kappa`
    below those of an ideal band-pass.

    References
    ----------
    .. [1] Duan, R.-N., Zhu, J.-Y., & Lu, B.-L. (2013). Differential entropy
       feature for EEG-based emotion classification. IEEE/EMBS NER, 81–84.
       https://doi.org/10.1109/NER.2013.6695876
    .. [3] Zheng, W.-L., & Lu, B.-L. (2015). IEEE TAMD 7(3), 162–175.
       https://doi.org/10.1109/TAMD.2015.2431497

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((2, 3, 800))
    >>> DifferentialEntropy(sfreq=200, window_seconds=1.0).fit_transform(X).shape
    (2, 3, 4, 5)
    """

    def __init__(self, sfreq, bands=DEFAULT_BANDS, window_seconds=1.0, filter_order=4):
        self.sfreq = sfreq
        self.bands = bands
        self.window_seconds = window_seconds
        self.filter_order = filter_order

    def transform(self, X):
        """Compute the DE of every band, channel and window.

        Parameters
        ----------
        X : array-like, shape (n, n_chans, n_times)
            Raw signals.

        Returns
        -------
        numpy.ndarray, shape (n, n_chans, n_windows, n_bands)
            ``n_windows = n_times // round(window_seconds * sfreq)``.
        """
        sfreq, bands, window_seconds = self._validate()
        X = _check_signals(X)
        n_win = _window_samples(window_seconds, sfreq, X.shape[-1])
        order = int(self.filter_order)
        if order < 1:
            raise ValueError(
                f"`filter_order` must be a positive integer; got {self.filter_order!r}."
            )
        out = np.empty(X.shape[:2] + (X.shape[-1] // n_win, len(bands)))
        # overflow (inputs beyond ~1e154) is reported by _check_output
        with np.errstate(over="ignore", invalid="ignore"):
            for b, (lo, hi) in enumerate(bands):
                filtered = _filtfilt(X, _band_sos(lo, hi, sfreq, order), (lo, hi))
                var = _split_windows(filtered, n_win).var(axis=-1)
                out[..., b] = 0.5 * np.log(
                    2 * np.pi * np.e * np.maximum(var, np.finfo(float).tiny)
                )
        return _check_output(out, X, "The differential entropies")


def _filtfilt(X, sos, band):
    # scipy's default pad length of sosfiltfilt
    n_zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    padlen = 3 * (2 * len(sos) + 1 - n_zeros)
    if X.shape[-1] <= padlen:
        raise ValueError(
            f"Signals of {X.shape[-1]} samples are too short to filter in the band "
            f"{band[0]:g}–{band[1]:g} Hz; expected more than {padlen} samples."
        )
    return signal.sosfiltfilt(sos, X, axis=-1)


class PowerSpectralDensity(_BandFeature):
    """Band power of each non-overlapping window from Welch's periodogram.

    Every window of ``window_seconds`` is split into Hann-tapered segments of
    at most ``segment_seconds`` with 50 % overlap (Welch, 1967 [4]_); the
    one-sided power spectral density is integrated over each band
    (frequencies ``low <= f < high``, rectangle rule), which gives the power
    of the signal in that band in squared signal units. With ``log=True``
    the natural logarithm is returned, the scale on which band power is
    comparable with differential entropy (Duan et al., 2013 [1]_).

    Parameters
    ----------
    sfreq : float
        Sampling frequency in Hz.
    bands : sequence of (float, float) | dict
        Frequency bands in Hz (default: SEED-IV's five bands).
    window_seconds : float
        Window length in seconds.
    segment_seconds : float
        Longest Welch segment in seconds (the frequency resolution is its
        inverse); segments never exceed the window.
    log : bool
        Return ``log(band power)`` instead of band power.

    References
    ----------
    .. [1] Duan, R.-N., Zhu, J.-Y., & Lu, B.-L. (2013). IEEE/EMBS NER, 81–84.
       https://doi.org/10.1109/NER.2013.6695876
    .. [4] Welch, P. (1967). IEEE Trans. Audio Electroacoust. 15(2), 70–73.
       https://doi.org/10.1109/TAU.1967.1161901
    """

    def __init__(
        self, sfreq, bands=DEFAULT_BANDS, window_seconds=1.0, segment_seconds=1.0, log=True
    ):
        self.sfreq = sfreq
        self.bands = bands
        self.window_seconds = window_seconds
        self.segment_seconds = segment_seconds
        self.log = log

    def transform(self, X):
        """Compute the band power of every band, channel and window.

        Parameters
        ----------
        X : array-like, shape (n, n_chans, n_times)

        Returns
        -------
        numpy.ndarray, shape (n, n_chans, n_windows, n_bands)
        """
        sfreq, bands, window_seconds = self._validate()
        segment_seconds = check_float("segment_seconds", self.segment_seconds, 0, low_open=True)
        X = _check_signals(X)
        n_win = _window_samples(window_seconds, sfreq, X.shape[-1])
        nperseg = max(2, min(n_win, int(round(segment_seconds * sfreq))))
        windows = _split_windows(X, n_win)
        with np.errstate(over="ignore", invalid="ignore"):  # see _check_output
            freqs, psd = signal.welch(windows, fs=sfreq, nperseg=nperseg, axis=-1)
        df = freqs[1] - freqs[0]
        out = np.empty(windows.shape[:-1] + (len(bands),))
        for b, (lo, hi) in enumerate(bands):
            mask = (freqs >= lo) & (freqs < hi)
            if not mask.any():
                raise ValueError(
                    f"Band {lo:g}–{hi:g} Hz holds no frequency bin at the resolution "
                    f"{df:g} Hz of `segment_seconds`={segment_seconds:g} s; expected a "
                    f"band at least {df:g} Hz wide or longer segments."
                )
            out[..., b] = psd[..., mask].sum(axis=-1) * df
        if self.log:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                out = np.log(np.maximum(out, np.finfo(float).tiny))
        return _check_output(out, X, "The band powers")


def _check_features(X, axis):
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(
            f"`X` must have a window axis and at least one other axis; got shape {X.shape}."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"`X` must be real numbers; got dtype {X.dtype}.")
    if not isinstance(axis, numbers.Integral) or not -X.ndim <= axis < X.ndim:
        raise ValueError(
            f"`axis`={axis!r} is not an axis of `X` with shape {X.shape}; expected an "
            f"integer in [{-X.ndim}, {X.ndim - 1}]."
        )
    if min(X.shape) < 1:
        raise ValueError(
            f"`X` has shape {X.shape}; expected at least one window along axis {axis} "
            f"and no empty axis."
        )
    check_finite(X, "`X`")
    return X.astype(np.float64, copy=False)


class LinearDynamicalSystem(TransformerMixin, BaseEstimator):
    r"""Kalman filter + RTS smoother of every feature along the window axis.

    The "LDS" smoothing of the SEED features (Shi & Lu, 2010 [2]_): each
    feature sequence :math:`y_1..y_T` (one per trial, channel and band) is
    taken as the noisy observation of a latent scalar state,

    .. math::

        z_t = A\,z_{t-1} + w_t,\quad w_t \sim \mathcal N(0, Q);\qquad
        y_t = C\,z_t + v_t,\quad v_t \sim \mathcal N(0, R),

    with :math:`z_1 \sim \mathcal N(\mu_0, P_0)`. The Kalman filter computes
    :math:`p(z_t \mid y_{1..t})`, the Rauch–Tung–Striebel smoother
    :math:`p(z_t \mid y_{1..T})`, and the output is the smoothed observation
    :math:`C\,\mathbb E[z_t \mid y_{1..T}]`. Sequences are smoothed
    independently; a trial is never smoothed across its boundaries. The
    ratio ``process_noise / observation_noise`` sets the amount of smoothing
    (smaller is smoother).

    Parameters
    ----------
    transition : float
        :math:`A`.
    observation : float
        :math:`C`.
    process_noise : float
        :math:`Q > 0`.
    observation_noise : float
        :math:`R > 0`.
    initial_mean : float | None
        :math:`\mu_0`; ``None`` uses each sequence's first observation
        divided by :math:`C`.
    initial_var : float
        :math:`P_0 > 0`.
    axis : int
        The window axis: 2 for both ``(n, n_chans, n_windows, n_bands)`` and
        ``(n, n_features, n_windows)``.

    References
    ----------
    .. [2] Shi, L.-C., & Lu, B.-L. (2010). Off-line and on-line vigilance
       estimation based on linear dynamical system and manifold learning.
       IEEE EMBC, 6587–6590. https://doi.org/10.1109/IEMBS.2010.5627125
    """

    def __init__(
        self,
        transition=1.0,
        observation=1.0,
        process_noise=1e-3,
        observation_noise=1.0,
        initial_mean=None,
        initial_var=1.0,
        axis=2,
    ):
        self.transition = transition
        self.observation = observation
        self.process_noise = process_noise
        self.observation_noise = observation_noise
        self.initial_mean = initial_mean
        self.initial_var = initial_var
        self.axis = axis

    def fit(self, X, y=None):
        """Validate parameters and ``X``; nothing is learned. Returns ``self``."""
        self._params()
        _check_features(X, self.axis)
        return self

    def __sklearn_is_fitted__(self):
        return True

    def _params(self):
        transition = check_float("transition", self.transition)
        observation = check_float("observation", self.observation)
        if observation == 0:
            raise ValueError("`observation` must be non-zero; got 0.")
        return (
            transition,
            observation,
            check_float("process_noise", self.process_noise, 0, low_open=True),
            check_float("observation_noise", self.observation_noise, 0, low_open=True),
            check_float("initial_var", self.initial_var, 0, low_open=True),
        )

    def transform(self, X):
        """Smooth every feature sequence along ``axis``.

        Parameters
        ----------
        X : array-like
            Features with a window axis ``axis``.

        Returns
        -------
        numpy.ndarray
            Same shape as ``X``.
        """
        A, C, Q, R, P0 = self._params()
        X = _check_features(X, self.axis)
        Y = np.moveaxis(X, self.axis, 0)
        T = Y.shape[0]
        mu0 = (
            Y[0] / C
            if self.initial_mean is None
            else np.full(Y.shape[1:], float(self.initial_mean))
        )
        # The covariances do not depend on the data: one scalar per step.
        m_pred = np.empty_like(Y)
        m_filt = np.empty_like(Y)
        p_pred = np.empty(T)
        p_filt = np.empty(T)
        for t in range(T):
            if t == 0:
                m_pred[0], p_pred[0] = mu0, P0
            else:
                m_pred[t] = A * m_filt[t - 1]
                p_pred[t] = A * A * p_filt[t - 1] + Q
            gain = p_pred[t] * C / (C * C * p_pred[t] + R)
            m_filt[t] = m_pred[t] + gain * (Y[t] - C * m_pred[t])
            p_filt[t] = (1.0 - gain * C) * p_pred[t]
        m_smooth = np.empty_like(Y)
        m_smooth[-1] = m_filt[-1]
        for t in range(T - 2, -1, -1):
            J = p_filt[t] * A / p_pred[t + 1]
            m_smooth[t] = m_filt[t] + J * (m_smooth[t + 1] - m_pred[t + 1])
        return _check_output(np.moveaxis(C * m_smooth, 0, self.axis), X, "The LDS-smoothed values")


class MovingAverage(TransformerMixin, BaseEstimator):
    """Centred moving average along the window axis ("movingAve" of SEED).

    Output window :math:`t` is the mean of input windows
    ``t - window // 2 .. t + (window - 1) // 2`` that exist (the alignment of
    ``numpy.convolve(..., mode="same")``); near the edges the mean is over
    the windows available, so the output keeps the input's length and level.

    Parameters
    ----------
    window : int
        Number of feature windows averaged.
    axis : int
        The window axis (2 for both feature layouts of the models).

    References
    ----------
    .. [1] Duan, R.-N., Zhu, J.-Y., & Lu, B.-L. (2013). IEEE/EMBS NER, 81–84
       (moving average and LDS smoothing of DE features).
       https://doi.org/10.1109/NER.2013.6695876
    """

    def __init__(self, window=5, axis=2):
        self.window = window
        self.axis = axis

    def fit(self, X, y=None):
        """Validate parameters and ``X``; nothing is learned. Returns ``self``."""
        self._check_window()
        _check_features(X, self.axis)
        return self

    def __sklearn_is_fitted__(self):
        return True

    def _check_window(self):
        return check_int("window", self.window, low=1)

    def transform(self, X):
        """Average every feature sequence along ``axis``.

        Parameters
        ----------
        X : array-like

        Returns
        -------
        numpy.ndarray
            Same shape as ``X``.
        """
        w = self._check_window()
        X = _check_features(X, self.axis)
        Y = np.moveaxis(X, self.axis, -1)
        T = Y.shape[-1]
        csum = np.concatenate([np.zeros(Y.shape[:-1] + (1,)), np.cumsum(Y, axis=-1)], axis=-1)
        t = np.arange(T)
        lo = np.clip(t - w // 2, 0, T)
        hi = np.clip(t + (w - 1) // 2 + 1, 0, T)
        out = (csum[..., hi] - csum[..., lo]) / (hi - lo)
        return _check_output(np.moveaxis(out, -1, self.axis), X, "The moving averages")
