"""Tests of the DREAMER reader on small files written in the official layout."""

import numpy as np
import pytest
import scipy.io

from braindecode_m2s.datasets.dreamer import DREAMER
from braindecode_m2s.datasets.fixtures.layout_physio import dreamer_arrays, write_dreamer
from braindecode_m2s.features import DifferentialEntropy


@pytest.fixture(scope="module")
def dreamer_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("dreamer")
    subjects = write_dreamer(root, fmt="mat", n_subjects=2)
    return root, subjects


def test_trial_features(dreamer_root):
    root, subjects = dreamer_root
    s = subjects[1]
    trials = DREAMER(path=root, cache_dir=False).get_trial_features(2, smoothing=None)
    assert len(trials) == 18 and [t.trial for t in trials] == list(range(18))
    for k, trial in enumerate(trials):
        n = trial.n_windows
        assert n == s["eeg_stimuli"][k].shape[0] // 128
        assert trial.modalities["x"].shape == (14, n, 5)
        assert trial.modalities["ecg"].shape == (10, n)
        assert trial.ratings == {
            "valence": s["ScoreValence"][k, 0],
            "arousal": s["ScoreArousal"][k, 0],
            "dominance": s["ScoreDominance"][k, 0],
        }
        assert trial.label == int(s["ScoreValence"][k, 0] >= 3)
    eeg = s["eeg_stimuli"][3].T[None]
    expected = DifferentialEntropy(sfreq=128, window_seconds=1.0).transform(eeg)[0]
    np.testing.assert_allclose(trials[3].modalities["x"], expected, rtol=1e-5)
    ecg = s["ecg_stimuli"][3][:, 1]  # second ECG channel at 256 Hz
    windows = ecg[: trials[3].n_windows * 256].reshape(-1, 256)
    np.testing.assert_allclose(trials[3].modalities["ecg"][5], windows.mean(1), rtol=1e-5)
    np.testing.assert_allclose(trials[3].modalities["ecg"][6], windows.std(1), rtol=1e-4)


def test_v73_file_matches_v5(dreamer_root, tmp_path):
    root, subjects = dreamer_root
    write_dreamer(tmp_path, subjects=subjects, fmt="mat73")
    a = DREAMER(path=root, cache_dir=False, baseline_correction=True).get_trial_features(1)
    b = DREAMER(path=tmp_path, cache_dir=False, baseline_correction=True).get_trial_features(1)
    for ta, tb in zip(a, b):
        np.testing.assert_allclose(ta.modalities["x"], tb.modalities["x"], rtol=1e-5)
        np.testing.assert_allclose(ta.modalities["ecg"], tb.modalities["ecg"], rtol=1e-5)
        assert ta.label == tb.label


def test_baseline_correction_subtracts_baseline_features(dreamer_root):
    root, subjects = dreamer_root
    plain = DREAMER(path=root, cache_dir=False).get_trial_features(1, smoothing=None)
    corrected = DREAMER(path=root, cache_dir=False, baseline_correction=True).get_trial_features(
        1, smoothing=None
    )
    base = subjects[0]["eeg_baseline"][0].T[None]
    base_de = DifferentialEntropy(sfreq=128, window_seconds=base.shape[-1] / 128).transform(base)[
        0
    ]
    np.testing.assert_allclose(
        plain[0].modalities["x"] - corrected[0].modalities["x"],
        np.broadcast_to(base_de, plain[0].modalities["x"].shape),
        rtol=1e-4,
        atol=1e-5,
    )


def test_get_data_raw_layout(dreamer_root):
    root, subjects = dreamer_root
    s = subjects[0]
    ds = DREAMER(path=root, cache_dir=False, target="arousal")
    raw = ds.get_data([1])[1]["0"]["0"]
    assert raw.info["sfreq"] == 128.0
    assert raw.ch_names == [
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
        "ECG1",
        "ECG2",
    ]
    assert raw.get_channel_types() == ["eeg"] * 14 + ["ecg"] * 2
    lengths = [b.shape[0] + st.shape[0] for b, st in zip(s["eeg_baseline"], s["eeg_stimuli"])]
    assert raw.n_times == sum(lengths)
    got = raw.get_data()
    np.testing.assert_allclose(
        got[:14, : s["eeg_baseline"][0].shape[0]], s["eeg_baseline"][0].T * 1e-6
    )
    # ECG is down-sampled to 128 Hz: its level is kept
    n0 = lengths[0]
    assert got[14, :n0].mean() == pytest.approx(
        np.concatenate([s["ecg_baseline"][0], s["ecg_stimuli"][0]])[:, 0].mean() * 1e-6, rel=1e-3
    )
    stim = [a for a in raw.annotations if not a["description"].endswith("boundary")]
    assert len(stim) == 18
    assert stim[0]["onset"] == pytest.approx(s["eeg_baseline"][0].shape[0] / 128)
    assert stim[1]["onset"] == pytest.approx(n0 / 128 + s["eeg_baseline"][1].shape[0] / 128)
    # the reader annotates each whole clip; MOABB's get_data then sets every
    # duration to its ``interval`` (60 s)
    own = ds._get_single_subject_data(1)["0"]["0"].annotations
    own = [a for a in own if not a["description"].endswith("boundary")]
    assert own[1]["duration"] == pytest.approx(s["eeg_stimuli"][1].shape[0] / 128)
    assert [a["description"] for a in stim] == [
        "high_arousal" if r >= 3 else "low_arousal" for r in s["ScoreArousal"][:, 0]
    ]


def test_features_are_cached(dreamer_root, tmp_path, monkeypatch):
    root, _ = dreamer_root
    first = DREAMER(path=root, cache_dir=tmp_path).get_trial_features(2, feature="psd")

    def no_read(self, subject):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(DREAMER, "_read", no_read)
    second = DREAMER(path=root, cache_dir=tmp_path, threshold=4).get_trial_features(
        2, feature="psd"
    )
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.modalities["ecg"], b.modalities["ecg"])
        assert b.label == int(b.ratings["valence"] >= 4)


def _small(**kwargs):
    return dreamer_arrays(n_subjects=1, stim_seconds=(3,), baseline_seconds=2, seed=1, **kwargs)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="DREAMER.mat"):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(1)
    subjects = _small()
    write_dreamer(tmp_path, subjects=subjects)
    with pytest.raises(ValueError, match=r"DREAMER\.mat.*holds 1 subjects; subject 2"):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(2)

    bad = _small()
    bad[0]["eeg_stimuli"][4] = bad[0]["eeg_stimuli"][4][:, :13]
    write_dreamer(tmp_path, subjects=bad)
    with pytest.raises(
        ValueError, match=r"Trial 5 of DREAMER.Data\(1,1\).*EEG\.stimuli.*\(384, 13\)"
    ):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(1)

    bad = _small()
    bad[0]["ScoreArousal"] = bad[0]["ScoreArousal"][:17]
    write_dreamer(tmp_path, subjects=bad)
    with pytest.raises(ValueError, match=r"ScoreArousal holds 17 ratings; expected 18"):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(1)

    bad = _small()
    for part in ("eeg_baseline", "eeg_stimuli", "ecg_baseline", "ecg_stimuli"):
        bad[0][part] = bad[0][part][:17]
    write_dreamer(tmp_path, subjects=bad)
    with pytest.raises(ValueError, match=r"EEG\.baseline holds 17 trials; expected 18"):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(1)

    scipy.io.savemat(tmp_path / "DREAMER.mat", {"DREAMER": {"EEG_SamplingRate": 128.0}})
    with pytest.raises(ValueError, match=r"DREAMER\.mat.*no field 'Data'"):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(1)

    scipy.io.savemat(tmp_path / "DREAMER.mat", {"Other": np.zeros(3)})
    with pytest.raises(ValueError, match=r"DREAMER\.mat.*no variable 'DREAMER'"):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(1)

    write_dreamer(tmp_path, subjects=_small())
    raw = (tmp_path / "DREAMER.mat").read_bytes()
    (tmp_path / "DREAMER.mat").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ValueError, match=r"DREAMER\.mat.*truncated"):
        DREAMER(path=tmp_path, cache_dir=False).get_trial_features(1)


def test_argument_validation(dreamer_root):
    root, _ = dreamer_root
    with pytest.raises(ValueError, match="`target`.*'liking'"):
        DREAMER(path=root, target="liking")
    with pytest.raises(ValueError, match="`smoothing`"):
        DREAMER(path=root, cache_dir=False).get_trial_features(1, smoothing="kalman")
