"""SEED-VII reader on tiny files in the official layout (v5 and v7.3 .mat)."""

import shutil

import numpy as np
import pytest
import scipy.io

from braindecode_m2s.datasets import SEEDVII
from braindecode_m2s.datasets.fixtures import layout_seed as L
from braindecode_m2s.datasets.seed_vii import SEEDVII_CLASSES


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return L.write_seed_vii(tmp_path_factory.mktemp("seedvii"), subjects=(1,))


def test_labels_follow_official_order():
    names = [n.lower() for n in L.seedvii_trial_names()]
    assert SEEDVII.labels() == [SEEDVII_CLASSES[n] for n in names]
    counts = np.bincount(SEEDVII.labels(), minlength=7)
    assert counts[SEEDVII_CLASSES["neutral"]] == 8 and sorted(counts)[1:] == [12] * 6


def test_trial_features(root):
    ds = SEEDVII(path=root, cache_dir=False)
    trials = ds.get_trial_features(1)
    assert len(trials) == 80 and [t.session for t in trials[::20]] == ["0", "1", "2", "3"]
    x = trials[21].modalities["x"]
    want = scipy.io.loadmat(root / "EEG_features" / "1.mat")["de_LDS_22"]  # (n, 5, 62)
    np.testing.assert_allclose(x, want.transpose(2, 0, 1).astype(np.float32))
    assert trials[21].modalities["eye"].shape == (33, want.shape[0])
    raw_de = ds.get_trial_features(1, smoothing=None, modalities=["x"])
    assert not np.allclose(raw_de[0].modalities["x"], trials[0].modalities["x"])
    with pytest.raises(ValueError, match="no variable matching"):
        ds.get_trial_features(1, smoothing="movingAve")


def test_eye_missing_or_unreadable(root, tmp_path):
    dst = tmp_path / "r"
    shutil.copytree(root, dst)
    (dst / "EYE_features" / "1.mat").unlink()
    with pytest.warns(UserWarning, match="EEG only"):
        trials = SEEDVII(path=dst, cache_dir=False).get_trial_features(1)
    assert set(trials[0].modalities) == {"x"}
    with pytest.raises(FileNotFoundError, match="EYE_features"):
        SEEDVII(path=dst, cache_dir=False).get_trial_features(1, modalities=["x", "eye"])
    scipy.io.savemat(dst / "EYE_features" / "1.mat", {"info": np.zeros((2, 2))})
    with pytest.warns(UserWarning, match="no 2-D variables"):
        trials = SEEDVII(path=dst, cache_dir=False).get_trial_features(1)
    assert set(trials[0].modalities) == {"x"}


def test_get_data_v73(root):
    data = SEEDVII(path=root, cache_dir=False).get_data([1])
    assert list(data[1]) == ["0", "1", "2", "3"]
    raw = data[1]["3"]["0"]
    desc = [d for d in raw.annotations.description if "boundary" not in d]
    assert desc == [n.lower() for n in L.seedvii_trial_names()[60:]]
    assert raw.n_times == sum(200 * L.n_windows(k) for k in range(61, 81))
