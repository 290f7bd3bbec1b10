"""Writers of small DEAP and DREAMER files in the official layouts.

Written independently of the loaders of ``braindecode_m2s.datasets``: DEAP
``.dat`` files are Python-2-style pickles (protocol 2, numpy globals under
``numpy.core.multiarray``, array bytes as latin-1 ``str``), MATLAB files are
written with :func:`scipy.io.savemat` (v5) or with h5py in MATLAB's v7.3
layout (512-byte header, ``MATLAB_class`` attributes, cell arrays and struct
arrays as object references into ``#refs#``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import scipy.io

DEAP_SFREQ = 128
DEAP_N_CHANNELS = 40
DEAP_N_SAMPLES = 8064  # 63 s at 128 Hz, first 3 s baseline

DREAMER_EEG_SFREQ = 128
DREAMER_ECG_SFREQ = 256
DREAMER_ELECTRODES = [
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
]


# --------------------------------------------------------------------------
# Python-2-style pickles
# --------------------------------------------------------------------------


def _py2_array_pickle(array):
    """Protocol-2 pickle opcodes of ``array`` as Python 2's cPickle wrote them.

    Python 2 pickled ``numpy.ndarray`` with ``numpy.core.multiarray._reconstruct``
    and stored the raw buffer as a (latin-1 decodable) ``str`` with
    ``BINSTRING``; that is what ``encoding="latin1"`` exists for.
    """
    array = np.ascontiguousarray(array)
    dt = array.dtype
    assert dt.byteorder in "<=|" and dt.kind in "fiu"
    out = bytearray()

    def binstring(b):
        out.extend(b"T" + len(b).to_bytes(4, "little") + b)

    def short(s):
        b = s.encode("ascii")
        out.extend(b"U" + bytes([len(b)]) + b)

    def int_(n):
        out.extend(b"J" + int(n).to_bytes(4, "little", signed=True))

    out += b"cnumpy.core.multiarray\n_reconstruct\n"
    out += b"cnumpy\nndarray\n"
    out += b"K\x00\x85"  # (0,) shape tuple
    short("b")
    out += b"\x87R("  # TUPLE3, REDUCE, MARK for __setstate__ tuple
    int_(1)
    out += b"("
    for n in array.shape:
        int_(n)
    out += b"t"
    out += b"cnumpy\ndtype\n("
    short(f"{dt.kind}{dt.itemsize}")
    out += b"K\x00K\x01tR("  # dtype(str, 0, 1)
    int_(3)
    short("<" if dt.itemsize > 1 else "|")
    out += b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"  # dtype state, BUILD
    out += b"\x89"  # NEWFALSE: C order
    binstring(array.tobytes())
    out += b"tb"  # array state tuple, BUILD
    return bytes(out)


def py2_pickle_dict(arrays):
    """A Python-2-style protocol-2 pickle of a dict of str -> numpy array."""
    out = bytearray(b"\x80\x02}(")
    for key, value in arrays.items():
        b = key.encode("ascii")
        out += b"U" + bytes([len(b)]) + b
        out += _py2_array_pickle(value)
    out += b"u."
    return bytes(out)


# --------------------------------------------------------------------------
# MATLAB v7.3 (HDF5) writer
# --------------------------------------------------------------------------


class _Mat73Writer:
    def __init__(self, f):
        self.f = f
        self.refs = f.require_group("#refs#")
        self.count = 0

    def _ref_name(self):
        self.count += 1
        return f"r{self.count}"

    def put(self, parent, name, value):
        """Write ``value`` as MATLAB would under ``parent[name]``."""
        import h5py

        if isinstance(value, dict):
            group = parent.create_group(name)
            group.attrs["MATLAB_class"] = np.bytes_("struct")
            for key, item in value.items():
                self.put(group, key, item)
            return group
        if isinstance(value, StructArray):
            group = parent.create_group(name)
            group.attrs["MATLAB_class"] = np.bytes_("struct")
            for field in value.fields:
                refs = np.empty(value.shape[::-1], dtype=h5py.ref_dtype)
                for index in np.ndindex(value.shape):
                    target = self.put(self.refs, self._ref_name(), value.items[index][field])
                    refs[index[::-1]] = target.ref
                group.create_dataset(field, data=refs)
            return group
        if isinstance(value, str):
            codes = np.array([[ord(c) for c in value]], dtype=np.uint16).T
            ds = parent.create_dataset(name, data=codes)
            ds.attrs["MATLAB_class"] = np.bytes_("char")
            ds.attrs["MATLAB_int_decode"] = np.int32(2)
            return ds
        value = np.asarray(value)
        if value.dtype == object:  # cell array
            refs = np.empty(value.shape[::-1], dtype=h5py.ref_dtype)
            for index in np.ndindex(value.shape):
                target = self.put(self.refs, self._ref_name(), value[index])
                refs[index[::-1]] = target.ref
            ds = parent.create_dataset(name, data=refs)
            ds.attrs["MATLAB_class"] = np.bytes_("cell")
            return ds
        if value.ndim < 2:
            value = value.reshape(1, -1) if value.ndim == 1 else value.reshape(1, 1)
        cls = {
            "f8": "double",
            "f4": "single",
            "u1": "uint8",
            "u2": "uint16",
            "i4": "int32",
            "i8": "int64",
            "b1": "logical",
            "i2": "int16",
        }[value.dtype.str[1:]]
        data = value.T.astype(np.uint8) if cls == "logical" else value.T
        ds = parent.create_dataset(name, data=np.ascontiguousarray(data))
        ds.attrs["MATLAB_class"] = np.bytes_(cls)
        return ds


class StructArray:
    """A MATLAB struct array for :func:`write_mat73` (elements are dicts)."""

    def __init__(self, items):
        self.items = np.empty(np.shape(items)[:2], dtype=object)
        for index in np.ndindex(self.items.shape):
            self.items[index] = items[index[0]][index[1]]
        self.shape = self.items.shape
        self.fields = list(self.items.flat[0].keys())


def write_mat73(path, variables):
    """Write ``variables`` to ``path`` in MATLAB's v7.3 (HDF5) layout.

    ``dict`` values become scalar structs, :class:`StructArray` struct arrays,
    object arrays cell arrays, ``str`` char arrays; numeric arrays are stored
    transposed (HDF5 is row-major, MATLAB column-major).
    """
    import h5py

    path = Path(path)
    with h5py.File(path, "w", userblock_size=512) as f:
        writer = _Mat73Writer(f)
        for name, value in variables.items():
            writer.put(f, name, value)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."  # noqa: E501
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as f:
        f.write(header.ljust(512, b"\x00"))
    return path


# --------------------------------------------------------------------------
# DEAP
# --------------------------------------------------------------------------


def deap_subject_arrays(subject, n_trials=2, n_samples=DEAP_N_SAMPLES, seed=0):
    """Seeded ``data`` (n_trials, 40, n_samples) float64 and ``labels`` (n_trials, 4)."""
    rng = np.random.default_rng([seed, subject])
    data = rng.standard_normal((n_trials, DEAP_N_CHANNELS, n_samples)) * 10.0
    labels = rng.uniform(1.0, 9.0, size=(n_trials, 4)).round(2)
    return data, labels


def write_deap(root, subjects=(1, 2), n_trials=2, fmt="python", seed=0, data=None, labels=None):
    """Write DEAP preprocessed files for ``subjects`` under ``root``.

    ``fmt``: ``"python"`` (``data_preprocessed_python/sXX.dat``, Python-2
    pickle), ``"python3"`` (same folder, ``pickle.dumps(protocol=2)`` of a
    modern numpy), ``"mat"`` (``data_preprocessed_matlab/sXX.mat``, v5) or
    ``"mat73"`` (same, v7.3). Returns {subject: (data, labels)}.
    """
    root = Path(root)
    folder = root / (
        "data_preprocessed_python" if fmt.startswith("python") else "data_preprocessed_matlab"
    )
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for subject in subjects:
        if data is None:
            d, lab = deap_subject_arrays(subject, n_trials=n_trials, seed=seed)
        else:
            d, lab = data, labels
        name = f"s{subject:02d}"
        if fmt == "python":
            (folder / f"{name}.dat").write_bytes(py2_pickle_dict({"labels": lab, "data": d}))
        elif fmt == "python3":
            (folder / f"{name}.dat").write_bytes(
                pickle.dumps({"labels": lab, "data": d}, protocol=2)
            )
        elif fmt == "mat":
            scipy.io.savemat(folder / f"{name}.mat", {"data": d, "labels": lab})
        elif fmt == "mat73":
            write_mat73(folder / f"{name}.mat", {"data": d, "labels": lab})
        else:
            raise ValueError(fmt)
        written[subject] = (d, lab)
    return written


# --------------------------------------------------------------------------
# DREAMER
# --------------------------------------------------------------------------


def dreamer_arrays(n_subjects=2, n_videos=18, stim_seconds=(10, 12), baseline_seconds=4, seed=0):
    """Seeded DREAMER contents: a list of per-subject dicts."""
    rng = np.random.default_rng(seed)
    subjects = []
    for s in range(n_subjects):
        eeg_base, eeg_stim, ecg_base, ecg_stim = [], [], [], []
        for v in range(n_videos):
            secs = stim_seconds[v % len(stim_seconds)]
            eeg_base.append(4000 + rng.standard_normal((baseline_seconds * 128, 14)) * 5)
            eeg_stim.append(4000 + rng.standard_normal((secs * 128, 14)) * 5)
            ecg_base.append(2000 + rng.standard_normal((baseline_seconds * 256, 2)) * 20)
            ecg_stim.append(2000 + rng.standard_normal((secs * 256, 2)) * 20)
        subjects.append(
            {
                "Age": float(20 + s),
                "Gender": "male" if s % 2 == 0 else "female",
                "eeg_baseline": eeg_base,
                "eeg_stimuli": eeg_stim,
                "ecg_baseline": ecg_base,
                "ecg_stimuli": ecg_stim,
                "ScoreValence": rng.integers(1, 6, size=(n_videos, 1)).astype(float),
                "ScoreArousal": rng.integers(1, 6, size=(n_videos, 1)).astype(float),
                "ScoreDominance": rng.integers(1, 6, size=(n_videos, 1)).astype(float),
            }
        )
    return subjects


def _cell_column(arrays):
    cell = np.empty((len(arrays), 1), dtype=object)
    for i, a in enumerate(arrays):
        cell[i, 0] = a
    return cell


def write_dreamer(root, subjects=None, fmt="mat", **kwargs):
    """Write ``DREAMER.mat`` under ``root`` in the official struct layout.

    ``DREAMER`` is a 1×1 struct with fields ``Data`` (1×n struct array of
    ``Age``, ``Gender``, ``EEG``, ``ECG``, ``ScoreValence``, ``ScoreArousal``,
    ``ScoreDominance``; ``EEG``/``ECG`` structs of ``baseline`` and
    ``stimuli``, 18×1 cells of samples × channels), ``EEG_SamplingRate``,
    ``ECG_SamplingRate``, ``EEG_Electrodes`` (1×14 cell), ``noOfSubjects``,
    ``noOfVideoSequences``, ``Disclaimer``, ``Provider``, ``Version``,
    ``Acknowledgement``. Returns the per-subject contents.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if subjects is None:
        subjects = dreamer_arrays(**kwargs)
    electrodes = np.empty((1, 14), dtype=object)
    for i, name in enumerate(DREAMER_ELECTRODES):
        electrodes[0, i] = name
    n_videos = len(subjects[0]["eeg_stimuli"])
    records = []
    for s in subjects:
        records.append(
            {
                "Age": np.array([[s["Age"]]]),
                "Gender": s["Gender"],
                "EEG": {
                    "baseline": _cell_column(s["eeg_baseline"]),
                    "stimuli": _cell_column(s["eeg_stimuli"]),
                },
                "ECG": {
                    "baseline": _cell_column(s["ecg_baseline"]),
                    "stimuli": _cell_column(s["ecg_stimuli"]),
                },
                "ScoreValence": s["ScoreValence"],
                "ScoreArousal": s["ScoreArousal"],
                "ScoreDominance": s["ScoreDominance"],
            }
        )
    top = {
        "EEG_SamplingRate": np.array([[DREAMER_EEG_SFREQ]], dtype=float),
        "ECG_SamplingRate": np.array([[DREAMER_ECG_SFREQ]], dtype=float),
        "EEG_Electrodes": electrodes,
        "noOfSubjects": np.array([[len(subjects)]], dtype=float),
        "noOfVideoSequences": np.array([[n_videos]], dtype=float),
        "Disclaimer": "test fixture",
        "Provider": "test fixture",
        "Version": "1.0.2",
        "Acknowledgement": "test fixture",
    }
    path = root / "DREAMER.mat"
    if fmt == "mat":
        # scipy writes a 1×n struct array from a structured array:
        fields = list(records[0].keys())
        struct = np.empty((1, len(records)), dtype=[(f, object) for f in fields])
        for i, r in enumerate(records):
            for f in fields:
                struct[0, i][f] = r[f]
        top_struct = {"Data": struct, **top}
        scipy.io.savemat(path, {"DREAMER": top_struct})
    elif fmt == "mat73":
        write_mat73(path, {"DREAMER": {"Data": StructArray([records]), **top}})
    else:
        raise ValueError(fmt)
    return subjects
