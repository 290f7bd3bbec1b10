"""SEED-IV: four-class emotion EEG and eye movements (BCMI, SJTU)."""

from __future__ import annotations

import numpy as np

from ..utils.check import check_int, check_option
from ._seed_common import (
    SEEDFamilyDataset,
    crop_to_common,
    indexed_selection,
    load_indexed_variables,
    raw_from_trials,
    read_eeg_trials,
    subject_session_files,
    to_chan_window_band,
)
from .base import numeric_array
from .io import MatVariables

__all__ = ["SEEDIV"]

#: Labels of the 24 trials of each session (SEED-IV ``ReadMe.txt``):
#: 0 neutral, 1 sad, 2 fear, 3 happy.
SEEDIV_SESSION_LABELS = (
    (1, 2, 3, 0, 2, 0, 0, 1, 0, 1, 2, 1, 1, 1, 2, 3, 2, 2, 3, 3, 0, 3, 0, 3),
    (2, 1, 3, 0, 0, 2, 0, 2, 3, 3, 2, 3, 2, 0, 1, 1, 2, 1, 0, 3, 0, 1, 3, 1),
    (1, 2, 2, 1, 3, 3, 3, 1, 1, 2, 1, 0, 2, 3, 3, 0, 2, 3, 0, 0, 2, 0, 1, 0),
)

_LAYOUT = """\
<path>/
    eeg_raw_data/{1,2,3}/<subject>_<YYYYMMDD>.mat        <initials>_eeg1 .. _eeg24, (62, T) at 200 Hz
    eeg_feature_smooth/{1,2,3}/<subject>_<YYYYMMDD>.mat  {de,psd}_{movingAve,LDS}1..24, (62, n, 5)
    eye_feature_smooth/{1,2,3}/<subject>_<YYYYMMDD>.mat  eye_1 .. eye_24, (31, n)
    (eye_raw_data/, Channel Order.xlsx, ReadMe.txt: not read)"""


class SEEDIV(SEEDFamilyDataset):
    """SEED-IV: EEG and eye movements of 15 subjects watching 72 film clips.

    Dataset card
    ------------
    - **Subjects**: 15 (numbered 1–15 in the file names).
    - **Sessions**: 3 per subject on different days, each with its own 24
      film clips; session folders ``1``, ``2``, ``3`` become MOABB sessions
      ``"0"``, ``"1"``, ``"2"``.
    - **Trials**: 24 per session, 6 per emotion, about 2 minutes each.
    - **EEG**: 62-channel ESI NeuroScan cap (10-20 system plus CB1/CB2),
      recorded at 1000 Hz, distributed down-sampled to 200 Hz and band-passed
      1–75 Hz (``eeg_raw_data``; read as microvolts ◐).
    - **EEG features** (``eeg_feature_smooth``): differential entropy
      (``"de"``) and power spectral density (``"psd"``), each smoothed with a
      moving average (``"movingAve"``) or a linear dynamic system
      (``"LDS"``), in 4-s non-overlapping windows and five bands 1–4, 4–8,
      8–14, 14–31, 31–50 Hz; arrays ``(62, n_windows, 5)``.
    - **Eye movements** (``eye_feature_smooth``): 31 features per 4-s window
      aligned with the EEG windows (pupil diameter statistics and band DE,
      dispersion, fixation, saccade and event statistics ◐); recorded with
      SMI eye-tracking glasses.
    - **Labels**: 0 neutral, 1 sad, 2 fear, 3 happy, in the fixed per-session
      orders of the official ``ReadMe.txt`` (identical for every subject).
    - **Protocol** (Zheng et al., 2019): per subject and session, the first 16
      trials train and the last 8 test (not class-balanced); leave-one-
      subject-out and cross-session evaluations are also common.
    - **Licence**: research use under the BCMI laboratory's licence agreement;
      the data are never downloaded: apply at
      https://bcmi.sjtu.edu.cn/home/seed/seed-iv.html and pass the unpacked
      folder as ``path`` (or set ``MNE_DATASETS_SEEDIV_PATH``).

    Channel positions come from MNE's ``colin27_1005`` template; CB1 and CB2
    (cerebellar Quik-Cap sites) are in no MNE template and get the approximate
    positions of I1 / I2.

    Parameters
    ----------
    path : str | pathlib.Path | None
        Root folder of the distribution (the folder holding
        ``eeg_raw_data/``, ``eeg_feature_smooth/`` and ``eye_feature_smooth/``).
    cache_dir : str | pathlib.Path | False | None
        Cache of converted feature arrays (see
        :class:`~braindecode_m2s.datasets.base.EmotionDataset`).
    subjects : list of int | None
        Subset of subjects to use (MOABB's ``selected_subjects``).
    sessions : list | None
        Subset of sessions (MOABB's ``selected_sessions``).
    window_tolerance : int
        Largest difference between the EEG and eye window counts of a trial
        that is cropped to the common length (with a warning); a larger
        difference raises a ValueError naming the files and the trial.

    Notes
    -----
    :meth:`get_data` returns, per session, one run ``"0"``: the 24 trials of
    ``eeg_raw_data`` concatenated in presentation order, each annotated with
    its emotion name over its full duration, and ``"BAD boundary"`` /
    ``"EDGE boundary"`` annotations at every junction (as
    :func:`mne.concatenate_raws` writes them).

    References
    ----------
    .. [1] Zheng, W.-L., Liu, W., Lu, Y., Lu, B.-L., & Cichocki, A. (2019).
       EmotionMeter: A multimodal framework for recognizing human emotions.
       IEEE Transactions on Cybernetics, 49(3), 1110–1122.
       https://doi.org/10.1109/TCYB.2018.2797176
    """

    APPLY_URL = "https://bcmi.sjtu.edu.cn/home/seed/seed-iv.html"
    LAYOUT = _LAYOUT
    MODALITIES = {
        "x": "EEG DE/PSD features (62 channels, n_windows, 5 bands), 4-s windows",
        "eye": "eye-movement features (31, n_windows), aligned with the EEG windows",
    }
    CLASS_NAMES = {0: "neutral", 1: "sad", 2: "fear", 3: "happy"}
    CODE = "SEED-IV"
    N_SUBJECTS = 15
    N_SESSIONS = 3
    INTERVAL = (0, 4)
    DOI = "10.1109/TCYB.2018.2797176"
    WINDOW_SECONDS = 4.0
    N_TRIALS = 24

    def __init__(
        self, path=None, cache_dir=None, subjects=None, sessions=None, window_tolerance=2
    ):
        super().__init__(path=path, cache_dir=cache_dir, subjects=subjects, sessions=sessions)
        self.window_tolerance = check_int("window_tolerance", window_tolerance, low=0)

    def _files(self, subject, folder):
        return [
            subject_session_files(
                self.root / folder / str(sess), subject, 1, self.code, self.LAYOUT
            )[0]
            for sess in (1, 2, 3)
        ]

    def _subject_files(self, subject):
        return [
            path
            for folder in ("eeg_raw_data", "eeg_feature_smooth", "eye_feature_smooth")
            for path in self._files(subject, folder)
        ]

    def _get_single_subject_data(self, subject):
        out = {}
        for sess, path in enumerate(self._files(subject, "eeg_raw_data")):
            trials = read_eeg_trials(path, r"_eeg(\d+)$", self.N_TRIALS)
            raw = raw_from_trials(
                trials, SEEDIV_SESSION_LABELS[sess], self.CLASS_NAMES, 200.0, str(path)
            )
            out[str(sess)] = {"0": raw}
        return out

    def get_trial_features(self, subject, feature="de", smoothing="LDS", modalities=None):
        """Feature windows of the 72 trials of one subject.

        Parameters
        ----------
        subject : int
            Subject number (1–15).
        feature : {"de", "psd"}
            EEG feature type of ``eeg_feature_smooth``.
        smoothing : {"LDS", "movingAve"}
            Smoothing of the EEG features.
        modalities : sequence of {"x", "eye"} | None
            Modalities to read; ``None`` reads both.

        Returns
        -------
        list of EmotionTrial
            72 trials (sessions ``"0"``–``"2"``, 24 trials each) with ``"x"``
            ``(62, n_windows, 5)`` float32 and ``"eye"`` ``(31, n_windows)``
            float32.
        """
        self._check_subject(subject)
        check_option("feature", feature, {"de", "psd"})
        check_option("smoothing", smoothing, {"LDS", "movingAve"})
        modalities = self._check_modalities(modalities)
        eeg_files = self._files(subject, "eeg_feature_smooth")
        eye_files = self._files(subject, "eye_feature_smooth") if "eye" in modalities else []
        eeg_pattern, eye_pattern = rf"^{feature}_{smoothing}(\d+)$", r"^eye_(\d+)$"

        def compute():
            arrays = {}
            for sess, path in enumerate(eeg_files):
                names, data = load_indexed_variables(path, eeg_pattern, self.N_TRIALS)
                eye_data, eye_names = None, None
                if eye_files:
                    eye_names, eye_data = load_indexed_variables(
                        eye_files[sess], eye_pattern, self.N_TRIALS
                    )
                for t, name in enumerate(names):
                    where = f"Variable {name!r} of {str(path)!r}"
                    mods = {"x": to_chan_window_band(data[name], where)}
                    if eye_data is not None:
                        ewhere = f"Variable {eye_names[t]!r} of {str(eye_files[sess])!r}"
                        eye = numeric_array(eye_data[eye_names[t]], ewhere, np.float32)
                        if eye.ndim != 2 or eye.shape[0] != 31:
                            raise ValueError(
                                f"{ewhere} has shape {eye.shape}; expected (31, n_windows)."
                            )
                        mods["eye"] = eye
                        mods = crop_to_common(
                            mods,
                            f"Trial {t + 1} of {str(path)!r} and {str(eye_files[sess])!r}",
                            self.window_tolerance,
                        )
                    for mod, arr in mods.items():
                        arrays[f"{mod}_{sess}_{t}"] = arr
            return arrays

        # every option that changes the arrays is in the key (the tolerance
        # decides between cropping and raising)
        key = (
            f"sub{subject}/{feature}_{smoothing}_{'-'.join(modalities)}_tol{self.window_tolerance}"
        )
        # keyed on the variables read: a quarter of each EEG feature file
        sources = [MatVariables(p, indexed_selection(eeg_pattern)) for p in eeg_files]
        sources += [MatVariables(p, indexed_selection(eye_pattern)) for p in eye_files]
        arrays = self._cached(key, compute, sources)
        sessions = [(s, SEEDIV_SESSION_LABELS[s]) for s in range(3)]
        return self._trials_from_arrays(subject, arrays, sessions, self.WINDOW_SECONDS, modalities)
