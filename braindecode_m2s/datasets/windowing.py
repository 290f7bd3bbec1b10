# Authors: braindecode-m2s developers
#
# License: BSD (3-clause)
"""Trials of feature windows -> samples of consecutive windows (the one home).

M2S reads samples of ``sequence_length`` consecutive feature windows of one
trial, every modality aligned on the same windows (the reference's
sequences of 5 windows, Liu et al., AAAI 2025): ``X["x"]``
``(n, n_chans, sequence_length, n_bands)`` and each other modality
``(n, n_features, sequence_length)``. :func:`trials_to_samples` cuts them
from :class:`~braindecode_m2s.datasets.base.EmotionTrial` objects, for the
real datasets (through :class:`~braindecode_m2s.MultimodalEmotion`) and for
the synthetic generator alike, with one metadata schema.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from skorch.helper import SliceDict

__all__ = ["EmotionSliceDict", "trials_to_samples", "check_trial_modality"]


class EmotionSliceDict(SliceDict):
    """:class:`skorch.helper.SliceDict` whose ``shape`` is its EEG entry's.

    A plain ``SliceDict`` reports ``shape == (n,)``; MOABB's evaluations read
    the channel count as ``X.shape[1]``. This subclass reports the shape of
    ``X["x"]`` (or, without EEG, of its first entry), so ``X.shape[1]`` is
    the channel count. Slicing keeps the subclass.
    """

    @property
    def shape(self):
        key = "x" if "x" in self else next(iter(self), None)
        if key is None:
            return (len(self),)
        return (len(self), *self[key].shape[1:])


def check_trial_modality(array, key, trial, where):
    """A trial's modality: a finite real array with a window axis (axis 1)."""
    name = (
        f"{where}: modality {key!r} of subject {trial.subject}, session "
        f"{trial.session}, trial {trial.trial}"
    )
    try:
        array = np.asarray(array)
    except Exception as err:  # ragged nesting
        raise ValueError(f"{name} cannot be read as an array ({err}).") from None
    if array.ndim < 2:
        raise ValueError(
            f"{name} has shape {array.shape}; expected (n_features, n_windows, ...) "
            f"with the windows on axis 1."
        )
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {array.dtype}; expected real numbers.")
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(
            f"{name} holds {int(array.size - finite.sum())} NaN/Inf values; expected "
            f"finite features."
        )
    if np.abs(array).max(initial=0.0) > np.finfo(np.float32).max:
        raise ValueError(
            f"{name} holds values beyond the float32 range of the samples; expected "
            f"features of physiological magnitude."
        )
    return array


def _modality_keys(trials, modalities, where, stacklevel):
    available = set(trials[0].modalities)
    for trial in trials[1:]:
        available &= set(trial.modalities)
    if modalities is None:
        dropped = sorted(set().union(*(t.modalities for t in trials)) - available)
        if dropped:
            warnings.warn(
                f"{where}: modalities {dropped} are missing from some trials and "
                f"are left out; pass `modalities` to choose explicitly.",
                stacklevel=stacklevel,
            )
        return [k for k in trials[0].modalities if k in available]
    missing = [m for m in modalities if m not in available]
    if missing:
        raise ValueError(
            f"{where}: modalities {missing} are not available for every trial "
            f"(available: {sorted(available)}); check `modalities`."
        )
    return list(modalities)


def trials_to_samples(
    trials, sequence_length=5, stride=None, modalities=None, where="the trials", stacklevel=2
):
    """Cut trials of feature windows into samples of consecutive windows.

    Parameters
    ----------
    trials : list of EmotionTrial
        Trials whose modalities are ``(n_features, n_windows, ...)`` arrays.
    sequence_length : int
        Windows per sample (the reference's 5).
    stride : int | None
        Windows between the starts of successive samples of a trial; None:
        ``sequence_length`` (non-overlapping samples).
    modalities : sequence of str | None
        Modalities to keep; None: those every trial has (a warning names the
        ones left out).
    where : str
        Names the source in messages.
    stacklevel : int
        Stack level of the warnings (the caller's frame by default).

    Returns
    -------
    X : EmotionSliceDict
        float32 ``(n, n_features, sequence_length, ...)`` per modality.
    y : numpy.ndarray
        int64 ``(n,)`` labels.
    metadata : pandas.DataFrame
        ``subject``, ``session``, ``run`` (``"0"``), ``trial``, ``window``
        (index of the sample's first window), ``onset`` (seconds from the
        trial start), ``n_windows`` (windows of the trial), then the trials'
        ratings.

    Raises
    ------
    ValueError
        If no trial is given or long enough, a requested modality is
        missing, or a modality is not a real array with a window axis
        (axis 1), holds NaN/Inf, or exceeds the float32 range.
    """
    if not trials:
        raise ValueError(f"{where}: no trials were returned; expected at least one.")
    keys = _modality_keys(trials, modalities, where, stacklevel + 1)
    length = int(sequence_length)
    stride = int(stride or length)
    arrays = {k: [] for k in keys}
    rows, labels = [], []
    short = 0
    for trial in trials:
        mods = {k: check_trial_modality(trial.modalities[k], k, trial, where) for k in keys}
        n_win = min(arr.shape[1] for arr in mods.values())
        starts = np.arange(0, n_win - length + 1, stride)
        if len(starts) == 0:
            short += 1
            continue
        idx = starts[:, None] + np.arange(length)[None, :]
        for k, arr in mods.items():
            # (n_chans, n_windows, ...) -> (n_samples, n_chans, length, ...)
            arrays[k].append(np.moveaxis(arr[:, idx], 1, 0).astype(np.float32))
        for s in starts.tolist():
            rows.append(
                {
                    "subject": trial.subject,
                    "session": trial.session,
                    "run": "0",
                    "trial": trial.trial,
                    "window": s,
                    "onset": s * trial.window_seconds,
                    "n_windows": n_win,
                    **trial.ratings,
                }
            )
        labels += [trial.label] * len(starts)
    if short:
        warnings.warn(
            f"{where}: {short} of {len(trials)} trials have fewer than "
            f"sequence_length={length} windows and give no sample.",
            stacklevel=stacklevel,
        )
    if not rows:
        raise ValueError(
            f"{where}: no trial has sequence_length={length} windows; expected a "
            f"smaller `sequence_length`."
        )
    X = EmotionSliceDict(**{k: np.ascontiguousarray(np.concatenate(v)) for k, v in arrays.items()})
    return X, np.asarray(labels, dtype=np.int64), pd.DataFrame(rows)
