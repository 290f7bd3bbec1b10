"""SEED-V: five-class emotion EEG and eye movements (BCMI, SJTU)."""

from __future__ import annotations

import re

import mne
import numpy as np

from ..utils.check import check_int, check_option
from ._seed_common import (
    N_CHANS,
    SEED_CHANNELS,
    SEEDFamilyDataset,
    crop_to_common,
    seed_montage,
)
from .base import numeric_array
from .io import load_npz_pickled

__all__ = ["SEEDV"]

#: Labels of the 15 trials of each session: 0 disgust, 1 fear, 2 sad,
#: 3 neutral, 4 happy.
SEEDV_SESSION_LABELS = (
    (4, 1, 3, 2, 0) * 3,
    (2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0),
    (2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0),
)

#: Clip boundaries in seconds from the start of each raw recording, per
#: stimulus set (the ``<session>`` of ``<subj>_<session>_<date>.cnt``).
SEEDV_CLIP_SECONDS = {
    1: (
        (30, 132, 287, 555, 773, 982, 1271, 1628, 1730, 2025, 2227, 2435, 2667, 2932, 3204),
        (102, 228, 524, 742, 920, 1240, 1568, 1697, 1994, 2166, 2401, 2607, 2901, 3172, 3359),
    ),
    2: (
        (30, 299, 548, 646, 836, 1000, 1091, 1392, 1657, 1809, 1966, 2186, 2333, 2490, 2741),
        (267, 488, 614, 773, 967, 1059, 1331, 1622, 1777, 1908, 2153, 2302, 2428, 2709, 2817),
    ),
    3: (
        (30, 353, 478, 674, 825, 908, 1200, 1346, 1451, 1711, 2055, 2307, 2457, 2726, 2888),
        (321, 418, 643, 764, 877, 1147, 1284, 1418, 1679, 1996, 2275, 2425, 2664, 2857, 3066),
    ),
}  # fmt: skip

_EXTRA_CHANNELS = ("M1", "M2", "VEO", "HEO")

#: The class values SEED-V defines.
SEEDV_CLASS_VALUES = frozenset(range(5))

_LAYOUT = """\
<path>/
    EEG_DE_features/<subject>_123.npz        data, label: pickled dicts {0..44: (n, 310) / (n,)}
    Eye_movement_features/<subject>_123.npz  data, label: pickled dicts {0..44: (n, 33) / (n,)}
    EEG_raw/<subject>_<session>_<YYYYMMDD>.cnt   NeuroScan, 62 EEG + M1, M2, VEO, HEO
    (trials 0-14 session 1, 15-29 session 2, 30-44 session 3)"""

_CNT = re.compile(r"(\d+)_([123])_(\d{8})\.cnt")


class SEEDV(SEEDFamilyDataset):
    """SEED-V: EEG and eye movements of 16 subjects, five emotions.

    Dataset card
    ------------
    - **Subjects**: 16 released (20 recorded), numbered 1–16.
    - **Sessions**: 3 per subject, each with its own 15 film clips (the
      ``<session>`` in the raw file names is the stimulus set); MOABB
      sessions ``"0"``, ``"1"``, ``"2"``.
    - **Trials**: 15 per session, 3 per emotion.
    - **EEG**: 62-channel ESI NeuroScan cap at 1000 Hz (``EEG_raw/*.cnt``, 66
      channels: the 62 EEG plus M1, M2, VEO, HEO, which are dropped).
    - **EEG features** (``EEG_DE_features``): differential entropy of the
      five bands, ``(n, 310)`` per trial with columns channel-major
      (``channel * 5 + band``), reshaped to ``(62, n, 5)``; 4-s windows (◐).
      One version is distributed, whose smoothing is undocumented.
    - **Eye movements** (``Eye_movement_features``): 33 features per window
      (◐), aligned with the EEG windows; SMI eye-tracking glasses.
    - **Labels**: 0 disgust, 1 fear, 2 sad, 3 neutral, 4 happy. Read from the
      files' ``label`` dicts (each trial constant); session 1 follows
      ``[4, 1, 3, 2, 0] × 3``, sessions 2 and 3
      ``[2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0]``.
    - **Protocol** (Liu et al., 2021): per subject 3-fold cross-validation
      over each session's trials, fold k testing trials 5k..5k+4 of every
      session (◐).
    - **Licence**: research use under the BCMI laboratory's licence
      agreement; nothing is downloaded: apply at
      https://bcmi.sjtu.edu.cn/home/seed/seed-v.html and pass the unpacked
      folder as ``path`` (or set ``MNE_DATASETS_SEEDV_PATH``).

    Channel positions come from MNE's ``colin27_1005`` template; CB1 and CB2
    get the approximate positions of I1 / I2.

    Parameters
    ----------
    path : str | pathlib.Path | None
        Root folder of the distribution.
    cache_dir : str | pathlib.Path | False | None
        Cache of converted feature arrays.
    subjects, sessions : list | None
        Subsets (MOABB's ``selected_subjects`` / ``selected_sessions``).
    window_tolerance : int
        Largest difference between EEG and eye window counts of a trial that
        is cropped to the common length (with a warning); larger raises.

    Notes
    -----
    :meth:`get_data` reads each ``.cnt`` with :func:`mne.io.read_raw_cnt`
    (sampling rate from the file header), keeps the 62 EEG channels in the
    order of the other SEED datasets, and annotates the 15 clips with their
    emotion at the published clip boundaries (seconds, identical for every
    subject; clips that would end after the recording raise an error). One
    run ``"0"`` per session.

    References
    ----------
    .. [1] Liu, W., Qiu, J.-L., Zheng, W.-L., & Lu, B.-L. (2022). Comparing
       recognition performance and robustness of multimodal deep learning
       models for multimodal emotion recognition. IEEE Transactions on
       Cognitive and Developmental Systems, 14(2), 715–729.
       https://doi.org/10.1109/TCDS.2021.3071170
    """

    APPLY_URL = "https://bcmi.sjtu.edu.cn/home/seed/seed-v.html"
    LAYOUT = _LAYOUT
    MODALITIES = {
        "x": "EEG DE features (62 channels, n_windows, 5 bands), 4-s windows",
        "eye": "eye-movement features (33, n_windows)",
    }
    CLASS_NAMES = {0: "disgust", 1: "fear", 2: "sad", 3: "neutral", 4: "happy"}
    CODE = "SEED-V"
    N_SUBJECTS = 16
    N_SESSIONS = 3
    INTERVAL = (0, 4)
    DOI = "10.1109/TCDS.2021.3071170"
    WINDOW_SECONDS = 4.0
    N_TRIALS = 15

    def __init__(
        self, path=None, cache_dir=None, subjects=None, sessions=None, window_tolerance=2
    ):
        super().__init__(path=path, cache_dir=cache_dir, subjects=subjects, sessions=sessions)
        self.window_tolerance = check_int("window_tolerance", window_tolerance, low=0)

    def _feature_file(self, subject, folder):
        return self._require(self.root / folder / f"{subject}_123.npz", f"{folder} file")

    def _cnt_files(self, subject):
        folder = self._require(self.root / "EEG_raw", "folder")
        found = {}
        for path in folder.iterdir():
            match = _CNT.fullmatch(path.name)
            if match and int(match.group(1)) == subject:
                found.setdefault(int(match.group(2)), []).append(path)
        if sorted(found) != [1, 2, 3] or any(len(v) != 1 for v in found.values()):
            raise FileNotFoundError(
                f"SEED-V: expected one file '{subject}_<session>_<YYYYMMDD>.cnt' per "
                f"session 1, 2, 3 in {str(folder)!r}, found "
                f"{sorted(p.name for v in found.values() for p in v)}. Expected "
                f"layout:\n{self.LAYOUT}"
            )
        return [found[s][0] for s in (1, 2, 3)]

    def _subject_files(self, subject):
        return [
            self._feature_file(subject, "EEG_DE_features"),
            self._feature_file(subject, "Eye_movement_features"),
            *self._cnt_files(subject),
        ]

    def _get_single_subject_data(self, subject):
        out = {}
        for sess, path in enumerate(self._cnt_files(subject)):
            raw = _read_cnt(path)
            upper = {name.upper(): name for name in raw.ch_names}
            missing = [ch for ch in SEED_CHANNELS if ch.upper() not in upper]
            if missing:
                raise ValueError(
                    f"CNT file {str(path)!r} lacks the EEG channels {missing}; "
                    f"expected the 62 SEED channels plus {list(_EXTRA_CHANNELS)}."
                )
            raw.pick([upper[ch.upper()] for ch in SEED_CHANNELS])
            raw.rename_channels(dict(zip(raw.ch_names, SEED_CHANNELS)))
            raw.set_channel_types(dict.fromkeys(SEED_CHANNELS, "eeg"))
            raw.set_montage(seed_montage(), on_missing="ignore")
            starts, ends = (np.asarray(v, float) for v in SEEDV_CLIP_SECONDS[sess + 1])
            duration = raw.n_times / raw.info["sfreq"]
            if ends[-1] > duration:
                raise ValueError(
                    f"CNT file {str(path)!r} lasts {duration:.1f} s; the last "
                    f"clip of stimulus set {sess + 1} ends at {ends[-1]:.0f} s."
                )
            names = [self.CLASS_NAMES[k] for k in SEEDV_SESSION_LABELS[sess]]
            raw.set_annotations(
                mne.Annotations(starts, ends - starts, names, orig_time=raw.annotations.orig_time)
            )
            out[str(sess)] = {"0": raw}
        return out

    def get_trial_features(self, subject, feature="de", smoothing=None, modalities=None):
        """Feature windows of the 45 trials of one subject.

        Parameters
        ----------
        subject : int
            Subject number (1–16).
        feature : {"de"}
            Only differential entropy is distributed.
        smoothing : {None, "LDS"}
            Only one, undocumented, smoothing is distributed; ``None`` and
            ``"LDS"`` (the usual choice of the SEED family) both return it,
            ``"movingAve"`` raises.
        modalities : sequence of {"x", "eye"} | None
            Modalities to read; ``None`` reads both.

        Returns
        -------
        list of EmotionTrial
            45 trials (sessions ``"0"``–``"2"``) with ``"x"``
            ``(62, n_windows, 5)`` and ``"eye"`` ``(33, n_windows)``, float32.
        """
        self._check_subject(subject)
        check_option("feature", feature, {"de"})
        check_option("smoothing", smoothing, {None, "LDS"})
        modalities = self._check_modalities(modalities)
        files = {"x": self._feature_file(subject, "EEG_DE_features")}
        if "eye" in modalities:
            files["eye"] = self._feature_file(subject, "Eye_movement_features")

        def compute():
            arrays = {}
            per_mod = {mod: _read_trials(path, mod) for mod, path in files.items()}
            labels = per_mod["x"][1]
            for mod, (_, mod_labels) in per_mod.items():
                if mod_labels != labels:
                    raise ValueError(
                        f"Labels of {str(files[mod])!r} differ from those of "
                        f"{str(files['x'])!r}; expected the same trial labels."
                    )
            arrays["labels"] = np.asarray(labels, dtype=np.int64)
            for k in range(3 * self.N_TRIALS):
                mods = {mod: per_mod[mod][0][k] for mod in per_mod}
                if len(mods) > 1:
                    mods = crop_to_common(
                        mods,
                        f"Trial key {k} of {[str(p) for p in files.values()]}",
                        self.window_tolerance,
                    )
                for mod, arr in mods.items():
                    arrays[f"{mod}_{k // self.N_TRIALS}_{k % self.N_TRIALS}"] = arr
            return arrays

        key = f"sub{subject}/de_{'-'.join(files)}_tol{self.window_tolerance}"
        arrays = self._cached(key, compute, list(files.values()))
        labels = arrays["labels"]
        sessions = [(s, labels[s * self.N_TRIALS : (s + 1) * self.N_TRIALS]) for s in range(3)]
        return self._trials_from_arrays(subject, arrays, sessions, self.WINDOW_SECONDS, modalities)


def _read_trials(path, modality):
    """Per-trial arrays and labels of one SEED-V ``.npz`` (45 trials)."""
    data = load_npz_pickled(path, "data")
    labels = load_npz_pickled(path, "label")
    for name, obj in (("data", data), ("label", labels)):
        if not isinstance(obj, dict):
            raise ValueError(
                f"Entry {name!r} of {str(path)!r} is a {type(obj).__name__}; expected "
                f"a pickled dict with keys 0..44."
            )
    data, labels = _by_trial(data, "data", path), _by_trial(labels, "label", path)
    keys = sorted(data)
    if keys != list(range(45)) or sorted(labels) != keys:
        raise ValueError(
            f"{str(path)!r}: 'data'/'label' have keys {keys[:5]}... ({len(keys)} "
            f"trials); expected 0..44 (15 trials x 3 sessions) in both."
        )
    trials, out_labels = [], []
    n_features = 33 if modality == "eye" else N_CHANS * 5
    for k in range(45):
        where = f"Trial {k} of 'data' in {str(path)!r}"
        arr = numeric_array(data[k], where, np.float32)
        if arr.ndim != 2 or arr.shape[1] != n_features:
            raise ValueError(f"{where} has shape {arr.shape}; expected (n_windows, {n_features}).")
        label = _trial_label(labels[k], arr.shape[0], f"Trial {k} of 'label' in {str(path)!r}")
        if modality == "x":
            arr = arr.reshape(arr.shape[0], N_CHANS, 5).transpose(1, 0, 2)
        else:
            arr = arr.T
        trials.append(np.ascontiguousarray(arr))
        out_labels.append(label)
    return trials, out_labels


def _by_trial(obj, name, path):
    """A pickled dict keyed by trial index, with its keys checked to be integers."""
    out = {}
    for key, value in obj.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            raise ValueError(
                f"Entry {name!r} of {str(path)!r} has the key {key!r}; expected integer "
                f"trial indices 0..44."
            )
        out[int(key)] = value
    return out


def _trial_label(values, n_windows, where):
    """The one class (0..4) of a trial's per-window labels, validated."""
    values = numeric_array(values, where).ravel()
    classes = np.unique(values)
    if values.size != n_windows or classes.size != 1:
        raise ValueError(
            f"{where} has values {classes[:5]} over {values.size} windows; expected one "
            f"constant label per window ({n_windows})."
        )
    label = float(classes[0])
    if label not in SEEDV_CLASS_VALUES:
        raise ValueError(
            f"{where} is {label:g}; expected an integer class in "
            f"{sorted(SEEDV_CLASS_VALUES)} (0 disgust, 1 fear, 2 sad, 3 neutral, 4 happy)."
        )
    return int(label)


def _read_cnt(path):
    """``mne.io.read_raw_cnt``, with MNE's errors on a corrupt file naming it."""
    try:
        return mne.io.read_raw_cnt(path, preload=True, verbose="error")
    except OSError:
        raise
    except Exception as err:  # MNE raises RuntimeError, ZeroDivisionError, ...
        raise ValueError(
            f"Cannot read CNT file {str(path)!r}: truncated, corrupt or not a NeuroScan "
            f"CNT file ({type(err).__name__}: {err})."
        ) from err
