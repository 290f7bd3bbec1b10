"""What scikit-learn's checks found, one test each: inputs and labels as scikit-learn
users give them, n_features_in_, partial_fit, the pretrainer on one modality, stable
parameters, and the prototype classifier's decision function."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from skorch.helper import SliceDict

from braindecode_m2s import M2S, M2MCPCPretrainer, M2SClassifier, M2SPrototypeClassifier

TINY = {
    f"module__{k}": v for k, v in SMALL.items() if k not in ("n_chans", "n_outputs", "modalities")
}
FAST = dict(max_epochs=1, batch_size=16, verbose=0, random_state=0)


def _clf(**kwargs):
    return M2SClassifier(M2S, **{**FAST, **TINY, **kwargs})


def _one_window(small_data):
    """EEG of one window per sample, 4-D ``(n, 6, 1, 5)`` and flat ``(n, 30)``."""
    x, _, y = small_data
    x4 = np.ascontiguousarray(x[:, :, :1, :])
    return x4, x4.reshape(len(x4), -1), y


def test_a_2d_array_is_one_window_of_channel_major_features(small_data):
    x4, x2, y = _one_window(small_data)
    flat = _clf(module__n_bands=5).fit(x2, y)
    windowed = _clf(module__n_bands=5).fit(x4, y)
    assert flat.module_kwargs_ == windowed.module_kwargs_
    assert flat.module_kwargs_ | {"n_chans": 6, "n_times": 1, "n_bands": 5} == flat.module_kwargs_
    np.testing.assert_array_equal(flat.predict_proba(x2), windowed.predict_proba(x4))
    np.testing.assert_array_equal(flat.transform(x2), windowed.transform(x4))
    # every path to the module reads a 2-D batch the same way (skorch's forward, infer)
    np.testing.assert_array_equal(flat.forward(x2).numpy(), windowed.forward(x4).numpy())
    # the class form without n_bands: every feature is a channel of one band
    assert _clf().fit(x2, y).module_.n_chans == 30
    with pytest.raises(ValueError, match="30 is not a multiple of n_bands=4"):
        _clf(module__n_bands=4).fit(x2, y)


def test_a_plain_array_builds_an_eeg_only_model_like_a_slicedict_of_it(small_data):
    x, _, y = small_data
    plain = _clf().fit(x, y)
    assert plain.module_kwargs_["modalities"] == {} and plain.module_.modality_names == ["x"]
    sliced = _clf().fit(SliceDict(x=x), y)
    np.testing.assert_array_equal(plain.predict_proba(x), sliced.predict_proba(SliceDict(x=x)))


def test_array_likes_integers_and_numeric_objects_are_read_as_floats(small_data):
    x4, x2, y = _one_window(small_data)
    ints = np.rint(x2 * 3).astype(np.int64)
    reference = _clf().fit(ints.astype(np.float32), y).predict_proba(ints)
    for given in (ints, ints.astype(object), ints.tolist(), pd.DataFrame(ints)):
        np.testing.assert_allclose(_clf().fit(given, y).predict_proba(given), reference)
    assert _clf().fit(ints > 0, y).predict(ints > 0).shape == y.shape  # booleans


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda x: x.astype(complex), ValueError, r"has dtype complex128.*Complex data not"),
        (lambda x: sparse.csr_matrix(x), ValueError, "sparse input is not supported"),
        (lambda x: sparse.dok_matrix(x), ValueError, "sparse input is not supported"),
        (lambda x: x[:, 0], ValueError, r"\(1-D\).*Reshape your data"),
        (lambda x: x[:0], ValueError, r"0 sample\(s\) \(shape=\(0, 30\)\)"),
        (lambda x: x[:, :0], ValueError, r"0 feature\(s\) \(shape=\(48, 0\)\) while a minimum"),
        (lambda x: x.astype(str), ValueError, "has dtype <U"),
    ],
)
def test_bad_arrays_are_refused_at_the_boundary(small_data, make, error, match):
    _, x2, y = _one_window(small_data)
    X = make(x2)
    with pytest.raises(error, match=rf"^M2SClassifier.fit: modality 'x' .*{match}"):
        _clf().fit(X, y[: X.shape[0]])
    pre = M2MCPCPretrainer(M2S, clip_weight=0, **FAST, **TINY)
    with pytest.raises(error, match=rf"^M2MCPCPretrainer.fit: modality 'x' .*{match}"):
        pre.fit(X)


def test_objects_that_are_not_numbers_are_a_type_error_as_numpys(small_data):
    _, x2, y = _one_window(small_data)
    X = x2.astype(object)
    X[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="modality 'x' has dtype object.*argument must be a"):
        _clf().fit(X, y)


def test_labels_as_scikit_learn_reads_them(small_data):
    _, x2, y = _one_window(small_data)
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        _clf().fit(x2, None)
    with pytest.raises(ValueError, match=r"Unknown label type: 'continuous'"):
        _clf().fit(x2, y + 0.5 * np.arange(len(y)))
    with pytest.raises(ValueError, match=r"single class, \[3\] \(1 class\)"):
        _clf().fit(x2, np.full(len(y), 3))
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        column = _clf().fit(x2, y[:, None])
    np.testing.assert_array_equal(column.predict(x2), _clf().fit(x2, y).predict(x2))
    big = np.array([2**80, -(2**70), 7], dtype=object)[y]  # Python integers beyond int64
    assert _clf().fit(x2, big).classes_.tolist() == sorted({2**80, -(2**70), 7})


def test_n_features_in_is_the_width_of_a_2d_fit(small_data):
    x4, x2, y = _one_window(small_data)
    clf = _clf().fit(x2, y)
    assert clf.n_features_in_ == 30
    for method in (clf.predict, clf.predict_proba, clf.transform):
        with pytest.raises(ValueError, match="X has 29 features, but M2SClassifier is expecting"):
            method(x2[:, :29])
    assert not hasattr(clf.fit(x4, y), "n_features_in_")  # only a 2-D array defines it
    pre = M2MCPCPretrainer(M2S, clip_weight=0, **FAST, **TINY).fit(x2)
    with pytest.raises(ValueError, match="X has 29 features, but M2MCPCPretrainer is"):
        pre.transform(x2[:, :29])


def test_partial_fit_is_fit_first_then_more_epochs_on_known_labels(small_data):
    _, x2, y = _one_window(small_data)
    clf = _clf().partial_fit(x2[y < 2], y[y < 2], classes=[0, 1, 2, 3])
    assert clf.classes_.tolist() == [0, 1, 2, 3] and clf.module_.n_outputs == 4
    assert clf.module_kwargs_["n_chans"] == 30  # the sizes are inferred on the first call
    clf.partial_fit(x2[y == 2], y[y == 2])  # some of the classes suffice
    assert len(clf.history) == 2
    with pytest.raises(ValueError, match="the label 7, which is not among the classes"):
        clf.partial_fit(x2, np.full(len(y), 7))
    warm = _clf(warm_start=True).fit(x2, y)
    with pytest.raises(ValueError, match="warm_start continues a fit on the labels"):
        warm.fit(x2[y < 2], y[y < 2])
    # an initialised estimator (no fit yet) learns its labels from partial_fit's y
    fresh = M2SClassifier(M2S(**{**SMALL, "n_chans": 30, "n_bands": 1}), **FAST)
    fresh.initialize().partial_fit(x2, np.array(["a", "b", "c"])[y])
    assert fresh.classes_.tolist() == ["a", "b", "c"] and set(fresh.predict(x2)) <= {"a", "b", "c"}


def test_pretrainer_on_one_modality_with_clip_off(small_data):
    x, _, _ = small_data
    with pytest.raises(ValueError, match=r"CLIP aligns them\), or clip_weight=0 to"):
        M2MCPCPretrainer(M2S, **FAST, **TINY).fit(x)
    pre = M2MCPCPretrainer(M2S, clip_weight=0, **FAST, **TINY).partial_fit(x)  # first call: fit
    assert pre.modalities_ == ["x"] and pre.module_.modality_names == ["x"]
    last = pre.history[-1]
    assert {"train_cpc_loss", "train_recon_loss", "train_cpc_acc_x->x"} <= set(last)
    assert "train_clip_loss" not in last
    assert pre.transform(x).shape == (len(x), SMALL["proj_dim"])
    assert not hasattr(pre, "predict") and not hasattr(pre, "predict_proba")
    with pytest.raises(AttributeError, match="no predict: stage 1 is self-supervised"):
        pre.predict(x)


def test_pretrainer_parameters_are_the_same_before_and_after_fit(small_data):
    x, eye, _ = small_data
    for X in (x, SliceDict(x=x, eye=eye)):
        pre = M2MCPCPretrainer(M2S, clip_weight=0, **FAST, **TINY)
        before = pre.get_params(deep=True)
        pre.fit(X)
        after = pre.get_params(deep=True)
        assert all(joblib.hash(after[k]) == joblib.hash(v) for k, v in before.items())
    # the accuracies of the modalities trained are epoch scores, out of the epoch table
    names = dict(pre.callbacks_)
    assert "train_cpc_acc_eye->x" in names and "train_cpc_acc_eye->x" in pre.history[-1]
    assert "train_cpc_acc_eye->x" in names["print_log"].keys_ignored_


def test_get_params_lists_parameters_only(small_data):
    for est in (_clf(), M2MCPCPretrainer(M2S, **FAST, **TINY)):
        params = est.get_params()
        assert not [k for k in params if k.startswith("_")]
        est.set_params(callbacks=None)  # skorch's bookkeeping survives any set_params
        est.set_params(lr=0.1)
        assert clone(est).get_params(deep=False).keys() == est.get_params(deep=False).keys()


def test_prototype_decision_function_is_what_predict_takes_the_highest_of(small_data):
    x, eye, y = small_data
    X = SliceDict(x=x, eye=eye)
    pre = M2MCPCPretrainer(M2S(**SMALL), **FAST).fit(X)
    clf = M2SPrototypeClassifier(pre, n_draws=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_[clf.decision_function(X).argmax(1)], clf.predict(X))
    two = M2SPrototypeClassifier(pre, n_draws=3, random_state=0).fit(X[y < 2], y[y < 2])
    decision = two.decision_function(X[y < 2])
    assert decision.shape == (int((y < 2).sum()),)  # scikit-learn's binary shape
    np.testing.assert_array_equal(two.classes_[(decision > 0).astype(int)], two.predict(X[y < 2]))


def test_tensors_keep_their_type_and_integer_tensors_become_floats(small_data):
    _, x2, y = _one_window(small_data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataConversionWarning)
        clf = _clf().fit(torch.as_tensor(np.rint(x2 * 3)).long(), torch.as_tensor(y))
    assert clf.predict(torch.as_tensor(x2)).shape == y.shape
