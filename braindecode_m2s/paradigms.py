"""The multimodal emotion paradigm: dataset -> (SliceDict X, y, metadata).

:class:`MultimodalEmotion` turns the per-trial feature windows of an
:class:`~braindecode_m2s.datasets.base.EmotionDataset` into samples of
``sequence_length`` consecutive windows of one trial, every modality aligned
on the same windows, in the layout the M2S model reads (Liu et al., AAAI
2025): ``X["x"]`` ``(n, n_chans, sequence_length, n_bands)`` and each other
modality ``(n, n_features, sequence_length)``.

Windows of one trial are strongly correlated, so a random split of samples
leaks test trials into training; :func:`~braindecode_m2s.evaluation.protocols.trial_groups`,
:func:`~braindecode_m2s.evaluation.protocols.split_by_trial` and
:class:`~braindecode_m2s.evaluation.protocols.ProtocolSplitter` split by whole trials, the
last two following the literature's protocols (SEED: first 9 trials of each
session train, last 6 test, Zheng & Lu 2015; SEED-IV: first 16 / last 8,
Zheng et al. 2019).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from moabb.datasets.bids_interface import StepType
from moabb.datasets.preprocessing import FixedPipeline, FixedTransformer
from moabb.paradigms.base import BaseParadigm

from .datasets.base import EmotionDataset
from .datasets.windowing import EmotionSliceDict, trials_to_samples

__all__ = [
    "MultimodalEmotion",
    "EmotionSliceDict",
]


class _Features(FixedTransformer):
    """Record of the feature options (names the processing in MOABB results)."""

    def __init__(
        self, feature=None, smoothing=None, sequence_length=5, stride=None, modalities=None
    ):
        self.feature = feature
        self.smoothing = smoothing
        self.sequence_length = sequence_length
        self.stride = stride
        self.modalities = modalities

    def transform(self, X, y=None):
        return X


class MultimodalEmotion(BaseParadigm):
    """Sequences of aligned multimodal feature windows from emotion datasets.

    A sample is ``sequence_length`` consecutive feature windows of one trial
    (windows never cross trials); consecutive samples of a trial start
    ``stride`` windows apart. Trials shorter than ``sequence_length`` give no
    sample (one warning with the counts).

    Parameters
    ----------
    sequence_length : int
        Windows per sample (5, as the reference code's ``time_window = 5``).
    stride : int | None
        Windows between the starts of consecutive samples of a trial;
        ``None`` uses ``sequence_length`` (non-overlapping samples).
    feature : str | None
        EEG feature type passed to the dataset (``"de"``, ``"psd"``...);
        ``None`` uses the dataset's default.
    smoothing : str | None
        Feature smoothing passed to the dataset (``"LDS"``,
        ``"movingAve"``); ``None`` uses the dataset's default. SEED-V
        distributes a single version and accepts only ``None`` or ``"LDS"``.
    modalities : sequence of str | None
        Modalities to return (keys of the dataset's ``MODALITIES``, e.g.
        ``("x", "eye")``); ``None`` returns every modality the dataset gives
        for all requested trials.
    scorer : str | callable | None
        Scoring used by MOABB evaluations; ``None`` means ``"accuracy"``.

    Notes
    -----
    Subclasses :class:`moabb.paradigms.base.BaseParadigm`, so MOABB's
    evaluations accept it; its :meth:`get_data` ignores MOABB's raw-signal
    processing (the features are those distributed with the datasets) and
    returns an :class:`EmotionSliceDict`. MOABB's
    ``WithinSessionEvaluation`` splits samples with a stratified k-fold, so
    overlapping windows of one trial can fall on both sides; prefer
    ``WithinSessionEvaluation(..., cv_class=StratifiedGroupKFold,
    groups="trial")`` (whole trials per fold, see
    ``examples/moabb_evaluation.py``), :class:`~braindecode_m2s.evaluation.ProtocolSplitter` /
    :func:`split_by_trial` or a :class:`~sklearn.model_selection.GroupKFold`
    on :func:`trial_groups` for reported numbers.

    References
    ----------
    .. [1] Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025).
       Multi-to-Single: Reducing multimodal dependency in emotion recognition
       through contrastive learning. AAAI 2025.
    """

    def __init__(
        self,
        sequence_length=5,
        stride=None,
        feature="de",
        smoothing="LDS",
        modalities=None,
        scorer=None,
    ):
        if not isinstance(sequence_length, (int, np.integer)) or sequence_length < 1:
            raise ValueError(
                f"`sequence_length` must be a positive integer; got {sequence_length!r}."
            )
        if stride is not None and (not isinstance(stride, (int, np.integer)) or stride < 1):
            raise ValueError(f"`stride` must be None or a positive integer; got {stride!r}.")
        if modalities is not None:
            modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
            if not modalities:
                raise ValueError("`modalities` must be None or a non-empty sequence.")
        super().__init__(filters=[], scorer=scorer)
        self.sequence_length = int(sequence_length)
        self.stride = stride
        self.feature = feature
        self.smoothing = smoothing
        self.modalities = modalities

    # -- MOABB paradigm interface -------------------------------------------
    @property
    def datasets(self):
        """The package's datasets, instantiated with their default configuration.

        Each reads its folder from ``MNE_DATASETS_<CODE>_PATH`` (nothing is
        downloaded), so MOABB's evaluations find them; a dataset whose folder
        is not configured fails with a FileNotFoundError naming the variable.
        """
        from .datasets import DEAP, DREAMER, SEED, SEEDIV, SEEDV, SEEDVII

        return [cls() for cls in (SEED, SEEDIV, SEEDV, SEEDVII, DEAP, DREAMER)]

    @property
    def scoring(self):
        """Scoring of MOABB evaluations (``"accuracy"`` unless ``scorer``)."""
        return self.scorer if self.scorer is not None else "accuracy"

    def is_valid(self, dataset):
        """True for datasets that provide per-trial feature windows."""
        return isinstance(dataset, EmotionDataset) or hasattr(dataset, "get_trial_features")

    def used_events(self, dataset):
        """The dataset's event mapping (emotion name -> code)."""
        return dataset.event_id

    def make_process_pipelines(
        self, dataset, return_epochs=False, return_raws=False, postprocess_pipeline=None
    ):
        """A one-step pipeline naming the feature options (for MOABB's results).

        The features come precomputed from the dataset, so nothing is
        applied to raw signals.
        """
        if return_epochs or return_raws:
            raise ValueError(
                "MultimodalEmotion returns feature windows; `return_epochs` and "
                "`return_raws` must be False."
            )
        step = _Features(
            self.feature, self.smoothing, self.sequence_length, self.stride, self.modalities
        )
        return [FixedPipeline([(StepType.ARRAY, step)])]

    # -- data -----------------------------------------------------------------
    def _feature_kwargs(self, dataset):
        params = inspect.signature(dataset.get_trial_features).parameters
        kwargs = {}
        for name in ("feature", "smoothing"):
            value = getattr(self, name)
            if name in params:
                kwargs[name] = value
        if "modalities" in params and self.modalities is not None:
            kwargs["modalities"] = self.modalities
        return kwargs

    def get_trials(self, dataset, subjects=None):
        """The dataset's :class:`EmotionTrial` list for ``subjects`` (all if None)."""
        if not self.is_valid(dataset):
            raise ValueError(
                f"Dataset {dataset!r} has no `get_trial_features`; expected an EmotionDataset."
            )
        if subjects is None:
            subjects = dataset.subject_list
        kwargs = self._feature_kwargs(dataset)
        trials = []
        for subject in subjects:
            trials += dataset.get_trial_features(subject, **kwargs)
        return trials

    def get_data(
        self,
        dataset,
        subjects=None,
        return_epochs=False,
        return_raws=False,
        cache_config=None,
        postprocess_pipeline=None,
        process_pipelines=None,
        additional_metadata=None,
        n_jobs=1,
    ):
        """Samples of aligned feature windows, labels and metadata.

        Parameters
        ----------
        dataset : EmotionDataset
            The dataset.
        subjects : list of int | None
            Subjects to read; ``None`` reads ``dataset.subject_list``.
        return_epochs, return_raws : bool
            Must be False (accepted for MOABB's evaluations).
        cache_config, postprocess_pipeline, process_pipelines, additional_metadata, n_jobs
            Accepted for MOABB's evaluations; ignored (the dataset caches its
            converted arrays itself).

        Returns
        -------
        X : EmotionSliceDict
            ``"x"`` float32 ``(n, n_chans, sequence_length, n_bands)`` and one
            float32 ``(n, n_features, sequence_length)`` per other modality.
        y : numpy.ndarray
            int64 ``(n,)`` class labels.
        metadata : pandas.DataFrame
            ``subject``, ``session``, ``run`` (``"0"``), ``trial`` (0-based
            index within the session), ``window`` (index of the first
            window), ``onset`` (seconds from the trial start), ``n_windows``
            (windows of the trial), then one column per rating when the
            dataset has ratings.
        """
        if return_epochs or return_raws:
            raise ValueError(
                "MultimodalEmotion returns feature windows; `return_epochs` and "
                "`return_raws` must be False."
            )
        _warn_if_leaky_moabb_split()
        trials = self.get_trials(dataset, subjects)
        return self.trials_to_samples(trials, where=dataset.code)

    def trials_to_samples(self, trials, where="the trials"):
        """Cut :class:`EmotionTrial` objects into samples (see :meth:`get_data`).

        :func:`~braindecode_m2s.datasets.windowing.trials_to_samples` (its
        errors too) with this paradigm's ``sequence_length``, ``stride`` and
        ``modalities``.
        """
        return trials_to_samples(
            trials,
            self.sequence_length,
            self.stride,
            self.modalities,
            where=where,
            stacklevel=4,
        )


def _warn_if_leaky_moabb_split(max_depth=8):
    """Warn when a MOABB within-session evaluation will split windows of one trial.

    MOABB's ``WithinSessionEvaluation`` (and ``WithinSubjectEvaluation``)
    default to a stratified k-fold over samples; on these data that puts
    windows of a test trial in training.
    The evaluation calling :meth:`MultimodalEmotion.get_data` is found on the
    call stack (MOABB has no hook for this).
    """
    try:
        from moabb.evaluations import WithinSessionEvaluation

        from ._sklearn import GroupsConsumerMixin
    except ImportError:  # pragma: no cover
        return
    try:  # MOABB >= 1.5: k-fold over all sessions of a subject, same problem
        from moabb.evaluations import WithinSubjectEvaluation
    except ImportError:  # pragma: no cover
        WithinSubjectEvaluation = WithinSessionEvaluation
    frame = inspect.currentframe()
    for _ in range(max_depth):
        frame = frame.f_back if frame is not None else None
        if frame is None:
            return
        caller = frame.f_locals.get("self")
        if isinstance(caller, (WithinSessionEvaluation, WithinSubjectEvaluation)):
            cv_class = getattr(caller, "cv_class", None)
            grouped = (
                cv_class is not None
                and issubclass(cv_class, GroupsConsumerMixin)
                and getattr(caller, "groups", None) is not None
            )
            if not grouped:
                warnings.warn(
                    f"{type(caller).__name__} splits samples with "
                    f"{getattr(cv_class, '__name__', 'StratifiedKFold')} without trial "
                    f"groups, so windows of one trial land in both training and test "
                    f"sets and scores are inflated; pass cv_class=TrialSplit (or "
                    f"TrialBlockKFold) from braindecode_m2s.evaluation with "
                    f'groups="trial".',
                    UserWarning,
                    stacklevel=2,
                )
            return


# -- trial-grouped splits -------------------------------------------------------
