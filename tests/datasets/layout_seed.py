"""Write tiny copies of the official SEED-family distributions, for tests.

Each writer reproduces the folder layout, file names, MATLAB variable names,
array shapes/axis orders and label orders of the real distribution
(see the dataset cards of :mod:`braindecode_m2s.datasets.seed` and the
project's dataset notes), with the real channel count (62) and the real
number of trials, but only a few windows per trial and few subjects. The
writers are independent of the loaders: they know the layouts, not the code.

Values are seeded random numbers; every EEG feature array is offset by its
trial number (``x.mean() ~ trial``) so tests can check trial order.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import h5py
import numpy as np
import scipy.io

N_CHANS = 62

SEED_LABELS = [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]
# Session-1 dates are the real ones; later sessions about a week apart.
SEED_FILES = {
    1: ("djc", ["20131027", "20131030", "20131107"]),
    2: ("jl", ["20140404", "20140413", "20140419"]),
    3: ("jj", ["20140603", "20140611", "20140629"]),
    # a subject without eye movements; initials made up, session-1 date real
    6: ("xx", ["20130712", "20130719", "20130726"]),
}
#: Subjects with eye movements in ``SEED_Multimodal``.
SEED_EYE_SUBJECTS = (1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14)
#: Feature dimension of the SEED eye features: undocumented, a guess.
SEED_EYE_FEATURES = 33
SEED_BANDS = ("delta", "theta", "alpha", "beta", "gamma")
SEED_FEATURE_CHANNELS = {"de": 62, "psd": 62, "dasm": 27, "rasm": 27, "asm": 54, "dcau": 23}

SEEDIV_LABELS = [
    [1, 2, 3, 0, 2, 0, 0, 1, 0, 1, 2, 1, 1, 1, 2, 3, 2, 2, 3, 3, 0, 3, 0, 3],
    [2, 1, 3, 0, 0, 2, 0, 2, 3, 3, 2, 3, 2, 0, 1, 1, 2, 1, 0, 3, 0, 1, 3, 1],
    [1, 2, 2, 1, 3, 3, 3, 1, 1, 2, 1, 0, 2, 3, 3, 0, 2, 3, 0, 0, 2, 0, 1, 0],
]
SEEDIV_FILES = {
    1: ("cz", ["20160518", "20161125", "20161126"]),
    2: ("ha", ["20150915", "20150920", "20151012"]),
}
# Subjects 3-15 (for full-size trees, e.g. the loading benchmark): initials
# and dates made up, sessions a few days apart in date order.
SEEDIV_FILES.update(
    {
        s: (f"s{s}", [f"2015{m:02d}{d:02d}" for m, d in ((3, s), (4, s), (5, s))])
        for s in range(3, 16)
    }
)

SEEDV_LABELS = [
    [4, 1, 3, 2, 0] * 3,
    [2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0],
    [2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0],
]
SEEDV_DATES = {1: ["20180804", "20180811", "20180818"], 2: ["20180805", "20180812", "20180819"]}

SEEDVII_ORDER = [
    ["Happy", "Neutral", "Disgust", "Sad", "Anger"],
    ["Anger", "Sad", "Fear", "Neutral", "Surprise"],
    ["Happy", "Surprise", "Disgust", "Fear", "Anger"],
    ["Disgust", "Sad", "Fear", "Surprise", "Happy"],
]


def seedvii_trial_names():
    """The 80 emotion names of SEED-VII in presentation order."""
    out = []
    for five in SEEDVII_ORDER:
        ten = five + five[::-1]
        out += ten + ten
    return out


def n_windows(trial, base=3):
    """Tiny, varying window counts: base, base+1, base+2, base, ..."""
    return base + (trial % 3)


def _feature(rng, trial, shape):
    return rng.standard_normal(shape) + trial


# ---------------------------------------------------------------- SEED ----
def write_seed(root, subjects=(1, 2), layout="old", window_seconds=(1,), base=3):
    """SEED: ``Preprocessed_EEG/`` and ``ExtractedFeatures/`` (old layout) or
    ``SEED_EEG/{Preprocessed_EEG, ExtractedFeatures_1s, ExtractedFeatures_4s}``
    (new layout; the 4-s features are written band-first, ``(62, 5, n)``)."""
    root = Path(root)
    rng = np.random.default_rng(0)
    top = root if layout == "old" else root / "SEED_EEG"
    pre = top / "Preprocessed_EEG"
    pre.mkdir(parents=True, exist_ok=True)
    label = {"label": np.array([SEED_LABELS], dtype=np.int16)}
    scipy.io.savemat(pre / "label.mat", label)
    (pre / "readme.txt").write_text("Preprocessed EEG, 200 Hz.\n")
    feature_dirs = {}
    if layout == "old":
        feature_dirs[1] = top / "ExtractedFeatures"
    else:
        for ws in window_seconds:
            feature_dirs[ws] = top / f"ExtractedFeatures_{ws}s"
    for folder in feature_dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(folder / "label.mat", label)
    for subject in subjects:
        initials, dates = SEED_FILES[subject]
        for date in dates:
            eeg = {}
            for k in range(1, 16):
                n = n_windows(k, base)
                eeg[f"{initials}_eeg{k}"] = rng.standard_normal((N_CHANS, 200 * n + 1))
            scipy.io.savemat(pre / f"{subject}_{date}.mat", eeg)
            for ws, folder in feature_dirs.items():
                feats = {}
                for k in range(1, 16):
                    n = max(1, n_windows(k, base) // ws)
                    for ftype, nch in SEED_FEATURE_CHANNELS.items():
                        for smooth in ("movingAve", "LDS"):
                            shape = (nch, n, 5) if ws == 1 else (nch, 5, n)
                            feats[f"{ftype}_{smooth}{k}"] = _feature(rng, k, shape)
                scipy.io.savemat(folder / f"{subject}_{date}.mat", feats)
    return root


def write_seed_multimodal(
    root,
    subjects=(1,),
    window_seconds=1,
    base=3,
    names="index",
    transpose=False,
    extra_windows=0,
    sessions=(1, 2, 3),
):
    """SEED ``SEED_Multimodal/`` (newer download), for the trials that
    :func:`write_seed` writes with the same ``base``:

    - ``02-EEG-DE-feature/eeg_used_<ws>s/<subj>_<sess>.npz``: ``train_data`` /
      ``test_data`` (pickled dicts of ``delta``..``gamma``, each ``(n, 62)``),
      ``train_label`` / ``test_label``;
    - ``04-Eye-tracking-feature/eye_tracking_feature/<subj>_<sess>``: a pickle
      (no extension) of a dict with ``train_data_eye`` (windows of the first 9
      clips back to back) and ``test_data_eye`` (last 6), each
      ``(n_windows, 33)`` (``transpose=True``: ``(33, n_windows)``).

    Eye values encode their position: feature 0 is the 1-based trial number,
    feature 1 the window index within the trial, feature 2 the session
    (1..3), the rest random. ``names`` is ``"index"`` (``<sess>`` = 1..3) or
    ``"date"`` (the EEG file's date). ``extra_windows`` appends that many
    windows to ``test_data_eye`` (misaligned totals). Only subjects listed in
    ``SEED_EYE_SUBJECTS`` get files, and only for ``sessions``."""
    root = Path(root)
    rng = np.random.default_rng(4)
    top = root / "SEED_Multimodal"
    eeg_dir = top / "02-EEG-DE-feature" / f"eeg_used_{window_seconds}s"
    eye_dir = top / "04-Eye-tracking-feature" / "eye_tracking_feature"
    eeg_dir.mkdir(parents=True, exist_ok=True)
    eye_dir.mkdir(parents=True, exist_ok=True)
    counts = [max(1, n_windows(k, base) // window_seconds) for k in range(1, 16)]
    for subject in subjects:
        if subject not in SEED_EYE_SUBJECTS:
            continue
        for sess in sessions:
            token = str(sess) if names == "index" else SEED_FILES[subject][1][sess - 1]
            eye, eeg, lab = [], [], []
            for k, n in zip(range(1, 16), counts):
                block = rng.standard_normal((n, SEED_EYE_FEATURES))
                block[:, 0] = k
                block[:, 1] = np.arange(n)
                block[:, 2] = sess
                eye.append(block)
                eeg.append(_feature(rng, k, (n, N_CHANS, 5)))
                lab.append(np.full(n, SEED_LABELS[k - 1]))
            parts, eeg_npz = {}, {}
            for part, sl in (("train", slice(0, 9)), ("test", slice(9, 15))):
                arr = np.concatenate(eye[sl])
                if part == "test" and extra_windows:
                    arr = np.concatenate([arr, rng.standard_normal((extra_windows, arr.shape[1]))])
                parts[f"{part}_data_eye"] = arr.T if transpose else arr
                de = np.concatenate(eeg[sl])
                bands = {b: de[:, :, i] for i, b in enumerate(SEED_BANDS)}
                eeg_npz[f"{part}_data"] = _pickled(bands)
                eeg_npz[f"{part}_label"] = np.concatenate(lab[sl])
            np.savez(eeg_dir / f"{subject}_{token}.npz", **eeg_npz)
            with open(eye_dir / f"{subject}_{token}", "wb") as f:
                pickle.dump(parts, f)
    return root


# ------------------------------------------------------------- SEED-IV ----
def write_seed_iv(root, subjects=(1, 2), base=3, eye_offset=0, raw=True):
    """SEED-IV: ``eeg_raw_data/``, ``eeg_feature_smooth/``, ``eye_feature_smooth/``
    each with session folders ``1``, ``2``, ``3`` of ``<subj>_<date>.mat``.

    ``eye_offset`` adds that many windows to every eye-feature trial (to test
    misaligned modalities). ``raw=False`` leaves the ``eeg_raw_data`` session
    folders empty (feature-only trees, much smaller)."""
    root = Path(root)
    write_raw = raw
    rng = np.random.default_rng(1)
    for sess in (1, 2, 3):
        for sub in ("eeg_raw_data", "eeg_feature_smooth", "eye_feature_smooth"):
            (root / sub / str(sess)).mkdir(parents=True, exist_ok=True)
    (root / "eye_raw_data").mkdir(exist_ok=True)
    (root / "ReadMe.txt").write_text("SEED-IV\n")
    for subject in subjects:
        initials, dates = SEEDIV_FILES[subject]
        for sess, date in zip((1, 2, 3), dates):
            name = f"{subject}_{date}.mat"
            raw, feat, eye = {}, {}, {}
            for k in range(1, 25):
                n = n_windows(k, base)
                if write_raw:
                    raw[f"{initials}_eeg{k}"] = rng.standard_normal((N_CHANS, 200 * n))
                for ftype in ("de", "psd"):
                    for smooth in ("movingAve", "LDS"):
                        feat[f"{ftype}_{smooth}{k}"] = _feature(rng, k, (N_CHANS, n, 5))
                eye[f"eye_{k}"] = rng.standard_normal((31, n + eye_offset))
            if write_raw:
                scipy.io.savemat(root / "eeg_raw_data" / str(sess) / name, raw)
            scipy.io.savemat(root / "eeg_feature_smooth" / str(sess) / name, feat)
            scipy.io.savemat(root / "eye_feature_smooth" / str(sess) / name, eye)
    return root


# -------------------------------------------------------------- SEED-V ----
def _pickled(obj):
    return np.array(pickle.dumps(obj, protocol=2))


def write_seed_v(root, subjects=(1,), base=3, cnt=True, cnt_sfreq=5):
    """SEED-V: ``EEG_DE_features/<subj>_123.npz`` and
    ``Eye_movement_features/<subj>_123.npz`` (keys ``data``/``label``, each a
    pickled dict in a 0-d bytes array; dict keys 0..44), and
    ``EEG_raw/<subj>_<session>_<date>.cnt`` (66 NeuroScan channels).

    The CNT files are written at ``cnt_sfreq`` Hz instead of 1000 Hz so that
    the full ~56-minute recordings stay small."""
    root = Path(root)
    rng = np.random.default_rng(2)
    for sub in ("EEG_DE_features", "Eye_movement_features", "EEG_raw"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for subject in subjects:
        data, label, eye, eye_label = {}, {}, {}, {}
        for sess in range(3):
            for t in range(15):
                k = 15 * sess + t
                n = n_windows(t, base)
                de = _feature(rng, t, (n, N_CHANS, 5)).reshape(n, N_CHANS * 5)
                data[k] = de
                label[k] = np.full(n, SEEDV_LABELS[sess][t], dtype=np.float64)
                eye[k] = rng.standard_normal((n, 33))
                eye_label[k] = label[k].copy()
        np.savez(
            root / "EEG_DE_features" / f"{subject}_123.npz",
            data=_pickled(data),
            label=_pickled(label),
        )
        np.savez(
            root / "Eye_movement_features" / f"{subject}_123.npz",
            data=_pickled(eye),
            label=_pickled(eye_label),
        )
        if cnt:
            for sess, date in zip((1, 2, 3), SEEDV_DATES[subject]):
                write_cnt(
                    root / "EEG_raw" / f"{subject}_{sess}_{date}.cnt",
                    n_seconds=3400,
                    sfreq=cnt_sfreq,
                    seed=subject * 10 + sess,
                )
    return root


SEEDV_CNT_CHANNELS = [
    "FP1", "FPZ", "FP2", "AF3", "AF4", "F7", "F5", "F3", "F1", "FZ", "F2", "F4",
    "F6", "F8", "FT7", "FC5", "FC3", "FC1", "FCZ", "FC2", "FC4", "FC6", "FT8",
    "T7", "C5", "C3", "C1", "CZ", "C2", "C4", "C6", "T8", "M1", "TP7", "CP5",
    "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6", "TP8", "M2", "P7", "P5", "P3",
    "P1", "PZ", "P2", "P4", "P6", "P8", "PO7", "PO5", "PO3", "POZ", "PO4",
    "PO6", "PO8", "CB1", "O1", "OZ", "O2", "CB2", "HEO", "VEO",
]  # fmt: skip


def write_cnt(path, n_seconds, sfreq, ch_names=SEEDV_CNT_CHANNELS, seed=0):
    """A minimal NeuroScan 4.x ``.cnt``: 900-byte SETUP header, one 75-byte
    ELECTLOC record per channel, int16 samples multiplexed by channel, and an
    empty event table (type 1)."""
    rng = np.random.default_rng(seed)
    n_ch, n_samp = len(ch_names), int(n_seconds * sfreq)
    header = bytearray(900)
    header[0:12] = b"Version 3.0\x00"
    header[225:235] = b"10/11/18\x00\x00"
    header[235:247] = b"12:00:00\x00\x00\x00\x00"
    struct.pack_into("<H", header, 370, n_ch)
    struct.pack_into("<H", header, 376, int(sfreq))
    struct.pack_into("<i", header, 864, n_samp)
    data_start = 900 + 75 * n_ch
    event_pos = data_start + 2 * n_ch * n_samp
    struct.pack_into("<i", header, 886, event_pos)
    struct.pack_into("<f", header, 890, 0.0)
    struct.pack_into("<i", header, 894, 0)
    records = bytearray()
    for i, name in enumerate(ch_names):
        rec = bytearray(75)
        angle = 2 * np.pi * i / n_ch
        struct.pack_into("<ff", rec, 19, 100 + 50 * np.cos(angle), 100 + 50 * np.sin(angle))
        rec[0:10] = name.encode().ljust(10, b"\x00")[:10]
        struct.pack_into("<h", rec, 47, 0)  # baseline
        struct.pack_into("<f", rec, 59, 204.8)  # sensitivity
        struct.pack_into("<f", rec, 71, 1.0)  # calibration
        records += rec
    samples = rng.integers(-500, 500, size=(n_samp, n_ch), dtype=np.int16)
    teeg = struct.pack("<bii", 1, 0, 0)
    with open(path, "wb") as f:
        f.write(bytes(header) + bytes(records) + samples.tobytes() + teeg)
    return path


# ------------------------------------------------------------ SEED-VII ----
def _savemat_v73(path, arrays):
    """MATLAB v7.3 file (HDF5 with MATLAB's 512-byte header) of double arrays,
    stored column-major as MATLAB does (the HDF5 shape is reversed)."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, arr in arrays.items():
            dset = f.create_dataset(name, data=np.asarray(arr, dtype=np.float64).T)
            dset.attrs["MATLAB_class"] = np.bytes_("double")
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Oct 10 12:00:00 2022 HDF5 schema 1.00 ."  # noqa: E501
    with open(path, "r+b") as f:
        f.write(head.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")
    return path


def write_seed_vii(root, subjects=(1,), base=3, eye=True):
    """SEED-VII: ``EEG_features/<subj>.mat`` (``de_LDS_<k>``, ``de_<k>``,
    ``psd_LDS_<k>``, ``psd_<k>``, each ``(n, 5, 62)``), ``EEG_preprocessed/<subj>.mat``
    (v7.3, variables ``'1'``..``'80'`` of shape ``(62, T)``) and
    ``EYE_features/<subj>.mat`` (``'1'``..``'80'``, ``(n, 33)`` — a guess, the
    real contents are undocumented)."""
    root = Path(root)
    rng = np.random.default_rng(3)
    for sub in ("EEG_features", "EEG_preprocessed", "EYE_features", "EEG_raw"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for subject in subjects:
        feats, pre, eyes = {}, {}, {}
        for k in range(1, 81):
            n = n_windows(k, base)
            for name in (f"de_LDS_{k}", f"de_{k}", f"psd_LDS_{k}", f"psd_{k}"):
                feats[name] = _feature(rng, k, (n, 5, N_CHANS))
            pre[str(k)] = rng.standard_normal((N_CHANS, 200 * n))
            eyes[str(k)] = rng.standard_normal((n, 33))
        scipy.io.savemat(root / "EEG_features" / f"{subject}.mat", feats)
        _savemat_v73(root / "EEG_preprocessed" / f"{subject}.mat", pre)
        if eye:
            _savemat_v73(root / "EYE_features" / f"{subject}.mat", eyes)
    return root
