"""SEED-VII: seven-class emotion EEG and eye movements (BCMI, SJTU)."""

from __future__ import annotations

import os
import warnings

import numpy as np

from ..utils.check import check_int, check_option
from ..utils.files import check_regular_file
from ._seed_common import (
    N_CHANS,
    SEEDFamilyDataset,
    crop_to_common,
    indexed_selection,
    indexed_variables,
    raw_from_trials,
    to_chan_window_band,
)
from .base import numeric_array
from .io import MatVariables, load_mat, mat_variable_names

__all__ = ["SEEDVII"]

#: Integer coding of the seven emotions. SEED-VII publishes no coding; this
#: one extends SEED-V's (0 disgust, 1 fear, 2 sad, 3 neutral, 4 happy) with
#: 5 anger and 6 surprise.
SEEDVII_CLASSES = {
    "disgust": 0, "fear": 1, "sad": 2, "neutral": 3, "happy": 4, "anger": 5, "surprise": 6,
}  # fmt: skip

#: Eye-feature variables of a trial: names ending in its number 1..80.
_EYE_PATTERN = r"(?:^|_)(\d+)$"

# First half of each session's 10-trial palindrome (official
# ``emotion_label_and_stimuli_order.xlsx``); a session plays the palindrome twice.
_HALF_PALINDROMES = (
    ("happy", "neutral", "disgust", "sad", "anger"),
    ("anger", "sad", "fear", "neutral", "surprise"),
    ("happy", "surprise", "disgust", "fear", "anger"),
    ("disgust", "sad", "fear", "surprise", "happy"),
)
#: Emotion of each of the 20 trials of the 4 sessions.
SEEDVII_SESSION_EMOTIONS = tuple((half + half[::-1]) * 2 for half in _HALF_PALINDROMES)

_LAYOUT = """\
<path>/
    EEG_preprocessed/<subject>.mat   variables '1' .. '80', (62, T) at 200 Hz
    EEG_features/<subject>.mat       de_LDS_1 .. de_LDS_80 (n, 5, 62); also de_<k>, psd_<k>, psd_LDS_<k>
    EYE_features/<subject>.mat       one variable per trial, numbered 1..80 (contents detected)
    (EEG_raw/, save_info/, emotion_label_and_stimuli_order.xlsx: not read)
    (trials 1-20 session 1, 21-40 session 2, 41-60 session 3, 61-80 session 4)"""


class SEEDVII(SEEDFamilyDataset):
    """SEED-VII: EEG and eye movements of 20 subjects, seven emotions.

    Dataset card
    ------------
    - **Subjects**: 20, numbered 1–20 (one file per subject).
    - **Sessions**: 4 per subject, 20 clips each; trials 1–80 of a file are
      split into MOABB sessions ``"0"``–``"3"`` of 20 trials.
    - **Trials**: 80 clips, 12 per emotion (8 neutral); each session plays a
      10-clip palindrome twice (``emotion_label_and_stimuli_order.xlsx``).
    - **EEG**: 62-channel ESI NeuroScan cap at 1000 Hz; distributed
      preprocessed (0.1–70 Hz, 50 Hz notch, 200 Hz) in
      ``EEG_preprocessed`` (read as microvolts ◐). The channel order is
      presumed to be that of the other SEED datasets (?).
    - **EEG features** (``EEG_features``): ``de_LDS_<k>`` shaped
      ``(n, 5, 62)`` (window, band, channel) in 4-s windows; the presence of
      ``de_<k>``, ``psd_<k>``, ``psd_LDS_<k>``, ``*_movingAve_<k>`` is
      detected (◐); the band axis is detected.
    - **Eye movements** (``EYE_features``, Tobii Pro Fusion): the contents are
      undocumented (?). The reader takes the 2-D variable numbered ``k`` as
      trial ``k``, orients it to ``(n_features, n_windows)`` by matching the
      EEG window count, and crops small mismatches; when the file is absent
      or holds no such variables, a warning is issued and ``"eye"`` is
      omitted. A file that is present but truncated, empty, corrupt or
      unreadable, or a folder, FIFO or symbolic-link loop in its place,
      raises an error naming it.
    - **Labels**: no official integer coding exists; here 0 disgust, 1 fear,
      2 sad, 3 neutral, 4 happy (as SEED-V), 5 anger, 6 surprise.
    - **Protocol**: not standardised (?); some code uses a 4-fold split by
      video.
    - **Licence**: research use under the BCMI laboratory's licence
      agreement; nothing is downloaded: apply at
      https://bcmi.sjtu.edu.cn/home/seed/seed-vii.html and pass the unpacked
      folder as ``path`` (or set ``MNE_DATASETS_SEEDVII_PATH``).

    Parameters
    ----------
    path : str | pathlib.Path | None
        Root folder of the distribution.
    cache_dir : str | pathlib.Path | False | None
        Cache of converted feature arrays.
    subjects, sessions : list | None
        Subsets (MOABB's ``selected_subjects`` / ``selected_sessions``).
    window_tolerance : int
        Largest EEG/eye window-count difference cropped with a warning.

    References
    ----------
    .. [1] Jiang, W.-B., Liu, X.-H., Zheng, W.-L., & Lu, B.-L. (2024).
       SEED-VII: A multimodal dataset of six basic emotions with continuous
       labels for emotion recognition. IEEE Transactions on Affective
       Computing. https://doi.org/10.1109/TAFFC.2024.3485057
    """

    APPLY_URL = "https://bcmi.sjtu.edu.cn/home/seed/seed-vii.html"
    LAYOUT = _LAYOUT
    MODALITIES = {
        "x": "EEG DE/PSD features (62 channels, n_windows, 5 bands), 4-s windows",
        "eye": "eye-movement features (n_features, n_windows), contents detected",
    }
    CLASS_NAMES = {v: k for k, v in SEEDVII_CLASSES.items()}
    CODE = "SEED-VII"
    N_SUBJECTS = 20
    N_SESSIONS = 4
    INTERVAL = (0, 4)
    DOI = "10.1109/TAFFC.2024.3485057"
    WINDOW_SECONDS = 4.0
    N_TRIALS = 80

    def __init__(
        self, path=None, cache_dir=None, subjects=None, sessions=None, window_tolerance=2
    ):
        super().__init__(path=path, cache_dir=cache_dir, subjects=subjects, sessions=sessions)
        self.window_tolerance = check_int("window_tolerance", window_tolerance, low=0)

    @staticmethod
    def labels():
        """Class index of each of the 80 trials, in file order."""
        return [SEEDVII_CLASSES[e] for sess in SEEDVII_SESSION_EMOTIONS for e in sess]

    def _file(self, subject, folder):
        return self._require(self.root / folder / f"{subject}.mat", f"{folder} file")

    def _subject_files(self, subject):
        return [self._file(subject, f) for f in ("EEG_preprocessed", "EEG_features")]

    def _get_single_subject_data(self, subject):
        path = self._file(subject, "EEG_preprocessed")
        names = indexed_variables(path, r"^(\d+)$", self.N_TRIALS)
        data = load_mat(path, names)
        labels = self.labels()
        out = {}
        for sess in range(4):
            idx = range(20 * sess, 20 * (sess + 1))
            trials = []
            for k in idx:
                where = f"Variable {names[k]!r} of {str(path)!r}"
                arr = numeric_array(data[names[k]], where)
                if arr.ndim != 2 or N_CHANS not in arr.shape:
                    raise ValueError(
                        f"Variable {names[k]!r} of {str(path)!r} has shape {arr.shape}; "
                        f"expected ({N_CHANS}, n_times)."
                    )
                if arr.shape[0] != N_CHANS:
                    arr = arr.T
                trials.append(arr)
            raw = raw_from_trials(
                trials, [labels[k] for k in idx], self.CLASS_NAMES, 200.0, str(path)
            )
            out[str(sess)] = {"0": raw}
        return out

    def get_trial_features(self, subject, feature="de", smoothing="LDS", modalities=None):
        """Feature windows of the 80 trials of one subject.

        Parameters
        ----------
        subject : int
            Subject number (1–20).
        feature : {"de", "psd"}
            EEG feature type.
        smoothing : {"LDS", "movingAve", None}
            Smoothing; ``None`` reads the unsmoothed ``<feature>_<k>``
            variables. A variant absent from the file raises a ValueError
            listing the variables present.
        modalities : sequence of {"x", "eye"} | None
            ``None`` reads EEG, and eye movements when they can be read.

        Returns
        -------
        list of EmotionTrial
            80 trials (sessions ``"0"``–``"3"``) with ``"x"``
            ``(62, n_windows, 5)`` and, when available, ``"eye"``
            ``(n_features, n_windows)``, float32.
        """
        self._check_subject(subject)
        check_option("feature", feature, {"de", "psd"})
        check_option("smoothing", smoothing, {"LDS", "movingAve", None})
        requested = modalities
        modalities = self._check_modalities(modalities)
        eeg_path = self._file(subject, "EEG_features")
        eye_path = self.root / "EYE_features" / f"{subject}.mat"
        want_eye = "eye" in modalities
        if want_eye and os.path.lexists(eye_path):
            # present: it must be a readable regular file (not a folder, FIFO or
            # symbolic-link loop), or the error names it
            check_regular_file(eye_path, "SEED-VII EYE_features file")
        elif want_eye:
            if requested is not None:
                self._require(eye_path, "EYE_features file")
            warnings.warn(
                f"SEED-VII: {str(eye_path)!r} is missing; returning EEG only.",
                stacklevel=2,
            )
            want_eye = False
        pattern = (
            rf"^{feature}_(\d+)$" if smoothing is None else rf"^{feature}_{smoothing}_?(\d+)$"
        )
        sources = [MatVariables(eeg_path, indexed_selection(pattern))]
        if want_eye:
            sources.append(MatVariables(eye_path, indexed_selection(_EYE_PATTERN)))

        def compute():
            names = indexed_variables(eeg_path, pattern, self.N_TRIALS)
            data = load_mat(eeg_path, names)
            eeg = [
                to_chan_window_band(
                    data[n],
                    f"Variable {n!r} of {str(eeg_path)!r}",
                    default=("window", "band", "chan"),
                )
                for n in names
            ]
            eye = _read_eye(eye_path, [x.shape[1] for x in eeg]) if want_eye else None
            if want_eye and eye is None and requested is not None:
                raise ValueError(
                    f"{str(eye_path)!r} has no 2-D variables numbered 1..80; cannot "
                    f"read the requested eye movements."
                )
            arrays = {}
            for k, x in enumerate(eeg):
                mods = {"x": x}
                if eye is not None:
                    mods["eye"] = eye[k]
                    mods = crop_to_common(
                        mods,
                        f"Trial {k + 1} of {str(eeg_path)!r} and {str(eye_path)!r}",
                        self.window_tolerance,
                    )
                for mod, arr in mods.items():
                    arrays[f"{mod}_{k // 20}_{k % 20}"] = arr
            return arrays

        mods_key = "-".join(m for m in modalities if m != "eye" or want_eye)
        key = f"sub{subject}/{feature}_{smoothing}_{mods_key}_tol{self.window_tolerance}"
        arrays = self._cached(key, compute, sources)
        if want_eye and "eye_0_0" not in arrays:
            warnings.warn(
                f"SEED-VII: {str(eye_path)!r} holds no 2-D variables numbered 1..80; "
                f"returning EEG only.",
                stacklevel=2,
            )
        labels = self.labels()
        sessions = [(s, labels[20 * s : 20 * (s + 1)]) for s in range(4)]
        return self._trials_from_arrays(subject, arrays, sessions, self.WINDOW_SECONDS, modalities)


def _read_eye(path, eeg_windows):
    """Eye features per trial, ``(n_features, n_windows)``; None if not found.

    The layout of ``EYE_features`` is undocumented: variables whose name ends
    in the trial number 1..80 are taken, and each 2-D array is transposed so
    that its window axis is the one closest to the EEG window count. A
    readable MATLAB file without such variables gives None (the caller warns
    and returns EEG only); a file that cannot be read (truncated, empty,
    corrupt, no permission) or whose trial variables are not 2-D numeric
    arrays raises, naming the file.
    """
    present = mat_variable_names(path)  # ValueError / OSError naming the file
    try:
        names = indexed_variables(path, _EYE_PATTERN, 80, present)
    except ValueError:
        return None
    data = load_mat(path, names)
    out = []
    for name, n_win in zip(names, eeg_windows):
        where = f"Variable {name!r} of {str(path)!r}"
        arr = numeric_array(data[name], where, np.float32)
        if arr.ndim != 2:
            raise ValueError(
                f"{where} has shape {arr.shape}; expected a 2-D (n_windows, n_features) "
                f"array of eye-movement features."
            )
        if abs(arr.shape[0] - n_win) < abs(arr.shape[1] - n_win):
            arr = arr.T
        out.append(np.ascontiguousarray(arr))
    return out
