"""Readers give the right data or a clear error, whatever the file holds.

Each test is a reproducer of the issue: before the fix the reader returned
wrong data silently, or raised an exception type that did not name the file.
"""

import os
import pickle
import warnings

import numpy as np
import pytest

from braindecode_m2s.datasets import DEAP, DREAMER, SEED, SEEDIV, SEEDV, SEEDVII
from braindecode_m2s.datasets.fixtures import layout_physio as P
from braindecode_m2s.datasets.fixtures import layout_seed as L


# -- DEAP -------------------------------------------------------------------
def test_deap_overflowing_gsr_refused(tmp_path):
    data, labels = P.deap_subject_arrays(1)
    data[0, 36, 1000] = 1e40  # one GSR sample: finite in float64, inf in float32
    P.write_deap(tmp_path, subjects=(1,), data=data, labels=labels)
    with pytest.raises(
        ValueError, match=r"Peripheral features of DEAP file .*s01\.dat.*8\.8e\+38"
    ):
        DEAP(path=tmp_path, cache_dir=False).get_trial_features(1, smoothing=None)


def test_deap_same_size_rewrite_not_served_stale(tmp_path):
    P.write_deap(tmp_path / "d", subjects=(1,))
    dataset = DEAP(path=tmp_path / "d", cache_dir=tmp_path / "cache")
    first = dataset.get_trial_features(1, smoothing=None)
    path = tmp_path / "d" / "data_preprocessed_python" / "s01.dat"
    st = path.stat()
    data, labels = P.deap_subject_arrays(1, seed=7)
    path.write_bytes(P.py2_pickle_dict({"labels": labels, "data": data}))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    second = dataset.get_trial_features(1, smoothing=None)
    assert not np.allclose(first[0].modalities["x"], second[0].modalities["x"])
    assert second[0].ratings["valence"] == pytest.approx(labels[0, 0])


@pytest.mark.parametrize(
    "content",
    [
        {"data": "not numbers", "labels": np.ones((2, 4))},
        {"data": [[1.0, 2.0], [3.0]], "labels": np.ones((2, 4))},
        {"data": {"a": 1}, "labels": np.ones((2, 4))},
    ],
)
def test_deap_odd_contents_name_the_file(tmp_path, content):
    folder = tmp_path / "data_preprocessed_python"
    folder.mkdir()
    (folder / "s01.dat").write_bytes(pickle.dumps(content, protocol=2))
    with pytest.raises(ValueError, match=r"Variable 'data' of DEAP file .*s01\.dat"):
        DEAP(path=tmp_path, cache_dir=False).get_trial_features(1)


@pytest.mark.parametrize(
    "payload", [b"", b"\x80\x02", b"garbage" * 10, pickle.dumps({"data": 1})[:-2]]
)
def test_deap_corrupt_pickle_is_value_error(tmp_path, payload):
    folder = tmp_path / "data_preprocessed_python"
    folder.mkdir()
    (folder / "s01.dat").write_bytes(payload)
    with pytest.raises(ValueError, match=r"s01\.dat"):
        DEAP(path=tmp_path, cache_dir=False).get_trial_features(1)


# -- DREAMER ----------------------------------------------------------------
def _dreamer(**kwargs):
    return P.dreamer_arrays(n_subjects=1, stim_seconds=(3,), baseline_seconds=2, seed=1, **kwargs)


def test_dreamer_short_ecg_refused_by_features_as_by_get_data(tmp_path):
    subjects = _dreamer()
    subjects[0]["ecg_stimuli"][3] = subjects[0]["ecg_stimuli"][3][: 256 * 1]  # 1 s of 3
    P.write_dreamer(tmp_path, subjects=subjects)
    for call in (lambda d: d.get_trial_features(1), lambda d: d.get_data([1])):
        with pytest.raises(ValueError, match=r"Trial 4 of DREAMER.*ECG stimuli lasts 1\.0 s"):
            call(DREAMER(path=tmp_path, cache_dir=False))


@pytest.mark.parametrize("sfreq", [0.0, np.inf, 1e9, -128.0, np.nan])
def test_dreamer_sampling_rate_checked(tmp_path, monkeypatch, sfreq):
    monkeypatch.setattr(P, "DREAMER_EEG_SFREQ", sfreq)
    P.write_dreamer(tmp_path, subjects=_dreamer())
    with pytest.raises(ValueError, match=r"EEG_SamplingRate of .*DREAMER\.mat"):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(1)


# -- SEED-IV: the cache key holds the tolerance ------------------------------
def test_seed_iv_cache_respects_window_tolerance(tmp_path):
    root = L.write_seed_iv(tmp_path / "r", subjects=(1,), eye_offset=1)
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning, match="cropping"):
        SEEDIV(path=root, cache_dir=cache, window_tolerance=5).get_trial_features(1)
    with pytest.raises(ValueError, match="differ by more than 0"):
        SEEDIV(path=root, cache_dir=cache, window_tolerance=0).get_trial_features(1)


@pytest.mark.parametrize("cls", [SEEDIV, SEEDV, SEEDVII])
@pytest.mark.parametrize("tolerance", [-1, 1.5, "2", True])
def test_window_tolerance_checked(tmp_path, cls, tolerance):
    with pytest.raises(ValueError, match="window_tolerance"):
        cls(path=tmp_path, window_tolerance=tolerance)


def test_seed_iv_cell_variable_names_file(tmp_path):
    import scipy.io

    root = L.write_seed_iv(tmp_path / "r", subjects=(1,))
    path = next((root / "eye_feature_smooth" / "1").glob("1_*.mat"))
    content = scipy.io.loadmat(path)
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = np.ones((2, 2)), "text"
    content["eye_3"] = cell
    scipy.io.savemat(path, {k: v for k, v in content.items() if not k.startswith("__")})
    with pytest.raises(ValueError, match=rf"Variable 'eye_3' of .*{path.name}"):
        SEEDIV(path=root, cache_dir=False).get_trial_features(1)


# -- SEED-V -----------------------------------------------------------------
def _seed_v_with_label(tmp_path, value):
    root = L.write_seed_v(tmp_path / "r", subjects=(1,), cnt=False)
    path = root / "EEG_DE_features" / "1_123.npz"
    with np.load(path) as f:
        data = f["data"]
        labels = pickle.loads(f["label"].item())
    labels[4] = np.full_like(
        labels[4], value, dtype=object if isinstance(value, str) else np.float64
    )
    np.savez(path, data=data, label=np.array(pickle.dumps(labels, protocol=2)))
    return root, path


@pytest.mark.parametrize(
    "value, where",
    [
        (9, r"Trial 4 of 'label' in .*1_123\.npz.*is 9; expected an integer class"),
        (-3, r"Trial 4 of 'label' in .*1_123\.npz.*is -3"),
        (2.7, r"Trial 4 of 'label' in .*1_123\.npz.*is 2\.7"),
        ("x", r"entry 'label' of NPZ file .*1_123\.npz.*dtype 'O8' is not allowed"),
    ],
)
def test_seed_v_labels_validated(tmp_path, value, where):
    root, path = _seed_v_with_label(tmp_path, value)
    with pytest.raises(ValueError, match=where):
        SEEDV(path=root, cache_dir=False).get_trial_features(1)


def test_seed_v_corrupt_cnt_names_the_file(tmp_path):
    root = L.write_seed_v(tmp_path / "r", subjects=(1,), cnt=True)
    path = next((root / "EEG_raw").glob("1_1_*.cnt"))
    raw = bytearray(path.read_bytes())
    path.write_bytes(bytes(raw[:900]))  # header only, cut inside
    with pytest.raises((ValueError, OSError), match=r"1_1_.*\.cnt"):
        SEEDV(path=root, cache_dir=False).get_data([1])
    raw[370:380] = b"\0" * 10  # zero the header's rate / channel fields
    path.write_bytes(bytes(raw))
    with pytest.raises((ValueError, OSError), match=r"1_1_.*\.cnt"):
        SEEDV(path=root, cache_dir=False).get_data([1])


# -- SEED-VII eye file present but unreadable ----------------------------------
def _make_loop(path):
    os.symlink(path.name + ".b", path)
    os.symlink(path.name, str(path) + ".b")


@pytest.mark.parametrize("kind", ["truncated", "empty", "folder", "fifo", "loop"])
def test_seed_vii_unreadable_eye_file_raises(tmp_path, kind):
    root = L.write_seed_vii(tmp_path / "r", subjects=(1,))
    path = root / "EYE_features" / "1.mat"
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
        if kind == "folder":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            _make_loop(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "returning EEG only" warning
        with pytest.raises((ValueError, OSError), match=r"EYE_features.1\.mat"):
            SEEDVII(path=root, cache_dir=False).get_trial_features(1)


def test_seed_vii_missing_eye_file_still_warns(tmp_path):
    root = L.write_seed_vii(tmp_path / "r", subjects=(1,))
    (root / "EYE_features" / "1.mat").unlink()
    with pytest.warns(UserWarning, match="is missing; returning EEG only"):
        trials = SEEDVII(path=root, cache_dir=False).get_trial_features(1)
    assert "eye" not in trials[0].modalities


# -- SEED eye file: folder / FIFO / loop in its place --------------------------
@pytest.mark.parametrize("kind", ["folder", "fifo", "loop"])
def test_seed_eye_file_not_regular_raises(tmp_path, kind):
    root = L.write_seed(tmp_path / "r", subjects=(1,), layout="new", window_seconds=(1,))
    L.write_seed_multimodal(root, subjects=(1,))
    path = root / "SEED_Multimodal" / "04-Eye-tracking-feature" / "eye_tracking_feature" / "1_2"
    path.unlink()
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        _make_loop(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(OSError, match=r"eye_tracking_feature.1_2"):
            SEED(path=root, cache_dir=False).get_trial_features(1)


def test_dreamer_rewritten_file_not_served_from_memory(tmp_path):
    P.write_dreamer(tmp_path, subjects=_dreamer())
    dataset = DREAMER(path=tmp_path, cache_dir=False)
    first = dataset.get_trial_features(1, smoothing=None)
    path = tmp_path / "DREAMER.mat"
    st = path.stat()
    P.write_dreamer(
        tmp_path,
        subjects=P.dreamer_arrays(n_subjects=1, stim_seconds=(3,), baseline_seconds=2, seed=5),
    )
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    second = dataset.get_trial_features(1, smoothing=None)
    assert not np.allclose(first[0].modalities["x"], second[0].modalities["x"])
