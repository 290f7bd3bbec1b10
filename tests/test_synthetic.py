"""Tests of the synthetic multimodal emotion dataset."""

import time

import numpy as np
import pandas as pd
import pytest
from skorch.helper import SliceDict
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import braindecode_m2s
from braindecode_m2s.datasets import EmotionTrial, make_synthetic_emotion
from braindecode_m2s.datasets.synthetic import SEED_IV_SESSION_LABELS


@pytest.fixture(scope="module")
def default_data():
    return make_synthetic_emotion(seed=0, return_windows=True)


def test_exported_at_top_level():
    assert braindecode_m2s.make_synthetic_emotion is make_synthetic_emotion
    assert "make_synthetic_emotion" in braindecode_m2s.__all__


def test_shapes_dtypes_keys(default_data):
    X, y, metadata, trials = default_data
    assert isinstance(X, SliceDict)
    assert set(X.keys()) == {"x", "eye"}
    n = len(y)
    assert X["x"].shape == (n, 62, 10, 5)
    assert X["eye"].shape == (n, 31, 10)
    assert X["x"].dtype == np.float32 and X["eye"].dtype == np.float32
    assert y.dtype == np.int64 and y.shape == (n,)
    assert np.all(np.isfinite(X["x"])) and np.all(np.isfinite(X["eye"]))
    assert set(np.unique(y)) == {0, 1, 2, 3}
    assert len(trials) == 3 * 3 * 24
    assert all(isinstance(t, EmotionTrial) for t in trials)


def test_metadata_columns_and_consistency(default_data):
    X, y, metadata, trials = default_data
    assert list(metadata.columns) == [
        "subject", "session", "trial", "window", "onset", "label"
    ]
    assert len(metadata) == len(y)
    np.testing.assert_array_equal(metadata["label"].to_numpy(), y)
    assert sorted(metadata["subject"].unique()) == [1, 2, 3]
    assert sorted(metadata["session"].unique()) == ["0", "1", "2"]
    assert metadata["session"].map(type).eq(str).all()
    assert sorted(metadata["trial"].unique()) == list(range(24))
    np.testing.assert_allclose(metadata["onset"], metadata["window"] * 4.0)
    # Labels are constant within a trial.
    per_trial = metadata.groupby(["subject", "session", "trial"])["label"].nunique()
    assert (per_trial == 1).all()
    # Every sample lies inside its trial, and the samples are the trial's
    # windows cut with stride = sequence_length.
    by_key = {(t.subject, t.session, t.trial): t for t in trials}
    assert len(by_key) == len(trials)
    for i in range(0, len(y), 37):
        row = metadata.iloc[i]
        t = by_key[(row.subject, row.session, row.trial)]
        assert t.label == row.label
        assert 0 <= row.window and row.window + 10 <= t.n_windows
        assert 20 <= t.n_windows <= 40
        sl = slice(row.window, row.window + 10)
        np.testing.assert_array_equal(X["x"][i], t.modalities["x"][:, sl])
        np.testing.assert_array_equal(X["eye"][i], t.modalities["eye"][:, sl])
    counts = metadata.groupby(["subject", "session", "trial"]).size()
    expected = pd.Series(
        {(t.subject, t.session, t.trial): t.n_windows // 10 for t in trials}
    )
    np.testing.assert_array_equal(counts.to_numpy(), expected.loc[counts.index].to_numpy())


def test_seed_iv_label_orders(default_data):
    _, _, metadata, _ = default_data
    for (subject, session), df in metadata.groupby(["subject", "session"]):
        order = df.groupby("trial")["label"].first().to_numpy()
        np.testing.assert_array_equal(order, SEED_IV_SESSION_LABELS[int(session)])


def test_balanced_order_otherwise():
    _, y, metadata = make_synthetic_emotion(
        n_subjects=2, n_sessions=2, n_trials=9, n_classes=3, n_windows=12,
        sequence_length=4, seed=3,
    )
    for _, df in metadata.groupby(["subject", "session"]):
        labels = df.groupby("trial")["label"].first()
        assert np.bincount(labels, minlength=3).tolist() == [3, 3, 3]
    # Same order for every subject, as in SEED-IV.
    first = metadata.groupby(["subject", "session", "trial"])["label"].first()
    np.testing.assert_array_equal(first.loc[1].to_numpy(), first.loc[2].to_numpy())


def test_stride_and_fixed_windows():
    X, y, metadata = make_synthetic_emotion(
        n_subjects=1, n_sessions=1, n_trials=4, n_classes=2, n_windows=10,
        sequence_length=4, stride=3, n_chans=8, n_bands=3, n_eye_features=5,
    )
    assert X["x"].shape == (4 * 3, 8, 4, 3)
    assert X["eye"].shape == (12, 5, 4)
    assert metadata.groupby("trial")["window"].apply(list).tolist() == [[0, 3, 6]] * 4
    # Overlapping samples share their windows.
    np.testing.assert_array_equal(X["x"][0][:, 3], X["x"][1][:, 0])


def test_deterministic_and_seed_dependent():
    kwargs = dict(n_subjects=2, n_sessions=1, n_trials=8)
    X1, y1, m1 = make_synthetic_emotion(seed=5, **kwargs)
    X2, y2, m2 = make_synthetic_emotion(seed=5, **kwargs)
    for key in ("x", "eye"):
        np.testing.assert_array_equal(X1[key], X2[key])
    np.testing.assert_array_equal(y1, y2)
    pd.testing.assert_frame_equal(m1, m2)
    X3, _, _ = make_synthetic_emotion(seed=6, **kwargs)
    assert X3["x"].shape != X1["x"].shape or not np.allclose(X3["x"], X1["x"])
    # A subject's data do not depend on how many subjects are generated.
    X4, _, m4 = make_synthetic_emotion(seed=5, **{**kwargs, "n_subjects": 1})
    mask = (m1["subject"] == 1).to_numpy()
    np.testing.assert_array_equal(X1["x"][mask], X4["x"])


def test_fast():
    start = time.perf_counter()
    make_synthetic_emotion()
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_subjects=0), "n_subjects"),
        (dict(n_sessions=-1), "n_sessions"),
        (dict(n_trials=0), "n_trials"),
        (dict(n_classes=1), "n_classes"),
        (dict(n_chans=0), "n_chans"),
        (dict(n_bands=0), "n_bands"),
        (dict(n_eye_features=0), "n_eye_features"),
        (dict(n_windows=(40, 20)), "n_windows"),
        (dict(n_windows=(0, 20)), "n_windows"),
        (dict(n_windows=(1, 2, 3)), "n_windows"),
        (dict(n_windows=2.5), "n_windows"),
        (dict(sequence_length=0), "sequence_length"),
        (dict(sequence_length=21), "sequence_length"),
        (dict(stride=0), "stride"),
        (dict(noise=-0.1), "noise"),
        (dict(noise=float("nan")), "noise"),
        (dict(seed=-1), "seed"),
        (dict(seed=1.5), "seed"),
    ],
)
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        make_synthetic_emotion(**kwargs)
    # The message shows the value given.
    assert repr(next(iter(kwargs.values()))) in str(info.value)


def _held_out_accuracies(seed):
    X, y, metadata = make_synthetic_emotion(seed=seed)
    eeg = X["x"].mean(axis=2).reshape(len(y), -1)
    eye = X["eye"].mean(axis=2)
    train = (metadata["trial"] < 16).to_numpy()
    scores = {}
    for name, feats in [("eeg", eeg), ("eye", eye), ("both", np.hstack([eeg, eye]))]:
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        clf.fit(feats[train], y[train])
        scores[name] = clf.score(feats[~train], y[~train])
    return scores


@pytest.mark.parametrize("seed", [0, 1])
def test_fusion_beats_each_modality(seed):
    scores = _held_out_accuracies(seed)
    chance = 0.25
    assert scores["eeg"] > chance + 0.15
    assert scores["eye"] > chance + 0.15
    assert scores["both"] > max(scores["eeg"], scores["eye"]) + 0.07
    assert scores["both"] < 0.99


def test_blind_spots_without_noise():
    # Without noise, EEG cannot separate classes 0/1 and eye cannot separate
    # 2/3, while both together separate all four.
    X, y, metadata = make_synthetic_emotion(n_subjects=2, noise=0.0, seed=0)
    eeg = X["x"].mean(axis=2).reshape(len(y), -1)
    eye = X["eye"].mean(axis=2)
    train = (metadata["trial"] < 16).to_numpy()

    def confusion(feats):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        clf.fit(feats[train], y[train])
        pred = clf.predict(feats[~train])
        return clf.score(feats[~train], y[~train]), pred, y[~train]

    acc_both, _, _ = confusion(np.hstack([eeg, eye]))
    assert acc_both > 0.95
    for feats, (a, b), (c, d) in [(eeg, (0, 1), (2, 3)), (eye, (2, 3), (0, 1))]:
        acc, pred, true = confusion(feats)
        assert acc < 0.85
        in_pair = np.isin(true, [a, b])
        confused = np.mean(pred[in_pair] != true[in_pair])
        other = np.isin(true, [c, d])
        assert confused > 0.25
        assert np.mean(pred[other] == true[other]) > 0.9
