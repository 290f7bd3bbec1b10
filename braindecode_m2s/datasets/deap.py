"""DEAP: EEG and peripheral signals of 32 subjects watching music videos.

Koelstra et al. (2012), "DEAP: A Database for Emotion Analysis using
Physiological Signals", IEEE Transactions on Affective Computing 3(1), 18–31.
Data: https://www.eecs.qmul.ac.uk/mmv/datasets/deap/ (licence-gated, never
downloaded here).
"""

from __future__ import annotations

import hashlib

import mne
import numpy as np
from moabb.datasets.metadata.schema import (
    AcquisitionMetadata,
    DatasetMetadata,
    DataStructureMetadata,
    DocumentationMetadata,
    ExperimentMetadata,
    ParticipantMetadata,
    PreprocessingMetadata,
)

from ..bands import PERIPHERAL_BANDS
from ..features import (
    DEFAULT_BANDS,
    DifferentialEntropy,
    LinearDynamicalSystem,
    MovingAverage,
    PowerSpectralDensity,
)
from ..utils.check import check_option
from .base import EmotionDataset, EmotionTrial, numeric_array, to_finite
from .io import ArrayCache, load_mat, safe_pickle_load

__all__ = ["DEAP"]

#: The 32 EEG channels of the preprocessed files, in their (Geneva) order.
DEAP_EEG_CHANNELS = (
    "Fp1",
    "AF3",
    "F3",
    "F7",
    "FC5",
    "FC1",
    "C3",
    "T7",
    "CP5",
    "CP1",
    "P3",
    "P7",
    "PO3",
    "O1",
    "Oz",
    "Pz",
    "Fp2",
    "AF4",
    "Fz",
    "F4",
    "F8",
    "FC6",
    "FC2",
    "Cz",
    "C4",
    "T8",
    "CP6",
    "CP2",
    "P4",
    "P8",
    "PO4",
    "O2",
)
#: Channels 33–40 and their MNE types.
DEAP_PERIPHERAL_CHANNELS = (
    ("hEOG", "eog"),
    ("vEOG", "eog"),
    ("zEMG", "emg"),
    ("tEMG", "emg"),
    ("GSR", "gsr"),
    ("Respiration", "resp"),
    ("Plethysmograph", "bio"),
    ("Temperature", "temperature"),
)
RATING_NAMES = ("valence", "arousal", "dominance", "liking")
SFREQ = 128.0
BASELINE_SAMPLES = 384  # 3 s pre-trial baseline
STIMULUS_SAMPLES = 7680  # 60 s music video
N_SAMPLES = BASELINE_SAMPLES + STIMULUS_SAMPLES

_LAYOUT = """\
<path>/
    data_preprocessed_python/s01.dat .. s32.dat   Python-2 pickles of a dict:
        'data' (40 trials, 40 channels, 8064 samples) at 128 Hz, 'labels' (40, 4)
    data_preprocessed_matlab/s01.mat .. s32.mat   the same variables (read only
        for subjects whose .dat file is absent)"""


# --------------------------------------------------------------------------
# helpers shared with the DREAMER reader
# --------------------------------------------------------------------------


def binary_labels(ratings, threshold):
    """1 ("high") where ``ratings >= threshold``, else 0 ("low")."""
    return (np.asarray(ratings, dtype=float) >= threshold).astype(int)


def concatenate_trials(trials, info, onsets, durations, descriptions):
    """One Raw of consecutive trials with one annotation per trial.

    Parameters
    ----------
    trials : list of numpy.ndarray
        ``(n_chans, n_times)`` arrays in volts (or the channel's unit).
    info : mne.Info
    onsets, durations : sequence of float
        Per trial, onset (relative to the trial's first sample) and duration
        in seconds of its annotated interval.
    descriptions : sequence of str
        Per trial, annotation text.

    Returns
    -------
    mne.io.RawArray
        Trials back to back; junctions carry the ``"BAD boundary"`` and
        ``"EDGE boundary"`` annotations of :func:`mne.concatenate_raws`.
    """
    sfreq = info["sfreq"]
    raw = mne.io.RawArray(np.concatenate(trials, axis=1), info, verbose="error")
    lengths = np.array([t.shape[1] for t in trials])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) / sfreq
    ann_on = list(starts + np.asarray(onsets, dtype=float))
    ann_dur = list(durations)
    ann_desc = list(descriptions)
    for start in starts[1:]:
        ann_on += [start, start]
        ann_dur += [0.0, 0.0]
        ann_desc += ["BAD boundary", "EDGE boundary"]
    raw.set_annotations(mne.Annotations(ann_on, ann_dur, ann_desc))
    return raw


def band_features(signals, sfreq, feature, bands, window_seconds):
    """EEG band features ``(n, n_chans, n_windows, n_bands)`` of raw signals."""
    cls = DifferentialEntropy if feature == "de" else PowerSpectralDensity
    return cls(sfreq=sfreq, bands=bands, window_seconds=window_seconds).transform(signals)


def physio_features(signals, sfreq, window_seconds, bands=PERIPHERAL_BANDS):
    """Per-window features of peripheral signals, ``(n, n_chans * 5, n_windows)``.

    For each channel, in this order: mean, standard deviation, and the
    differential entropy (Duan et al., 2013) of the signal band-passed in
    each of ``bands`` (default 0–1 Hz low-pass, 1–4 Hz, 4–30 Hz), each over
    the same non-overlapping windows as the EEG features. Features are
    channel-major: row ``c * (2 + len(bands)) + k``.
    """
    n_win = int(round(window_seconds * sfreq))
    n_windows = signals.shape[-1] // n_win
    windows = signals[..., : n_windows * n_win].reshape(*signals.shape[:-1], n_windows, n_win)
    stats = np.stack([windows.mean(axis=-1), windows.std(axis=-1)], axis=-1)
    de = DifferentialEntropy(sfreq=sfreq, bands=bands, window_seconds=window_seconds)
    feats = np.concatenate([stats, de.transform(signals)], axis=-1)  # (n, ch, win, f)
    n, n_ch, n_w, n_f = feats.shape
    return feats.transpose(0, 1, 3, 2).reshape(n, n_ch * n_f, n_w)


def smooth(features, smoothing):
    """Apply ``"LDS"``, ``"movingAve"`` or no smoothing along axis 2."""
    if smoothing is None:
        return features
    if features.shape[2] < 2:
        return features
    step = LinearDynamicalSystem() if smoothing == "LDS" else MovingAverage(window=5)
    return step.transform(features)


def standard_montage():
    """MNE's template 10-20 montage (``colin27_1020`` where MNE has it)."""
    name = (
        "colin27_1020"
        if "colin27_1020" in mne.channels.get_builtin_montages()
        else "standard_1020"
    )
    return mne.channels.make_standard_montage(name)


def params_key(**params):
    """Short stable digest of feature options, for cache keys."""
    text = repr(sorted((k, repr(v)) for k, v in params.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------
# DEAP
# --------------------------------------------------------------------------


class DEAP(EmotionDataset):
    """DEAP: EEG and peripheral physiology of 32 subjects watching 40 music videos.

    Dataset card
    ------------
    - **Subjects**: 32 (``s01``–``s32``), one session each.
    - **Trials**: 40 one-minute music-video excerpts per subject, each rated
      on valence, arousal, dominance and liking (continuous 1–9 scales).
    - **Signals** (``data_preprocessed_*``): 40 channels at 128 Hz, 63 s per
      trial = 3 s pre-trial baseline + 60 s video; channels 1–32 EEG
      (BioSemi ActiveTwo, Geneva order, EOG artefacts removed, 4–45 Hz
      band-pass, common average reference), 33–40 hEOG, vEOG, zygomaticus and
      trapezius EMG, GSR, respiration belt, plethysmograph, temperature.
      Trials are in video (Experiment_id) order.
    - **Protocol** (Koelstra et al., 2012): binary high/low valence or arousal
      at rating 5 (``rating >= 5`` is high), per-subject 10-fold cross-
      validation or leave-one-subject-out (32 folds); the first 3 s are the
      baseline.
    - **Licence**: an End User License Agreement signed by a permanent
      academic staff member; apply at https://www.eecs.qmul.ac.uk/mmv/datasets/deap/
      and pass the unpacked folder as ``path`` (or set
      ``MNE_DATASETS_DEAP_PATH``). Nothing is downloaded.

    Files are read from ``data_preprocessed_python/sXX.dat`` (Python-2
    pickles, through the restricted unpickler of
    :func:`~braindecode_m2s.datasets.io.safe_pickle_load`), or from
    ``data_preprocessed_matlab/sXX.mat`` (MATLAB v5 or v7.3) when the
    ``.dat`` file is absent. The trial count is read from the file (it must
    equal the number of label rows); each trial must have 40 channels and
    8064 samples.

    Parameters
    ----------
    path : str | pathlib.Path | None
        Root folder of the distribution (holding ``data_preprocessed_python/``
        and/or ``data_preprocessed_matlab/``).
    cache_dir : str | pathlib.Path | False | None
        Cache of computed feature arrays (see
        :class:`~braindecode_m2s.datasets.base.EmotionDataset`).
    target : {"valence", "arousal", "dominance", "liking"}
        Rating that defines the binary label.
    threshold : float
        ``rating >= threshold`` is class 1 (high), else 0 (low); 5 by the
        DEAP convention.
    window_seconds : float
        Length of the non-overlapping feature windows of
        :meth:`get_trial_features` (60 s give ``floor(60 / window_seconds)``
        windows).
    bands : sequence of (float, float)
        EEG bands in Hz; default SEED-IV's five bands so that every dataset
        shares one band axis. The preprocessed EEG is band-passed 4–45 Hz,
        so the 1–4 Hz band holds little power and 45–50 Hz none.
    baseline_correction : bool
        If True, the EEG band features of the 3-s pre-trial baseline
        (computed over the whole baseline as one segment) are subtracted from
        every window of its trial, the feature-level baseline removal of
        Yang et al. (2018). Default False: plain stimulus features, as the
        SEED family distributes them.
    subjects : list of int | None
        Subset of subjects (MOABB's ``selected_subjects``).
    sessions : list | None
        Subset of sessions (MOABB's ``selected_sessions``; DEAP has one,
        ``"0"``).

    Notes
    -----
    :meth:`get_data` returns ``{subject: {"0": {"0": raw}}}``: the 40 trials
    of 63 s back to back, EEG, EOG and EMG in volts (the files hold
    microvolts), the other peripheral channels in the file's units. Each
    trial's 60-s video interval (from 3 s after its start) is annotated
    ``"low_<target>"`` or ``"high_<target>"``; MOABB's ``interval`` is
    ``[0, 60]``.

    References
    ----------
    .. [1] Koelstra, S., Mühl, C., Soleymani, M., Lee, J.-S., Yazdani, A.,
       Ebrahimi, T., Pun, T., Nijholt, A., & Patras, I. (2012). DEAP: A
       database for emotion analysis using physiological signals. IEEE
       Transactions on Affective Computing, 3(1), 18–31.
       https://doi.org/10.1109/T-AFFC.2011.15
    .. [2] Yang, Y., Wu, Q., Fu, Y., & Chen, X. (2018). Continuous
       convolutional neural network with 3D input for EEG-based emotion
       recognition. ICONIP 2018, 433–443.
       https://doi.org/10.1007/978-3-030-04239-4_39
    """

    APPLY_URL = "https://www.eecs.qmul.ac.uk/mmv/datasets/deap/"
    LAYOUT = _LAYOUT
    MODALITIES = {
        "x": "EEG band features (32 channels, n_windows, n_bands) of the 60-s video",
        "peripheral": (
            "peripheral features (40 = 8 channels x [mean, std, DE 0-1, 1-4, 4-30 Hz], n_windows)"
        ),
    }
    METADATA = DatasetMetadata(
        acquisition=AcquisitionMetadata(
            sampling_rate=SFREQ,
            channel_types={
                "eeg": 32,
                "eog": 2,
                "emg": 2,
                "gsr": 1,
                "resp": 1,
                "bio": 1,
                "temperature": 1,
            },
            sensors=list(DEAP_EEG_CHANNELS),
            sensor_type="EEG",
            reference="common average",
            hardware="BioSemi ActiveTwo",
            line_freq=50.0,
            montage="colin27_1020",
        ),
        participants=ParticipantMetadata(n_subjects=32, health_status="healthy", species="human"),
        experiment=ExperimentMetadata(
            paradigm="emotion",
            n_classes=2,
            class_labels=["low", "high"],
            trial_duration=60.0,
            stimulus_type="music video",
            stimulus_modalities=["visual", "auditory"],
            mode="offline",
            study_design=(
                "40 one-minute music videos per subject, each rated for valence, "
                "arousal, dominance and liking on 1-9 scales"
            ),
        ),
        documentation=DocumentationMetadata(
            doi="10.1109/T-AFFC.2011.15",
            investigators=[
                "Sander Koelstra",
                "Christian Mühl",
                "Mohammad Soleymani",
                "Jong-Seok Lee",
                "Ashkan Yazdani",
                "Touradj Ebrahimi",
                "Thierry Pun",
                "Anton Nijholt",
                "Ioannis Patras",
            ],
            institution="Queen Mary University of London",
            license="DEAP End User License Agreement (academic research only)",
            data_url="https://www.eecs.qmul.ac.uk/mmv/datasets/deap/",
            publication_year=2012,
        ),
        sessions_per_subject=1,
        runs_per_session=1,
        data_processed=True,
        file_format="pickle/mat",
        data_structure=DataStructureMetadata(
            n_trials=40, trials_context="per subject; 3 s baseline + 60 s video"
        ),
        preprocessing=PreprocessingMetadata(
            bandpass=[4.0, 45.0],
            re_reference="common average",
            downsampled_to_hz=128.0,
            artifact_methods=["EOG removal"],
        ),
    )

    def __init__(
        self,
        path=None,
        cache_dir=None,
        target="valence",
        threshold=5.0,
        window_seconds=1.0,
        bands=DEFAULT_BANDS,
        baseline_correction=False,
        subjects=None,
        sessions=None,
    ):
        check_option("target", target, RATING_NAMES)
        self.target = target
        self.threshold = float(threshold)
        self.window_seconds = float(window_seconds)
        if not 0 < self.window_seconds <= 60:
            raise ValueError(f"`window_seconds` must be in (0, 60] s; got {window_seconds!r}.")
        self.bands = tuple(tuple(b) for b in bands)
        self.baseline_correction = bool(baseline_correction)
        self.class_names = {0: f"low_{target}", 1: f"high_{target}"}
        super().__init__(
            path=path,
            cache_dir=cache_dir,
            subjects=list(range(1, 33)),
            sessions_per_subject=1,
            events={name: k + 1 for k, name in self.class_names.items()},
            code="DEAP",
            interval=[0, 60],
            paradigm="emotion",
            doi="10.1109/T-AFFC.2011.15",
            selected_subjects=subjects,
            selected_sessions=sessions,
        )

    # -- files ----------------------------------------------------------------
    def _subject_file(self, subject):
        self._check_subject(subject)
        root = self.root
        dat = root / "data_preprocessed_python" / f"s{subject:02d}.dat"
        mat = root / "data_preprocessed_matlab" / f"s{subject:02d}.mat"
        if dat.is_file():
            return dat
        if mat.is_file():
            return mat
        raise FileNotFoundError(
            f"DEAP: the file of subject {subject} is missing: neither {str(dat)!r} "
            f"nor {str(mat)!r} exists. Expected layout under {str(root)!r}:\n{self.LAYOUT}"
        )

    def _subject_files(self, subject):
        return [self._subject_file(subject)]

    def _read(self, subject):
        """``data`` (n_trials, 40, 8064), ``labels`` (n_trials, 4) and the file."""
        path = self._subject_file(subject)
        if path.suffix == ".dat":
            # UnsafePickleError (a ValueError) names the file
            content = safe_pickle_load(path, encoding="latin1")
            if not isinstance(content, dict):
                raise ValueError(
                    f"DEAP file {str(path)!r} holds a {type(content).__name__}; "
                    f"expected a dict with 'data' and 'labels'."
                )
        else:
            content = load_mat(path, ["data", "labels"])
        for name in ("data", "labels"):
            if name not in content:
                raise ValueError(
                    f"DEAP file {str(path)!r} has no variable {name!r}; found "
                    f"{sorted(map(str, content))}."
                )
        data = numeric_array(content["data"], f"Variable 'data' of DEAP file {str(path)!r}")
        labels = numeric_array(content["labels"], f"Variable 'labels' of DEAP file {str(path)!r}")
        if data.ndim != 3 or data.shape[1:] != (40, N_SAMPLES) or data.shape[0] < 1:
            raise ValueError(
                f"Variable 'data' of DEAP file {str(path)!r} has shape {data.shape}; "
                f"expected (n_trials, 40, {N_SAMPLES})."
            )
        if labels.ndim != 2 or labels.shape[1] != 4:
            raise ValueError(
                f"Variable 'labels' of DEAP file {str(path)!r} has shape "
                f"{labels.shape}; expected (n_trials, 4)."
            )
        if labels.shape[0] != data.shape[0]:
            raise ValueError(
                f"DEAP file {str(path)!r} has {data.shape[0]} trials in 'data' but "
                f"{labels.shape[0]} rows in 'labels'; expected one label row per trial."
            )
        return data, labels, path

    # -- MOABB ------------------------------------------------------------------
    @staticmethod
    def _info():
        names = list(DEAP_EEG_CHANNELS) + [n for n, _ in DEAP_PERIPHERAL_CHANNELS]
        types = ["eeg"] * 32 + [t for _, t in DEAP_PERIPHERAL_CHANNELS]
        info = mne.create_info(names, SFREQ, types)
        info.set_montage(standard_montage(), on_missing="ignore")
        return info

    def _get_single_subject_data(self, subject):
        data, labels, _ = self._read(subject)
        scale = np.ones((40, 1))
        scale[:36] = 1e-6  # EEG, EOG, EMG: microvolts -> volts
        y = binary_labels(labels[:, RATING_NAMES.index(self.target)], self.threshold)
        n = len(data)
        raw = concatenate_trials(
            [trial * scale for trial in data],
            self._info(),
            onsets=[BASELINE_SAMPLES / SFREQ] * n,
            durations=[STIMULUS_SAMPLES / SFREQ] * n,
            descriptions=[self.class_names[int(k)] for k in y],
        )
        return {"0": {"0": raw}}

    # -- features -------------------------------------------------------------
    def get_trial_features(self, subject, feature="de", smoothing="LDS"):
        """Feature windows of the trials of one subject.

        Parameters
        ----------
        subject : int
            Subject number (1–32).
        feature : {"de", "psd"}
            EEG band feature: differential entropy or log band power (see
            :mod:`braindecode_m2s.features`). Peripheral band features are
            always DE.
        smoothing : {"LDS", "movingAve", None}
            Smoothing along the windows of each trial (after baseline
            correction, if any): Kalman/RTS smoother, 5-window moving
            average, or none.

        Returns
        -------
        list of EmotionTrial
            One per trial in video order, session ``"0"``, with modalities
            ``"x"`` ``(32, n_windows, n_bands)`` and ``"peripheral"``
            ``(40, n_windows)`` (float32), ``n_windows = floor(60 /
            window_seconds)``, computed from the 60 s after the 3-s
            baseline; ``label`` from ``target``/``threshold``; ``ratings``
            the four ratings.
        """
        self._check_subject(subject)
        check_option("feature", feature, ("de", "psd"))
        check_option("smoothing", smoothing, ("LDS", "movingAve", None))
        path = self._subject_file(subject)
        key = "DEAP_s{:02d}_{}_{}_{}".format(
            subject,
            feature,
            smoothing,
            params_key(
                window=self.window_seconds,
                bands=self.bands,
                baseline=self.baseline_correction,
                version=2,
            ),
        )

        def compute():
            data, labels, _ = self._read(subject)
            stim = data[:, :, BASELINE_SAMPLES:]
            eeg = band_features(stim[:, :32], SFREQ, feature, self.bands, self.window_seconds)
            if self.baseline_correction:
                base = band_features(
                    data[:, :32, :BASELINE_SAMPLES],
                    SFREQ,
                    feature,
                    self.bands,
                    BASELINE_SAMPLES / SFREQ,
                )
                eeg = eeg - base
            periph = physio_features(stim[:, 32:], SFREQ, self.window_seconds)
            where = f"features of DEAP file {str(path)!r}"
            return {
                "x": to_finite(smooth(eeg, smoothing), f"EEG {where}"),
                "peripheral": to_finite(smooth(periph, smoothing), f"Peripheral {where}"),
                "labels": labels,
            }

        arrays = ArrayCache(self.cache_path).get_or_compute(key, compute, sources=[path])
        ratings = arrays["labels"]
        y = binary_labels(ratings[:, RATING_NAMES.index(self.target)], self.threshold)
        return [
            EmotionTrial(
                subject=subject,
                session="0",
                trial=t,
                label=int(y[t]),
                modalities={"x": arrays["x"][t], "peripheral": arrays["peripheral"][t]},
                window_seconds=self.window_seconds,
                ratings={name: float(ratings[t, k]) for k, name in enumerate(RATING_NAMES)},
            )
            for t in range(len(ratings))
        ]
