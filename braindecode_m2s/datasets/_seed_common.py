"""Helpers shared by the SEED family readers (SEED, SEED-IV, SEED-V, SEED-VII).

The four corpora of the BCMI laboratory (Shanghai Jiao Tong University) share
a 62-channel ESI NeuroScan montage, a file naming scheme
(``<subject>_<YYYYMMDD>.mat``), MATLAB variables that carry the trial number
in their name (``djc_eeg3``, ``de_LDS3``, ``eye_3``...), and differential
entropy (DE) / power spectral density (PSD) features in five bands (delta,
theta, alpha, beta, gamma) whose band axis is not always at the same position.
This module holds the readers of those common pieces so the four dataset
classes only describe their own layout.
"""

from __future__ import annotations

import re
import warnings
from itertools import permutations
from pathlib import Path

import mne
import numpy as np
from moabb.datasets.bids_interface import StepType
from moabb.datasets.preprocessing import FixedPipeline, FixedTransformer

from ..utils.check import check_option
from .base import EmotionDataset, EmotionTrial, numeric_array
from .io import ArrayCache, load_mat, mat_variable_names

#: The 62 EEG channels of the ESI NeuroScan caps of SEED, SEED-IV and SEED-V,
#: in the order of the files (``channel-order.xlsx`` / ``Channel Order.xlsx``),
#: spelled as in MNE's 10-05 montages. CB1 and CB2 are cerebellar electrodes
#: of the NeuroScan Quik-Cap (below O1/O2) that no MNE standard montage has.
SEED_CHANNELS = [
    "Fp1", "Fpz", "Fp2", "AF3", "AF4", "F7", "F5", "F3", "F1", "Fz", "F2",
    "F4", "F6", "F8", "FT7", "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6",
    "FT8", "T7", "C5", "C3", "C1", "Cz", "C2", "C4", "C6", "T8", "TP7", "CP5",
    "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "TP8", "P7", "P5", "P3", "P1",
    "Pz", "P2", "P4", "P6", "P8", "PO7", "PO5", "PO3", "POz", "PO4", "PO6",
    "PO8", "CB1", "O1", "Oz", "O2", "CB2",
]  # fmt: skip

N_CHANS = len(SEED_CHANNELS)
N_BANDS = 5
#: The MNE montage used for electrode positions (CB1/CB2: see below).
MONTAGE = "colin27_1005"

_DATE_FILE = re.compile(r"(\d+)_(\d{8})\.mat")


#: Approximate positions of the NeuroScan Quik-Cap cerebellar electrodes,
#: which no MNE template has: CB1 / CB2 sit below O1 / O2 at the inion row, so
#: they take the ``colin27_1005`` positions of I1 / I2 (10 % below O1 / O2).
#: An approximation (about 1-2 cm), good for adjacency graphs and topomaps,
#: not for source imaging.
CEREBELLAR_APPROXIMATION = {"CB1": "I1", "CB2": "I2"}
_CEREBELLAR_OPTIONS = ("approximate", "drop", "none")


def seed_montage(cerebellar="approximate"):
    """MNE montage of the 62 SEED channels.

    Parameters
    ----------
    cerebellar : {"approximate", "drop", "none"}
        CB1 / CB2 (not in MNE's templates): ``"approximate"`` gives them the
        positions of I1 / I2 (:data:`CEREBELLAR_APPROXIMATION`); ``"drop"``
        and ``"none"`` leave them out of the montage (with ``"none"`` they keep
        ``NaN`` positions in an ``Info``; with ``"drop"`` :func:`make_info`
        removes the channels).

    Returns
    -------
    mne.channels.DigMontage
        Positions from the ``colin27_1005`` template, every coordinate a
        float64 (the template stores its fiducials as big-endian float32,
        whose items JSON cannot write: MOABB's BIDS cache writes the
        fiducials to ``coordsystem.json``).
    """
    check_option("cerebellar", cerebellar, _CEREBELLAR_OPTIONS)
    montage = mne.channels.make_standard_montage(MONTAGE)
    known = {name.lower(): name for name in montage.ch_names}
    pos = montage.get_positions()
    ch_pos = {}
    for ch in SEED_CHANNELS:
        if ch.lower() in known:
            ch_pos[known[ch.lower()]] = pos["ch_pos"][known[ch.lower()]]
        elif cerebellar == "approximate" and ch in CEREBELLAR_APPROXIMATION:
            ch_pos[ch] = pos["ch_pos"][CEREBELLAR_APPROXIMATION[ch]]
    return mne.channels.make_dig_montage(
        ch_pos={name: np.asarray(xyz, dtype=np.float64) for name, xyz in ch_pos.items()},
        **{fid: np.asarray(pos[fid], dtype=np.float64) for fid in ("nasion", "lpa", "rpa")},
        coord_frame="head",
    )


def make_info(sfreq, ch_names=None, cerebellar="approximate"):
    """``mne.Info`` of the SEED EEG channels with the montage applied.

    ``cerebellar`` as in :func:`seed_montage`; ``"drop"`` removes CB1 / CB2
    from the channels.
    """
    check_option("cerebellar", cerebellar, _CEREBELLAR_OPTIONS)
    names = list(ch_names or SEED_CHANNELS)
    if cerebellar == "drop":
        names = [ch for ch in names if ch not in CEREBELLAR_APPROXIMATION]
    info = mne.create_info(names, float(sfreq), ch_types="eeg")
    info.set_montage(seed_montage(cerebellar), on_missing="ignore")
    return info


def subject_session_files(folder, subject, n_expected, code, layout):
    """Files ``<subject>_<YYYYMMDD>.mat`` of one subject, sorted by date.

    Parameters
    ----------
    folder : pathlib.Path
        Folder holding the files.
    subject : int
        Subject number (the digits before the underscore).
    n_expected : int | None
        Number of files the subject must have there (sessions); ``None``
        skips the check.
    code, layout : str
        Dataset code and layout, for the error messages.

    Returns
    -------
    list of pathlib.Path
        Sorted by recording date (ties by name), i.e. in session order.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{code}: folder {str(folder)!r} is missing. Expected layout:\n{layout}"
        )
    found = []
    for path in folder.iterdir():
        match = _DATE_FILE.fullmatch(path.name)
        if match and int(match.group(1)) == subject:
            found.append((match.group(2), path.name, path))
    found.sort()
    files = [path for _, _, path in found]
    if n_expected is not None and len(files) != n_expected:
        raise FileNotFoundError(
            f"{code}: expected {n_expected} file(s) '{subject}_<YYYYMMDD>.mat' of "
            f"subject {subject} in {str(folder)!r}, found {len(files)} "
            f"({[p.name for p in files]}). Expected layout:\n{layout}"
        )
    return files


def indexed_variables(path, pattern, n_expected=None, names=None):
    """Variables of a MATLAB file whose name carries a 1-based trial number.

    Parameters
    ----------
    path : pathlib.Path
        The MATLAB file.
    pattern : str
        Regular expression searched (:func:`re.search`, so anchor it with
        ``$``) in each variable name; its first group is the trial number,
        e.g. ``r"_eeg(\\d+)$"``.
    n_expected : int | None
        Number of trials expected: the numbers must then be exactly
        ``1..n_expected``.
    names : list of str | None
        Variable names if already known (else read from the file).

    Returns
    -------
    list of str
        Variable names ordered by trial number.

    Raises
    ------
    ValueError
        If no variable matches, or the numbers are not ``1..n_expected``.
    """
    if names is None:
        names = mat_variable_names(path)
    regex = re.compile(pattern)
    by_index = {}
    for name in names:
        match = regex.search(name)
        if match:
            index = int(match.group(1))
            if index in by_index:
                raise ValueError(
                    f"File {str(path)!r} has two variables for trial {index} matching "
                    f"{pattern!r}: {by_index[index]!r} and {name!r}."
                )
            by_index[index] = name
    if not by_index:
        raise ValueError(
            f"File {str(path)!r} has no variable matching {pattern!r}; variables "
            f"present: {sorted(names)[:20]}{' ...' if len(names) > 20 else ''}."
        )
    indices = sorted(by_index)
    if n_expected is not None and indices != list(range(1, n_expected + 1)):
        missing = sorted(set(range(1, n_expected + 1)) - set(indices))
        extra = sorted(set(indices) - set(range(1, n_expected + 1)))
        raise ValueError(
            f"File {str(path)!r}: variables matching {pattern!r} must be numbered "
            f"1..{n_expected}; missing {missing}, unexpected {extra}."
        )
    return [by_index[i] for i in indices]


def indexed_selection(pattern):
    """The variables :func:`indexed_variables` picks, as a :func:`load_mat` selection.

    A compiled expression matched with :func:`re.fullmatch` that accepts
    exactly the names in which :func:`re.search` finds ``pattern``; give it
    to :class:`~braindecode_m2s.datasets.io.MatVariables` so a cache entry
    is keyed on the variables the load reads.
    """
    return re.compile(r"(?s:.*?)(?:" + pattern + r")")


def load_indexed_variables(path, pattern, n_expected=None):
    """Read the variables of :func:`indexed_variables` in one pass over the file.

    Same selection and checks as :func:`indexed_variables` followed by
    :func:`~braindecode_m2s.datasets.io.load_mat` of those names, but the
    file's variable list is read once (by the load) instead of twice.

    Returns
    -------
    names : list of str
        Variable names ordered by trial number.
    data : dict of str -> object
        Their values.
    """
    data = load_mat(path, indexed_selection(pattern))
    if not data:  # the listing of the variables present, in the error
        indexed_variables(path, pattern, n_expected)
    names = indexed_variables(path, pattern, n_expected, names=list(data))
    return names, data


def to_chan_window_band(array, where, default=("chan", "window", "band"), n_chans=N_CHANS):
    """Bring a DE/PSD array to ``(n_chans, n_windows, n_bands)``.

    The position of the size-5 band axis differs between distributions
    (SEED ``(62, n, 5)``; SEED ``ExtractedFeatures_4s`` possibly
    ``(62, 5, n)``; SEED-VII ``(n, 5, 62)``), so it is detected: the channel
    axis has size 62 and the band axis size 5. When a window count of 5 or 62
    makes that ambiguous, the ``default`` axis order of the distribution wins.

    Parameters
    ----------
    array : numpy.ndarray
        A 3-D array.
    where : str
        File and variable, for the error message.
    default : tuple of str
        The expected order of the axes ``"chan"``, ``"window"``, ``"band"``.
    n_chans : int
        Size of the channel axis (62; 27, 54 or 23 for SEED's electrode-pair
        features).

    Returns
    -------
    numpy.ndarray
        ``(n_chans, n_windows, 5)``, float32.
    """
    # checked and cast once, to the float32 of the result
    array = numeric_array(array, where, np.float32)
    sizes = {"chan": n_chans, "band": N_BANDS}
    if array.ndim != 3:
        raise ValueError(
            f"{where} has shape {array.shape}; expected a 3-D array with a "
            f"{n_chans}-channel axis, a window axis and a 5-band axis."
        )

    def fits(order):
        return all(array.shape[i] == sizes[name] for i, name in enumerate(order) if name in sizes)

    if fits(default):
        order = default
    else:
        candidates = [o for o in permutations(("chan", "window", "band")) if fits(o)]
        if not candidates:
            raise ValueError(
                f"{where} has shape {array.shape}; expected one axis of size "
                f"{n_chans} (channels) and one of size {N_BANDS} (bands)."
            )
        if len(candidates) > 1:
            raise ValueError(
                f"{where} has shape {array.shape}, whose channel/window/band axes "
                f"are ambiguous; expected the order {default}."
            )
        order = candidates[0]
    perm = [order.index(name) for name in ("chan", "window", "band")]
    return np.transpose(array, perm)


def crop_to_common(modalities, where, tolerance):
    """Crop modalities to their common window count when they differ a little.

    Parameters
    ----------
    modalities : dict of str -> numpy.ndarray
        Window axis 1.
    where : str
        Files / trial, for the warning and the error.
    tolerance : int
        Largest difference of window counts that is cropped (with a
        warning); a larger difference raises a ValueError.
    """
    counts = {name: arr.shape[1] for name, arr in modalities.items()}
    low, high = min(counts.values()), max(counts.values())
    if high - low > tolerance:
        raise ValueError(
            f"{where}: the modalities have {counts} windows, which differ by more "
            f"than {tolerance}; expected aligned windows."
        )
    if high != low:
        warnings.warn(
            f"{where}: the modalities have {counts} windows; cropping all to the first {low}.",
            stacklevel=3,
        )
        modalities = {name: arr[:, :low] for name, arr in modalities.items()}
    return modalities


def raw_from_trials(trials, labels, event_names, sfreq, where, scale=1e-6):
    """One continuous Raw of consecutive trials, each annotated by its emotion.

    Parameters
    ----------
    trials : list of numpy.ndarray
        ``(62, n_times)`` arrays in presentation order.
    labels : list of int
        Class of each trial.
    event_names : dict of int -> str
        Class -> annotation description.
    sfreq : float
        Sampling rate.
    where : str
        File, for the error message.
    scale : float
        Factor from the file's unit to volts (the SEED files hold microvolts).

    Returns
    -------
    mne.io.RawArray
        The trials back to back. Each trial is annotated with its emotion
        name (onset at its first sample, duration its length); every junction
        between two trials carries the zero-length ``"BAD boundary"`` and
        ``"EDGE boundary"`` annotations that :func:`mne.concatenate_raws`
        writes, so MNE's filters do not smooth across trials.
    """
    if len(trials) != len(labels):
        raise ValueError(
            f"{where}: {len(trials)} trials but {len(labels)} labels; expected one "
            f"label per trial."
        )
    for k, trial in enumerate(trials):
        if trial.ndim != 2 or trial.shape[0] != N_CHANS:
            raise ValueError(
                f"{where}: trial {k + 1} has shape {trial.shape}; expected ({N_CHANS}, n_times)."
            )
    info = make_info(sfreq)
    data = np.concatenate(trials, axis=1) * scale
    raw = mne.io.RawArray(data, info, verbose="error")
    lengths = np.array([t.shape[1] for t in trials])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) / sfreq
    onsets = list(starts)
    durations = list(lengths / sfreq)
    descriptions = [event_names[int(lab)] for lab in labels]
    for start in starts[1:]:
        onsets += [start, start]
        durations += [0.0, 0.0]
        descriptions += ["BAD boundary", "EDGE boundary"]
    raw.set_annotations(mne.Annotations(onsets, durations, descriptions))
    return raw


class _KeepAnnotations(FixedTransformer):
    """Identity step: keeps each trial's annotation with its real duration."""

    def transform(self, raw, y=None):
        return raw


class SEEDFamilyDataset(EmotionDataset):
    """Shared machinery of the SEED family (not a dataset by itself).

    MOABB's default processing of :meth:`get_data` rewrites every annotation
    with the fixed duration of ``interval``; film clips differ in length, so
    the SEED datasets keep the annotations as the readers write them (each
    clip annotated over its full duration).
    """

    #: Class index -> annotation description.
    CLASS_NAMES: dict = {}
    #: MOABB code, number of released subjects and of sessions, MOABB
    #: ``interval`` (s) and DOI of the dataset paper; set by each dataset.
    CODE = ""
    N_SUBJECTS = 0
    N_SESSIONS = 0
    INTERVAL = (0, 4)
    DOI = ""

    def __init__(self, *, path=None, cache_dir=None, subjects=None, sessions=None):
        super().__init__(
            path=path,
            cache_dir=cache_dir,
            subjects=list(range(1, self.N_SUBJECTS + 1)),
            sessions_per_subject=self.N_SESSIONS,
            events={name: k + 1 for k, name in self.CLASS_NAMES.items()},
            code=self.CODE,
            interval=list(self.INTERVAL),
            paradigm="emotion",
            doi=self.DOI,
            selected_subjects=subjects,
            selected_sessions=sessions,
        )

    def _create_process_pipeline(self):
        return FixedPipeline([(StepType.RAW, _KeepAnnotations())])

    def _cache(self):
        return ArrayCache(self.cache_path)

    def _cached(self, key, compute, sources):
        return self._cache().get_or_compute(f"{self.code}/{key}", compute, sources)

    def _check_modalities(self, modalities):
        if modalities is None:
            return tuple(self.MODALITIES)
        if isinstance(modalities, str):
            modalities = (modalities,)
        modalities = tuple(modalities)
        unknown = [m for m in modalities if m not in self.MODALITIES]
        if unknown or not modalities:
            raise ValueError(
                f"`modalities` must be a non-empty subset of {list(self.MODALITIES)} "
                f"for {self.code}; got {modalities!r}."
            )
        return modalities

    def _trials_from_arrays(self, subject, arrays, sessions, window_seconds, modalities):
        """EmotionTrial list from cached arrays named ``<mod>_<sess>_<trial>``."""
        selected = self._selected_sessions
        selected = None if selected is None else {str(s) for s in selected}
        out = []
        for session, labels in sessions:
            if selected is not None and str(session) not in selected:
                continue
            for trial, label in enumerate(labels):
                mods = {}
                for mod in modalities:
                    key = f"{mod}_{session}_{trial}"
                    if key in arrays:
                        mods[mod] = arrays[key]
                out.append(
                    EmotionTrial(
                        subject=subject,
                        session=str(session),
                        trial=trial,
                        label=int(label),
                        modalities=mods,
                        window_seconds=float(window_seconds),
                    )
                )
        return out


def read_eeg_trials(path, pattern, n_trials):
    """The ``(62, n_times)`` EEG trials of a preprocessed-EEG MATLAB file."""
    names, data = load_indexed_variables(path, pattern, n_trials)
    trials = []
    for name in names:
        where = f"Variable {name!r} of {str(path)!r}"
        arr = numeric_array(data[name], where)
        if arr.ndim != 2 or arr.shape[0] != N_CHANS:
            raise ValueError(
                f"Variable {name!r} of {str(path)!r} has shape {arr.shape}; expected "
                f"({N_CHANS}, n_times)."
            )
        trials.append(arr)
    return trials
