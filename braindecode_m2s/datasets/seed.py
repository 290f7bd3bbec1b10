"""SEED: three-class emotion EEG (BCMI, SJTU)."""

from __future__ import annotations

import numpy as np

from ._io import load_mat
from ._seed_common import (
    SEEDFamilyDataset,
    indexed_variables,
    raw_from_trials,
    read_eeg_trials,
    subject_session_files,
    to_chan_window_band,
)

__all__ = ["SEED"]

#: Official clip labels (``label.mat``): 1 positive, 0 neutral, -1 negative.
SEED_FILE_LABELS = (1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1)

#: Feature types of ``ExtractedFeatures`` and their channel (or pair) counts.
SEED_FEATURES = {"de": 62, "psd": 62, "dasm": 27, "rasm": 27, "asm": 54, "dcau": 23}

_LAYOUT = """\
<path>/                                   older download            | newer download
    Preprocessed_EEG/                     or SEED_EEG/Preprocessed_EEG/
        label.mat                         label (1, 15): 1 positive, 0 neutral, -1 negative
        <subject>_<YYYYMMDD>.mat          <initials>_eeg1 .. _eeg15, (62, T) at 200 Hz
    ExtractedFeatures/                    or SEED_EEG/ExtractedFeatures_1s/ and _4s/
        label.mat
        <subject>_<YYYYMMDD>.mat          {de,psd,dasm,rasm,asm,dcau}_{movingAve,LDS}1..15
    (3 files per subject, sorted by date = sessions 1..3)"""


class SEED(SEEDFamilyDataset):
    """SEED: EEG of 15 subjects watching 15 film clips in 3 sessions.

    Dataset card
    ------------
    - **Subjects**: 15 (numbered 1–15 in the file names).
    - **Sessions**: 3 per subject, about one week apart, with the same 15
      clips; a subject's three ``<subject>_<YYYYMMDD>.mat`` files sorted by
      date become MOABB sessions ``"0"``, ``"1"``, ``"2"``.
    - **Trials**: 15 Chinese film clips of about 4 minutes (5 positive,
      5 neutral, 5 negative) per session.
    - **EEG**: 62-channel ESI NeuroScan cap at 1000 Hz, distributed
      down-sampled to 200 Hz and band-passed 0–75 Hz (``Preprocessed_EEG``;
      read as microvolts ◐).
    - **EEG features** (``ExtractedFeatures``, 1-s windows): ``"de"``,
      ``"psd"`` ``(62, n, 5)``, ``"dasm"``, ``"rasm"`` ``(27, n, 5)``,
      ``"asm"`` ``(54, n, 5)``, ``"dcau"`` ``(23, n, 5)`` (pairs of
      symmetric / caudal electrodes), each smoothed by ``"movingAve"`` or
      ``"LDS"``; five bands delta, theta, alpha, beta, gamma. The newer
      download (``SEED_EEG/ExtractedFeatures_1s`` / ``_4s``) also has 4-s
      windows, whose band axis position is undocumented (◐), so it is
      detected (the size-5 axis).
    - **Eye movements**: only 12 subjects (1–5, 8–14) have them, in the newer
      ``SEED_Multimodal/`` folder, as features split by the 9/6 protocol
      without per-trial boundaries and with an undocumented feature
      dimension. This reader is EEG-only (``MODALITIES`` has ``"x"`` only).
    - **Labels**: ``label.mat`` (read when present, else the known order
      ``[1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]``) plus one:
      0 negative, 1 neutral, 2 positive.
    - **Protocol** (Zheng & Lu, 2015): per subject and session, the first 9
      trials train and the last 6 test; also leave-one-subject-out and
      cross-session.
    - **Licence**: research use under the BCMI laboratory's licence
      agreement; nothing is downloaded: apply at
      https://bcmi.sjtu.edu.cn/home/seed/seed.html and pass the unpacked
      folder as ``path`` (or set ``MNE_DATASETS_SEED_PATH``).

    Channel positions come from MNE's ``colin27_1005`` template; CB1 and CB2
    (cerebellar Quik-Cap sites) keep no position.

    Parameters
    ----------
    path : str | pathlib.Path | None
        Root folder: the one holding ``Preprocessed_EEG/`` and
        ``ExtractedFeatures/`` (older download) or ``SEED_EEG/`` (newer).
    cache_dir : str | pathlib.Path | False | None
        Cache of converted feature arrays.
    subjects, sessions : list | None
        Subsets (MOABB's ``selected_subjects`` / ``selected_sessions``).
    window_seconds : {1, 4}
        Feature window length: 1 reads ``SEED_EEG/ExtractedFeatures_1s`` or
        the older ``ExtractedFeatures``; 4 reads
        ``SEED_EEG/ExtractedFeatures_4s``.

    Notes
    -----
    :meth:`get_data` returns per session one run ``"0"``: the 15 trials of
    ``Preprocessed_EEG`` back to back, each annotated with its emotion over
    its full duration, with ``"BAD boundary"`` / ``"EDGE boundary"`` at the
    junctions.

    References
    ----------
    .. [1] Zheng, W.-L., & Lu, B.-L. (2015). Investigating critical frequency
       bands and channels for EEG-based emotion recognition with deep neural
       networks. IEEE Transactions on Autonomous Mental Development, 7(3),
       162–175. https://doi.org/10.1109/TAMD.2015.2431497
    .. [2] Duan, R.-N., Zhu, J.-Y., & Lu, B.-L. (2013). Differential entropy
       feature for EEG-based emotion classification. 6th International
       IEEE/EMBS Conference on Neural Engineering (NER), 81–84.
       https://doi.org/10.1109/NER.2013.6695876
    """

    APPLY_URL = "https://bcmi.sjtu.edu.cn/home/seed/seed.html"
    LAYOUT = _LAYOUT
    MODALITIES = {"x": "EEG features (62 channels or pairs, n_windows, 5 bands)"}
    CLASS_NAMES = {0: "negative", 1: "neutral", 2: "positive"}
    N_TRIALS = 15

    def __init__(
        self, path=None, cache_dir=None, subjects=None, sessions=None, window_seconds=1
    ):
        if window_seconds not in (1, 4):
            raise ValueError(
                f"`window_seconds` must be 1 or 4 (the distributed feature windows); "
                f"got {window_seconds!r}."
            )
        super().__init__(
            path=path,
            cache_dir=cache_dir,
            subjects=list(range(1, 16)),
            sessions_per_subject=3,
            events={name: k + 1 for k, name in self.CLASS_NAMES.items()},
            code="SEED",
            interval=[0, 185],
            doi="10.1109/TAMD.2015.2431497",
            selected_subjects=subjects,
            selected_sessions=sessions,
        )
        self.window_seconds = window_seconds

    # -- layout ---------------------------------------------------------------
    def _folder(self, kind):
        """The folder of ``kind`` ("eeg" or "features") in either layout."""
        root = self.root
        if kind == "eeg":
            candidates = [root / "SEED_EEG" / "Preprocessed_EEG", root / "Preprocessed_EEG"]
        elif self.window_seconds == 1:
            candidates = [
                root / "SEED_EEG" / "ExtractedFeatures_1s",
                root / "ExtractedFeatures",
            ]
        else:
            candidates = [root / "SEED_EEG" / "ExtractedFeatures_4s"]
        for folder in candidates:
            if folder.is_dir():
                return folder
        raise FileNotFoundError(
            f"SEED: none of the folders {[str(c) for c in candidates]} exists "
            f"(window_seconds={self.window_seconds}). Expected layout:\n{self.LAYOUT}"
        )

    def _files(self, subject, kind):
        return subject_session_files(
            self._folder(kind), subject, 3, self.code, self.LAYOUT
        )

    def _subject_files(self, subject):
        return self._files(subject, "eeg") + self._files(subject, "features")

    def _labels(self, folder):
        """Class indices 0..2 of the 15 clips, from ``label.mat`` if present."""
        path = folder / "label.mat"
        if not path.exists():
            labels = np.asarray(SEED_FILE_LABELS)
        else:
            data = load_mat(path, ["label"])
            if "label" not in data:
                raise ValueError(f"File {str(path)!r} has no variable 'label'.")
            labels = np.asarray(data["label"]).ravel()
            if labels.size != self.N_TRIALS:
                raise ValueError(
                    f"Variable 'label' of {str(path)!r} has {labels.size} entries; "
                    f"expected {self.N_TRIALS} (one per clip)."
                )
            if not set(np.unique(labels)) <= {-1, 0, 1}:
                raise ValueError(
                    f"Variable 'label' of {str(path)!r} holds {np.unique(labels)}; "
                    f"expected values in {{-1, 0, 1}}."
                )
        return (labels.astype(int) + 1).tolist()

    # -- MOABB ----------------------------------------------------------------
    def _get_single_subject_data(self, subject):
        folder = self._folder("eeg")
        labels = self._labels(folder)
        out = {}
        for sess, path in enumerate(self._files(subject, "eeg")):
            trials = read_eeg_trials(path, r"_eeg(\d+)$", self.N_TRIALS)
            raw = raw_from_trials(trials, labels, self.CLASS_NAMES, 200.0, str(path))
            out[str(sess)] = {"0": raw}
        return out

    # -- features -------------------------------------------------------------
    def get_trial_features(self, subject, feature="de", smoothing="LDS", modalities=None):
        """Feature windows of the 45 trials of one subject.

        Parameters
        ----------
        subject : int
            Subject number (1–15).
        feature : {"de", "psd", "dasm", "rasm", "asm", "dcau"}
            Feature type of ``ExtractedFeatures``; ``"x"`` then has 62, 62,
            27, 27, 54 or 23 rows.
        smoothing : {"LDS", "movingAve"}
            Smoothing of the features.
        modalities : sequence of {"x"} | None
            SEED is EEG-only here.

        Returns
        -------
        list of EmotionTrial
            45 trials (sessions ``"0"``–``"2"``) with ``"x"``
            ``(n_rows, n_windows, 5)`` float32.
        """
        self._check_subject(subject)
        self._check_choice("feature", feature, set(SEED_FEATURES))
        self._check_choice("smoothing", smoothing, {"LDS", "movingAve"})
        modalities = self._check_modalities(modalities)
        folder = self._folder("features")
        files = self._files(subject, "features")
        labels = self._labels(folder)
        n_rows = SEED_FEATURES[feature]

        def compute():
            arrays = {}
            for sess, path in enumerate(files):
                names = indexed_variables(
                    path, rf"^{feature}_{smoothing}(\d+)$", self.N_TRIALS
                )
                data = load_mat(path, names)
                for t, name in enumerate(names):
                    arrays[f"x_{sess}_{t}"] = to_chan_window_band(
                        data[name],
                        f"Variable {name!r} of {str(path)!r}",
                        n_chans=n_rows,
                    )
            return arrays

        key = f"sub{subject}/{self.window_seconds}s/{feature}_{smoothing}"
        arrays = self._cached(key, compute, files)
        sessions = [(s, labels) for s in range(3)]
        return self._trials_from_arrays(
            subject, arrays, sessions, float(self.window_seconds), modalities
        )

