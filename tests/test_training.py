"""Training M2S the braindecode way: EEGClassifier, M2SClassifier, pretraining, sklearn."""

import pickle

import numpy as np
import pytest
import torch
from braindecode import EEGClassifier
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from skorch.helper import SliceDict

from braindecode_m2s import M2S, M2MCPCPretrainer, M2SClassifier
from conftest import N_CHANS, N_CLASSES, N_EYE, SMALL, make_small_data

FAST = dict(max_epochs=2, batch_size=16, lr=1e-3, train_split=None, verbose=0)


def _clf(cls=M2SClassifier, seed=0, module_kwargs=None, **kwargs):
    torch.manual_seed(seed)
    return cls(M2S(**{**SMALL, **(module_kwargs or {})}), **{**FAST, **kwargs})


def test_plain_eegclassifier_fits_an_eeg_array(small_data):
    x, eye, y = small_data
    net = _clf(EEGClassifier).fit(x, y)
    assert net.predict(x).shape == y.shape


def test_plain_eegclassifier_fits_a_slicedict(small_data):
    x, eye, y = small_data
    net = _clf(EEGClassifier).fit(SliceDict(x=x, eye=eye), y)
    proba = net.predict_proba(SliceDict(x=x, eye=eye.astype("float64")))
    assert proba.shape == (len(y), N_CLASSES)
    # braindecode's prediction loader needs an 'x' key: the documented limit
    with pytest.raises(KeyError):
        net.predict(SliceDict(eye=eye))


def test_cpc_term_changes_trained_weights_under_plain_eegclassifier(small_data):
    x, eye, y = small_data
    X = SliceDict(x=x, eye=eye)
    weights = {}
    for cpc_weight in (0.0, 1.0, 1.0):
        net = _clf(EEGClassifier, module_kwargs=dict(cpc_weight=cpc_weight, distill_weight=0.0))
        torch.manual_seed(1)
        net.fit(X, y)
        weights.setdefault(cpc_weight, []).append(
            net.module_.encoders["eye"].embedding.weight.detach().clone()
        )
    # same seed, same data: lambda = 1 repeats exactly, and differs from lambda = 0
    torch.testing.assert_close(weights[1.0][0], weights[1.0][1])
    assert not torch.allclose(weights[0.0][0], weights[1.0][0])
    # the CPC GRUs only learn through the auxiliary term
    net_no_cpc = _clf(EEGClassifier, module_kwargs=dict(cpc_weight=0.0, distill_weight=0.0))
    before = net_no_cpc.module.cpc.contexts["x"].weight_ih_l0.detach().clone()
    net_no_cpc.fit(X, y)
    torch.testing.assert_close(net_no_cpc.module_.cpc.contexts["x"].weight_ih_l0, before)


def test_m2s_classifier_history_and_single_modality_prediction(small_data):
    x, eye, y = small_data
    net = _clf(train_split=lambda ds, y=None: (ds, ds), max_epochs=2,
               module_kwargs=dict(distill_weight=1.0))
    net.fit(SliceDict(x=x, eye=eye), y)
    row = net.history[-1]
    for key in ("train_loss", "valid_loss", "train_cpc_loss", "valid_cpc_loss",
                "train_distill_loss", "train_cpc_acc_x->eye", "train_cpc_acc_eye->x",
                "valid_cpc_acc_fused->eye"):
        assert key in row and np.isfinite(row[key]), key
    # train_loss is the full objective: above the cross-entropy alone
    assert row["train_loss"] > row["train_cpc_loss"] * net.module_.cpc_weight
    for X in (SliceDict(eye=eye), SliceDict(x=x), SliceDict(x=x, eye=eye), x):
        pred = net.predict(X)
        proba = net.predict_proba(X)
        assert pred.shape == y.shape and proba.shape == (len(y), N_CLASSES)
        np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    # float64 eye features alone (braindecode only casts 'x')
    assert net.predict(SliceDict(eye=eye.astype("float64"))).shape == y.shape


def test_m2s_classifier_infers_module_parameters_from_a_slicedict(small_data):
    x, eye, y = small_data
    net = M2SClassifier(
        M2S, module__embed_dim=8, module__latent_dim=8, module__n_heads=1, **FAST
    )
    net.fit(SliceDict(x=x, eye=eye, pupil=eye[:, :2]), y)
    m = net.module_
    assert (m.n_chans, m.n_outputs, m.n_bands) == (N_CHANS, N_CLASSES, 5)
    assert m.modalities == {"eye": N_EYE, "pupil": 2}
    assert net.predict(SliceDict(pupil=eye[:, :2])).shape == y.shape


def test_learns_and_predicts_from_each_modality():
    x, eye, y = make_small_data(n=96, seed=1)
    net = _clf(max_epochs=40, lr=1e-2).fit(SliceDict(x=x[:72], eye=eye[:72]), y[:72])
    for X in (SliceDict(x=x[72:]), SliceDict(eye=eye[72:]), SliceDict(x=x[72:], eye=eye[72:])):
        assert (net.predict(X) == y[72:]).mean() > 0.6  # chance is 1/3


def test_seeds_make_runs_repeatable(small_data):
    x, eye, y = small_data
    X = SliceDict(x=x, eye=eye)
    probas = []
    for _ in range(2):
        net = M2SClassifier(M2S, module__embed_dim=8, module__latent_dim=8,
                            module__n_heads=1, random_state=7, **FAST).fit(X, y)
        probas.append(net.predict_proba(X))
    np.testing.assert_array_equal(probas[0], probas[1])


def test_clone_params_pickle_and_save_load(small_data, tmp_path):
    x, eye, y = small_data
    X = SliceDict(x=x, eye=eye)
    net = _clf(random_state=0)
    params = net.get_params()
    assert params["random_state"] == 0 and params["max_epochs"] == 2
    net.set_params(max_epochs=1, module__cpc_weight=0.5)
    assert net.max_epochs == 1
    cloned = clone(net)
    assert cloned.max_epochs == 1 and not hasattr(cloned, "module_")
    net.fit(X, y)
    expected = net.predict_proba(X)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_allclose(restored.predict_proba(X), expected, rtol=1e-6)
    net.save_params(f_params=tmp_path / "params.pt")
    fresh = _clf(seed=123).initialize()
    fresh.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_allclose(fresh.predict_proba(X), expected, rtol=1e-6)
    np.testing.assert_allclose(
        fresh.predict_proba(SliceDict(eye=eye)), net.predict_proba(SliceDict(eye=eye)),
        rtol=1e-6,
    )


@pytest.mark.parametrize("cls", [M2SClassifier, EEGClassifier])
def test_grid_search_and_cross_val_score_give_finite_scores(small_data, cls):
    x, eye, y = small_data
    X = SliceDict(x=x, eye=eye)
    if cls is EEGClassifier:  # plain skorch rebuilds a module from module__* alone
        net = EEGClassifier(M2S, **{f"module__{k}": v for k, v in SMALL.items()},
                            **{**FAST, "max_epochs": 1})
    else:
        net = _clf(cls, max_epochs=1)
    search = GridSearchCV(
        net, {"module__cpc_weight": [0.0, 1.0]}, cv=KFold(2), error_score="raise",
        refit=False,
    )
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    scores = cross_val_score(clone(net), X, y, cv=KFold(2), error_score="raise")
    assert np.isfinite(scores).all() and scores.shape == (2,)


def test_cross_val_score_on_a_single_modality_through_m2s_classifier(small_data):
    x, eye, y = small_data
    scores = cross_val_score(_clf(max_epochs=1), SliceDict(eye=eye), y, cv=KFold(2),
                             error_score="raise")
    assert np.isfinite(scores).all()


def test_pretrainer_then_classifier(small_data):
    x, eye, y = small_data
    X = SliceDict(x=x, eye=eye)
    torch.manual_seed(0)
    pre = M2MCPCPretrainer(M2S(**SMALL), max_epochs=3, batch_size=16, lr=3e-3,
                           train_split=None, verbose=0)
    initial = pre.module.encoders["eye"].embedding.weight.detach().clone()
    pre.fit(X)
    hist = pre.history
    assert hist[-1, "train_loss"] < hist[0, "train_loss"]
    assert "train_cpc_acc_x->eye" in hist[-1]
    pretrained = pre.module_.encoders["eye"].embedding.weight.detach().clone()
    assert not torch.allclose(initial, pretrained)
    clf = pre.to_classifier(n_outputs=N_CLASSES, max_epochs=1, batch_size=16,
                            train_split=None, verbose=0)
    torch.testing.assert_close(clf.module.encoders["eye"].embedding.weight, pretrained)
    assert clf.module is not pre.module_
    clf.fit(X, y)
    assert clf.predict(SliceDict(eye=eye)).shape == y.shape
    other = pre.to_classifier(n_outputs=5)
    assert other.module.final_layer.out_features == 5


def test_pretrainer_needs_two_modalities(small_data):
    x, eye, y = small_data
    pre = M2MCPCPretrainer(M2S(**SMALL), max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match="at least two modalities"):
        pre.fit(SliceDict(x=x))
    with pytest.raises(ValueError, match="at least two modalities"):
        pre.fit(x)


def test_prediction_before_fit_raises_not_fitted(small_data):
    from sklearn.exceptions import NotFittedError

    x, eye, y = small_data
    with pytest.raises(NotFittedError):
        _clf().predict(SliceDict(eye=eye))
    with pytest.raises(NotFittedError):
        M2MCPCPretrainer(M2S(**SMALL)).to_classifier()
