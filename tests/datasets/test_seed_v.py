"""SEED-V reader on tiny files in the official layout (npz pickles, CNT)."""

import pickle
import shutil

import numpy as np
import pytest

from braindecode_m2s.datasets import SEEDV
from braindecode_m2s.datasets.fixtures import layout_seed as L


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return L.write_seed_v(tmp_path_factory.mktemp("seedv"), subjects=(1,))


def test_trial_features(root):
    trials = SEEDV(path=root, cache_dir=False).get_trial_features(1)
    assert len(trials) == 45
    for s in range(3):
        assert [t.label for t in trials[15 * s : 15 * (s + 1)]] == L.SEEDV_LABELS[s]
    t = trials[16]
    assert t.session == "1" and t.trial == 1
    assert t.modalities["x"].shape == (62, L.n_windows(1), 5)
    assert t.modalities["eye"].shape == (33, L.n_windows(1))
    # channel-major columns: index = channel * 5 + band
    with np.load(root / "EEG_DE_features" / "1_123.npz") as f:
        flat = pickle.loads(f["data"].item())[16]
    np.testing.assert_allclose(t.modalities["x"][7, :, 3], flat[:, 7 * 5 + 3].astype(np.float32))
    with pytest.raises(ValueError, match="smoothing"):
        SEEDV(path=root, cache_dir=False).get_trial_features(1, smoothing="movingAve")
    assert len(SEEDV(path=root, cache_dir=False).get_trial_features(1, smoothing="LDS")) == 45


def test_get_data_from_cnt(root):
    data = SEEDV(path=root, cache_dir=False).get_data([1])
    raw = data[1]["2"]["0"]
    assert len(raw.ch_names) == 62 and "M1" not in raw.ch_names and "HEO" not in raw.ch_names
    assert raw.ch_names[:2] == ["Fp1", "Fpz"] and raw.ch_names[-1] == "CB2"
    assert raw.info["sfreq"] == 5.0  # read from the header
    ann = raw.annotations
    assert len(ann) == 15
    np.testing.assert_allclose(ann.onset[:3], [30, 353, 478])
    np.testing.assert_allclose(ann.duration[:2], [321 - 30, 418 - 353])
    names = ["disgust", "fear", "sad", "neutral", "happy"]
    assert list(ann.description) == [names[k] for k in L.SEEDV_LABELS[2]]


def test_truncated_cnt_recording(root, tmp_path):
    dst = tmp_path / "r"
    shutil.copytree(root, dst)
    path = next((dst / "EEG_raw").glob("1_1_*.cnt"))
    L.write_cnt(path, n_seconds=100, sfreq=5)
    with pytest.raises(ValueError, match="lasts 100.0 s"):
        SEEDV(path=dst, cache_dir=False).get_data([1])


def test_bad_npz_contents(root, tmp_path):
    dst = tmp_path / "r"
    shutil.copytree(root, dst)
    path = dst / "EEG_DE_features" / "1_123.npz"
    rng = np.random.default_rng(0)
    data = {k: rng.standard_normal((3, 310)) for k in range(45)}
    labels = {k: np.zeros(3) for k in range(45)}
    labels[5] = np.array([0.0, 1.0, 0.0])
    np.savez(path, data=L._pickled(data), label=L._pickled(labels))
    with pytest.raises(ValueError, match="Trial 5 of 'label'.*constant"):
        SEEDV(path=dst, cache_dir=False).get_trial_features(1, modalities=["x"])
    del data[44]
    np.savez(path, data=L._pickled(data), label=L._pickled(labels))
    with pytest.raises(ValueError, match="expected 0..44"):
        SEEDV(path=dst, cache_dir=False).get_trial_features(1, modalities=["x"])
    data[44] = np.zeros((3, 300))
    labels[5] = np.zeros(3)
    np.savez(path, data=L._pickled(data), label=L._pickled(labels))
    with pytest.raises(ValueError, match=r"Trial 44 .*\(n_windows, 310\)"):
        SEEDV(path=dst, cache_dir=False).get_trial_features(1, modalities=["x"])
    path.unlink()
    with pytest.raises(FileNotFoundError, match="1_123.npz"):
        SEEDV(path=dst, cache_dir=False).get_trial_features(1)
