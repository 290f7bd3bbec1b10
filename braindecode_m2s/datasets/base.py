"""Shared base of the multimodal emotion datasets.

Every dataset class of :mod:`braindecode_m2s.datasets` follows MOABB's
:class:`moabb.datasets.base.BaseDataset` contract (``get_data`` returns
``{subject: {session: {run: mne.io.Raw}}}``) and adds one method that the
:class:`~braindecode_m2s.paradigms.MultimodalEmotion` paradigm reads:
:meth:`EmotionDataset.get_trial_features`, which returns one
:class:`EmotionTrial` per stimulus trial with every modality as a sequence of
feature windows in the model's layout.

The data of these datasets are licence-gated: nothing here downloads. The root
folder of the official distribution comes from the ``path`` argument, else
from the MNE configuration key / environment variable
``MNE_DATASETS_<CODE>_PATH``.
"""

from __future__ import annotations

import abc
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import mne
import numpy as np
from moabb.datasets.base import BaseDataset, check_subject_names

from ..utils.check import check_finite

__all__ = ["EmotionTrial", "EmotionDataset", "config_key", "configured_path"]


def config_key(code):
    """Name of the MNE config key / environment variable of a dataset.

    Parameters
    ----------
    code : str
        The dataset's MOABB code, e.g. ``"SEED-IV"``.

    Returns
    -------
    str
        ``MNE_DATASETS_<CODE>_PATH`` with the code upper-cased and its dashes
        removed, e.g. ``MNE_DATASETS_SEEDIV_PATH``.
    """
    return "MNE_DATASETS_" + code.upper().replace("-", "") + "_PATH"


def configured_path(code):
    """The folder configured for the dataset of MOABB code ``code``, or None.

    What a dataset without ``path=`` reads: the environment variable
    :func:`config_key` names, else the MNE config key of that name.
    """
    key = config_key(code)
    return os.environ.get(key) or mne.get_config(key)


@dataclass
class EmotionTrial:
    """One stimulus trial of one subject and session, as feature windows.

    Attributes
    ----------
    subject : int
        Subject number as the dataset numbers them (1-based).
    session : str
        MOABB session name (``"0"``, ``"1"``, ...).
    trial : int
        0-based index of the trial within its session, in presentation order.
    label : int
        Class label, 0..n_classes-1, as the dataset (and its ``target``
        argument) defines it.
    modalities : dict of str -> numpy.ndarray
        The modalities in the model's layout, all with the same number of
        windows ``n_windows``: ``"x"`` (EEG) ``(n_chans, n_windows, n_bands)``;
        every other modality ``(n_features, n_windows)``.
    window_seconds : float
        Duration of one feature window in seconds.
    ratings : dict of str -> float
        Raw ratings of the trial when the dataset has them (DEAP, DREAMER),
        e.g. ``{"valence": 6.3, ...}``; empty otherwise.
    """

    subject: int
    session: str
    trial: int
    label: int
    modalities: dict
    window_seconds: float
    ratings: dict = field(default_factory=dict)

    @property
    def n_windows(self):
        """Number of feature windows of the trial."""
        return _n_windows(self.modalities)


def _n_windows(modalities):
    counts = {name: (arr.shape[1] if arr.ndim >= 2 else None) for name, arr in modalities.items()}
    values = set(counts.values())
    if len(values) != 1 or None in values:
        raise ValueError(
            f"Modalities of one trial must share their window axis (axis 1); "
            f"got window counts {counts}."
        )
    return values.pop()


class EmotionDataset(BaseDataset, abc.ABC):
    """MOABB dataset of a licence-gated multimodal emotion corpus.

    Subclasses set the class attributes below and implement
    :meth:`_subject_files` (the files of one subject) and
    :meth:`get_trial_features` (feature windows per trial), which is all the
    :class:`~braindecode_m2s.MultimodalEmotion` paradigm reads. MOABB's
    :meth:`get_data` (raw recordings as MNE objects, its cache, raw-signal
    paradigms) also needs :meth:`_get_single_subject_data`; a dataset of
    features only may leave it out.

    Parameters
    ----------
    path : str | pathlib.Path | None
        Root folder of the official distribution, as unpacked from the
        archive the data owners send. ``None`` reads the MNE config key /
        environment variable ``MNE_DATASETS_<CODE>_PATH``.
    cache_dir : str | pathlib.Path | False | None
        Where converted arrays are cached. ``None``: a folder
        ``braindecode_m2s_cache/<code>`` under MNE's data folder
        (``MNE_DATA``, default ``~/mne_data``); ``False``: no cache.
    **kwargs
        Passed to :class:`moabb.datasets.base.BaseDataset`.

    Attributes
    ----------
    APPLY_URL : str
        Where to apply for the data.
    LAYOUT : str
        The folder layout that is expected under ``path``.
    MODALITIES : dict of str -> str
        Modality key -> description of what :meth:`get_trial_features`
        returns under that key.
    METADATA : DatasetMetadata | None
        The dataset card as data (MOABB's schema,
        ``moabb.datasets.metadata.schema.DatasetMetadata``), returned by
        :attr:`metadata`; MOABB also fills ``raw.info`` from it.
    """

    APPLY_URL = ""
    LAYOUT = ""
    MODALITIES: dict = {}
    METADATA = None

    def __init__(self, *, path=None, cache_dir=None, **kwargs):
        super().__init__(**kwargs)
        self.path = path
        self.cache_dir = cache_dir

    @property
    def metadata(self):
        """The dataset's card as data: its :attr:`METADATA`, or None.

        MOABB's own property looks the class name up in MOABB's catalog,
        which lists MOABB's datasets only.
        """
        return type(self).METADATA

    # -- locating the files -------------------------------------------------
    @property
    def root(self):
        """Root folder of the official distribution (checked to exist).

        Raises
        ------
        FileNotFoundError
            If no path is configured or the configured folder does not exist;
            the message says where to apply for the data and which layout is
            expected.
        """
        key = config_key(self.code)
        path = self.path
        source = "the `path` argument"
        if path is None:
            path = configured_path(self.code)
            source = f"the MNE config key / environment variable {key}"
        if path is None:
            raise FileNotFoundError(
                f"No folder is configured for the {self.code} dataset: pass "
                f"{type(self).__name__}(path=...) or set {key}. The data are "
                f"licence-gated and are never downloaded; apply at "
                f"{self.APPLY_URL}. Expected layout under that folder:\n"
                f"{self.LAYOUT}"
            )
        path = Path(path).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(
                f"The {self.code} folder {str(path)!r} given by {source} does not "
                f"exist or is not a folder. Expected layout under it:\n{self.LAYOUT}"
            )
        return path

    @property
    def cache_path(self):
        """Folder of the on-disk cache of converted arrays, or ``None``."""
        if self.cache_dir is False:
            return None
        if self.cache_dir is not None:
            return Path(self.cache_dir).expanduser()
        base = mne.get_config("MNE_DATA") or os.path.join("~", "mne_data")
        return Path(base).expanduser() / "braindecode_m2s_cache" / self.code

    def _require(self, path, what):
        """Return ``path`` if it exists, else a FileNotFoundError naming it."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(
                f"{self.code}: {what} {str(path)!r} is missing. Expected layout "
                f"under {str(self.root)!r}:\n{self.LAYOUT}"
            )
        return path

    def _check_subject(self, subject):
        """Refuse a subject that is not an integer of :attr:`subject_list`, as MOABB does.

        A subject that is neither an integer nor a string gets MOABB's own
        error (:func:`moabb.datasets.base.check_subject_names`: "Subject
        names must be integers or strings..."), before it is used in a file
        name; an unknown one (or a boolean) gets MOABB's "Invalid subject".
        """
        check_subject_names({subject: None})
        if isinstance(subject, bool) or subject not in self.subject_list:
            raise ValueError(
                f"Invalid subject {subject!r} given; {self.code} has subjects {self.subject_list}."
            )

    def get_data(self, subjects=None, cache_config=None, process_pipeline=None, n_jobs=1):
        """MOABB's :meth:`~moabb.datasets.base.BaseDataset.get_data`, subjects checked first.

        Every subject is checked by :meth:`_check_subject` before anything is
        read (MOABB's own check formats the subject as an integer, so
        ``subjects=[1.5]`` would fail with a formatting error).

        Parameters
        ----------
        subjects, cache_config, process_pipeline, n_jobs
            As :meth:`moabb.datasets.base.BaseDataset.get_data` takes them.

        Returns
        -------
        dict
            ``{subject: {session: {run: mne.io.Raw}}}``.
        """
        if subjects is None:
            subjects = self.subject_list
        if isinstance(subjects, list):  # MOABB refuses anything else itself
            for subject in subjects:
                self._check_subject(subject)
        return super().get_data(
            subjects, cache_config=cache_config, process_pipeline=process_pipeline, n_jobs=n_jobs
        )

    def data_path(self, subject, path=None, force_update=False, update_path=None, verbose=None):
        """Files of one subject in the official distribution (never downloads).

        Parameters
        ----------
        subject : int
            Subject number.
        path : str | None
            Overrides the dataset's root folder for this call.
        force_update : bool
            Nothing can be downloaded again: True only warns that the files
            under the root folder are used as they are.
        update_path, verbose
            Accepted for MOABB compatibility; ignored (nothing is downloaded).

        Returns
        -------
        list of pathlib.Path
            The subject's files.
        """
        self._check_subject(subject)
        if force_update:
            warnings.warn(
                f"force_update=True: {self.code} is licence-gated and never downloaded; "
                f"the files under its folder are used as they are.",
                stacklevel=2,
            )
        if path is not None:
            saved, self.path = self.path, path
            try:
                return list(self._subject_files(subject))
            finally:
                self.path = saved
        return list(self._subject_files(subject))

    def _get_single_subject_data(self, subject):
        """Raw recordings of one subject, ``{session: {run: mne.io.Raw}}`` (MOABB's hook).

        Optional: the feature path (:meth:`get_trial_features`) does not use
        it. This default refuses, naming what to implement.

        Raises
        ------
        NotImplementedError
            Always, in this base class.
        """
        raise NotImplementedError(
            f"{type(self).__name__} gives feature windows only (get_trial_features); "
            f"MOABB's get_data needs raw recordings: implement "
            f"_get_single_subject_data(subject) returning {{session: {{run: mne.io.Raw}}}}."
        )

    @abc.abstractmethod
    def _subject_files(self, subject):
        """Paths of one subject's files; FileNotFoundError when one is missing."""

    @abc.abstractmethod
    def get_trial_features(self, subject, **kwargs):
        """Feature windows of every trial of one subject.

        Parameters
        ----------
        subject : int
            Subject number.
        **kwargs
            Dataset-specific feature choices (e.g. ``feature="de"``,
            ``smoothing="LDS"`` for the SEED family; window length and bands
            for datasets whose features are computed from raw signals).

        Returns
        -------
        list of EmotionTrial
            One entry per trial, sessions in order, trials in presentation
            order.
        """


def numeric_array(value, where, dtype=np.float64):
    """``value`` as a finite real array of ``dtype``, or a ValueError naming ``where``.

    Parameters
    ----------
    value : object
        What a file holds (array, nested lists, MATLAB cell...).
    where : str
        File and variable, for the message.
    dtype : numpy dtype
        Result dtype; values that overflow it (e.g. 1e40 in float32) are
        refused like NaN and Inf.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``value`` is not a rectangular array of real numbers (booleans
        and integers included), or holds NaN/Inf, or overflows ``dtype``.
    """
    try:
        array = np.asarray(value)
    except Exception as err:  # ragged nesting, odd objects
        raise ValueError(
            f"{where} cannot be read as an array ({type(err).__name__}: {err}); "
            f"expected real numbers."
        ) from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{where} holds values of dtype {array.dtype}; expected real numbers.")
    return to_finite(array, where, dtype)


def to_finite(array, where, dtype=np.float32):
    """Cast to ``dtype`` and check that every value is finite before and after.

    Computations run in float64; the cast to float32 turns values beyond
    ±3.4e38 into Inf, so both sides are checked.

    Parameters
    ----------
    array : numpy.ndarray
    where : str
        What the values are, for the message.
    dtype : numpy dtype

    Returns
    -------
    numpy.ndarray
    """
    array = np.asarray(array)
    if np.dtype(dtype).kind not in "fc":  # NaN/Inf would not survive the cast
        check_finite(array, where)
    with np.errstate(over="ignore", invalid="ignore"):
        out = array.astype(dtype, copy=False)
    # one pass in the common case: NaN/Inf of the input stay NaN/Inf in the
    # output, so the input is examined only when the output is not finite
    if out.dtype.kind in "fc" and not np.isfinite(out).all():
        check_finite(array, where)
        peak = float(np.max(np.abs(np.asarray(array, dtype=np.float64))))
        raise ValueError(
            f"{where} holds values up to {peak:.3g}, beyond the range of {np.dtype(dtype)}; "
            f"expected values of physiological magnitude."
        )
    return out
