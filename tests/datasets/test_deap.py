"""Tests of the DEAP reader on small files written in the official layout."""

import os
import pickle

import numpy as np
import pytest

from braindecode_m2s.datasets.deap import DEAP
from braindecode_m2s.datasets.fixtures.layout_physio import (
    deap_subject_arrays,
    py2_pickle_dict,
    write_deap,
)
from braindecode_m2s.features import DifferentialEntropy, LinearDynamicalSystem


@pytest.fixture
def deap_root(tmp_path):
    root = tmp_path / "deap"
    written = write_deap(root, subjects=(1, 2), n_trials=2, fmt="python")
    return root, written


def test_trial_features_shapes_labels_and_values(deap_root, tmp_path):
    root, written = deap_root
    data, labels = written[1]
    ds = DEAP(path=root, cache_dir=False)
    trials = ds.get_trial_features(1, smoothing=None)
    assert [t.trial for t in trials] == [0, 1] and {t.session for t in trials} == {"0"}
    for t, trial in enumerate(trials):
        assert trial.modalities["x"].shape == (32, 60, 5)
        assert trial.modalities["peripheral"].shape == (40, 60)
        assert trial.n_windows == 60 and trial.window_seconds == 1.0
        assert trial.ratings == pytest.approx(
            dict(zip(["valence", "arousal", "dominance", "liking"], labels[t]))
        )
        assert trial.label == int(labels[t, 0] >= 5.0)
    # EEG: DE of the 60 s after the 3-s baseline
    expected = DifferentialEntropy(sfreq=128, window_seconds=1.0).transform(data[:, :32, 384:])
    np.testing.assert_allclose(trials[1].modalities["x"], expected[1], rtol=1e-5)
    # peripheral rows: channel-major [mean, std, DE x3] per 1-s window
    heog = data[0, 32, 384:].reshape(60, 128)
    np.testing.assert_allclose(
        trials[0].modalities["peripheral"][0], heog.mean(1), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(trials[0].modalities["peripheral"][1], heog.std(1), rtol=1e-5)
    temp = data[0, 39, 384:].reshape(60, 128)
    np.testing.assert_allclose(
        trials[0].modalities["peripheral"][35], temp.mean(1), rtol=1e-4, atol=1e-4
    )
    # LDS smoothing is applied per trial along the windows
    smoothed = DEAP(path=root, cache_dir=False).get_trial_features(1, smoothing="LDS")
    np.testing.assert_allclose(
        smoothed[0].modalities["x"], LinearDynamicalSystem().transform(expected[:1])[0], rtol=1e-4
    )


def test_baseline_is_excluded_or_subtracted(deap_root, tmp_path):
    root, written = deap_root
    data, labels = written[1]
    changed = data.copy()
    changed[:, :, :384] *= 7.0
    other = tmp_path / "other"
    write_deap(other, subjects=(1,), data=changed, labels=labels)
    a = DEAP(path=root, cache_dir=False).get_trial_features(1, smoothing=None)
    b = DEAP(path=other, cache_dir=False).get_trial_features(1, smoothing=None)
    np.testing.assert_allclose(a[0].modalities["x"], b[0].modalities["x"])
    ca = DEAP(path=root, cache_dir=False, baseline_correction=True).get_trial_features(
        1, smoothing=None
    )
    cb = DEAP(path=other, cache_dir=False, baseline_correction=True).get_trial_features(
        1, smoothing=None
    )
    # scaling the baseline by 7 lowers every corrected DE by log(7)
    np.testing.assert_allclose(
        ca[0].modalities["x"] - cb[0].modalities["x"], np.log(7.0), atol=1e-4
    )


@pytest.mark.parametrize("fmt", ["python3", "mat", "mat73"])
def test_other_file_formats_give_the_same_features(deap_root, tmp_path, fmt):
    root, _ = deap_root
    other = tmp_path / fmt
    write_deap(other, subjects=(2,), n_trials=2, fmt=fmt)
    a = DEAP(path=root, cache_dir=False).get_trial_features(
        2, feature="psd", smoothing="movingAve"
    )
    b = DEAP(path=other, cache_dir=False).get_trial_features(
        2, feature="psd", smoothing="movingAve"
    )
    for ta, tb in zip(a, b):
        np.testing.assert_allclose(ta.modalities["x"], tb.modalities["x"], rtol=1e-5)
        np.testing.assert_allclose(
            ta.modalities["peripheral"], tb.modalities["peripheral"], rtol=1e-5
        )
        assert ta.ratings == tb.ratings


def test_get_data_raw_layout(deap_root):
    root, written = deap_root
    data, labels = written[2]
    ds = DEAP(path=root, cache_dir=False, target="arousal", threshold=4.0)
    raw = ds.get_data([2])[2]["0"]["0"]
    assert raw.info["sfreq"] == 128.0
    assert raw.ch_names[:3] == ["Fp1", "AF3", "F3"] and raw.ch_names[31] == "O2"
    assert raw.ch_names[32:] == [
        "hEOG",
        "vEOG",
        "zEMG",
        "tEMG",
        "GSR",
        "Respiration",
        "Plethysmograph",
        "Temperature",
    ]
    assert raw.get_channel_types()[30:] == [
        "eeg",
        "eeg",
        "eog",
        "eog",
        "emg",
        "emg",
        "gsr",
        "resp",
        "bio",
        "temperature",
    ]
    assert raw.n_times == 2 * 8064
    got = raw.get_data()
    np.testing.assert_allclose(got[:32, :8064], data[0, :32] * 1e-6)
    np.testing.assert_allclose(got[36, 8064:], data[1, 36])
    stim = [a for a in raw.annotations if not a["description"].endswith("boundary")]
    assert [a["onset"] for a in stim] == pytest.approx([3.0, 66.0])
    assert [a["duration"] for a in stim] == pytest.approx([60.0, 60.0])
    names = ["high_arousal" if r >= 4.0 else "low_arousal" for r in labels[:, 1]]
    assert [a["description"] for a in stim] == names
    assert raw.get_montage() is not None
    assert ds.data_path(2)[0].name == "s02.dat"


def test_features_are_cached(deap_root, tmp_path, monkeypatch):
    root, _ = deap_root
    cache = tmp_path / "cache"
    first = DEAP(path=root, cache_dir=cache).get_trial_features(1)
    assert len(list(cache.glob("*.npz"))) == 1

    def no_read(self, subject):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(DEAP, "_read", no_read)
    second = DEAP(path=root, cache_dir=cache).get_trial_features(1)
    np.testing.assert_array_equal(first[1].modalities["x"], second[1].modalities["x"])
    # another target reuses the features with other labels
    third = DEAP(path=root, cache_dir=cache, target="liking", threshold=9.5).get_trial_features(1)
    assert [t.label for t in third] == [0, 0]
    # other options are another entry
    with pytest.raises(AssertionError, match="cache"):
        DEAP(path=root, cache_dir=cache, window_seconds=2.0).get_trial_features(1)


def test_missing_folder_and_files(tmp_path, deap_root):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        DEAP(path=tmp_path / "nowhere").get_trial_features(1)
    root, _ = deap_root
    with pytest.raises(FileNotFoundError, match=r"s03\.dat.*s03\.mat"):
        DEAP(path=root, cache_dir=False).get_trial_features(3)
    with pytest.raises(ValueError, match="Invalid subject 33 given; DEAP has subjects"):
        DEAP(path=root, cache_dir=False).get_trial_features(33)


def _write_dat(root, subject, content):
    folder = root / "data_preprocessed_python"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"s{subject:02d}.dat"
    path.write_bytes(content if isinstance(content, bytes) else py2_pickle_dict(content))
    return path


def test_bad_files(tmp_path):
    data, labels = deap_subject_arrays(1, n_trials=2)
    root = tmp_path / "bad"
    cases = [
        ({"data": data}, ValueError, r"s01\.dat.*no variable 'labels'"),
        (
            {"data": data[:, :, :8000], "labels": labels},
            ValueError,
            r"s01\.dat.*shape \(2, 40, 8000\); expected \(n_trials, 40, 8064\)",
        ),
        (
            {"data": data, "labels": labels[:1]},
            ValueError,
            r"s01\.dat.*2 trials in 'data' but 1 rows in 'labels'",
        ),
        ({"data": data, "labels": labels[:, :3]}, ValueError, r"'labels'.*\(2, 3\)"),
    ]
    for content, error, match in cases:
        _write_dat(root, 1, content)
        with pytest.raises(error, match=match):
            DEAP(path=root, cache_dir=False).get_trial_features(1)
    good = py2_pickle_dict({"data": data, "labels": labels})
    _write_dat(root, 1, good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"s01\.dat.*truncated"):
        DEAP(path=root, cache_dir=False).get_trial_features(1)
    nan = data.copy()
    nan[0, 0, 5] = np.nan
    _write_dat(root, 1, {"data": nan, "labels": labels})
    with pytest.raises(ValueError, match=r"s01\.dat.*1 NaN/Inf"):
        DEAP(path=root, cache_dir=False).get_trial_features(1)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_dat_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    root = tmp_path / "evil"
    _write_dat(
        root, 1, pickle.dumps({"data": _Payload(marker), "labels": np.zeros((1, 4))}, protocol=2)
    )
    with pytest.raises(pickle.UnpicklingError, match=r"s01\.dat.*Forbidden global .*system"):
        DEAP(path=root, cache_dir=False).get_trial_features(1)
    assert not marker.exists()


def test_argument_validation(deap_root):
    root, _ = deap_root
    with pytest.raises(ValueError, match="`target`.*'happiness'"):
        DEAP(path=root, target="happiness")
    with pytest.raises(ValueError, match="`window_seconds`"):
        DEAP(path=root, window_seconds=0)
    ds = DEAP(path=root, cache_dir=False)
    with pytest.raises(ValueError, match="`feature`.*'dasm'"):
        ds.get_trial_features(1, feature="dasm")
    with pytest.raises(ValueError, match="`smoothing`.*'lds'"):
        ds.get_trial_features(1, smoothing="lds")
