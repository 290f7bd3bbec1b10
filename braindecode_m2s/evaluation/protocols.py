"""Trial-grouped evaluation protocols of the multimodal emotion literature.

Windows of one stimulus trial are strongly correlated (same clip, same
minute of recording), so any split that puts windows of a test trial in the
training set reports trial recognition, not emotion recognition. Every
splitter here keeps whole trials on one side, and :func:`check_trial_grouped`
refuses splits that do not.

Protocols (per dataset, :data:`WITHIN_SESSION`):

- SEED (Zheng & Lu, 2015): per subject and session, the first 9 trials
  train and the last 6 test.
- SEED-IV (Zheng et al., 2019, "EmotionMeter"): first 16 train, last 8 test.
- SEED-V (Liu et al., 2021): 3 folds over the 15 trials of each session,
  fold ``k`` testing trials ``5k..5k+4``.
- SEED-VII, DEAP, DREAMER: trial-grouped K-fold over the trials of each
  session, folds of consecutive trials: SEED-VII 4 folds of 5 videos (it has
  no official protocol; 4 folds by video is a common choice), DEAP 10 folds
  of 4 videos (the per-subject 10-fold of the literature, made
  trial-grouped), DREAMER 6 folds of 3 of its 18 clips (our choice; its
  literature mostly reports leave-one-subject-out).

Cross-session (leave one session out, per subject) and leave-one-subject-out
are protocol-independent. ``m2s reproduce`` uses the within-session protocol
unless told otherwise.

Two kinds of objects:

- :class:`TrialSplit` and :class:`TrialBlockKFold` split the trials of **one
  session** given the trial index as ``groups``; they are scikit-learn
  splitters and MOABB ``cv_class`` es (``WithinSessionEvaluation(cv_class=
  TrialSplit, cv_kwargs=dict(train_trials=16), groups="trial")``).
- :class:`ProtocolSplitter` binds a protocol to the paradigm's ``metadata``
  and yields global ``(train, test)`` positions: usable as ``cv=`` in
  :func:`sklearn.model_selection.cross_val_score`, and
  :meth:`ProtocolSplitter.folds` also says which subject / session / fold each
  split belongs to.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from .._sklearn import GroupsConsumerMixin
from ..datasets.names import dataset_code
from .choices import PROTOCOLS

__all__ = [
    "trial_groups",
    "split_by_trial",
    "PROTOCOL_TRAIN_TRIALS",
    "TrialSplit",
    "TrialBlockKFold",
    "ProtocolSplitter",
    "WITHIN_SESSION",
    "PROTOCOLS",
    "within_session_splitter",
    "moabb_cv_kwargs",
    "check_trial_grouped",
    "normalize_dataset_code",
]

#: Within-session protocol of each dataset: ``("first", n_train_trials)`` or
#: ``("blocks", n_folds)`` (folds of consecutive trials).
WITHIN_SESSION = {
    "SEED": ("first", 9),
    "SEED-IV": ("first", 16),
    "SEED-V": ("blocks", 3),
    "SEED-VII": ("blocks", 4),
    "DEAP": ("blocks", 10),
    "DREAMER": ("blocks", 6),
}


def normalize_dataset_code(code):
    """The dataset code of :data:`WITHIN_SESSION` for a name like ``"seediv"``.

    Parameters
    ----------
    code : str
        A dataset code, class or command-line name in any spelling that
        :func:`braindecode_m2s.datasets.names.lookup` accepts (case, ``-``
        and ``_`` ignored).

    Returns
    -------
    str
        ``"SEED"``, ``"SEED-IV"``, ``"SEED-V"``, ``"SEED-VII"``, ``"DEAP"`` or
        ``"DREAMER"``.
    """
    try:
        key = dataset_code(str(code))
    except ValueError:
        key = None
    if key not in WITHIN_SESSION:
        raise ValueError(
            f"Dataset {code!r} has no standard protocol; expected one of {sorted(WITHIN_SESSION)}."
        )
    return key


class _GroupSplitter(GroupsConsumerMixin, BaseCrossValidator):
    """Base of the one-session splitters: ``groups`` is the trial index.

    scikit-learn's ``GroupsConsumerMixin`` (:mod:`braindecode_m2s._sklearn`) marks
    them as consuming ``groups`` for scikit-learn's metadata routing and for
    MOABB's splitters, which then pass ``groups`` (e.g. ``groups="trial"``).
    """

    def _trials(self, X, y, groups):
        if groups is None:
            raise ValueError(
                f"{type(self).__name__}.split needs `groups` = the trial index of each "
                f"sample (metadata['trial']); got None."
            )
        groups = np.asarray(groups)
        n = len(groups)
        if X is not None and len(X) != n:
            raise ValueError(
                f"{type(self).__name__}: `groups` has {n} entries but X has {len(X)}; "
                f"expected one trial index per sample."
            )
        return groups


class TrialSplit(_GroupSplitter):
    """One split of a session's trials: a fixed set of trials trains.

    The standard within-session protocol of SEED (first 9 of 15 trials
    train) and SEED-IV (first 16 of 24), Zheng & Lu (2015), Zheng et al.
    (2019).

    Parameters
    ----------
    train_trials : int | sequence of int
        An int ``k``: trials with index ``< k`` train (trials are numbered
        0.. in presentation order). A sequence: those trial indices train.
    """

    def __init__(self, train_trials=16):
        self.train_trials = train_trials

    def _is_train(self, trials):
        if isinstance(self.train_trials, (int, np.integer)):
            if self.train_trials < 1:
                raise ValueError(f"`train_trials` must be >= 1; got {self.train_trials}.")
            return trials < self.train_trials
        return np.isin(trials, np.asarray(list(self.train_trials)))

    def split(self, X=None, y=None, groups=None):
        """Yield the one ``(train, test)`` pair; ``groups`` = trial index per sample."""
        trials = self._trials(X, y, groups)
        is_train = self._is_train(trials)
        if is_train.all() or not is_train.any():
            raise ValueError(
                f"TrialSplit(train_trials={self.train_trials!r}) puts all "
                f"{len(np.unique(trials))} trials on one side; expected trials on both."
            )
        yield np.flatnonzero(is_train), np.flatnonzero(~is_train)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Always 1."""
        return 1


class TrialBlockKFold(_GroupSplitter):
    """K folds of consecutive trials of one session.

    Fold ``k`` tests the ``k``-th block of consecutive trials (SEED-V: 3
    folds of 5 of its 15 trials, Liu et al. 2021); no trial is split.

    Parameters
    ----------
    n_splits : int
        Number of folds (at least 2, at most the number of trials).
    """

    def __init__(self, n_splits=3):
        self.n_splits = n_splits

    def split(self, X=None, y=None, groups=None):
        """Yield ``n_splits`` ``(train, test)`` pairs; ``groups`` = trial index."""
        trials = self._trials(X, y, groups)
        unique = np.unique(trials)
        n_splits = self.n_splits
        if not isinstance(n_splits, (int, np.integer)) or not 2 <= n_splits <= len(unique):
            raise ValueError(
                f"`n_splits` is {self.n_splits!r}; expected an int between 2 and the "
                f"{len(unique)} trials of the session."
            )
        for block in np.array_split(unique, self.n_splits):
            is_test = np.isin(trials, block)
            yield np.flatnonzero(~is_test), np.flatnonzero(is_test)

    def get_n_splits(self, X=None, y=None, groups=None):
        """``n_splits``."""
        return self.n_splits


def within_session_splitter(dataset):
    """The one-session splitter of a dataset's standard protocol.

    Parameters
    ----------
    dataset : str
        Dataset code or name (``"SEED-IV"``, ``"seediv"``...).

    Returns
    -------
    TrialSplit | TrialBlockKFold
    """
    kind, value = WITHIN_SESSION[normalize_dataset_code(dataset)]
    return TrialSplit(value) if kind == "first" else TrialBlockKFold(value)


def moabb_cv_kwargs(dataset):
    """Keyword arguments that make MOABB's ``WithinSessionEvaluation`` trial-grouped.

    Parameters
    ----------
    dataset : str
        Dataset code or name (``"SEED-IV"``, ``"seediv"``...).

    Returns
    -------
    dict
        ``cv_class``, ``cv_kwargs`` and ``groups="trial"`` for the dataset's
        standard within-session protocol (:data:`WITHIN_SESSION`), e.g.
        ``WithinSessionEvaluation(paradigm=MultimodalEmotion(), datasets=[SEEDIV()],
        **moabb_cv_kwargs("SEED-IV"))``.
    """
    kind, value = WITHIN_SESSION[normalize_dataset_code(dataset)]
    if kind == "first":
        return dict(cv_class=TrialSplit, cv_kwargs=dict(train_trials=value), groups="trial")
    return dict(cv_class=TrialBlockKFold, cv_kwargs=dict(n_splits=value), groups="trial")


def _check_metadata(metadata, columns=("subject", "session", "trial")):
    if not isinstance(metadata, pd.DataFrame):
        raise ValueError(
            f"`metadata` is a {type(metadata).__name__}; expected the DataFrame returned "
            f"by MultimodalEmotion.get_data."
        )
    missing = [c for c in columns if c not in metadata.columns]
    if missing:
        raise ValueError(
            f"`metadata` lacks the columns {missing}; expected the DataFrame returned by "
            f"MultimodalEmotion.get_data."
        )


def _trial_keys(metadata):
    return metadata[["subject", "session", "trial"]].astype(str).agg("|".join, axis=1).to_numpy()


def check_trial_grouped(splits, metadata, action="raise"):
    """Check that no trial has samples on both sides of any split.

    Parameters
    ----------
    splits : iterable of (train, test)
        Integer positions into ``metadata``.
    metadata : pandas.DataFrame
        With ``subject``, ``session`` and ``trial``.
    action : {"raise", "warn"}
        What to do on a leaking split.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        The splits, materialized.

    Raises
    ------
    ValueError
        If ``action="raise"`` and a split puts windows of one trial in both
        training and test sets.
    """
    if action not in ("raise", "warn"):
        raise ValueError(f"`action` is {action!r}; expected 'raise' or 'warn'.")
    _check_metadata(metadata)
    keys = _trial_keys(metadata)
    out = []
    for i, (train, test) in enumerate(splits):
        train, test = np.asarray(train), np.asarray(test)
        shared = np.intersect1d(keys[train], keys[test])
        if shared.size:
            msg = (
                f"Split {i} puts windows of {shared.size} trial(s) (e.g. subject|session|"
                f"trial {shared[0]!r}) in both training and test sets; expected a "
                f"trial-grouped split (TrialSplit, TrialBlockKFold, ProtocolSplitter, or "
                f"a Group* splitter on trial_groups(metadata))."
            )
            if action == "raise":
                raise ValueError(msg)
            warnings.warn(msg, stacklevel=2)
        out.append((train, test))
    return out


class ProtocolSplitter(BaseCrossValidator):
    """A protocol of the literature bound to the paradigm's metadata.

    Parameters
    ----------
    metadata : pandas.DataFrame
        From :meth:`~braindecode_m2s.paradigms.MultimodalEmotion.get_data`
        (``subject``, ``session``, ``trial``).
    protocol : {"within-session", "cross-session", "loso"}
        ``"within-session"``: per subject and session, the dataset's standard
        trial split (:data:`WITHIN_SESSION`, or ``cv``); ``"cross-session"``:
        per subject, each session in turn tests and the others train;
        ``"loso"``: each subject in turn tests and all others train.
    dataset : str | None
        Dataset code for the within-session protocol (``"SEED-IV"``...).
    cv : TrialSplit | TrialBlockKFold | None
        One-session splitter overriding the dataset's standard one (for
        datasets without a standard protocol, e.g. synthetic data).

    Notes
    -----
    ``split(X, y, groups)`` ignores its arguments (everything comes from
    ``metadata``) and yields global positions, so the object is a valid
    ``cv=`` for :func:`~sklearn.model_selection.cross_val_score` and
    :class:`~sklearn.model_selection.GridSearchCV` on the same ``X``.
    Every split is checked with :func:`check_trial_grouped`.
    """

    def __init__(self, metadata, protocol="within-session", dataset=None, cv=None):
        self.metadata = metadata
        self.protocol = protocol
        self.dataset = dataset
        self.cv = cv

    def _inner(self):
        if self.cv is not None:
            if not hasattr(self.cv, "split"):
                raise ValueError(
                    f"`cv` is {self.cv!r}; expected a splitter with split(X, y, groups) "
                    f"such as TrialSplit or TrialBlockKFold."
                )
            return self.cv
        if self.dataset is None:
            raise ValueError(
                "ProtocolSplitter(protocol='within-session') needs `dataset` (e.g. "
                "'SEED-IV') or `cv` (e.g. TrialSplit(16)); got neither."
            )
        return within_session_splitter(self.dataset)

    def folds(self):
        """Yield one dict per split: ``subject``, ``session``, ``fold``, ``train``, ``test``.

        ``subject`` is the test subject for LOSO; ``session`` is the test
        session for cross-session (``"all"`` where a split spans sessions).
        """
        meta = self.metadata
        _check_metadata(meta)
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"`protocol` is {self.protocol!r}; expected one of {PROTOCOLS}.")
        subject = meta["subject"].to_numpy()
        session = meta["session"].astype(str).to_numpy()
        out = []
        if self.protocol == "within-session":
            inner = self._inner()
            for (subj, sess), block in meta.groupby(["subject", "session"], sort=True):
                pos = np.flatnonzero((subject == subj) & (session == str(sess)))
                trials = block["trial"].to_numpy()
                for k, (tr, te) in enumerate(inner.split(np.zeros(len(pos)), None, trials)):
                    out.append(
                        dict(subject=subj, session=str(sess), fold=k, train=pos[tr], test=pos[te])
                    )
        elif self.protocol == "cross-session":
            for subj in np.unique(subject):
                sessions = np.unique(session[subject == subj])
                if len(sessions) < 2:
                    raise ValueError(
                        f"Cross-session needs at least 2 sessions per subject; subject "
                        f"{subj} has {list(sessions)}."
                    )
                for k, sess in enumerate(sessions):
                    mine = subject == subj
                    out.append(
                        dict(
                            subject=subj,
                            session=sess,
                            fold=k,
                            train=np.flatnonzero(mine & (session != sess)),
                            test=np.flatnonzero(mine & (session == sess)),
                        )
                    )
        else:
            subjects = np.unique(subject)
            if len(subjects) < 2:
                raise ValueError(
                    f"Leave-one-subject-out needs at least 2 subjects; got {list(subjects)}."
                )
            for k, subj in enumerate(subjects):
                out.append(
                    dict(
                        subject=subj,
                        session="all",
                        fold=k,
                        train=np.flatnonzero(subject != subj),
                        test=np.flatnonzero(subject == subj),
                    )
                )
        check_trial_grouped([(f["train"], f["test"]) for f in out], meta)
        return out

    def split(self, X=None, y=None, groups=None):
        """Yield ``(train, test)`` global positions of every split."""
        if X is not None and len(X) != len(self.metadata):
            raise ValueError(
                f"X has {len(X)} samples but `metadata` has {len(self.metadata)} rows; "
                f"expected the X of the same get_data call."
            )
        for fold in self.folds():
            yield fold["train"], fold["test"]

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits."""
        return len(self.folds())

    def __repr__(self):
        return (
            f"ProtocolSplitter(protocol={self.protocol!r}, dataset={self.dataset!r}, "
            f"cv={self.cv!r}, n_samples={len(self.metadata)})"
        )


#: Standard "first trials train" protocols by dataset code (from
#: :data:`WITHIN_SESSION`), for :func:`split_by_trial`.
PROTOCOL_TRAIN_TRIALS = {code: n for code, (kind, n) in WITHIN_SESSION.items() if kind == "first"}


def trial_groups(metadata):
    """One integer group per (subject, session, trial), for grouped splitters.

    Parameters
    ----------
    metadata : pandas.DataFrame
        From :meth:`MultimodalEmotion.get_data`.

    Returns
    -------
    numpy.ndarray
        int64 ``(n,)``; pass as ``groups`` to e.g.
        :class:`sklearn.model_selection.GroupKFold` so all samples of a trial
        fall on the same side.
    """
    _check_metadata(metadata)
    keys = metadata[["subject", "session", "trial"]].astype(str).agg("|".join, axis=1)
    return pd.factorize(keys)[0].astype(np.int64)


def split_by_trial(metadata, train_trials):
    """Train / test indices that keep whole trials on one side.

    Parameters
    ----------
    metadata : pandas.DataFrame
        From :meth:`MultimodalEmotion.get_data`.
    train_trials : int | str | sequence of int
        An int ``k``: trials ``0..k-1`` of every session train, the rest
        test. A dataset code with a standard protocol (``"SEED"``: 9,
        ``"SEED-IV"``: 16, see :data:`PROTOCOL_TRAIN_TRIALS`). A sequence:
        those trial indices (of every session) train.

    Returns
    -------
    train_idx, test_idx : numpy.ndarray
        Integer positions into ``metadata`` (and ``X``, ``y``).
    """
    _check_metadata(metadata, ("trial",))
    if isinstance(train_trials, str):
        if train_trials not in PROTOCOL_TRAIN_TRIALS:
            raise ValueError(
                f"`train_trials` {train_trials!r} has no standard protocol; expected "
                f"one of {sorted(PROTOCOL_TRAIN_TRIALS)}, an int or trial indices."
            )
        train_trials = PROTOCOL_TRAIN_TRIALS[train_trials]
    trial = metadata["trial"].to_numpy()
    if isinstance(train_trials, (int, np.integer)):
        if train_trials < 1:
            raise ValueError(f"`train_trials` must be >= 1; got {train_trials}.")
        is_train = trial < train_trials
    else:
        is_train = np.isin(trial, np.asarray(list(train_trials)))
    return np.flatnonzero(is_train), np.flatnonzero(~is_train)
