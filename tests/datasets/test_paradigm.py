"""MultimodalEmotion paradigm and trial-grouped splits on SEED-IV-layout files."""

import numpy as np
import pandas as pd
import pytest
from moabb.evaluations import WithinSessionEvaluation
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch.helper import SliceDict

from braindecode_m2s import MultimodalEmotion, split_by_trial
from braindecode_m2s.datasets import SEED, SEEDIV
from braindecode_m2s.datasets.fixtures import layout_seed as L
from braindecode_m2s.evaluation import ProtocolSplitter, trial_groups


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    # base=8: trials have 8, 9 or 10 windows
    return L.write_seed_iv(tmp_path_factory.mktemp("seediv_p"), subjects=(1, 2), base=8)


@pytest.fixture(scope="module")
def dataset(root):
    return SEEDIV(path=root, cache_dir=False, subjects=[1, 2])


def test_shapes_and_metadata(dataset):
    X, y, meta = MultimodalEmotion(sequence_length=4, stride=2).get_data(dataset, [1])
    assert isinstance(X, SliceDict) and set(X) == {"x", "eye"}
    # trial k has 8 + k % 3 windows -> (n_win - 4) // 2 + 1 samples
    per_trial = [(L.n_windows(k, 8) - 4) // 2 + 1 for k in range(1, 25)]
    assert len(y) == 3 * sum(per_trial)
    assert X["x"].shape == (len(y), 62, 4, 5) and X["x"].dtype == np.float32
    assert X["eye"].shape == (len(y), 31, 4) and X["eye"].dtype == np.float32
    assert y.dtype == np.int64
    assert X.shape[:2] == (len(y), 62)
    for col in ("subject", "session", "trial", "window", "onset"):
        assert col in meta.columns
    assert list(meta["window"][:3]) == [0, 2, 4] and list(meta["onset"][:3]) == [0.0, 8.0, 16.0]
    assert list(meta["session"].unique()) == ["0", "1", "2"]
    first = meta.index[(meta.session == "1") & (meta.trial == 5)][0]
    assert y[first] == L.SEEDIV_LABELS[1][5]
    # a sample is consecutive windows of one trial
    trial = dataset.get_trial_features(1)[24 + 5]
    np.testing.assert_array_equal(X["x"][first + 1], trial.modalities["x"][:, 2:6])
    np.testing.assert_array_equal(X["eye"][first + 1], trial.modalities["eye"][:, 2:6])


def test_short_trials_warn_and_modalities(dataset):
    with pytest.warns(UserWarning, match=r"48 of 72 trials have fewer than sequence_length=10"):
        X, y, meta = MultimodalEmotion(sequence_length=10, modalities=["eye"]).get_data(
            dataset, [2]
        )
    assert set(X) == {"eye"} and X["eye"].shape == (24, 31, 10)
    assert (meta.groupby(["session", "trial"]).size() == 1).all()
    with pytest.raises(ValueError, match="gsr"):
        MultimodalEmotion(modalities=["gsr"]).get_data(dataset, [1])
    with (
        pytest.raises(ValueError, match="no trial has sequence_length=20"),
        pytest.warns(UserWarning),
    ):
        MultimodalEmotion(sequence_length=20).get_data(dataset, [1])
    with pytest.raises(ValueError, match="sequence_length"):
        MultimodalEmotion(sequence_length=0)
    with pytest.raises(ValueError, match="stride"):
        MultimodalEmotion(stride=-1)


def test_trial_splits(dataset):
    X, y, meta = MultimodalEmotion(sequence_length=2, stride=1).get_data(dataset)
    groups = trial_groups(meta)
    assert len(np.unique(groups)) == 2 * 3 * 24
    for train, test in GroupKFold(5).split(X["x"], y, groups):
        assert not set(groups[train]) & set(groups[test])
    train, test = split_by_trial(meta, "SEED-IV")
    assert set(meta.trial[train]) == set(range(16)) and set(meta.trial[test]) == set(range(16, 24))
    folds = ProtocolSplitter(meta, "within-session", dataset="SEED-IV").folds()
    assert [(f["subject"], f["session"]) for f in folds] == [
        (s, str(k)) for s in (1, 2) for k in range(3)
    ]
    for subject, session, tr, te in (
        (f["subject"], f["session"], f["train"], f["test"]) for f in folds
    ):
        block = meta.iloc[np.concatenate([tr, te])]
        assert (block.subject == subject).all() and (block.session == session).all()
        assert meta.trial.iloc[tr].max() == 15 and meta.trial.iloc[te].min() == 16
    train, test = split_by_trial(meta, [0, 2])
    assert set(meta.trial[train]) == {0, 2}
    with pytest.raises(ValueError, match="no standard protocol"):
        split_by_trial(meta, "DEAP")
    with pytest.raises(ValueError, match="lacks the columns"):
        trial_groups(pd.DataFrame({"trial": [0]}))


def _flatten(X):
    return np.asarray(X["x"]).reshape(len(X), -1)


def test_sklearn_and_moabb_evaluation(dataset, tmp_path):
    X, y, meta = MultimodalEmotion(sequence_length=4).get_data(dataset, [1])
    pipe = make_pipeline(
        FunctionTransformer(_flatten), StandardScaler(), LogisticRegression(max_iter=50)
    )
    scores = cross_val_score(
        pipe, X, y, groups=trial_groups(meta), cv=GroupKFold(3), error_score="raise"
    )
    assert np.all(np.isfinite(scores))
    evaluation = WithinSessionEvaluation(
        paradigm=MultimodalEmotion(sequence_length=4),
        datasets=[dataset],
        n_splits=2,
        overwrite=True,
        hdf5_path=str(tmp_path),
        random_state=0,
    )
    results = evaluation.process({"logreg": pipe})
    assert len(results) == 2 * 3
    assert set(results["channels"]) == {62}
    assert results["score"].between(0, 1).all()


def test_dataset_specific_kwargs(tmp_path):
    root = L.write_seed(tmp_path / "seed", subjects=(1,), base=4)
    X, y, meta = MultimodalEmotion(sequence_length=4, feature="dasm").get_data(
        SEED(path=root, cache_dir=False, subjects=[1])
    )
    assert X["x"].shape[1:] == (27, 4, 5) and set(np.unique(y)) == {0, 1, 2}
    train, test = split_by_trial(meta, "SEED")
    assert meta.trial[test].min() == 9


# -- trials_to_samples refuses what it cannot cut ------------------------------
def _trial(**modalities):
    from braindecode_m2s.datasets.base import EmotionTrial

    return EmotionTrial(
        subject=1, session="0", trial=3, label=0, modalities=modalities, window_seconds=4.0
    )


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((2, 6), np.nan), "NaN/Inf"),
        (np.full((2, 6), np.inf), "NaN/Inf"),
        (np.full((2, 6), 1e300), "float32 range"),
        (np.arange(6.0), r"shape \(6,\); expected \(n_features, n_windows"),
        (np.array([["a"] * 6] * 2), "dtype <U1"),
    ],
)
def test_trials_to_samples_refuses_bad_modalities(bad, match):
    good = np.zeros((3, 6, 5))
    with pytest.raises(
        ValueError, match=rf"modality 'eye' of subject 1, session 0, trial 3.*{match}"
    ):
        MultimodalEmotion(sequence_length=2).trials_to_samples([_trial(x=good, eye=bad)])
