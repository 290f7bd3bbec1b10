"""SEED-IV reader on tiny files written in the official layout."""

import shutil

import mne
import numpy as np
import pytest
import scipy.io

from braindecode_m2s.datasets import SEEDIV
from braindecode_m2s.datasets.base import config_key
from braindecode_m2s.datasets.fixtures import layout_seed as L


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return L.write_seed_iv(tmp_path_factory.mktemp("seediv"), subjects=(1, 2))


def test_trial_features_shapes_labels_order(root):
    trials = SEEDIV(path=root, cache_dir=False).get_trial_features(2)
    assert len(trials) == 72
    assert [t.session for t in trials[::24]] == ["0", "1", "2"]
    for s in range(3):
        labels = [t.label for t in trials[24 * s : 24 * (s + 1)]]
        assert labels == L.SEEDIV_LABELS[s]
    first = trials[0]
    assert first.modalities["x"].shape == (62, L.n_windows(1), 5)
    assert first.modalities["eye"].shape == (31, L.n_windows(1))
    assert first.modalities["x"].dtype == np.float32
    assert first.window_seconds == 4.0
    # the fixture offsets trial k's features by k: trial order is kept
    means = [float(t.modalities["x"].mean()) for t in trials[:24]]
    np.testing.assert_allclose(means, np.arange(1, 25), atol=0.3)


def test_feature_choice_reads_the_named_variable(root):
    ds = SEEDIV(path=root, cache_dir=False)
    path = root / "eeg_feature_smooth" / "1" / "1_20160518.mat"
    want = scipy.io.loadmat(path)["psd_movingAve3"]
    got = ds.get_trial_features(1, feature="psd", smoothing="movingAve")[2]
    np.testing.assert_allclose(got.modalities["x"], want.astype(np.float32))
    eeg_only = ds.get_trial_features(1, modalities=["x"])
    assert set(eeg_only[0].modalities) == {"x"}
    with pytest.raises(ValueError, match="feature"):
        ds.get_trial_features(1, feature="dasm")
    with pytest.raises(ValueError, match="smoothing"):
        ds.get_trial_features(1, smoothing="kalman")
    with pytest.raises(ValueError, match="modalities"):
        ds.get_trial_features(1, modalities=["gsr"])


def test_cache_roundtrip(root, tmp_path):
    ds = SEEDIV(path=root, cache_dir=tmp_path / "cache")
    first = ds.get_trial_features(1)
    assert any((tmp_path / "cache").rglob("*.npz"))
    again = ds.get_trial_features(1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.modalities["x"], b.modalities["x"])
        np.testing.assert_array_equal(a.modalities["eye"], b.modalities["eye"])


def test_cache_entry_follows_the_variables_read(root, tmp_path, monkeypatch):
    from braindecode_m2s.datasets import seed_iv

    root = _copy(root, tmp_path)
    reads = []
    real = seed_iv.load_indexed_variables
    monkeypatch.setattr(
        seed_iv, "load_indexed_variables", lambda *a, **k: reads.append(a[1]) or real(*a, **k)
    )
    ds = SEEDIV(path=root, cache_dir=tmp_path / "cache")
    ds.get_trial_features(1, modalities=["x"])
    assert len(reads) == 3  # one per session file
    path = root / "eeg_feature_smooth" / "1" / "1_20160518.mat"
    data = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    scipy.io.savemat(path, {**data, "psd_LDS1": data["psd_LDS1"] + 1.0})
    ds.get_trial_features(1, modalities=["x"])
    assert len(reads) == 3  # a variable the de_LDS load does not read
    scipy.io.savemat(path, {**data, "de_LDS1": data["de_LDS1"] + 1.0})
    trials = ds.get_trial_features(1, modalities=["x"])
    assert len(reads) == 6
    np.testing.assert_allclose(
        trials[0].modalities["x"], (data["de_LDS1"] + 1.0).astype(np.float32)
    )


def test_get_data_moabb_structure(root):
    ds = SEEDIV(path=root, cache_dir=False, subjects=[1])
    data = ds.get_data([1])
    assert list(data[1]) == ["0", "1", "2"]
    raw = data[1]["1"]["0"]
    assert raw.info["sfreq"] == 200.0
    assert raw.ch_names[0] == "Fp1" and raw.ch_names[-1] == "CB2" and len(raw.ch_names) == 62
    assert set(raw.get_channel_types()) == {"eeg"}
    ann = raw.annotations[~np.isin(raw.annotations.description, ["BAD boundary", "EDGE boundary"])]
    names = {v: k for k, v in {0: "neutral", 1: "sad", 2: "fear", 3: "happy"}.items()}
    assert [names[d] for d in ann.description] == L.SEEDIV_LABELS[1]
    # each trial is annotated over its full length (200 samples per window here)
    np.testing.assert_allclose(ann.duration[:3], [L.n_windows(k) for k in (1, 2, 3)])
    events, event_id = mne.events_from_annotations(raw, event_id=ds.event_id, verbose=False)
    assert len(events) == 24
    pos = raw.get_montage().get_positions()["ch_pos"]
    assert np.all(np.isfinite(pos["Fp1"])) and np.all(np.isfinite(pos["CB1"]))  # approximated


def test_env_var_and_missing_path(root, monkeypatch):
    key = config_key("SEED-IV")
    assert key == "MNE_DATASETS_SEEDIV_PATH"
    monkeypatch.setenv(key, str(root))
    assert len(SEEDIV(cache_dir=False).get_trial_features(1, modalities=["x"])) == 72
    monkeypatch.delenv(key)
    monkeypatch.setattr(mne, "get_config", lambda *a, **k: None)
    with pytest.raises(FileNotFoundError, match="seed-iv.html") as err:
        SEEDIV(cache_dir=False).get_trial_features(1)
    assert "eeg_feature_smooth" in str(err.value)


def _copy(root, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(root, dst)
    return dst


def test_missing_subject_file(root, tmp_path):
    root = _copy(root, tmp_path)
    (root / "eye_feature_smooth" / "2" / "1_20161125.mat").unlink()
    with pytest.raises(FileNotFoundError, match="1_<YYYYMMDD>.mat"):
        SEEDIV(path=root, cache_dir=False).get_trial_features(1)
    with pytest.raises(FileNotFoundError, match="eye_feature_smooth"):
        SEEDIV(path=root, cache_dir=False).data_path(1)
    with pytest.raises(ValueError, match="Invalid subject 16 given; SEED-IV has subjects"):
        SEEDIV(path=root, cache_dir=False).get_trial_features(16)


def test_missing_variable_and_wrong_shape(root, tmp_path):
    root = _copy(root, tmp_path)
    path = root / "eeg_feature_smooth" / "1" / "1_20160518.mat"
    data = scipy.io.loadmat(path)
    data = {k: v for k, v in data.items() if not k.startswith("__") and k != "de_LDS7"}
    scipy.io.savemat(path, data)
    with pytest.raises(ValueError, match=r"missing \[7\]"):
        SEEDIV(path=root, cache_dir=False).get_trial_features(1)
    data["de_LDS7"] = np.zeros((60, 3, 5))
    scipy.io.savemat(path, data)
    with pytest.raises(ValueError, match="de_LDS7.*shape"):
        SEEDIV(path=root, cache_dir=False).get_trial_features(1)


def test_truncated_file(root, tmp_path):
    root = _copy(root, tmp_path)
    path = root / "eeg_feature_smooth" / "3" / "2_20151012.mat"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ValueError, match="2_20151012.mat"):
        SEEDIV(path=root, cache_dir=False).get_trial_features(2)


def test_eye_window_mismatch(tmp_path):
    small = L.write_seed_iv(tmp_path / "small", subjects=(1,), eye_offset=1)
    with pytest.warns(UserWarning, match="cropping"):
        trials = SEEDIV(path=small, cache_dir=False).get_trial_features(1)
    assert trials[0].modalities["eye"].shape[1] == trials[0].modalities["x"].shape[1]
    big = L.write_seed_iv(tmp_path / "big", subjects=(1,), eye_offset=5)
    with pytest.raises(ValueError, match="Trial 1 of .*windows"):
        SEEDIV(path=big, cache_dir=False).get_trial_features(1)
