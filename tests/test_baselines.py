"""Baselines: estimator contract, modality settings, losses against written-out maths."""

import pickle
import warnings

import mne
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold
from skorch.helper import SliceDict

from braindecode_m2s import make_synthetic_emotion
from braindecode_m2s.baselines import (
    BASELINES,
    CROSS_MODAL_BASELINES,
    EEG_ONLY_BASELINES,
    ONE_MODALITY_BASELINES,
    BDAEClassifier,
    CrossCPC,
    CrossCPCClassifier,
    DCCAClassifier,
    FusionClassifier,
    UnimodalClassifier,
    cca_loss,
    cross_cpc_loss,
    de_logreg,
    de_svm,
    dgcnn,
    eegnet,
)

warnings.filterwarnings("ignore", category=FutureWarning)

N_CHANS, N_EYE = 6, 5
TINY = dict(n_hidden=8)
# small settings per registry name (one epoch, tiny layers)
SETTINGS = {
    "de_svm": {},
    "de_logreg": {},
    "unimodal": dict(max_epochs=1, n_hidden=8),
    "fusion": dict(max_epochs=1, n_hidden=8),
    "dcca": dict(max_epochs=1, n_hidden=8, n_latent=3, batch_size=16),
    "bdae": dict(max_epochs=1, n_hidden=8, n_shared=4),
    "cross_cpc": dict(max_epochs=1, n_hidden=8, n_latent=4, n_context=4, batch_size=16),
    "clip_only": dict(max_epochs=1),
}


@pytest.fixture(scope="module")
def data():
    X, y, meta = make_synthetic_emotion(
        n_subjects=1,
        n_sessions=1,
        n_trials=8,
        n_chans=N_CHANS,
        n_eye_features=N_EYE,
        n_windows=(8, 10),
        sequence_length=4,
        stride=2,
        seed=0,
    )
    return X, y, meta


def _make(name, **kwargs):
    settings = dict(SETTINGS[name])
    max_epochs = settings.pop("max_epochs", None)
    return BASELINES[name](
        n_chans=N_CHANS, n_outputs=4, random_state=0, max_epochs=max_epochs, **settings, **kwargs
    )


def _chs_info(n_chans):
    names = mne.channels.make_standard_montage("standard_1005").ch_names[:n_chans]
    info = mne.create_info(names, 200.0, "eeg")
    info.set_montage("standard_1005")
    return info["chs"]


@pytest.mark.parametrize("name", list(SETTINGS))
def test_fit_predict_any_labels(name, data):
    X, y, _ = data
    labels = np.array(["neutral", "sad", "fear", "happy"])[y]
    est = _make(name)
    assert est.fit(X, labels) is est
    assert list(est.classes_) == sorted(set(labels))
    pred = est.predict(X)
    assert pred.shape == (len(y),) and set(pred) <= set(labels)
    proba = est.predict_proba(X)
    assert proba.shape == (len(y), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-4)
    assert 0.0 <= est.score(X, labels) <= 1.0
    # picklable once fitted (joblib / Dask workers ship fitted estimators)
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(est)).predict_proba(X), proba, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", list(SETTINGS))
def test_clone_and_params(name):
    est = _make(name, modalities=["eye"])
    params = est.get_params()
    assert params["train_modalities"] == ["eye"] and params["test_modalities"] == ["eye"]
    twin = clone(est)
    assert twin.get_params().keys() == params.keys()
    twin.set_params(train_modalities=None, test_modalities=None, random_state=3)
    assert twin.get_params()["random_state"] == 3
    assert est.get_params()["train_modalities"] == ["eye"]
    with pytest.raises(NotFittedError):
        twin.predict(SliceDict(x=np.zeros((2, N_CHANS, 4, 5), "float32")))


@pytest.mark.parametrize("name", list(SETTINGS))
def test_random_state_repeats(name, data):
    X, y, _ = data
    a = _make(name).fit(X, y).predict_proba(X)
    b = _make(name).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_clip_only_cross_modal(data):
    X, y, _ = data
    est = _make("clip_only").set_params(train_modalities=["x"], test_modalities=["eye"])
    assert (est.cpc_weight, est.recon_weight, est.club_weight) == (0, 0, 0)
    assert est.fit(X, y).predict(SliceDict(eye=X["eye"])).shape == (len(y),)


@pytest.mark.parametrize("name", ["dcca", "bdae", "cross_cpc"])
def test_cross_modal(name, data):
    X, y, _ = data
    assert name in CROSS_MODAL_BASELINES
    est = (
        _make(name)
        .set_params(train_modalities=["x"], test_modalities=["eye"], batch_size=64)
        .fit(X, y)
    )
    # a training set smaller than a batch still trains (one batch per epoch)
    assert len(est.net_.history[-1, "batches"]) == 1
    assert est.predict(SliceDict(eye=X["eye"])).shape == (len(y),)
    assert est.transform(X).shape[0] == len(y)
    # the training modality is all the fit needs of the classifier; X of the test only
    est.set_params(test_modalities=None)
    assert est.predict(SliceDict(eye=X["eye"])).shape == (len(y),)


@pytest.mark.parametrize("name", ["de_svm", "fusion"])
def test_not_cross_modal_but_subset(name, data):
    X, y, _ = data
    assert name not in CROSS_MODAL_BASELINES
    est = _make(name, modalities=["x"]).fit(X, y)
    with pytest.raises(ValueError, match="cannot predict from test_modalities=\\['eye'\\]"):
        est.set_params(test_modalities=["eye"]).predict(X)
    # trained on both, tested on one: the other is filled with its training mean
    est.set_params(train_modalities=None, test_modalities=["eye"]).fit(X, y)
    assert est.predict(SliceDict(eye=X["eye"])).shape == (len(y),)


def test_bad_inputs(data):
    X, y, _ = data
    est = FusionClassifier(max_epochs=1, **TINY)
    with pytest.raises(ValueError, match="names modality 'eye', which X does not hold"):
        est.set_params(train_modalities=["eye"]).fit(SliceDict(x=X["x"]), y)
    est.set_params(train_modalities=None)
    bad = np.array(X["eye"])
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X\['eye'\] contains NaN"):
        est.fit(SliceDict(x=X["x"], eye=bad), y)
    with pytest.raises(ValueError, match=r"X\['eye'\] has shape"):
        est.fit(SliceDict(x=X["x"], eye=X["eye"][..., 0]), y)
    with pytest.raises(ValueError, match="different numbers of windows"):
        est.fit({"x": X["x"], "eye": X["eye"][..., :3]}, y)
    with pytest.raises(ValueError, match="different numbers of samples"):
        est.fit({"x": X["x"], "eye": X["eye"][:-1]}, y)
    with pytest.raises(ValueError, match="one label per sample"):
        est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="raw EEG"):
        est.fit(SliceDict(x=X["x"][..., 0], eye=X["eye"]), y)
    est.fit(X, y)
    with pytest.raises(ValueError, match=r"X\['eye'\] has per-sample shape"):
        est.predict(SliceDict(x=X["x"], eye=X["eye"][:, :-1]))
    with pytest.raises(ValueError, match="names modality 'eye', which X does not hold"):
        est.set_params(test_modalities=["eye"]).predict(SliceDict(x=X["x"]))
    with pytest.raises(ValueError, match="one modality"):
        UnimodalClassifier(train_modalities=["x", "eye"]).fit(X, y)
    with pytest.raises(ValueError, match="exactly two modalities"):
        DCCAClassifier(max_epochs=1).fit(SliceDict(x=X["x"], eye=X["eye"], ecg=X["eye"]), y)
    with pytest.raises(ValueError, match="two or more modalities"):
        BDAEClassifier(max_epochs=1).fit(SliceDict(x=X["x"]), y)
    with pytest.raises(ValueError, match="`train_modalities` must be None or a non-empty list"):
        de_svm(modality=None).set_params(train_modalities=[1]).fit(X, y)


def test_bdae_modality_masks():
    from braindecode_m2s.baselines.bdae import _modality_masks

    masks = _modality_masks(3000, 2, generator=torch.Generator().manual_seed(0))
    counts = masks.sum(dim=1)
    assert set(counts.tolist()) <= {1, 2}
    # one third bimodal, one third each modality alone (Ngiam et al., 2011)
    shares = [(counts == 2).float().mean(), masks[counts == 1, 0].float().sum() / 3000]
    np.testing.assert_allclose([float(v) for v in shares], [1 / 3, 1 / 3], atol=0.03)


def _numpy_canonical_correlations(a, b):
    """Canonical correlations as singular values of Q_a^T Q_b (Bjorck & Golub, 1973)."""
    qa, _ = np.linalg.qr(a - a.mean(0))
    qb, _ = np.linalg.qr(b - b.mean(0))
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


def test_cca_loss_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 3))
    b = a @ rng.normal(size=(3, 4)) + 0.7 * rng.normal(size=(200, 4))
    expected = _numpy_canonical_correlations(a, b)
    ta, tb = torch.tensor(a), torch.tensor(b)
    np.testing.assert_allclose(-cca_loss(ta, tb, reg=0.0).item(), expected.sum(), rtol=1e-6)
    np.testing.assert_allclose(
        -cca_loss(ta, tb, n_components=2, reg=0.0).item(), expected[:2].sum(), rtol=1e-6
    )
    assert 0 < expected.min() and expected.max() < 1
    # differentiable: a gradient step on h raises the correlation
    ta.requires_grad_(True)
    loss = cca_loss(ta, tb, reg=1e-4)
    loss.backward()
    assert torch.isfinite(ta.grad).all()
    assert cca_loss(ta.detach() - 0.5 * ta.grad, tb, reg=1e-4) < loss


def test_dcca_projections_are_canonical(data):
    X, y, _ = data
    est = DCCAClassifier(
        max_epochs=2, n_latent=3, n_hidden=8, batch_size=16, reg=1e-10, random_state=0
    ).fit(X, y)
    zx = est.set_params(test_modalities=["x"]).transform(X)
    ze = est.set_params(test_modalities=["eye"]).transform(X)
    # projected training views: unit variance, pairwise correlations = canonical ones
    np.testing.assert_allclose(zx.std(0, ddof=1), 1.0, rtol=1e-3)
    corr = [np.corrcoef(zx[:, i], ze[:, i])[0, 1] for i in range(3)]
    np.testing.assert_allclose(corr, est.correlations_, rtol=1e-3, atol=1e-4)


def test_info_nce_written_out():
    from braindecode_m2s.modules import info_nce

    rng = np.random.default_rng(1)
    z, p = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    scores = p @ z.T  # row: a prediction, columns: the batch's targets
    expected = [scores[i, i] - np.log(np.exp(scores[i]).sum()) for i in range(3)]
    log_prob, correct = info_nce(torch.tensor(scores))
    np.testing.assert_allclose(log_prob.numpy(), expected, rtol=1e-10)
    np.testing.assert_array_equal(correct.numpy(), scores.argmax(1) == np.arange(3))
    # leading dimensions are independent score matrices
    other = rng.normal(size=(3, 3))
    batched, _ = info_nce(torch.tensor(np.stack([scores, other])))
    np.testing.assert_allclose(batched[0].numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(batched[1].numpy(), info_nce(torch.tensor(other))[0].numpy())


def test_cross_cpc_loss_written_out():
    torch.manual_seed(0)
    model = (
        CrossCPC(
            {"x": 4, "eye": 3},
            n_latent=3,
            n_context=2,
            n_hidden=5,
            n_steps=2,
            self_weight=0.1,
            drop_prob=0.0,
        )
        .double()
        .eval()
    )
    X = {
        "x": torch.randn(3, 2, 4, 2, dtype=torch.float64),
        "eye": torch.randn(3, 3, 4, dtype=torch.float64),
    }
    z, c = model.latents_and_contexts(**X)
    z = {k: v.detach().numpy() for k, v in z.items()}
    c = {k: v.detach().numpy() for k, v in c.items()}

    def nce(target, pred):
        s = pred @ target.T
        return -np.mean([s[i, i] - np.log(np.exp(s[i]).sum()) for i in range(len(s))])

    expected = 0.0
    for src in ("x", "eye"):
        for tgt in ("x", "eye"):
            terms = []
            for k in (1, 2):
                lin = model.predictors[f"{src}->{tgt}"][k - 1]
                w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
                for t in range(4 - k):
                    terms.append(nce(z[tgt][:, t + k], c[src][:, t] @ w.T + b))
            expected += (0.1 if src == tgt else 1.0) * np.mean(terms)
    np.testing.assert_allclose(model.loss(**X).item(), expected, rtol=1e-10)
    zt = {k: torch.tensor(v) for k, v in z.items()}
    ct = {k: torch.tensor(v) for k, v in c.items()}
    own = cross_cpc_loss(zt, ct, model.predictors, 2, self_weight=0.0)
    assert own.item() < model.loss(**X).item()


def test_grid_search_scores_finite(data):
    X, y, meta = data
    groups = meta["trial"].to_numpy()
    search = GridSearchCV(
        de_logreg("x"),
        {"estimator__logisticregression__C": [0.1, 1.0]},
        cv=GroupKFold(2),
        error_score="raise",
    )
    search.fit(X, y, groups=groups)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    search = GridSearchCV(
        CrossCPCClassifier(max_epochs=1, n_hidden=8, batch_size=8, random_state=0),
        {"train_modalities": [["x"], ["eye"]], "test_modalities": [["eye"]]},
        cv=GroupKFold(2),
        error_score="raise",
    )
    search.fit(X, y, groups=groups)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_dgcnn_on_de_features(data):
    X, y, _ = data
    info = mne.create_info(["Fz", "Cz", "Pz", "C3", "C4", "CB1"], 200.0, "eeg")
    info.set_montage("standard_1005", on_missing="ignore")
    with pytest.raises(ValueError, match=r"\['CB1'\]"):
        dgcnn(N_CHANS, 4, info["chs"])
    with pytest.raises(ValueError, match="`chs_info` is required"):
        BASELINES["dgcnn"](n_chans=N_CHANS, n_outputs=4)
    est = BASELINES["dgcnn"](
        n_chans=N_CHANS,
        n_outputs=4,
        chs_info=_chs_info(N_CHANS),
        random_state=0,
        max_epochs=1,
        n_filters=4,
        mlp_dims=(8,),
        batch_size=8,
    )
    proba = est.fit(X, y).predict_proba(X)
    assert proba.shape == (len(y), 4)
    np.testing.assert_allclose(clone(est).fit(X, y).predict_proba(X), proba, rtol=1e-5)
    with pytest.raises(ValueError, match="reads EEG only"):
        clone(est).set_params(train_modalities=["eye"], test_modalities=["eye"]).fit(X, y)


def test_eegnet_on_raw_windows():
    rng = np.random.default_rng(0)
    X = SliceDict(x=rng.normal(size=(16, 4, 64)).astype("float32"))
    y = np.array(["a", "b"] * 8)
    est = eegnet(4, 2, 64, max_epochs=1, random_state=0, F1=4, D=1, kernel_length=16)
    assert set(est.fit(X, y).predict(X)) <= {"a", "b"}
    with pytest.raises(ValueError, match="raw EEG"):
        est.fit(SliceDict(x=np.zeros((16, 4, 3, 5), "float32")), y)


def test_learns_on_synthetic_seed_iv_split():
    """DE + logistic regression and the fusion network beat chance (0.25) clearly."""
    X, y, meta = make_synthetic_emotion(n_subjects=1, seed=0)
    train = (meta["trial"] < 16).to_numpy()
    Xtr = SliceDict(**{k: v[train] for k, v in X.items()})
    Xte = SliceDict(**{k: v[~train] for k, v in X.items()})
    assert de_logreg(None).fit(Xtr, y[train]).score(Xte, y[~train]) > 0.5
    fusion = FusionClassifier(max_epochs=10, n_hidden=16, random_state=0)
    assert fusion.fit(Xtr, y[train]).score(Xte, y[~train]) > 0.5


def test_registry_factories():
    for name, factory in BASELINES.items():
        extra = {"dgcnn": {"chs_info": _chs_info(N_CHANS)}, "eegnet": {"n_times": 64}}
        est = factory(
            n_chans=N_CHANS, n_outputs=4, random_state=1, max_epochs=2, **extra.get(name, {})
        )
        params = est.get_params()
        assert {"train_modalities", "test_modalities", "random_state"} <= set(params), name
        assert params["random_state"] == 1
        cross = getattr(est, "supports_cross_modal", True)  # M2SClassifier: always
        assert cross == (name in CROSS_MODAL_BASELINES), name
        if name in EEG_ONLY_BASELINES:
            assert params["train_modalities"] == ["x"]
            with pytest.raises(ValueError, match="reads EEG only"):
                factory(n_chans=N_CHANS, n_outputs=4, modalities=["eye"], **extra[name])
        if "max_epochs" in params:
            assert params["max_epochs"] == 2
    assert ONE_MODALITY_BASELINES <= set(BASELINES)
    assert BASELINES["fusion"](modalities="eye").get_params()["train_modalities"] == ["eye"]
