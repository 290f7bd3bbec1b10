"""ModalitySelect: scikit-learn pipelines on the paradigm's SliceDict X."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from braindecode_m2s import make_synthetic_emotion
from braindecode_m2s.evaluation import ModalitySelect
from braindecode_m2s.evaluation.protocols import trial_groups


@pytest.fixture(scope="module")
def data():
    return make_synthetic_emotion(
        n_subjects=1,
        n_sessions=1,
        n_chans=8,
        n_eye_features=5,
        n_windows=(10, 12),
        sequence_length=5,
        seed=0,
    )


def test_pipeline_on_slicedict(data):
    X, y, meta = data
    clf = make_pipeline(ModalitySelect("x"), StandardScaler(), SVC())
    scores = cross_val_score(clf, X, y, groups=trial_groups(meta), cv=GroupKFold(3))
    assert np.all(np.isfinite(scores))


def test_shapes_fusion_and_average(data):
    X, y, _ = data
    n = len(y)
    assert ModalitySelect("x").fit_transform(X).shape == (n, 8 * 5 * 5)
    assert ModalitySelect(["x", "eye"]).fit_transform(X).shape == (n, 200 + 25)
    assert ModalitySelect("eye", average_windows=True).fit_transform(X).shape == (n, 5)
    assert ModalitySelect(None).fit(X).modalities_ == ["x", "eye"]
    # a plain array is EEG
    assert ModalitySelect("x").fit_transform(X["x"]).shape == (n, 200)


def test_grid_search_finite(data):
    X, y, meta = data
    clf = make_pipeline(ModalitySelect("x"), LogisticRegression(max_iter=200))
    search = GridSearchCV(
        clf, {"modalityselect__modalities": ["x", "eye"]}, cv=GroupKFold(2), error_score="raise"
    )
    search.fit(X, y, groups=trial_groups(meta))
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_bad_inputs(data):
    X, _, _ = data
    with pytest.raises(ValueError, match="names modality 'ecg', which X does not hold"):
        ModalitySelect("ecg").fit(X)
    with pytest.raises(ValueError, match="non-empty list of modality names"):
        ModalitySelect([]).fit(X)
    with pytest.raises(ValueError, match="expected a SliceDict"):
        ModalitySelect("x").fit(object())


def test_feature_names(data):
    X, _, _ = data
    names = ModalitySelect(["eye", "x"], average_windows=True).fit(X).get_feature_names_out()
    assert list(names[:2]) == ["eye_0", "eye_1"] and names[-1] == "x_39"
