"""Tests of the synthetic multimodal emotion dataset."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.helper import SliceDict

import braindecode_m2s
from braindecode_m2s import MultimodalEmotion
from braindecode_m2s.datasets import EmotionTrial, make_synthetic_emotion
from braindecode_m2s.datasets.seed_iv import SEEDIV_SESSION_LABELS


@pytest.fixture(scope="module")
def default_data():
    return make_synthetic_emotion(seed=0, sequence_length=10, return_windows=True)


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
    # one windowing and one metadata schema: the paradigm's, plus the label
    X_p, y_p, meta_p = MultimodalEmotion(sequence_length=10).trials_to_samples(trials)
    assert list(metadata.columns) == [*meta_p.columns, "label"]
    pd.testing.assert_frame_equal(metadata.drop(columns="label"), meta_p)
    for key in ("x", "eye"):
        np.testing.assert_array_equal(X[key], X_p[key])
    np.testing.assert_array_equal(y, y_p)
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
    expected = pd.Series({(t.subject, t.session, t.trial): t.n_windows // 10 for t in trials})
    np.testing.assert_array_equal(counts.to_numpy(), expected.loc[counts.index].to_numpy())


def test_seed_iv_label_orders(default_data):
    _, _, metadata, _ = default_data
    for (_subject, session), df in metadata.groupby(["subject", "session"]):
        order = df.groupby("trial")["label"].first().to_numpy()
        np.testing.assert_array_equal(order, SEEDIV_SESSION_LABELS[int(session)])


def test_balanced_order_otherwise():
    _, y, metadata = make_synthetic_emotion(
        n_subjects=2,
        n_sessions=2,
        n_trials=9,
        n_classes=3,
        n_windows=12,
        sequence_length=4,
        seed=3,
    )
    for _, df in metadata.groupby(["subject", "session"]):
        labels = df.groupby("trial")["label"].first()
        assert np.bincount(labels, minlength=3).tolist() == [3, 3, 3]
    # Same order for every subject, as in SEED-IV.
    first = metadata.groupby(["subject", "session", "trial"])["label"].first()
    np.testing.assert_array_equal(first.loc[1].to_numpy(), first.loc[2].to_numpy())


def test_stride_and_fixed_windows():
    X, y, metadata = make_synthetic_emotion(
        n_subjects=1,
        n_sessions=1,
        n_trials=4,
        n_classes=2,
        n_windows=10,
        sequence_length=4,
        stride=3,
        n_chans=8,
        n_bands=3,
        n_eye_features=5,
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


def _held_out_accuracies(seed, **kwargs):
    X, y, metadata = make_synthetic_emotion(seed=seed, **kwargs)
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


# -- scenarios ---------------------------------------------------------------
from braindecode_m2s.datasets.synthetic import SCENARIOS  # noqa: E402

# Two small configurations and figures of their output computed with the code
# as it was before ``scenario`` existed (commit 6e4491c): the complementary
# scenario must keep producing the same arrays. The arrays were checked to be
# bit-identical on the machine where ``scenario`` was added; the figures below
# carry a tolerance of a few float32 ULPs so that a different BLAS cannot fail
# the test, while any change of the generative model or of the random draws
# would.
_LEGACY = {
    "four_classes": (
        dict(
            n_subjects=2,
            n_sessions=2,
            n_trials=8,
            n_classes=4,
            n_windows=(6, 9),
            sequence_length=3,
            n_chans=8,
            n_bands=3,
            n_eye_features=5,
            seed=7,
        ),
        {
            "n": 76,
            "y_weighted_sum": 4546,
            "y_counts": [21, 18, 18, 19],
            "x": (
                2293.9183922329366,
                28617.099207748965,
                [
                    1.9098159074783325,
                    -0.8166565895080566,
                    -1.1258879899978638,
                    -0.4335778057575226,
                ],
                [-11.48995933495462, -10.165589084848762, -0.011383103701518849],
            ),
            "eye": (
                182.845884574519,
                5432.239320634595,
                [
                    -2.6311933994293213,
                    -3.3628599643707275,
                    0.4312893748283386,
                    -1.1547362804412842,
                ],
                [7.057903453707695, -1.4034525156021118, 12.325224667787552],
            ),
        },
    ),
    "three_classes_low_noise": (
        dict(
            n_subjects=1,
            n_sessions=2,
            n_trials=9,
            n_classes=3,
            n_windows=8,
            sequence_length=4,
            stride=2,
            n_chans=6,
            n_bands=5,
            n_eye_features=4,
            noise=0.5,
            seed=11,
        ),
        {
            "n": 54,
            "y_weighted_sum": 1548,
            "y_counts": [18, 18, 18],
            "x": (
                4115.467500589235,
                23597.46423803425,
                [
                    0.08300468325614929,
                    -0.03868993744254112,
                    1.0713714361190796,
                    0.4380928575992584,
                ],
                [28.61495042621391, 18.316217178478837, 6.5815923307091],
            ),
            "eye": (
                764.3566819137195,
                2554.802959052208,
                [1.7130953073501587, 2.3589580059051514, 0.18744854629039764, 1.9742460250854492],
                [13.79987259209156, 16.569558069109917, 19.53557812049985],
            ),
        },
    ),
}


def test_scenario_names_and_default():
    assert SCENARIOS == ("complementary", "redundant")
    _, _, metadata = make_synthetic_emotion(n_subjects=1, n_sessions=1, n_trials=4)
    assert metadata.attrs["scenario"] == "complementary"
    _, _, metadata = make_synthetic_emotion(
        n_subjects=1, n_sessions=1, n_trials=4, scenario="redundant"
    )
    assert metadata.attrs["scenario"] == "redundant"
    # The recorded scenario does not change the columns.
    assert list(metadata.columns) == [
        "subject",
        "session",
        "run",
        "trial",
        "window",
        "onset",
        "n_windows",
        "label",
    ]


@pytest.mark.parametrize("bad", ["Redundant", "both", "", None, 1, ("redundant",)])
def test_scenario_validation(bad):
    with pytest.raises(ValueError, match="scenario") as info:
        make_synthetic_emotion(n_subjects=1, scenario=bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "'complementary'" in message and "'redundant'" in message


@pytest.mark.parametrize("name", sorted(_LEGACY))
def test_complementary_unchanged(name):
    kwargs, expected = _LEGACY[name]
    X, y, _ = make_synthetic_emotion(**kwargs)
    X2, y2, _ = make_synthetic_emotion(scenario="complementary", **kwargs)
    for key in ("x", "eye"):  # the default is the complementary scenario
        np.testing.assert_array_equal(X[key], X2[key])
    np.testing.assert_array_equal(y, y2)
    assert len(y) == expected["n"]
    assert int(np.sum(y * np.arange(1, len(y) + 1))) == expected["y_weighted_sum"]
    assert np.bincount(y).tolist() == expected["y_counts"]
    for key in ("x", "eye"):
        total, total_sq, elements, sample_sums = expected[key]
        a = X[key].astype(np.float64)
        np.testing.assert_allclose(a.sum(), total, rtol=1e-6)
        np.testing.assert_allclose((a**2).sum(), total_sq, rtol=1e-6)
        np.testing.assert_allclose(X[key].ravel()[[0, 1, 100, -1]], elements, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            a.reshape(len(a), -1).sum(axis=1)[:3], sample_sums, rtol=1e-5, atol=1e-4
        )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_deterministic_per_seed_in_each_scenario(scenario):
    kwargs = dict(n_subjects=2, n_sessions=1, n_trials=8, scenario=scenario)
    X1, y1, m1 = make_synthetic_emotion(seed=5, **kwargs)
    X2, y2, m2 = make_synthetic_emotion(seed=5, **kwargs)
    for key in ("x", "eye"):
        np.testing.assert_array_equal(X1[key], X2[key])
    np.testing.assert_array_equal(y1, y2)
    pd.testing.assert_frame_equal(m1, m2)
    X3, _, _ = make_synthetic_emotion(seed=6, **kwargs)
    assert X3["x"].shape != X1["x"].shape or not np.allclose(X3["x"], X1["x"])
    # A subject's data do not depend on how many subjects are generated.
    X4, _, _ = make_synthetic_emotion(seed=5, **{**kwargs, "n_subjects": 1})
    mask = (m1["subject"] == 1).to_numpy()
    for key in ("x", "eye"):
        np.testing.assert_array_equal(X1[key][mask], X4[key])


def test_scenarios_share_protocol_not_features():
    kwargs = dict(n_subjects=2, n_sessions=2, n_trials=8, seed=3)
    Xc, yc, mc = make_synthetic_emotion(scenario="complementary", **kwargs)
    Xr, yr, mr = make_synthetic_emotion(scenario="redundant", **kwargs)
    # Same labels, trial lengths and samples...
    np.testing.assert_array_equal(yc, yr)
    pd.testing.assert_frame_equal(mc, mr, check_flags=False)
    # ...different features.
    for key in ("x", "eye"):
        assert Xc[key].shape == Xr[key].shape
        assert not np.allclose(Xc[key], Xr[key])


def _fit_score(feats, y, train):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(feats[train], y[train])
    pred = clf.predict(feats[~train])
    return np.mean(pred == y[~train]), pred


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_modality_alone_without_noise(scenario):
    # Without noise, in the redundant scenario each modality alone separates
    # every class (so every class pair); in the complementary scenario each is
    # capped near 75 % by the pair it cannot see.
    X, y, metadata = make_synthetic_emotion(n_subjects=2, noise=0.0, seed=0, scenario=scenario)
    eeg = X["x"].mean(axis=2).reshape(len(y), -1)
    eye = X["eye"].mean(axis=2)
    train = (metadata["trial"] < 16).to_numpy()
    for feats in (eeg, eye):
        acc, pred = _fit_score(feats, y, train)
        recall = [np.mean(pred[y[~train] == c] == c) for c in range(4)]
        if scenario == "redundant":
            assert acc > 0.95
            assert min(recall) > 0.9
        else:
            assert acc < 0.85
            assert min(recall) < 0.75


@pytest.mark.parametrize("seed", [0, 1])
def test_redundant_levels(seed):
    # The redundant scenario's constants were set for these properties of a
    # logistic regression on window-averaged features (SEED-IV split): each
    # modality clearly above chance but not at ceiling, EEG and eye at
    # similar levels, both together better than either alone.
    scores = _held_out_accuracies(seed, scenario="redundant")
    assert 0.55 < scores["eeg"] < 0.85
    assert 0.55 < scores["eye"] < 0.85
    assert abs(scores["eeg"] - scores["eye"]) < 0.1
    assert scores["both"] > max(scores["eeg"], scores["eye"]) + 0.03
    assert scores["both"] < 0.95
