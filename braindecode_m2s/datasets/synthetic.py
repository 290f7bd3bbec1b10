"""Synthetic multimodal emotion data: EEG DE features and eye movements.

The built-in stand-in for the licence-gated SEED-family corpora: it needs no
files, is generated in well under a second, and is laid out exactly like the
output of the :class:`~braindecode_m2s.paradigms.MultimodalEmotion` paradigm on
a real dataset, so demos and tests run anywhere. It is *not* a simulation of
brain signals; it is a seeded generative model with the properties the M2S
method is about: an emotional state seen through two modalities. Two named
scenarios (``scenario=``) decide what each modality can see of it:
``"complementary"`` (the default), where each modality has its own blind spots
so that fusing them beats either one alone, and ``"redundant"``, where each
modality carries the whole emotional state under its own noise.

Everything below the first paragraph of each section is *our design* (no
published generator is being reproduced); every choice is stated here so that
results obtained on these data can be read for what they are.

Scenarios: what each can and cannot show
----------------------------------------
``"complementary"`` (default; the only behaviour before ``scenario`` existed,
and still bit-identical for a given ``seed``)
    Each modality is blind to some class contrast (EEG cannot tell neutral from
    sad, the eye features cannot tell fear from happy; details below).

    *Can show*: that fusing the modalities beats each one alone (about +15 to
    +25 points with the logistic regression below), and whether a multimodal
    model uses both inputs.

    *Cannot show*: a single-modality gain from multimodal training in the sense
    of M2S. A model that sees one modality at test time is capped at about
    75 % (with four classes, one pair stays confused) by construction,
    whatever it was trained with: the information is not in that modality's
    features. A method reaching the fused accuracy from one modality here
    would indicate a leak, not a success.

``"redundant"``
    Every class contrast is visible to both modalities, each through its own
    map: EEG sees all seven class-informative latent dimensions and so do the
    eye features. Each modality has its own observation noise, artifacts,
    subject / session / trial shifts and its own nuisance latent, and only a
    fraction (``_RED_COMMON`` = 0.35) of the variance of the latent state's
    fluctuation is common to the two modalities; the rest is independent.

    *Can show*: whether training with several modalities improves a single
    modality's representation (the M2S claim: a model trained on EEG + eye and
    tested on EEG alone against a model trained on EEG alone), and cross-modal
    transfer (eeg->eye, eye->eeg), since one modality's view of the state can in
    principle stand in for the other's. A single-modality model can approach
    the fused accuracy; with ``noise=0`` each modality alone separates every
    class.

    *Cannot show*: that fusion is indispensable; fusion still helps (the two
    views' independent noise averages out), but only by a few points. It is not
    a measure of how much of the emotional state real EEG or eye features
    carry: the redundancy is put there by construction.

The measured figures (logistic regression, 5 seeds) are in ``docs/synthetic.md``.
With default arguments and the logistic regression described under
*Observation models* below:

=================  =============  =============  =============
scenario           EEG only       eye only       EEG + eye
=================  =============  =============  =============
complementary      62.3 ± 4.2 %   69.2 ± 3.6 %   85.5 ± 3.9 %
redundant          71.4 ± 2.2 %   73.7 ± 4.9 %   81.3 ± 2.4 %
=================  =============  =============  =============

(mean ± sample s.d. over seeds 0-4; chance 25 %.)

Protocol (SEED-IV-like by default)
----------------------------------
- ``n_subjects`` subjects × ``n_sessions`` sessions × ``n_trials`` trials. With
  ``n_classes=4`` and ``n_trials=24`` the labels of session ``k`` follow
  SEED-IV's official label order of session ``k % 3`` (0 neutral, 1 sad,
  2 fear, 3 happy); otherwise every session gets a seeded, balanced order
  (``n_trials // n_classes`` trials per class, the remainder spread over the
  first classes of a seeded permutation). As in SEED-IV, the order of a session
  is the same for every subject.
- Each trial lasts a seeded random number of non-overlapping 4-s windows,
  uniform on ``n_windows`` (``(low, high)``, both inclusive, or one int).
- A sample is ``sequence_length`` consecutive windows of one trial; successive
  samples of a trial start ``stride`` windows apart (default: non-overlapping);
  the windows left at the end of a trial that do not fill a sample are dropped.

Latent emotional state
----------------------
Each trial has a latent state :math:`s_t \\in \\mathbb{R}^8` per window that
evolves as an AR(1) process around an envelope-scaled class prototype,

.. math::

    s_t - a_t \\mu_c = \\phi\\,(s_{t-1} - a_{t-1} \\mu_c)
    + \\sqrt{1 - \\phi^2}\\,\\sigma\\,\\varepsilon_t,
    \\qquad a_t = 1 - 0.5\\, e^{-t / 5},

with :math:`\\phi = 0.9` (so a 10-window sample carries temporal structure, and
the within-trial fluctuation does not average away), stationary standard
deviation :math:`\\sigma = 1` and an envelope :math:`a_t` that lets the emotion
build up over the first windows of a clip. The latent dimensions are split in
four blocks (their names describe the complementary scenario):

- *shared* (3 dims): seen by both modalities;
- *EEG-private* (2 dims): seen by EEG only;
- *eye-private* (2 dims): seen by the eye features only;
- *nuisance* (1 dim, no class information; e.g. drowsiness): seen by both,
  and shifted by a random per-trial offset.

In the *redundant* scenario the "private" blocks are seen by both modalities
(their map columns are non-zero in both maps), and each modality sees its own
copy of the state: :math:`s^m_t = a_t\\mu_c + \\sqrt{\\rho}\\,d_t +
\\sqrt{1-\\rho}\\,d^m_t`, where :math:`d_t` (common) and :math:`d^m_t`
(one per modality) are independent AR(1) fluctuations as above and
:math:`\\rho = 0.35`; the nuisance dimension of each copy is that modality's
own (its own per-trial offset and its own fluctuation), so nothing about the
nuisance is shared.

Class prototypes :math:`\\mu_c` (seeded) encode the blind spots. Classes are
paired as ``(0, 1), (2, 3), ...``; the pairs are told apart in the shared block
(seeded points, centred, at distance about ``2 * 1.6`` for two pairs); within
pair ``k`` the two classes differ by ``±1.6`` along a seeded direction that
lies in the *eye-private* block when ``k`` is even and in the *EEG-private*
block when ``k`` is odd. With the default four classes, EEG therefore cannot
separate 0 from 1 (neutral vs sad) and the eye features cannot separate 2 from
3 (fear vs happy): each modality alone is capped at about 75 % accuracy while
the two together can separate all four classes. Special cases: with
``n_classes=2`` there is a single pair, whose contrast is put in *both* private
blocks (each modality sees it through its own independent latent noise, so
fusion averages two independent views); with an odd number of classes the last
class copies the prototype of the class before it and differs from it by
``2 * 1.6`` in the private block that the previous pair does not use (with
three classes: EEG cannot separate 0 from 1, the eye features cannot separate
1 from 2).

In the *redundant* scenario the prototypes are the same seeded points scaled
by ``1.2 / 1.6`` (every distance above with ``1.2`` in place of ``1.6``); as
both maps see every block, no class pair is hidden from either modality.

Observation models
------------------
*EEG differential entropy* ``(n_chans, n_bands)`` per window (bands ordered
delta, theta, alpha, beta, gamma for the default five) is a linear map of
:math:`s_t` whose columns for the eye-private block are zero (complementary;
in the redundant scenario they get patterns drawn like those of the other
informative dimensions, from a separate random stream):

- channels get pseudo scalp positions (a Fibonacci lattice on the upper
  hemisphere, numbered in rows from front to back and left to right, like the
  SEED 62-channel order);
- the pattern of each shared / EEG-private latent dimension is a sum of two
  Gaussian bumps (width 0.45 on the unit sphere) centred on frontal or lateral
  temporal channels, times a band profile rising towards beta and gamma, which
  is where the SEED literature locates emotion information; the nuisance
  dimension has a diffuse posterior alpha pattern;
- every subject has its own map: the common map times a smooth multiplicative
  field (±30 %), a per-band gain (log-normal, s.d. 0.2) and an additive offset
  (a band baseline decreasing from delta to gamma, plus a smooth spatial field);
  each session adds a small smooth offset of its own;
- each trial adds a smooth random offset (trial-level nuisance, e.g. electrode
  impedance) and each window adds noise that is half spatially smooth
  (correlated over neighbouring channels and bands) and half independent.

*Eye-movement features* (``n_eye_features``, 31 for SEED-IV: pupil diameter
and its band DE, dispersion, fixation, blink and saccade statistics) are
another seeded linear map of :math:`s_t`, with zero columns for the
EEG-private block (complementary only), a per-subject gain (log-normal,
s.d. 0.2) and offset, a per-trial offset and independent noise per window.

The maps are scaled so that each informative latent dimension contributes a
feature-wise r.m.s. of 0.6 in both modalities (complementary) or of 0.7 to EEG
and 0.5 to the eye features (redundant, where these two scales balance the
accuracies of the two modalities).

*Artifacts*: each window of each modality is, independently with probability
0.05, an artifact window in which that modality carries no state information:
EEG windows get a blink (frontal delta/theta) or muscle (temporal beta/gamma)
burst instead of the state term; eye windows are a tracking loss (subject
baseline plus tripled noise).

``noise`` scales every random variation below the subject level: the latent
state's fluctuation :math:`\\sigma`, the per-trial offsets (latent nuisance and
feature offsets) and the per-window observation noise (default 1.0). With
``noise=0`` only the subject and session shifts and the artifact windows
remain. In the complementary scenario the blind spots then show in their pure
form: each modality alone is capped by the classes it cannot separate while
the fusion separates all of them; in the redundant scenario each modality
alone separates every class. Higher ``noise`` makes the task harder for every
modality. The defaults were chosen (not tuned to any model) so that a
scikit-learn logistic regression on window-averaged features, trained on the
first 16 trials of every session and tested on the last 8 (the SEED-IV
protocol), is, in the complementary scenario, clearly above chance but well
below the fused accuracy with either modality alone, and clearly better but
not perfect with both. The redundant scenario's own constants (separation
1.2, common fraction 0.35, map scales 0.7 / 0.5) were then set, with every
other constant unchanged, so that the same regression reaches 55-80 % with
either modality alone, EEG and eye at similar levels, and a few points more
with both (figures in the table above).

All features are float32 and of order one (as after the usual per-feature
standardisation), so models can be trained without further scaling.

Randomness is derived from ``seed`` through :class:`numpy.random.SeedSequence`
keys: one stream for the structure (prototypes, maps), one per subject, one per
session and one per trial, plus, for the redundant scenario only, one stream
for the map columns that the complementary scenario keeps at zero. The same
``seed`` and ``scenario`` therefore give identical arrays, and the data of
subject 1 do not depend on how many subjects are generated. The two scenarios
share the label orders, the trial lengths and the subject offsets and gains
for a given seed, not the features.
"""

from __future__ import annotations

import numbers

import numpy as np
from skorch.helper import SliceDict

from ..utils.check import check_float, check_int, check_option
from .base import EmotionTrial
from .seed_iv import SEEDIV_SESSION_LABELS
from .windowing import trials_to_samples

__all__ = ["make_synthetic_emotion", "SCENARIOS"]

_WINDOW_SECONDS = 4.0
# Latent blocks: shared, EEG-private, eye-private, nuisance.
_N_SHARED, _N_EEG, _N_EYE, _N_NUIS = 3, 2, 2, 1
_SHARED = slice(0, _N_SHARED)
_EEG = slice(_N_SHARED, _N_SHARED + _N_EEG)
_EYE = slice(_N_SHARED + _N_EEG, _N_SHARED + _N_EEG + _N_EYE)
_NUIS = _N_SHARED + _N_EEG + _N_EYE
_N_LATENT = _NUIS + _N_NUIS
_AR_COEF = 0.9  # window-to-window autocorrelation of the latent state
_ENVELOPE_TAU = 5.0  # windows for the emotion to build up
_SEPARATION = 1.6  # half-distance between the classes of a pair (latent s.d. = 1)
_ARTIFACT_PROB = 0.05
_BUMP_WIDTH = 0.45
# Scales of the observation models (the random parts are multiplied by ``noise``).
_EEG_SIGNAL = 0.6
_EYE_SIGNAL = 0.6
_EEG_NOISE = 1.0
_EYE_NOISE = 1.0
_TRIAL_OFFSET = 0.5
_TRIAL_NUIS = 1.0  # s.d. of the per-trial offset of the nuisance latent

#: Names accepted by ``scenario`` (the first is the default).
SCENARIOS = ("complementary", "redundant")
# Constants of the "redundant" scenario only (the complementary scenario does
# not read them). Tuned so that, with the other defaults, the logistic
# regression of the module docstring reaches 55-80 % with either modality alone,
# EEG and eye at similar levels, and a few points more with both.
_RED_SEPARATION = 1.2  # replaces _SEPARATION (all prototype distances scale with it)
_RED_COMMON = 0.35  # fraction of the state's fluctuation variance common to both modalities
_RED_EEG_SIGNAL = 0.7
_RED_EYE_SIGNAL = 0.5


def make_synthetic_emotion(
    n_subjects=3,
    n_sessions=3,
    n_trials=24,
    n_classes=4,
    n_windows=(20, 40),
    sequence_length=5,
    stride=None,
    n_chans=62,
    n_bands=5,
    n_eye_features=31,
    noise=1.0,
    seed=0,
    return_windows=False,
    scenario="complementary",
):
    """Generate a seeded SEED-IV-like EEG + eye-movement emotion dataset.

    See the module docstring (:mod:`braindecode_m2s.datasets.synthetic`) for
    the generative model: a latent emotional state that evolves in time within
    each trial, seen by EEG differential-entropy features and by eye-movement
    features through subject-specific linear maps, with subject, session and
    trial shifts, noise and artifact windows. ``scenario`` decides what each
    modality sees of the state: complementary blind spots (default) or the
    whole state in each modality (redundant).

    Parameters
    ----------
    n_subjects : int
        Number of subjects (numbered ``1..n_subjects``).
    n_sessions : int
        Sessions per subject (named ``"0"``, ``"1"``, ...).
    n_trials : int
        Trials per session.
    n_classes : int
        Number of emotion classes (at least 2).
    n_windows : int | tuple of (int, int)
        Number of 4-s windows of each trial: one value, or ``(low, high)``
        (both inclusive) from which each trial's count is drawn uniformly.
    sequence_length : int
        Windows per sample; at most the smallest number of windows of a trial.
    stride : int | None
        Windows between the starts of successive samples of a trial; ``None``
        means ``sequence_length`` (non-overlapping samples).
    n_chans : int
        EEG channels.
    n_bands : int
        Frequency bands of the EEG DE features.
    n_eye_features : int
        Eye-movement features per window.
    noise : float
        Scale (>= 0) of the latent state's fluctuation, of the per-trial
        offsets and of the per-window observation noise.
    seed : int
        Seed of every random draw (>= 0); the same seed gives identical data.
    return_windows : bool
        Also return every trial un-sequenced (all of its windows).
    scenario : {"complementary", "redundant"}
        What each modality can see of the emotional state.

        - ``"complementary"`` (default, and the behaviour of earlier versions,
          bit-identical for the same ``seed``): each modality is blind to some
          class contrast (with four classes EEG cannot separate 0 from 1, eye
          cannot separate 2 from 3). Fusion beats each modality; a model that
          sees a single modality at test time cannot reach the fused accuracy
          (about 75 % at most with four classes), whatever it was trained
          with, by construction. Use it to test that a model exploits both
          modalities; it cannot test the M2S claim.
        - ``"redundant"``: every class contrast is visible to both modalities
          through their own maps, with independent observation noise,
          artifacts, nuisance and subject / session / trial shifts, and a
          latent fluctuation only partly common (35 % of its variance).
          Single-modality models can approach the fused accuracy (fusion
          still gains a few points from the independent noise). Use it to test
          whether multimodal training improves a single modality's
          representation, and cross-modal transfer.

        The default stays ``"complementary"`` so that existing seeds, demos
        and figures are unchanged; pass ``scenario="redundant"`` for the
        setting where M2S's claim is testable.

    Returns
    -------
    X : skorch.helper.SliceDict
        ``x``: float32 ``(n, n_chans, sequence_length, n_bands)`` EEG DE
        features; ``eye``: float32 ``(n, n_eye_features, sequence_length)``.
    y : numpy.ndarray of int64, shape (n,)
        Class labels ``0..n_classes-1``.
    metadata : pandas.DataFrame
        One row per sample, in the schema of the real datasets'
        (:func:`~braindecode_m2s.datasets.windowing.trials_to_samples`):
        ``subject`` (int, 1-based), ``session`` (str), ``run`` (``"0"``),
        ``trial`` (int, 0-based within its session), ``window`` (index of the
        sample's first window within its trial), ``onset`` (seconds from the
        start of the trial, ``window * 4.0``), ``n_windows`` (windows of the
        trial), and ``label``; ``metadata.attrs["scenario"]`` records the
        scenario.
    trials : list of EmotionTrial
        Only if ``return_windows``: one
        :class:`~braindecode_m2s.datasets.base.EmotionTrial` per trial
        (subjects, sessions and trials in order) whose ``modalities`` hold
        float32 ``x`` ``(n_chans, n_windows, n_bands)`` and ``eye``
        ``(n_eye_features, n_windows)``: the same layout as
        :meth:`~braindecode_m2s.datasets.base.EmotionDataset.get_trial_features`
        of the real datasets.

    Raises
    ------
    ValueError
        If an argument is out of range, or ``scenario`` is not one of the
        names above; the message names the argument, the value given and what
        is expected.

    Examples
    --------
    >>> X, y, metadata = make_synthetic_emotion(n_subjects=1, seed=0)
    >>> X["x"].shape[1:], X["eye"].shape[1:]
    ((62, 5, 5), (31, 5))
    >>> X, y, metadata = make_synthetic_emotion(n_subjects=1, scenario="redundant")
    >>> metadata.attrs["scenario"]
    'redundant'
    """
    low, high, stride = _check_args(
        n_subjects=n_subjects,
        n_sessions=n_sessions,
        n_trials=n_trials,
        n_classes=n_classes,
        n_windows=n_windows,
        sequence_length=sequence_length,
        stride=stride,
        n_chans=n_chans,
        n_bands=n_bands,
        n_eye_features=n_eye_features,
        noise=noise,
        seed=seed,
        scenario=scenario,
    )
    seed = int(seed)
    structure = _Structure(
        np.random.default_rng([seed, 0]),
        n_classes,
        n_chans,
        n_bands,
        n_eye_features,
        scenario=scenario,
        extra_rng=np.random.default_rng([seed, 4]),
    )
    orders = _label_orders(np.random.default_rng([seed, 1]), n_sessions, n_trials, n_classes)
    noise = float(noise)

    trials = []
    for subject in range(1, n_subjects + 1):
        subj = _Subject(structure, np.random.default_rng([seed, 2, subject]), n_sessions)
        for session in range(n_sessions):
            for trial, label in enumerate(orders[session]):
                rng = np.random.default_rng([seed, 3, subject, session, trial])
                n_win = int(rng.integers(low, high + 1))
                x, eye = subj.trial(rng, session, label, n_win, noise)
                trials.append(
                    EmotionTrial(
                        subject=subject,
                        session=str(session),
                        trial=trial,
                        label=int(label),
                        # (n_win, C, B) -> (C, n_win, B); (n_win, F) -> (F, n_win)
                        modalities={
                            "x": np.ascontiguousarray(x.transpose(1, 0, 2), dtype=np.float32),
                            "eye": np.ascontiguousarray(eye.T, dtype=np.float32),
                        },
                        window_seconds=_WINDOW_SECONDS,
                    )
                )
    X, y, metadata = trials_to_samples(trials, sequence_length, stride, where="synthetic data")
    metadata["label"] = y
    metadata.attrs["scenario"] = scenario
    X = SliceDict(**X)
    if return_windows:
        return X, y, metadata, trials
    return X, y, metadata


# -- argument checks ---------------------------------------------------------
_WHERE = "make_synthetic_emotion"


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_args(
    *,
    n_subjects,
    n_sessions,
    n_trials,
    n_classes,
    n_windows,
    sequence_length,
    stride,
    n_chans,
    n_bands,
    n_eye_features,
    noise,
    seed,
    scenario,
):
    """Validate the arguments; return ``(low, high, stride)``."""
    check_option("scenario", scenario, SCENARIOS, where=_WHERE)
    for name, value in [
        ("n_subjects", n_subjects),
        ("n_sessions", n_sessions),
        ("n_trials", n_trials),
        ("n_chans", n_chans),
        ("n_bands", n_bands),
        ("n_eye_features", n_eye_features),
        ("sequence_length", sequence_length),
    ]:
        check_int(name, value, low=1, where=_WHERE)
    check_int("n_classes", n_classes, low=2, where=_WHERE)
    if _is_int(n_windows):
        low = high = n_windows
    elif (
        isinstance(n_windows, (tuple, list))
        and len(n_windows) == 2
        and all(_is_int(v) for v in n_windows)
    ):
        low, high = n_windows
    else:
        raise ValueError(
            f"make_synthetic_emotion: `n_windows` must be an int or a pair of ints "
            f"(low, high); got {n_windows!r}."
        )
    if low < 1 or high < low:
        raise ValueError(
            f"make_synthetic_emotion: `n_windows` must satisfy 1 <= low <= high; "
            f"got {n_windows!r}."
        )
    if sequence_length > low:
        raise ValueError(
            f"make_synthetic_emotion: `sequence_length` must be at most the "
            f"smallest number of windows of a trial ({low}, from `n_windows`="
            f"{n_windows!r}); got {sequence_length!r}."
        )
    if stride is None:
        stride = sequence_length
    check_int("stride", stride, low=1, where=_WHERE)
    check_float("noise", noise, 0, where=_WHERE)
    check_int("seed", seed, low=0, where=_WHERE)
    return int(low), int(high), int(stride)


# -- generative model --------------------------------------------------------
def _label_orders(rng, n_sessions, n_trials, n_classes):
    """Label order of every session (the same for every subject)."""
    if n_classes == 4 and n_trials == 24:
        return [np.array(SEEDIV_SESSION_LABELS[s % 3]) for s in range(n_sessions)]
    orders = []
    for _ in range(n_sessions):
        classes = rng.permutation(n_classes)
        counts = np.full(n_classes, n_trials // n_classes)
        counts[: n_trials % n_classes] += 1
        labels = np.repeat(classes, counts)
        orders.append(rng.permutation(labels))
    return orders


def _scalp_positions(n_chans):
    """Pseudo scalp positions: Fibonacci lattice on the upper unit hemisphere.

    Returns ``(n_chans, 3)`` unit vectors (x: right, y: front, z: up), ordered
    in rows from front to back and, within a row, left to right, like the
    SEED 62-channel numbering.
    """
    i = np.arange(n_chans) + 0.5
    z = 1.0 - i / n_chans * 0.9  # keep away from the equator
    r = np.sqrt(1.0 - z**2)
    phi = i * np.pi * (3.0 - np.sqrt(5.0))
    pos = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
    n_rows = max(1, int(round(np.sqrt(n_chans))))
    order = np.argsort(-pos[:, 1], kind="stable")
    rows = np.array_split(order, n_rows)
    order = np.concatenate([row[np.argsort(pos[row, 0], kind="stable")] for row in rows])
    return pos[order]


def _band_profile(n_bands, low_to_high):
    """Band weights interpolated from a 5-band profile (delta..gamma)."""
    grid = np.linspace(0.0, 1.0, 5)
    return np.interp(np.linspace(0.0, 1.0, n_bands), grid, low_to_high)


def _unit(v):
    return v / np.linalg.norm(v)


def _ar1(eps):
    """AR(1) filter (coefficient ``_AR_COEF``, unit stationary s.d. for unit ``eps``)."""
    dev = np.empty_like(eps)
    dev[0] = eps[0]
    innov = np.sqrt(1.0 - _AR_COEF**2)
    for i in range(1, len(eps)):
        dev[i] = _AR_COEF * dev[i - 1] + innov * eps[i]
    return dev


class _Structure:
    """Seeded parts common to every subject: prototypes and common maps."""

    def __init__(
        self,
        rng,
        n_classes,
        n_chans,
        n_bands,
        n_eye_features,
        scenario="complementary",
        extra_rng=None,
    ):
        self.n_chans, self.n_bands, self.n_eye = n_chans, n_bands, n_eye_features
        self.scenario = scenario
        self.redundant = scenario == "redundant"
        self.prototypes = self._prototypes(rng, n_classes)
        if self.redundant:
            # Same geometry, every distance scaled to the redundant separation.
            self.prototypes *= _RED_SEPARATION / _SEPARATION
        pos = _scalp_positions(n_chans)
        self.pos = pos
        # Spatial kernel: smooth fields are kernel @ white noise.
        d2 = np.sum((pos[:, None] - pos[None]) ** 2, axis=-1)
        self.kernel = np.exp(-d2 / (2 * _BUMP_WIDTH**2))
        self.kernel /= np.sqrt(np.sum(self.kernel**2, axis=1, keepdims=True))
        # Emotion-relevant regions: frontal (y > 0.2) or lateral temporal.
        region = (pos[:, 1] > 0.2) | ((np.abs(pos[:, 0]) > 0.6) & (pos[:, 2] < 0.6))
        self.region = region if region.any() else np.ones(n_chans, bool)
        self.frontal = pos[:, 1] > 0.3
        self.temporal = (np.abs(pos[:, 0]) > 0.6) & (pos[:, 2] < 0.6)
        # ``rng`` is drawn from in the same order in both scenarios, so the
        # complementary scenario is unchanged; what only the redundant scenario
        # needs comes from ``extra_rng``.
        self.eeg_map = self._eeg_map(rng, extra_rng)  # (C*B, q)
        self.eye_map = self._eye_map(rng)  # (F, q)
        self.band_baseline = _band_profile(n_bands, [1.0, 0.6, 0.3, 0.0, -0.3])

    @staticmethod
    def _prototypes(rng, n_classes):
        protos = np.zeros((n_classes, _N_LATENT))
        n_pairs = (n_classes + 1) // 2
        if n_pairs > 1:
            centres = rng.standard_normal((n_pairs, _N_SHARED))
            centres -= centres.mean(axis=0)
            # Scale so the mean distance from the centroid is _SEPARATION.
            centres *= _SEPARATION / np.mean(np.linalg.norm(centres, axis=1))
            protos[:, _SHARED] = centres[np.arange(n_classes) // 2]
        for k in range(n_classes // 2):
            contrast = np.zeros(_N_LATENT)
            eye_dir = np.zeros(_N_LATENT)
            eye_dir[_EYE] = _unit(rng.standard_normal(_N_EYE))
            eeg_dir = np.zeros(_N_LATENT)
            eeg_dir[_EEG] = _unit(rng.standard_normal(_N_EEG))
            if n_classes == 2:
                contrast = eye_dir + eeg_dir
            elif k % 2 == 0:
                contrast = eye_dir
            else:
                contrast = eeg_dir
            protos[2 * k] += _SEPARATION * contrast
            protos[2 * k + 1] -= _SEPARATION * contrast
        if n_classes % 2 == 1:
            # The last class copies its predecessor and differs from it in
            # the private block that the predecessor's pair does not use.
            last = n_classes - 1
            block = _EEG if ((last - 1) // 2) % 2 == 0 else _EYE
            contrast = np.zeros(_N_LATENT)
            contrast[block] = _unit(rng.standard_normal(block.stop - block.start))
            protos[last] = protos[last - 1] + 2 * _SEPARATION * contrast
        return protos

    def _eeg_pattern(self, rng, candidates):
        """Pattern of one informative latent dimension, ``(C, B)``."""
        centres = rng.choice(candidates, size=2, replace=len(candidates) < 2)
        signs = rng.choice([-1.0, 1.0], size=2)
        spatial = sum(
            s * np.exp(-np.sum((self.pos - self.pos[c]) ** 2, 1) / (2 * _BUMP_WIDTH**2))
            for s, c in zip(signs, centres)
        )
        band = _band_profile(self.n_bands, [0.2, 0.3, 0.5, 1.0, 1.3])
        band = band * np.exp(0.2 * rng.standard_normal(self.n_bands))
        return spatial[:, None] * band[None, :]

    def _eeg_map(self, rng, extra_rng=None):
        C, B = self.n_chans, self.n_bands
        cols = np.zeros((C, B, _N_LATENT))
        candidates = np.flatnonzero(self.region)
        informative = list(range(_SHARED.start, _SHARED.stop)) + list(range(_EEG.start, _EEG.stop))
        for j in informative:
            cols[:, :, j] = self._eeg_pattern(rng, candidates)
        if self.redundant:
            # EEG also sees the "eye-private" block: every class contrast.
            for j in range(_EYE.start, _EYE.stop):
                cols[:, :, j] = self._eeg_pattern(extra_rng, candidates)
        # Nuisance (drowsiness-like): posterior alpha.
        posterior = 1.0 / (1.0 + np.exp(6.0 * self.pos[:, 1]))
        cols[:, :, _NUIS] = posterior[:, None] * _band_profile(B, [0.3, 0.6, 1.0, 0.3, 0.1])
        cols = cols.reshape(C * B, _N_LATENT)
        rms = np.sqrt(np.mean(cols**2, axis=0))
        rms[rms == 0] = 1.0
        # Complementary: the eye-private columns stay zero.
        scale = _RED_EEG_SIGNAL if self.redundant else _EEG_SIGNAL
        return scale * cols / rms

    def _eye_map(self, rng):
        cols = rng.standard_normal((self.n_eye, _N_LATENT)) / np.sqrt(_N_LATENT / 2)
        if not self.redundant:
            cols[:, _EEG] = 0.0
        rms = np.sqrt(np.mean(cols**2, axis=0))
        rms[rms == 0] = 1.0
        scale = _RED_EYE_SIGNAL if self.redundant else _EYE_SIGNAL
        return scale * cols / rms

    def smooth_field(self, rng, size=()):
        """Spatially smooth random field(s) over channels, unit s.d. per channel."""
        return rng.standard_normal((*size, self.n_chans)) @ self.kernel.T


class _Subject:
    """One subject's maps and offsets, and the generator of its trials."""

    def __init__(self, structure, rng, n_sessions):
        st = self.st = structure
        C, B = st.n_chans, st.n_bands
        gain_field = 1.0 + 0.3 * np.tanh(st.smooth_field(rng))  # (C,)
        band_gain = np.exp(0.2 * rng.standard_normal(B))
        eeg_gain = (gain_field[:, None] * band_gain[None, :]).reshape(C * B, 1)
        self.eeg_map = st.eeg_map * eeg_gain
        offset = st.band_baseline[None, :] + 0.5 * st.smooth_field(rng, (B,)).T
        self.eeg_offset = offset.reshape(C * B)
        self.session_offset = 0.2 * st.smooth_field(rng, (n_sessions, B)).transpose(
            0, 2, 1
        ).reshape(n_sessions, C * B)
        self.eye_map = st.eye_map * np.exp(0.2 * rng.standard_normal((st.n_eye, 1)))
        self.eye_offset = 0.5 * rng.standard_normal(st.n_eye)
        self.eye_session_offset = 0.2 * rng.standard_normal((n_sessions, st.n_eye))

    def _latent(self, rng, label, n_win, noise):
        """AR(1) latent state around the envelope-scaled prototype, (n_win, q)."""
        t = np.arange(n_win)
        envelope = 1.0 - 0.5 * np.exp(-t / _ENVELOPE_TAU)
        mean = envelope[:, None] * self.st.prototypes[label][None, :]
        mean[:, _NUIS] += noise * _TRIAL_NUIS * rng.standard_normal()
        eps = noise * rng.standard_normal((n_win, _N_LATENT))
        return mean + _ar1(eps)

    def _redundant_latents(self, rng, label, n_win, noise):
        """The state as each modality sees it (redundant scenario).

        Both views share the envelope-scaled prototype and a fraction
        ``_RED_COMMON`` of the fluctuation variance; the rest of the
        fluctuation, and the whole nuisance dimension (per-trial offset and
        fluctuation), are drawn independently for each modality.
        """
        t = np.arange(n_win)
        envelope = 1.0 - 0.5 * np.exp(-t / _ENVELOPE_TAU)
        mean = envelope[:, None] * self.st.prototypes[label][None, :]
        common = _ar1(noise * rng.standard_normal((n_win, _N_LATENT)))
        views = []
        for _ in range(2):  # EEG, then eye
            own = _ar1(noise * rng.standard_normal((n_win, _N_LATENT)))
            z = mean + np.sqrt(_RED_COMMON) * common + np.sqrt(1.0 - _RED_COMMON) * own
            z[:, _NUIS] = noise * _TRIAL_NUIS * rng.standard_normal() + own[:, _NUIS]
            views.append(z)
        return views

    def trial(self, rng, session, label, n_win, noise):
        """One trial: EEG ``(n_win, C, B)`` and eye ``(n_win, F)`` features."""
        st = self.st
        C, B, F = st.n_chans, st.n_bands, st.n_eye
        if st.redundant:
            s_eeg, s_eye = self._redundant_latents(rng, label, n_win, noise)
        else:
            s_eeg = s_eye = self._latent(rng, label, n_win, noise)
        eeg_art = rng.random(n_win) < _ARTIFACT_PROB
        eye_art = rng.random(n_win) < _ARTIFACT_PROB

        # EEG differential entropy.
        signal = s_eeg @ self.eeg_map.T  # (T, C*B)
        signal[eeg_art] = 0.0
        trial_off = _TRIAL_OFFSET * st.smooth_field(rng, (B,)).T.reshape(C * B)
        smooth = st.smooth_field(rng, (n_win, B)).transpose(0, 2, 1).reshape(n_win, C * B)
        white = rng.standard_normal((n_win, C * B))
        obs_noise = _EEG_NOISE * np.sqrt(0.5) * (smooth + white)
        eeg = (
            self.eeg_offset
            + self.session_offset[session]
            + signal
            + noise * (trial_off + obs_noise)
        ).reshape(n_win, C, B)
        if eeg_art.any():
            eeg[eeg_art] += self._eeg_artifacts(rng, int(eeg_art.sum()))

        # Eye movements.
        eye_signal = s_eye @ self.eye_map.T  # (T, F)
        eye_signal[eye_art] = 0.0
        eye_noise = _EYE_NOISE * rng.standard_normal((n_win, F))
        eye_noise[eye_art] *= 3.0
        eye = (
            self.eye_offset
            + self.eye_session_offset[session]
            + eye_signal
            + noise * (_TRIAL_OFFSET * rng.standard_normal(F) + eye_noise)
        )
        return eeg, eye

    def _eeg_artifacts(self, rng, n):
        """Blink (frontal delta/theta) or muscle (temporal beta/gamma) bursts."""
        st = self.st
        blink = np.outer(
            st.frontal.astype(float), _band_profile(st.n_bands, [1.0, 0.7, 0.2, 0.0, 0.0])
        )
        muscle = np.outer(
            st.temporal.astype(float), _band_profile(st.n_bands, [0.0, 0.0, 0.2, 0.8, 1.0])
        )
        kind = rng.random(n) < 0.5
        amplitude = 2.0 + rng.random(n)
        return amplitude[:, None, None] * np.where(kind[:, None, None], blink, muscle)
