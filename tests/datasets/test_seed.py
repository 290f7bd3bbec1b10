"""SEED reader on tiny files in the older and newer official layouts."""

import shutil

import numpy as np
import pytest
import scipy.io

import layout_seed as L
from braindecode_m2s.datasets import SEED


@pytest.fixture(scope="module")
def old(tmp_path_factory):
    return L.write_seed(tmp_path_factory.mktemp("seed_old"), subjects=(1, 3))


@pytest.fixture(scope="module")
def new(tmp_path_factory):
    return L.write_seed(
        tmp_path_factory.mktemp("seed_new"), subjects=(2,), layout="new", window_seconds=(1, 4)
    )


def test_old_layout_features(old):
    trials = SEED(path=old, cache_dir=False).get_trial_features(3)
    assert len(trials) == 45
    assert [t.label for t in trials[:15]] == [lab + 1 for lab in L.SEED_LABELS]
    assert [t.session for t in trials[::15]] == ["0", "1", "2"]
    assert trials[4].modalities["x"].shape == (62, L.n_windows(5), 5)
    assert set(trials[0].modalities) == {"x"}
    means = [float(t.modalities["x"].mean()) for t in trials[15:30]]
    np.testing.assert_allclose(means, np.arange(1, 16), atol=0.3)
    pairs = SEED(path=old, cache_dir=False).get_trial_features(1, feature="asm")
    assert pairs[0].modalities["x"].shape == (54, L.n_windows(1), 5)


def test_new_layout_and_band_axis_detection(new):
    one = SEED(path=new, cache_dir=False, window_seconds=1).get_trial_features(2)
    four = SEED(path=new, cache_dir=False, window_seconds=4).get_trial_features(2)
    assert one[0].window_seconds == 1.0 and four[0].window_seconds == 4.0
    # 4-s features are stored band-first (62, 5, n): detected and transposed
    path = new / "SEED_EEG" / "ExtractedFeatures_4s" / "2_20140404.mat"
    want = scipy.io.loadmat(path)["de_LDS2"]
    assert want.shape[1] == 5
    np.testing.assert_allclose(four[1].modalities["x"], want.transpose(0, 2, 1).astype(np.float32))
    with pytest.raises(FileNotFoundError, match="ExtractedFeatures_4s"):
        root = new / "SEED_EEG" / "Preprocessed_EEG"  # a folder without features
        SEED(path=root, cache_dir=False, window_seconds=4).get_trial_features(2)
    with pytest.raises(ValueError, match="window_seconds"):
        SEED(path=new, window_seconds=2)


def test_sessions_sorted_by_date(old, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(old, root)
    # a later file name that sorts first alphabetically must still be session 3
    folder = root / "ExtractedFeatures"
    (folder / "1_20131107.mat").rename(folder / "1_20131201.mat")
    trials = SEED(path=root, cache_dir=False).get_trial_features(1)
    want = scipy.io.loadmat(folder / "1_20131201.mat")["de_LDS1"]
    np.testing.assert_allclose(trials[30].modalities["x"], want.astype(np.float32))


def test_get_data_and_labels(old):
    ds = SEED(path=old, cache_dir=False)
    raw = ds.get_data([1])[1]["0"]["0"]
    lengths = [200 * L.n_windows(k) + 1 for k in range(1, 16)]
    assert raw.n_times == sum(lengths) and raw.info["sfreq"] == 200.0
    desc = [d for d in raw.annotations.description if "boundary" not in d]
    names = {0: "negative", 1: "neutral", 2: "positive"}
    assert desc == [names[lab + 1] for lab in L.SEED_LABELS]
    # microvolts in the files -> volts in MNE
    path = old / "Preprocessed_EEG" / "1_20131027.mat"
    first = scipy.io.loadmat(path)["djc_eeg1"]
    np.testing.assert_allclose(raw.get_data()[:, :10], first[:, :10] * 1e-6)


def test_bad_label_file(old, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(old, root)
    scipy.io.savemat(root / "ExtractedFeatures" / "label.mat", {"label": np.ones((1, 14))})
    with pytest.raises(ValueError, match="14 entries; expected 15"):
        SEED(path=root, cache_dir=False).get_trial_features(1)


def test_missing_session_file(old, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(old, root)
    (root / "Preprocessed_EEG" / "3_20140611.mat").unlink()
    with pytest.raises(FileNotFoundError, match="expected 3 file"):
        SEED(path=root, cache_dir=False).get_data([3])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SEED(path=root / "nowhere").get_trial_features(1)
