"""DREAMER: EEG and ECG of 23 subjects watching 18 film clips.

Katsigiannis & Ramzan (2018), "DREAMER: A Database for Emotion Recognition
Through EEG and ECG Signals From Wireless Low-cost Off-the-Shelf Devices",
IEEE Journal of Biomedical and Health Informatics 22(1), 98–107.
Data: https://zenodo.org/record/546113 (access on request; never downloaded
here).
"""

from __future__ import annotations

from fractions import Fraction

import mne
import numpy as np
from moabb.datasets.metadata.schema import (
    AcquisitionMetadata,
    DatasetMetadata,
    DocumentationMetadata,
    ExperimentMetadata,
    ParticipantMetadata,
)
from scipy import signal

from ..features import DEFAULT_BANDS
from ..utils.check import check_option
from .base import EmotionDataset, EmotionTrial, numeric_array, to_finite
from .deap import (
    band_features,
    binary_labels,
    concatenate_trials,
    params_key,
    physio_features,
    smooth,
    standard_montage,
)
from .io import ArrayCache, load_mat

__all__ = ["DREAMER"]

#: Emotiv EPOC electrodes, in the column order of the EEG matrices.
DREAMER_EEG_CHANNELS = (
    "AF3",
    "F7",
    "F3",
    "FC5",
    "T7",
    "P7",
    "O1",
    "O2",
    "P8",
    "T8",
    "FC6",
    "F4",
    "F8",
    "AF4",
)
DREAMER_ECG_CHANNELS = ("ECG1", "ECG2")
RATING_FIELDS = {
    "valence": "ScoreValence",
    "arousal": "ScoreArousal",
    "dominance": "ScoreDominance",
}
N_VIDEOS = 18
#: Sampling rates accepted from the file, in Hz (DREAMER: EEG 128, ECG 256).
SFREQ_RANGE = (1.0, 10000.0)

_LAYOUT = """\
<path>/
    DREAMER.mat   one MATLAB struct 'DREAMER' (1x1) with fields Data (1x23 struct:
                  Age, Gender, EEG, ECG, ScoreValence, ScoreArousal, ScoreDominance;
                  EEG/ECG structs of 'baseline' and 'stimuli', 18x1 cells of
                  samples x channels), EEG_SamplingRate (128), ECG_SamplingRate
                  (256), EEG_Electrodes, noOfSubjects, noOfVideoSequences, ..."""


class DREAMER(EmotionDataset):
    """DREAMER: EEG and ECG of 23 subjects watching 18 emotional film clips.

    Dataset card
    ------------
    - **Subjects**: 23, one session each; **trials**: 18 film clips
      (65–393 s), each preceded by a neutral baseline clip (61 s).
    - **EEG**: Emotiv EPOC, 14 channels (AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6
      F4 F8 AF4) at 128 Hz, unfiltered (with the headset's DC offset).
    - **ECG**: Shimmer, 2 channels at 256 Hz.
    - **Ratings**: valence, arousal and dominance, integers 1–5, self-assessed
      after each clip.
    - **Protocol**: binary low/high valence, arousal or dominance at rating 3,
      leave-one-subject-out (23 folds); Katsigiannis & Ramzan (2018) also
      report subject-dependent results.
    - **Licence**: access is granted on request through Zenodo for
      non-commercial research (https://zenodo.org/record/546113); pass the
      folder holding ``DREAMER.mat`` as ``path`` (or set
      ``MNE_DATASETS_DREAMER_PATH``). Nothing is downloaded.

    The single file ``DREAMER.mat`` (MATLAB v5; v7.3 is also read) is parsed
    by field name; the sampling rates are read from ``EEG_SamplingRate`` and
    ``ECG_SamplingRate``.

    Parameters
    ----------
    path : str | pathlib.Path | None
        Folder holding ``DREAMER.mat``.
    cache_dir : str | pathlib.Path | False | None
        Cache of computed feature arrays.
    target : {"valence", "arousal", "dominance"}
        Rating that defines the binary label.
    threshold : float
        ``rating >= threshold`` is class 1 (high), else 0 (low). The default
        3 follows the "binary at 3" convention of the DREAMER literature with
        TorchEEG's ``Binary(3.0)`` semantics (a rating of 3 is high); some
        papers put 3 in the low class, which ``threshold=4`` reproduces.
    window_seconds : float
        Length of the non-overlapping feature windows.
    bands : sequence of (float, float)
        EEG bands in Hz (default SEED-IV's five bands).
    baseline_correction : bool
        If True, the EEG and ECG features of the trial's baseline clip
        (computed over the whole baseline as one segment) are subtracted from
        every stimulus window, the baseline reduction of Katsigiannis &
        Ramzan (2018). Default False.
    subjects : list of int | None
        Subset of subjects (MOABB's ``selected_subjects``).
    sessions : list | None
        Subset of sessions (MOABB's ``selected_sessions``; DREAMER has one,
        ``"0"``).

    Notes
    -----
    :meth:`get_data` returns ``{subject: {"0": {"0": raw}}}`` with the 14
    EEG channels (volts) and the 2 ECG channels (volts, down-sampled from
    256 Hz to the EEG rate with :func:`scipy.signal.resample_poly`, an
    anti-aliased polyphase filter, since one Raw has one sampling rate). Each
    trial is its baseline clip followed by its film clip; the film clip is
    annotated ``"low_<target>"`` / ``"high_<target>"`` over its full length.
    :meth:`get_trial_features` computes the ECG features at the original
    256 Hz.

    References
    ----------
    .. [1] Katsigiannis, S., & Ramzan, N. (2018). DREAMER: A database for
       emotion recognition through EEG and ECG signals from wireless low-cost
       off-the-shelf devices. IEEE Journal of Biomedical and Health
       Informatics, 22(1), 98–107. https://doi.org/10.1109/JBHI.2017.2688239
    """

    APPLY_URL = "https://zenodo.org/record/546113"
    LAYOUT = _LAYOUT
    MODALITIES = {
        "x": "EEG band features (14 channels, n_windows, n_bands) of the film clip",
        "ecg": "ECG features (10 = 2 channels x [mean, std, DE 0-1, 1-4, 4-30 Hz], n_windows)",
    }
    METADATA = DatasetMetadata(
        acquisition=AcquisitionMetadata(
            sampling_rate=128.0,
            channel_types={"eeg": 14, "ecg": 2},
            sensors=list(DREAMER_EEG_CHANNELS),
            sensor_type="EEG",
            hardware="Emotiv EPOC (EEG), Shimmer (ECG)",
            line_freq=50.0,
            montage="colin27_1020",
        ),
        participants=ParticipantMetadata(n_subjects=23, health_status="healthy", species="human"),
        experiment=ExperimentMetadata(
            paradigm="emotion",
            n_classes=2,
            class_labels=["low", "high"],
            stimulus_type="film clip",
            stimulus_modalities=["visual", "auditory"],
            mode="offline",
            study_design=(
                "18 film clips per subject, each after a 61-s neutral baseline clip, "
                "rated for valence, arousal and dominance on 1-5 scales"
            ),
        ),
        documentation=DocumentationMetadata(
            doi="10.1109/JBHI.2017.2688239",
            investigators=["Stamos Katsigiannis", "Naeem Ramzan"],
            institution="University of the West of Scotland",
            data_url="https://zenodo.org/record/546113",
            license="on request, non-commercial research",
            publication_year=2018,
        ),
        sessions_per_subject=1,
        runs_per_session=1,
        data_processed=False,
        file_format="mat",
    )

    def __init__(
        self,
        path=None,
        cache_dir=None,
        target="valence",
        threshold=3.0,
        window_seconds=1.0,
        bands=DEFAULT_BANDS,
        baseline_correction=False,
        subjects=None,
        sessions=None,
    ):
        check_option("target", target, tuple(RATING_FIELDS))
        self.target = target
        self.threshold = float(threshold)
        self.window_seconds = float(window_seconds)
        if not self.window_seconds > 0:
            raise ValueError(f"`window_seconds` must be positive; got {window_seconds!r}.")
        self.bands = tuple(tuple(b) for b in bands)
        self.baseline_correction = bool(baseline_correction)
        self.class_names = {0: f"low_{target}", 1: f"high_{target}"}
        self._loaded = None
        super().__init__(
            path=path,
            cache_dir=cache_dir,
            subjects=list(range(1, 24)),
            sessions_per_subject=1,
            events={name: k + 1 for k, name in self.class_names.items()},
            code="DREAMER",
            interval=[0, 60],
            paradigm="emotion",
            doi="10.1109/JBHI.2017.2688239",
            selected_subjects=subjects,
            selected_sessions=sessions,
        )

    # -- files ----------------------------------------------------------------
    def _file(self):
        return self._require(self.root / "DREAMER.mat", "the file")

    def _subject_files(self, subject):
        return [self._file()]

    def _top(self):
        """The ``DREAMER`` struct, read once per file version."""
        path = self._file()
        stat = path.stat()
        # the change time and inode catch a rewrite whose mtime was restored
        stamp = (
            str(path.resolve()),
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
            stat.st_ino,
        )
        if self._loaded is not None and self._loaded[0] == stamp:
            return self._loaded[1], path
        content = load_mat(path, ["DREAMER"])
        if "DREAMER" not in content:
            raise ValueError(
                f"DREAMER file {str(path)!r} has no variable 'DREAMER'; found "
                f"{sorted(load_mat(path))}."
            )
        top = content["DREAMER"]
        if not (isinstance(top, np.ndarray) and top.dtype.names and top.size >= 1):
            raise ValueError(
                f"Variable 'DREAMER' of {str(path)!r} is not a MATLAB struct; expected "
                f"the 1x1 struct of the official file."
            )
        top = top.flat[0]
        self._loaded = (stamp, top)
        return top, path

    @staticmethod
    def _field(struct, name, where):
        names = struct.dtype.names or ()
        if name not in names:
            raise ValueError(f"{where} has no field {name!r}; found {list(names)}.")
        return struct[name]

    @staticmethod
    def _scalar(value, where):
        try:
            array = numeric_array(value, where).ravel()
        except ValueError:
            raise ValueError(f"{where} is {value!r}; expected a number.") from None
        if array.size != 1:
            raise ValueError(f"{where} holds {array.size} values; expected one number.")
        return float(array[0])

    @classmethod
    def _sampling_rate(cls, value, where):
        """A sampling rate from the file, checked to lie in :data:`SFREQ_RANGE`."""
        sfreq = cls._scalar(value, where)
        low, high = SFREQ_RANGE
        if not low <= sfreq <= high:
            raise ValueError(
                f"{where} is {sfreq:g} Hz; expected a sampling rate between {low:g} and "
                f"{high:g} Hz (the official file has EEG 128 Hz, ECG 256 Hz)."
            )
        return sfreq

    @staticmethod
    def _check_durations(out, swhere):
        """EEG and ECG of each clip must last as long, within one second."""
        eeg_sf, ecg_sf = out["sfreq"]["EEG"], out["sfreq"]["ECG"]
        for part in ("baseline", "stimuli"):
            for k, (eeg, ecg) in enumerate(zip(out[("EEG", part)], out[("ECG", part)])):
                eeg_s, ecg_s = eeg.shape[1] / eeg_sf, ecg.shape[1] / ecg_sf
                if abs(eeg_s - ecg_s) > 1.0:
                    raise ValueError(
                        f"Trial {k + 1} of {swhere}: the ECG {part} lasts {ecg_s:.1f} s but "
                        f"the EEG {part} {eeg_s:.1f} s; expected equal durations (within "
                        f"1 s)."
                    )

    def _read(self, subject):
        """EEG/ECG baseline and stimulus trials, ratings and rates of one subject."""
        self._check_subject(subject)
        top, path = self._top()
        where = f"Variable 'DREAMER' of {str(path)!r}"
        data = self._field(top, "Data", where)
        if data.size < subject:
            raise ValueError(
                f"DREAMER.Data of {str(path)!r} holds {data.size} subjects; subject "
                f"{subject} was requested (expected 23 subjects)."
            )
        rec = data.flat[subject - 1]
        swhere = f"DREAMER.Data(1,{subject}) of {str(path)!r}"
        rates = {
            kind: self._sampling_rate(
                self._field(top, f"{kind}_SamplingRate", where),
                f"DREAMER.{kind}_SamplingRate of {str(path)!r}",
            )
            for kind in ("EEG", "ECG")
        }
        out = {"path": path, "sfreq": rates}
        for kind, n_chans in (("EEG", 14), ("ECG", 2)):
            sub = self._field(rec, kind, swhere)
            sub = sub.flat[0] if isinstance(sub, np.ndarray) and sub.dtype.names else sub
            for part in ("baseline", "stimuli"):
                cells = self._field(sub, part, f"{swhere}.{kind}")
                pwhere = f"{swhere}.{kind}.{part}"
                cells = np.asarray(cells, dtype=object).ravel()
                if cells.size != N_VIDEOS:
                    raise ValueError(f"{pwhere} holds {cells.size} trials; expected {N_VIDEOS}.")
                trials = []
                for k, cell in enumerate(cells):
                    arr = numeric_array(cell, f"Trial {k + 1} of {pwhere}")
                    if arr.ndim != 2 or arr.shape[1] != n_chans or arr.shape[0] < 1:
                        raise ValueError(
                            f"Trial {k + 1} of {pwhere} has shape {arr.shape}; "
                            f"expected (n_samples, {n_chans})."
                        )
                    trials.append(arr.T)
                out[(kind, part)] = trials
        ratings = {}
        for name, field_name in RATING_FIELDS.items():
            values = numeric_array(
                self._field(rec, field_name, swhere), f"{swhere}.{field_name}"
            ).ravel()
            if values.size != N_VIDEOS:
                raise ValueError(
                    f"{swhere}.{field_name} holds {values.size} ratings; expected "
                    f"{N_VIDEOS}, one per trial."
                )
            ratings[name] = values
        out["ratings"] = ratings
        self._check_durations(out, swhere)
        return out

    # -- MOABB ------------------------------------------------------------------
    def _get_single_subject_data(self, subject):
        rec = self._read(subject)
        eeg_sf, ecg_sf = rec["sfreq"]["EEG"], rec["sfreq"]["ECG"]
        ratio = Fraction(eeg_sf / ecg_sf).limit_denominator(1000)
        info = mne.create_info(
            list(DREAMER_EEG_CHANNELS) + list(DREAMER_ECG_CHANNELS),
            eeg_sf,
            ["eeg"] * 14 + ["ecg"] * 2,
        )
        info.set_montage(standard_montage(), on_missing="ignore")
        trials, onsets, durations = [], [], []
        y = binary_labels(rec["ratings"][self.target], self.threshold)
        for k in range(N_VIDEOS):
            eeg = np.concatenate([rec[("EEG", "baseline")][k], rec[("EEG", "stimuli")][k]], axis=1)
            ecg = np.concatenate([rec[("ECG", "baseline")][k], rec[("ECG", "stimuli")][k]], axis=1)
            ecg = signal.resample_poly(ecg, ratio.numerator, ratio.denominator, axis=1)
            n = eeg.shape[1]
            if abs(ecg.shape[1] - n) > eeg_sf:
                raise ValueError(
                    f"Trial {k + 1} of subject {subject} in {str(rec['path'])!r}: the ECG "
                    f"lasts {ecg.shape[1] / eeg_sf:.1f} s but the EEG "
                    f"{n / eeg_sf:.1f} s; expected equal durations."
                )
            ecg = np.pad(ecg[:, :n], ((0, 0), (0, max(0, n - ecg.shape[1]))), mode="edge")
            trials.append(np.concatenate([eeg, ecg]) * 1e-6)
            onsets.append(rec[("EEG", "baseline")][k].shape[1] / eeg_sf)
            durations.append(rec[("EEG", "stimuli")][k].shape[1] / eeg_sf)
        raw = concatenate_trials(
            trials, info, onsets, durations, [self.class_names[int(c)] for c in y]
        )
        return {"0": {"0": raw}}

    # -- features -------------------------------------------------------------
    def get_trial_features(self, subject, feature="de", smoothing="LDS"):
        """Feature windows of the 18 trials of one subject.

        Parameters
        ----------
        subject : int
            Subject number (1–23).
        feature : {"de", "psd"}
            EEG band feature (differential entropy or log band power); the
            ECG band features are always DE.
        smoothing : {"LDS", "movingAve", None}
            Smoothing along the windows of each trial.

        Returns
        -------
        list of EmotionTrial
            18 trials, session ``"0"``, with ``"x"`` ``(14, n_windows,
            n_bands)`` and ``"ecg"`` ``(10, n_windows)`` float32 computed
            from the film clip (EEG at its rate, ECG at 256 Hz; ``n_windows``
            the smaller of the two window counts, which differ by at most
            one); ``ratings`` valence/arousal/dominance.
        """
        self._check_subject(subject)
        check_option("feature", feature, ("de", "psd"))
        check_option("smoothing", smoothing, ("LDS", "movingAve", None))
        path = self._file()
        key = "DREAMER_s{:02d}_{}_{}_{}".format(
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
            rec = self._read(subject)
            eeg_sf, ecg_sf = rec["sfreq"]["EEG"], rec["sfreq"]["ECG"]
            arrays = {}
            for k in range(N_VIDEOS):
                eeg = rec[("EEG", "stimuli")][k][None]
                ecg = rec[("ECG", "stimuli")][k][None]
                x = band_features(eeg, eeg_sf, feature, self.bands, self.window_seconds)[0]
                e = physio_features(ecg, ecg_sf, self.window_seconds)[0]
                if self.baseline_correction:
                    beeg = rec[("EEG", "baseline")][k][None]
                    becg = rec[("ECG", "baseline")][k][None]
                    x = (
                        x
                        - band_features(
                            beeg, eeg_sf, feature, self.bands, beeg.shape[-1] / eeg_sf
                        )[0]
                    )
                    e = e - physio_features(becg, ecg_sf, becg.shape[-1] / ecg_sf)[0]
                n = min(x.shape[1], e.shape[1])
                where = f"features of trial {k + 1} of subject {subject} in {str(path)!r}"
                arrays[f"x{k}"] = to_finite(smooth(x[None, :, :n], smoothing)[0], f"EEG {where}")
                arrays[f"ecg{k}"] = to_finite(smooth(e[None, :, :n], smoothing)[0], f"ECG {where}")
            arrays["ratings"] = np.stack([rec["ratings"][r] for r in RATING_FIELDS], axis=1)
            return arrays

        arrays = ArrayCache(self.cache_path).get_or_compute(key, compute, sources=[path])
        ratings = arrays["ratings"]
        y = binary_labels(ratings[:, list(RATING_FIELDS).index(self.target)], self.threshold)
        return [
            EmotionTrial(
                subject=subject,
                session="0",
                trial=k,
                label=int(y[k]),
                modalities={"x": arrays[f"x{k}"], "ecg": arrays[f"ecg{k}"]},
                window_seconds=self.window_seconds,
                ratings={name: float(ratings[k, i]) for i, name in enumerate(RATING_FIELDS)},
            )
            for k in range(N_VIDEOS)
        ]
