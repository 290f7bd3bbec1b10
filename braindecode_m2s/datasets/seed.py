"""SEED: three-class emotion EEG (BCMI, SJTU)."""

from __future__ import annotations

import re
import warnings

import numpy as np

from ..utils.check import check_option
from ..utils.files import check_regular_file
from ._seed_common import (
    SEEDFamilyDataset,
    indexed_selection,
    indexed_variables,
    raw_from_trials,
    read_eeg_trials,
    subject_session_files,
    to_chan_window_band,
)
from .base import numeric_array
from .io import MatVariables, load_mat, safe_pickle_load

__all__ = ["SEED"]

#: Official clip labels (``label.mat``): 1 positive, 0 neutral, -1 negative.
SEED_FILE_LABELS = (1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1)

#: Subjects with eye-movement features (``SEED_Multimodal``).
SEED_EYE_SUBJECTS = (1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14)

#: Number of clips of the 9/6 protocol's training part (the rest is test).
SEED_N_TRAIN = 9

#: Eye-feature folder inside the root (◐: one third-party source).
_EYE_FOLDER = ("SEED_Multimodal", "04-Eye-tracking-feature", "eye_tracking_feature")

#: ``<subject>_<session>`` eye file names: session index 1..3 or a date
#: ``YYYYMMDD``; no extension (◐), ``.pkl`` / ``.pickle`` tolerated.
_EYE_FILE = re.compile(r"(\d+)_(\d+)(?:\.pkl|\.pickle)?")

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
    (3 files per subject, sorted by date = sessions 1..3)
    SEED_Multimodal/                      newer download only, subjects 1-5 and 8-14 (◐)
        04-Eye-tracking-feature/
            eye_tracking_feature/
                <subject>_<session>       pickle (no extension) of a dict with
                                          train_data_eye (first 9 clips) and
                                          test_data_eye (last 6 clips), windows
                                          of the clips back to back (◐)"""


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
    - **Eye movements** (``"eye"``): only 12 subjects (1–5, 8–14) have them,
      in the newer download's ``SEED_Multimodal/04-Eye-tracking-feature/
      eye_tracking_feature/<subject>_<session>`` (◐), a pickle (read with a
      restricted unpickler) of a dict whose ``train_data_eye`` /
      ``test_data_eye`` hold the windows of the first 9 / last 6 clips back
      to back, without per-trial boundaries (◐). The feature dimension is
      undocumented (?) and taken from the file; whether an array is
      ``(n_windows, n_features)`` or transposed is detected by matching the
      window count (``(n_windows, n_features)`` wins when both axes match).
      ``<session>`` is detected (?): a session index 1–3, or a date
      ``YYYYMMDD`` that must be one of the subject's EEG file dates. The
      windows are split into trials with the window counts of the EEG
      features read for the same session (1-s: 235, 233, 206, ...; 4-s: the
      counts of ``ExtractedFeatures_4s``); the eye window length itself is
      undocumented (?), so the totals must match exactly or a ValueError
      names the file and the counts (with no per-trial boundaries there is
      no trial end to crop safely, so no tolerance is applied). Subjects 6,
      7, 15, and downloads without ``SEED_Multimodal/``, give EEG only.
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
    (cerebellar Quik-Cap sites) get the approximate positions of I1 / I2.

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
    MODALITIES = {
        "x": "EEG features (62 channels or pairs, n_windows, 5 bands)",
        "eye": "eye-movement features (n_eye_features ?, n_windows); subjects 1-5, "
        "8-14, SEED_Multimodal only",
    }
    CLASS_NAMES = {0: "negative", 1: "neutral", 2: "positive"}
    CODE = "SEED"
    N_SUBJECTS = 15
    N_SESSIONS = 3
    INTERVAL = (0, 185)
    DOI = "10.1109/TAMD.2015.2431497"
    N_TRIALS = 15

    def __init__(self, path=None, cache_dir=None, subjects=None, sessions=None, window_seconds=1):
        if window_seconds not in (1, 4):
            raise ValueError(
                f"`window_seconds` must be 1 or 4 (the distributed feature windows); "
                f"got {window_seconds!r}."
            )
        super().__init__(path=path, cache_dir=cache_dir, subjects=subjects, sessions=sessions)
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
        return subject_session_files(self._folder(kind), subject, 3, self.code, self.LAYOUT)

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
            labels = numeric_array(data["label"], f"Variable 'label' of {str(path)!r}").ravel()
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

    # -- eye movements ---------------------------------------------------------
    def _eye_folder(self):
        """``SEED_Multimodal/.../eye_tracking_feature`` or None when absent."""
        exact = self.root.joinpath(*_EYE_FOLDER)
        if exact.is_dir():
            return exact
        # tolerate another numbering of the middle folder (◐ layout)
        found = sorted(
            p for p in (self.root / _EYE_FOLDER[0]).glob(f"*/{_EYE_FOLDER[2]}") if p.is_dir()
        )
        return found[0] if found else None

    def _eye_files(self, subject, feature_files):
        """Eye file of each session (0-based) of ``subject`` that exists.

        Returns
        -------
        folder : pathlib.Path | None
            The eye folder, None when the download has none.
        files : dict of int -> pathlib.Path
            Session index (0..2, the order of ``feature_files``) -> eye file.
        """
        folder = self._eye_folder()
        if folder is None:
            return None, {}
        by_token = {}
        for path in folder.iterdir():
            match = _EYE_FILE.fullmatch(path.name)
            if match and int(match.group(1)) == subject:
                # a folder, FIFO or symbolic-link loop under an eye file's name
                # is an error, not a missing file
                check_regular_file(path, "SEED eye file")
                token = match.group(2)
                if token in by_token:
                    raise ValueError(
                        f"SEED: two eye files of subject {subject} for session "
                        f"{token!r} in {str(folder)!r}: {by_token[token].name!r} and "
                        f"{path.name!r}."
                    )
                by_token[token] = path
        if not by_token:
            return folder, {}
        dates = [f.stem.split("_", 1)[1] for f in feature_files]
        kinds = {"date" if len(t) == 8 else "index" for t in by_token}
        if len(kinds) > 1:
            raise ValueError(
                f"SEED: eye files of subject {subject} in {str(folder)!r} mix session "
                f"indices and dates ({sorted(p.name for p in by_token.values())}); "
                f"expected '<subject>_<1..3>' or '<subject>_<YYYYMMDD>'."
            )
        files = {}
        for token, path in sorted(by_token.items()):
            if len(token) == 8:
                if token not in dates:
                    raise ValueError(
                        f"SEED: eye file {str(path)!r} names the date {token}, which is "
                        f"none of subject {subject}'s EEG dates {dates}."
                    )
                sess = dates.index(token)
            elif 1 <= int(token) <= 3:
                sess = int(token) - 1
            else:
                raise ValueError(
                    f"SEED: eye file {str(path)!r} names session {token}; expected a "
                    f"session index 1..3 or a date YYYYMMDD."
                )
            if sess in files:
                raise ValueError(
                    f"SEED: eye files {files[sess].name!r} and {path.name!r} of subject "
                    f"{subject} both name session {sess + 1} in {str(folder)!r}."
                )
            files[sess] = path
        return folder, files

    def _read_eye(self, path, counts, where_x):
        """Per-trial ``(n_features, n_windows)`` eye arrays of one session file.

        ``counts`` are the window counts of the session's 15 EEG trials.
        """
        obj = safe_pickle_load(path)  # errors name the file
        if not isinstance(obj, dict):
            raise ValueError(
                f"Eye file {str(path)!r} holds a {type(obj).__name__}; expected a "
                f"pickled dict with 'train_data_eye' and 'test_data_eye'."
            )
        parts = []
        for key, trial_counts in (
            ("train_data_eye", counts[:SEED_N_TRAIN]),
            ("test_data_eye", counts[SEED_N_TRAIN:]),
        ):
            if key not in obj:
                raise ValueError(
                    f"Eye file {str(path)!r} has no entry {key!r}; entries present: "
                    f"{sorted(map(str, obj))}."
                )
            arr = numeric_array(obj[key], f"Entry {key!r} of eye file {str(path)!r}", np.float32)
            total = int(sum(trial_counts))
            if arr.ndim != 2 or total not in arr.shape:
                raise ValueError(
                    f"Entry {key!r} of eye file {str(path)!r} has shape {arr.shape}; "
                    f"expected (n_windows, n_features) or its transpose with "
                    f"n_windows = {total}, the windows of the EEG trials "
                    f"{list(trial_counts)} of {where_x}."
                )
            if arr.shape[0] != total:
                arr = arr.T
            parts.append(arr)
        if parts[0].shape[1] != parts[1].shape[1]:
            raise ValueError(
                f"Eye file {str(path)!r}: 'train_data_eye' has {parts[0].shape[1]} "
                f"features but 'test_data_eye' {parts[1].shape[1]}; expected the same."
            )
        windows = np.concatenate(parts, axis=0)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        return [
            np.ascontiguousarray(windows[bounds[t] : bounds[t + 1]].T) for t in range(len(counts))
        ]

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
        modalities : sequence of {"x", "eye"} | None
            Modalities to read. ``None`` reads ``"x"`` and, where the subject
            and session have an eye file, ``"eye"`` (subjects 6, 7, 15 and
            downloads without ``SEED_Multimodal/`` give ``"x"`` only; a
            session missing its eye file for one of the 12 eye subjects gives
            a warning). Naming ``"eye"`` explicitly requires the eye files of
            all three sessions.

        Returns
        -------
        list of EmotionTrial
            45 trials (sessions ``"0"``–``"2"``) with ``"x"``
            ``(n_rows, n_windows, 5)`` and, when available, ``"eye"``
            ``(n_eye_features, n_windows)``, float32, on the same windows.

        Raises
        ------
        FileNotFoundError
            If ``"eye"`` is requested explicitly and an eye file is missing.
        ValueError
            If an eye file's window counts do not match the EEG trials of its
            session, or it is not the expected pickled dict.
            An eye file's pickle that names a global other than numpy's or is
            corrupt raises :class:`~braindecode_m2s.datasets.io.UnsafePickleError`
            (a ValueError and a ``pickle.UnpicklingError``) naming the file.
        OSError
            If a folder, FIFO or symbolic-link loop stands where an eye file
            is, or an eye file cannot be read.
        """
        self._check_subject(subject)
        check_option("feature", feature, set(SEED_FEATURES))
        check_option("smoothing", smoothing, {"LDS", "movingAve"})
        explicit = modalities is not None
        modalities = self._check_modalities(modalities)
        explicit_eye = explicit and "eye" in modalities
        folder = self._folder("features")
        files = self._files(subject, "features")
        labels = self._labels(folder)
        n_rows = SEED_FEATURES[feature]
        eye_files = {}
        if "eye" in modalities:
            eye_folder, eye_files = self._eye_files(subject, files)
            missing = [s for s in range(3) if s not in eye_files]
            if missing and explicit_eye:
                if eye_folder is None:
                    where = str(self.root.joinpath(*_EYE_FOLDER))
                    raise FileNotFoundError(
                        f"SEED: no eye-movement features for subject {subject}: folder "
                        f"{where!r} is missing (only the newer download has it, for "
                        f"subjects {list(SEED_EYE_SUBJECTS)}). Expected layout:\n"
                        f"{self.LAYOUT}"
                    )
                names = [str(eye_folder / f"{subject}_{s + 1}") for s in missing]
                raise FileNotFoundError(
                    f"SEED: eye-movement file(s) {names} of subject {subject} are "
                    f"missing (eye features exist for subjects "
                    f"{list(SEED_EYE_SUBJECTS)}). Expected layout:\n{self.LAYOUT}"
                )
            if missing and eye_folder is not None and subject in SEED_EYE_SUBJECTS:
                warnings.warn(
                    f"SEED: subject {subject} has no eye file for session(s) "
                    f"{[s + 1 for s in missing]} in {str(eye_folder)!r}; those "
                    f"sessions' trials have EEG features only.",
                    stacklevel=2,
                )

        pattern = rf"^{feature}_{smoothing}(\d+)$"

        def compute():
            arrays = {}
            for sess, path in enumerate(files):
                names = indexed_variables(path, pattern, self.N_TRIALS)
                data = load_mat(path, names)
                for t, name in enumerate(names):
                    arrays[f"x_{sess}_{t}"] = to_chan_window_band(
                        data[name],
                        f"Variable {name!r} of {str(path)!r}",
                        n_chans=n_rows,
                    )
                if sess in eye_files:
                    counts = [arrays[f"x_{sess}_{t}"].shape[1] for t in range(self.N_TRIALS)]
                    where_x = f"{str(path)!r} ({feature}_{smoothing})"
                    for t, arr in enumerate(self._read_eye(eye_files[sess], counts, where_x)):
                        arrays[f"eye_{sess}_{t}"] = arr
            return arrays

        key = f"sub{subject}/{self.window_seconds}s/{feature}_{smoothing}"
        if eye_files:
            key += "+eye" + "".join(str(s) for s in sorted(eye_files))
        sources = [MatVariables(p, indexed_selection(pattern)) for p in files]
        sources += [eye_files[s] for s in sorted(eye_files)]
        arrays = self._cached(key, compute, sources)
        sessions = [(s, labels) for s in range(3)]
        return self._trials_from_arrays(
            subject, arrays, sessions, float(self.window_seconds), modalities
        )
