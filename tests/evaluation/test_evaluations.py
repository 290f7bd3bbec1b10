"""Protocols, modality settings, the runner, statistics and joblib/Dask fan-out."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from braindecode_m2s import make_synthetic_emotion
from braindecode_m2s.evaluation import (
    RESULT_COLUMNS,
    ModalitySelect,
    ModalitySubset,
    ProtocolSplitter,
    TrialBlockKFold,
    TrialSplit,
    apply_setting,
    check_trial_grouped,
    evaluate,
    paired_tests,
    parse_setting,
    summarize,
    to_markdown,
)


@pytest.fixture(scope="module")
def data():
    return make_synthetic_emotion(
        n_subjects=2,
        n_sessions=2,
        n_chans=6,
        n_eye_features=4,
        n_windows=(10, 12),
        sequence_length=5,
        seed=0,
    )


def lr():
    return make_pipeline(
        ModalitySelect(None, average_windows=True),
        StandardScaler(),
        LogisticRegression(max_iter=200),
    )


def _trials_of(meta, idx):
    return set(map(tuple, meta.iloc[idx][["subject", "session", "trial"]].to_numpy()))


@pytest.mark.parametrize("protocol,n", [("within-session", 4), ("cross-session", 4), ("loso", 2)])
def test_protocols_trial_grouped(data, protocol, n):
    X, y, meta = data
    cv = ProtocolSplitter(meta, protocol, dataset="SEED-IV")
    splits = list(cv.split(X, y))
    assert len(splits) == n == cv.get_n_splits()
    for train, test in splits:
        assert not _trials_of(meta, train) & _trials_of(meta, test)
    if protocol == "within-session":  # SEED-IV: first 16 trials train, last 8 test
        train, test = splits[0]
        assert meta.iloc[train]["trial"].max() == 15 and meta.iloc[test]["trial"].min() == 16
    # usable as cv=
    scores = cross_val_score(lr(), X, y, cv=cv)
    assert len(scores) == n and np.isfinite(scores).all()


def test_block_kfold_seed_v():
    trials = np.repeat(np.arange(15), 3)
    folds = list(TrialBlockKFold(3).split(groups=trials))
    assert [sorted(set(trials[te])) for _, te in folds] == [
        list(range(0, 5)),
        list(range(5, 10)),
        list(range(10, 15)),
    ]
    with pytest.raises(ValueError, match="expected an int between 2"):
        list(TrialBlockKFold(16).split(groups=trials))
    with pytest.raises(ValueError, match="needs `groups`"):
        list(TrialSplit(9).split(np.zeros(45)))


def test_moabb_splitter_takes_trial_split(data):
    from moabb.evaluations.splitters import WithinSessionSplitter

    _, y, meta = data
    s = WithinSessionSplitter(cv_class=TrialSplit, groups="trial", train_trials=16, shuffle=False)
    for train, test in s.split(y, meta):
        assert not _trials_of(meta, train) & _trials_of(meta, test)


def test_leaky_split_refused(data):
    X, y, meta = data
    leaky = KFold(3, shuffle=True, random_state=0).split(X["x"])
    with pytest.raises(ValueError, match="in both training and test"):
        check_trial_grouped(leaky, meta)
    with pytest.warns(UserWarning, match="trial-grouped"):
        leaky = KFold(3, shuffle=True, random_state=1).split(X["x"])
        check_trial_grouped(leaky, meta, action="warn")
    with pytest.raises(ValueError, match="needs `dataset`"):
        ProtocolSplitter(meta).folds()
    with pytest.raises(ValueError, match="expected one of"):
        ProtocolSplitter(meta, "random", dataset="SEED-IV").folds()


def test_settings():
    s = parse_setting("eeg2eye")
    assert (s.train_modalities, s.test_modalities, s.kind) == (("x",), ("eye",), "cross")
    assert parse_setting("multimodal").kind == "multimodal"
    assert parse_setting("all2eye").kind == "missing"
    assert parse_setting(("eye", "eye")).name == "eye2eye"
    with pytest.raises(ValueError, match="not understood"):
        parse_setting("eeg-to-eye")
    with pytest.raises(ValueError, match="which X lacks"):
        parse_setting("ecg2ecg").resolve(["x", "eye"])


class _ModalAware(ClassifierMixin, BaseEstimator):
    def __init__(self, train_modalities=None, test_modalities=None):
        self.train_modalities = train_modalities
        self.test_modalities = test_modalities

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X[self.test_modalities[0]]), self.classes_[0])


def test_apply_setting(data):
    X, y, _ = data
    est = apply_setting(_ModalAware(), "eye2eeg", keys=list(X))
    assert (est.train_modalities, est.test_modalities) == (["eye"], ["x"])
    wrapped = apply_setting(lr(), "eye2eye")
    assert isinstance(wrapped, ModalitySubset)
    wrapped.fit(X, y)
    assert wrapped.estimator_[0].modalities_ == ["eye"]
    assert wrapped.predict(X).shape == y.shape


@pytest.fixture(scope="module")
def results(data):
    X, y, meta = data
    pipes = {
        "LR": lr(),
        "LRC": make_pipeline(
            ModalitySelect(None, average_windows=True), LogisticRegression(C=0.01, max_iter=200)
        ),
    }
    return evaluate(
        pipes,
        X,
        y,
        meta,
        dataset="SEED-IV",
        settings=["multimodal", "eeg2eeg"],
        seeds=[0, 1],
        return_predictions=True,
    )


def test_evaluate_table(results):
    res, preds = results
    assert list(res.columns) == RESULT_COLUMNS
    assert len(res) == 4 * 2 * 2 * 2  # splits x pipelines x settings x seeds
    assert set(res["train_modalities"]) == {"x+eye", "x"}
    assert res["score"].between(0, 1).all() and res["kappa"].between(-1, 1).all()
    assert set(preds.columns) >= {"y_true", "y_pred", "pipeline", "setting", "subject"}
    assert len(preds) == res["samples_test"].sum()


def test_statistics(results):
    res, _ = results
    summ = summarize(res)
    assert len(summ) == 4 and (summ["n_subjects"] == 2).all() and (summ["n_seeds"] == 2).all()
    acc = res.groupby(["pipeline", "setting", "seed", "subject"])["score"].mean()
    first = summ.iloc[0]
    expected = acc.loc[(first["pipeline"], first["setting"])].to_numpy()
    assert first["score_mean"] == pytest.approx(100 * expected.mean())
    assert first["score_std"] == pytest.approx(100 * expected.std(ddof=1))
    md = to_markdown(summ)
    assert md.count("\n") == 2 + len(summ) and "accuracy (%)" in md
    tests = paired_tests(res, "LR")
    assert set(tests["baseline"]) == {"LRC"} and len(tests) == 3  # eeg2eeg: same + multimodal
    assert tests["p_value"].between(0, 1).all() and (tests["n_pairs"] == 4).all()
    with pytest.raises(ValueError, match="is not a pipeline"):
        paired_tests(res, "M2S")


def test_dask_and_threads_give_the_serial_table(data, results):
    pytest.importorskip("distributed")
    import joblib
    from distributed import Client, LocalCluster

    X, y, meta = data
    pipes = {"LR": lr()}
    kw = dict(dataset="SEED-IV", settings=["eeg2eeg"], seeds=[0])
    serial = evaluate(pipes, X, y, meta, **kw).drop(columns="time")
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        with joblib.parallel_backend("dask"):
            dask = evaluate(pipes, X, y, meta, n_jobs=-1, **kw).drop(columns="time")
    pd.testing.assert_frame_equal(serial, dask)
    with joblib.parallel_backend("threading"):  # loky would spawn (slow) processes
        threads = evaluate(pipes, X, y, meta, n_jobs=2, **kw).drop(columns="time")
    pd.testing.assert_frame_equal(serial, threads)


def test_evaluate_bad_inputs(data):
    X, y, meta = data
    with pytest.raises(ValueError, match="expected a non-empty dict"):
        evaluate([lr()], X, y, meta)
    with pytest.raises(ValueError, match="same number of samples"):
        evaluate({"LR": lr()}, X, y[:-1], meta, dataset="SEED-IV")
    with pytest.raises(ValueError, match="no standard protocol"):
        evaluate({"LR": lr()}, X, y, meta, dataset="nope")
    with pytest.raises(ValueError, match="in both training and test"):  # leaky cv refused
        evaluate({"LR": lr()}, X, y, meta, cv=KFold(3, shuffle=True, random_state=0))


def test_m2s_four_modes_through_evaluate(data):
    from braindecode_m2s.evaluation.pipelines import M2S_SETTINGS, SMALL_M2S, make_m2s

    X, y, meta = data
    m2s = make_m2s(max_epochs=1, **SMALL_M2S)
    assert m2s is not None, "M2SClassifier lacks train_modalities / test_modalities"
    est = apply_setting(m2s, "eeg2eye", keys=list(X))
    assert (est.train_modalities, est.test_modalities) == (["x"], ["eye"])
    res = evaluate({"M2S": m2s}, X, y, meta, protocol="loso", settings=M2S_SETTINGS)
    assert len(res) == 2 * 4 and res["score"].between(0, 1).all()
    assert set(zip(res["train_modalities"], res["test_modalities"])) == {
        ("x", "x"),
        ("eye", "eye"),
        ("x", "eye"),
        ("eye", "x"),
    }


def test_string_labels(data):
    X, y, meta = data
    names = np.array(["neutral", "sad", "fear", "happy"])[y]
    res, preds = evaluate(
        {"LR": lr()},
        X,
        names,
        meta,
        dataset="SEED-IV",
        settings=["eeg2eeg"],
        return_predictions=True,
    )
    assert res["score"].between(0, 1).all() and set(preds["y_true"]) <= set(names)


def test_settings_for_other_modalities():
    from braindecode_m2s.evaluation.pipelines import M2S_SETTINGS, for_modality

    assert for_modality(M2S_SETTINGS, "ecg") == ("eeg2eeg", "ecg2ecg", "eeg2ecg", "ecg2eeg")
    assert for_modality(("multimodal",), "peripheral") == ("multimodal",)
    assert parse_setting("peripheral2eeg").train_modalities == ("peripheral",)


def test_grid_search_over_a_protocol(data):
    from sklearn.model_selection import GridSearchCV

    X, y, meta = data
    search = GridSearchCV(
        lr(),
        {"logisticregression__C": [0.1, 1.0]},
        error_score="raise",
        cv=ProtocolSplitter(meta, "within-session", dataset="SEED-IV"),
    )
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_effect_size_is_nan_when_the_differences_do_not_vary():
    import pandas as pd

    from braindecode_m2s.evaluation.statistics import _paired_row

    same = _paired_row(pd.Series([0.5, 0.6]), pd.Series([0.4, 0.5]))
    assert np.isnan(same["smd"]) and same["mean_diff"] == pytest.approx(0.1)
    varied = _paired_row(pd.Series([0.5, 0.7, 0.6]), pd.Series([0.4, 0.5, 0.55]))
    assert np.isfinite(varied["smd"]) and varied["smd"] > 0
