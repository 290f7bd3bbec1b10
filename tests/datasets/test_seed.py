"""SEED reader on tiny files in the older and newer official layouts."""

import shutil

import numpy as np
import pytest
import scipy.io

from braindecode_m2s.datasets import SEED
from braindecode_m2s.datasets.fixtures import layout_seed as L


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


# ------------------------------------------------- eye movements (SEED_Multimodal) ----
@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """Newer layout, subjects 1 (eye) and 6 (no eye), 1-s and 4-s features."""
    root = tmp_path_factory.mktemp("seed_multi")
    L.write_seed(root, subjects=(1, 6), layout="new", window_seconds=(1, 4))
    return L.write_seed_multimodal(root, subjects=(1, 6))


def _eye_dir(root):
    return root / "SEED_Multimodal" / "04-Eye-tracking-feature" / "eye_tracking_feature"


def _check_eye_aligned(trials, n_feat=L.SEED_EYE_FEATURES):
    assert len(trials) == 45
    for tr in trials:
        eye, x = tr.modalities["eye"], tr.modalities["x"]
        assert eye.dtype == np.float32 and eye.shape == (n_feat, x.shape[1])
        np.testing.assert_array_equal(eye[0], tr.trial + 1)  # trial number
        np.testing.assert_array_equal(eye[1], np.arange(x.shape[1]))  # window index
        np.testing.assert_array_equal(eye[2], int(tr.session) + 1)  # session
        assert tr.n_windows == x.shape[1]


def test_eye_returned_and_aligned(multi, tmp_path):
    ds = SEED(path=multi, cache_dir=tmp_path / "cache")
    assert set(ds.MODALITIES) == {"x", "eye"}
    trials = ds.get_trial_features(1)
    _check_eye_aligned(trials)
    assert [tr.modalities["eye"].shape[1] for tr in trials[:15]] == [
        L.n_windows(k) for k in range(1, 16)
    ]
    again = ds.get_trial_features(1, modalities=("x", "eye"))  # from the cache
    np.testing.assert_array_equal(again[20].modalities["eye"], trials[20].modalities["eye"])
    only = ds.get_trial_features(1, modalities="eye")
    assert set(only[0].modalities) == {"eye"}


def test_eye_transposed_and_date_named(tmp_path):
    root = L.write_seed(tmp_path / "r", subjects=(1,), layout="new", window_seconds=(1,))
    L.write_seed_multimodal(root, subjects=(1,), names="date", transpose=True)
    assert (_eye_dir(root) / "1_20131030").is_file()
    _check_eye_aligned(SEED(path=root, cache_dir=False).get_trial_features(1))


def test_eye_4s_windows(tmp_path):
    root = L.write_seed(tmp_path / "r", subjects=(1,), layout="new", window_seconds=(1, 4), base=8)
    L.write_seed_multimodal(root, subjects=(1,), window_seconds=4, base=8)
    _check_eye_aligned(SEED(path=root, cache_dir=False, window_seconds=4).get_trial_features(1))
    # the same eye file does not fit the 1-s EEG windows: refused, not guessed
    with pytest.raises(ValueError, match="train_data_eye.*1_1"):
        SEED(path=root, cache_dir=False, window_seconds=1).get_trial_features(1)


def test_subjects_without_eye(multi, old):
    trials = SEED(path=multi, cache_dir=False).get_trial_features(6)
    assert len(trials) == 45 and set(trials[0].modalities) == {"x"}
    with pytest.raises(FileNotFoundError, match=r"6_1"):
        SEED(path=multi, cache_dir=False).get_trial_features(6, modalities=("x", "eye"))
    # older download: no SEED_Multimodal folder
    assert set(SEED(path=old, cache_dir=False).get_trial_features(1)[0].modalities) == {"x"}
    with pytest.raises(FileNotFoundError, match="SEED_Multimodal"):
        SEED(path=old, cache_dir=False).get_trial_features(1, modalities=("x", "eye"))


def test_eye_missing_session_file(tmp_path):
    root = L.write_seed(tmp_path / "r", subjects=(1,), layout="new", window_seconds=(1,))
    L.write_seed_multimodal(root, subjects=(1,), sessions=(1, 3))
    with pytest.warns(UserWarning, match=r"session\(s\) \[2\]"):
        trials = SEED(path=root, cache_dir=False).get_trial_features(1)
    assert [("eye" in tr.modalities) for tr in trials[::15]] == [True, False, True]
    with pytest.raises(FileNotFoundError, match="1_2"):
        SEED(path=root, cache_dir=False).get_trial_features(1, modalities=("x", "eye"))


def test_eye_mismatched_totals(tmp_path):
    root = L.write_seed(tmp_path / "r", subjects=(1,), layout="new", window_seconds=(1,))
    L.write_seed_multimodal(root, subjects=(1,), extra_windows=1)
    total = sum(L.n_windows(k) for k in range(10, 16))
    with pytest.raises(ValueError, match=rf"test_data_eye.*1_1.*n_windows = {total}"):
        SEED(path=root, cache_dir=False).get_trial_features(1)


class _Evil:
    def __reduce__(self):
        return (exec, ("import builtins; builtins._seed_eye_pwned = True",))


def test_eye_malicious_pickle_refused(tmp_path):
    import builtins
    import pickle

    root = L.write_seed(tmp_path / "r", subjects=(1,), layout="new", window_seconds=(1,))
    L.write_seed_multimodal(root, subjects=(1,))
    (_eye_dir(root) / "1_2").write_bytes(pickle.dumps({"train_data_eye": _Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="Forbidden global"):
        SEED(path=root, cache_dir=False).get_trial_features(1)
    assert not hasattr(builtins, "_seed_eye_pwned")
