"""scikit-learn's, skorch's and braindecode's contracts for both M2S estimators and every
baseline: fit never changes parameters, clone / second fit on other modalities, no global
random side effects, state that travels (save_params, pickle, the hub mixin), groups for
any train_split, CLUB's own skorch optimiser."""

import pickle
import random

import joblib
import numpy as np
import pytest
import torch
from conftest import SMALL
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GroupKFold
from sklearn.utils.estimator_checks import check_parameters_default_constructible
from skorch.dataset import ValidSplit
from skorch.helper import SliceDict

from braindecode_m2s import M2S, M2MCPCPretrainer, M2SClassifier, M2SPrototypeClassifier
from braindecode_m2s.baselines import BASELINES

TINY = {
    f"module__{k}": v for k, v in SMALL.items() if k not in ("n_chans", "n_outputs", "modalities")
}
FAST = dict(max_epochs=1, batch_size=16, verbose=0, random_state=0)
BASELINE_SETTINGS = {
    "de_svm": {},
    "de_logreg": {},
    "unimodal": dict(max_epochs=1, n_hidden=8),
    "fusion": dict(max_epochs=1, n_hidden=8),
    "dcca": dict(max_epochs=1, n_hidden=8, n_latent=3, batch_size=16),
    "bdae": dict(max_epochs=1, n_hidden=8, n_shared=4),
    "cross_cpc": dict(max_epochs=1, n_hidden=8, n_latent=4, n_context=4, batch_size=16),
    "clip_only": dict(max_epochs=1, **TINY),
}


def _X(small_data, other="eye"):
    x, eye, y = small_data
    return SliceDict(**{"x": x, other: eye}), y


def _classifier(**kwargs):
    params = {"pretrain_epochs": 1, "pretrain_batch_size": 16, **FAST, **TINY, **kwargs}
    return M2SClassifier(M2S, **params)


def _pretrainer(**kwargs):
    return M2MCPCPretrainer(M2S, **{**FAST, **TINY, **kwargs})


def _baselines():
    out = {}
    for name, factory in BASELINES.items():
        if name in ("dgcnn", "eegnet"):
            continue  # braindecode models: their own contract, tested in test_baselines
        out[name] = factory(random_state=0, **BASELINE_SETTINGS[name])
    return out


def _prototypes(**kwargs):
    """The prototype mode on an unfitted tiny pretrainer (``kwargs``: the pretrainer's)."""
    return M2SPrototypeClassifier(_pretrainer(**kwargs), random_state=0)


ESTIMATORS = {
    "M2SClassifier": _classifier,
    "M2MCPCPretrainer": _pretrainer,
    "M2SPrototypeClassifier": _prototypes,
    **{f"baseline:{k}": (lambda k=k: _baselines()[k]) for k in BASELINE_SETTINGS},
}


@pytest.mark.parametrize("name", ["M2SClassifier", "M2MCPCPretrainer"])
def test_scikit_learn_init_checks(name):
    """check_no_attributes_set_in_init, as skorch estimators can pass it.

    skorch's own ``NeuralNet.__init__`` sets its bookkeeping (``history_``,
    ``initialized_``, ``virtual_params_``, ``_params_to_validate``) and keeps
    ``module__*`` as attributes (they are parameters through ``get_params``);
    anything else is ours.
    """
    est = ESTIMATORS[name]()
    params = est.get_params(deep=False)
    skorch_own = {"history_", "initialized_", "virtual_params_", "_params_to_validate"}
    extra = set(vars(est)) - set(params) - skorch_own
    assert not extra, f"__init__ set {sorted(extra)}"
    for key, value in params.items():  # stored as given
        assert getattr(est, key) is value
    check_parameters_default_constructible(name, type(est)(verbose=0))


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_fit_never_changes_parameters_and_is_idempotent(name, small_data):
    """check_dont_overwrite_parameters and check_fit_idempotent, on SliceDict input."""
    X, y = _X(small_data)
    est = ESTIMATORS[name]()
    before = joblib.hash(est.get_params(deep=False))
    fitted = est.fit(X, y)
    assert fitted is est
    assert joblib.hash(est.get_params(deep=False)) == before, "fit changed get_params()"
    out = "transform" if name == "M2MCPCPretrainer" else "predict_proba"
    first = getattr(est, out)(X)
    second = getattr(est.fit(X, y), out)(X)
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name",
    [
        "M2SClassifier",
        "M2MCPCPretrainer",
        "M2SPrototypeClassifier",
        "baseline:fusion",
        "baseline:clip_only",
    ],
)
def test_clone_and_second_fit_on_other_modalities(name, small_data):
    """A grid search clones across datasets: eye data, then peripheral data."""
    X_eye, y = _X(small_data, "eye")
    X_per, _ = _X(small_data, "peripheral")
    est = ESTIMATORS[name]().fit(X_eye, y)
    clone(est).fit(X_per, y)
    est.fit(X_per, y)  # a second fit on other modalities starts anew
    if hasattr(est, "module_"):
        assert "peripheral" in est.module_.modalities and "eye" not in est.module_.modalities


@pytest.mark.parametrize("name", ["M2SClassifier", "M2MCPCPretrainer", "M2SPrototypeClassifier"])
def test_fit_leaves_the_global_random_generators_as_they_were(name, small_data):
    X, y = _X(small_data)
    est = ESTIMATORS[name](iterator_train__shuffle=True)
    np.random.seed(11)
    random.seed(11)
    torch.manual_seed(11)
    states = (np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state())
    est.fit(X, y)
    # prediction too: a DataLoader draws its base seed from torch's global generator
    # unless it is given one
    getattr(est, "transform" if name == "M2MCPCPretrainer" else "predict")(X)
    np.testing.assert_array_equal(np.random.get_state()[1], states[0])
    assert random.getstate() == states[1]
    assert torch.equal(torch.get_rng_state(), states[2])


def test_save_params_into_a_fresh_estimator_predicts_identically(small_data, tmp_path):
    X, y = _X(small_data)
    labels = np.array([-1, 0, 1])[y]  # SEED's labels
    model = M2S(**SMALL)
    clf = M2SClassifier(model, pretrain_epochs=1, pretrain_batch_size=16, **FAST)
    clf.fit(X, labels)
    clf.save_params(f_params=tmp_path / "params.pt", f_history=tmp_path / "history.json")
    fresh = M2SClassifier(M2S(**SMALL), **FAST).initialize()
    fresh.load_params(f_params=tmp_path / "params.pt", f_history=tmp_path / "history.json")
    np.testing.assert_array_equal(fresh.predict(X), clf.predict(X))
    np.testing.assert_allclose(fresh.predict_proba(X), clf.predict_proba(X), rtol=1e-5)
    np.testing.assert_array_equal(fresh.classes_, [-1, 0, 1])
    assert fresh.classes_.dtype == clf.classes_.dtype
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([2**62 + 1, 2**62, 2**62 + 2]),  # merge through float64
        np.array([2**80, 2**80 + 1, -(2**70)], dtype=object),  # beyond int64
        np.array(["calm", "fear", "joy"]),
        np.array([-1.0, 0.0, 2.0**53]),  # floats (whole: a fraction is a regression target)
        np.array([True, False, True])[[0, 1, 1]],
    ],
)
def test_labels_round_trip_exactly_through_save_params(small_data, tmp_path, labels):
    X, y = _X(small_data)
    values = np.unique(labels)
    given = values[y % len(values)]
    clf = _classifier(pretrain_epochs=0, freeze_encoders=False).fit(X, given)
    clf.save_params(f_params=tmp_path / "params.pt")
    sizes = {f"module__{k}": SMALL[k] for k in ("n_chans", "modalities")}
    sizes["module__n_outputs"] = len(values)
    fresh = _classifier(**sizes).initialize()
    fresh.load_params(f_params=tmp_path / "params.pt")
    predicted = fresh.predict(X)
    assert set(predicted.tolist()) <= set(given.tolist())
    np.testing.assert_array_equal(predicted, clf.predict(X))
    assert [type(v) for v in fresh.classes_.tolist()] == [type(v) for v in clf.classes_.tolist()]
    assert fresh.classes_.tolist() == clf.classes_.tolist()


def test_load_params_of_other_sizes_names_the_sizes_to_pass(small_data, tmp_path):
    X, y = _X(small_data)
    clf = _classifier(pretrain_epochs=0, freeze_encoders=False).fit(X, y)
    clf.save_params(f_params=tmp_path / "params.pt")
    default = M2SClassifier(
        M2S, module__n_chans=SMALL["n_chans"], module__n_outputs=3
    ).initialize()
    with pytest.raises(ValueError, match=r"modalities=\{'eye': 4\} \(this one: \{'eye': 31\}\)"):
        default.load_params(f_params=tmp_path / "params.pt")
    with pytest.raises(NotFittedError, match=r"call initialize\(\) first"):
        M2SClassifier(M2S).load_params(f_params=tmp_path / "params.pt")


def test_hub_mixin_round_trip_offline(small_data, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    X, y = _X(small_data)
    pre = M2MCPCPretrainer(M2S(**SMALL), **FAST).fit(X)
    model = pre.module_.eval()
    model.save_pretrained(tmp_path)
    loaded = M2S.from_pretrained(tmp_path).eval()  # its encoders; no flag says so
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    assert loaded.modalities == model.modalities
    config = model.get_config()
    assert M2S.from_config(config).get_config() == config
    x, eye = torch.as_tensor(X["x"][:4]), torch.as_tensor(X["eye"][:4])
    torch.testing.assert_close(loaded(x, eye=eye), model(x, eye=eye))
    features = loaded(x, eye=eye, return_features=True)
    assert features["features"].shape == (4, SMALL["proj_dim"])
    # the pretrained encoders are what a classifier built on them starts from
    clf = M2SClassifier(loaded, pretrain_epochs=0, max_epochs=1, batch_size=16, verbose=0)
    clf.fit(X, y)
    assert clf.pretrainer_ is None and clf.encoders_frozen_
    for key, value in loaded.er_encoders.state_dict().items():
        assert torch.equal(clf.module_.er_encoders.state_dict()[key], value)


@pytest.mark.parametrize(
    "splitter",
    [
        ValidSplit(GroupKFold(3), stratified=False),
        lambda dataset, y=None, groups=None: (
            torch.utils.data.Subset(dataset, np.where(groups != 0)[0]),
            torch.utils.data.Subset(dataset, np.where(groups == 0)[0]),
        ),
    ],
)
def test_any_train_split_receives_the_groups(small_data, splitter):
    X, y = _X(small_data)
    groups = np.arange(len(y)) // 8
    clf = _classifier(train_split=splitter, max_epochs=2).fit(X, y, groups=groups)
    assert "valid_loss" in clf.history[-1]
    pre = _pretrainer(train_split=splitter).fit(X, groups=groups)
    assert "valid_clip_loss" in pre.history[-1]


def test_club_has_its_own_skorch_optimizer(small_data):
    X, _ = _X(small_data)
    pre = _pretrainer(optimizer_club__lr=0.05).fit(X)
    assert pre.optimizer_club_.param_groups[0]["lr"] == 0.05
    main = {id(p) for g in pre.optimizer_.param_groups for p in g["params"]}
    club = {id(p) for p in pre.criterion_.club.parameters()}
    assert not main & club  # CLUB's parameters only in optimizer_club_
    assert {id(p) for g in pre.optimizer_club_.param_groups for p in g["params"]} == club
    # per-term logging through skorch's PassthroughScoring callbacks
    assert dict(pre.callbacks_)["train_clip_loss"].__class__.__name__ == "PassthroughScoring"


def test_errors_at_the_boundary_name_the_argument(small_data):
    X, y = _X(small_data)
    clf = _classifier().fit(X, y)
    bad = SliceDict(x=X["x"][:, :4], eye=X["eye"])
    with pytest.raises(
        ValueError,
        match=r"^M2SClassifier.predict: EEG input 'x' has 4 channels",
    ) as info:
        clf.predict(bad)
    # raised at the door: the traceback does not go through skorch or torch
    frames = [str(entry.path) for entry in info.traceback]
    assert not any("skorch" in f or "torch/nn" in f for f in frames), frames
    with pytest.raises(ValueError, match="M2SClassifier.fit: Unknown modality 'pupil'"):
        M2SClassifier(M2S(**SMALL), **FAST).fit(SliceDict(x=X["x"], pupil=X["eye"]), y)


@pytest.mark.parametrize("kind", ["str", "object", "complex"])
@pytest.mark.parametrize("name", ["M2SClassifier", "M2MCPCPretrainer"])
def test_non_numeric_modalities_are_refused_naming_the_modality(small_data, name, kind):
    X, y = _X(small_data)
    not_all_numbers = X["eye"].astype(object)  # numbers alone are read as floats
    not_all_numbers[0, 0, 0] = "a"
    eye = {
        "str": X["eye"].astype(str),
        "object": not_all_numbers,
        "complex": X["eye"].astype(complex),
    }[kind]
    bad = SliceDict(x=X["x"], eye=eye)
    est = _classifier() if name == "M2SClassifier" else _pretrainer()
    with pytest.raises(ValueError, match=rf"^{name}.fit: modality 'eye' has dtype"):
        est.fit(bad, y) if name == "M2SClassifier" else est.fit(bad)


def test_bf16_mixed_precision_trains_and_returns_float32(small_data):
    X, y = _X(small_data)
    clf = _classifier(mixed_precision="bf16", random_state=0).fit(X, y)
    assert clf.get_params()["mixed_precision"] == "bf16"
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32 and np.allclose(proba.sum(1), 1, atol=1e-3)
    assert np.isfinite(clf.pretrain_history_[-1, "train_loss"])
    assert clf.transform(X).dtype == np.float32
    # the autocast really runs: bf16 and float32 fits differ, and float32 fits repeat
    a = _classifier(random_state=0).fit(X, y).predict_proba(X)
    b = _classifier(random_state=0).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, proba)
    for name in ("M2SClassifier", "M2MCPCPretrainer"):
        est = (_classifier if name == "M2SClassifier" else _pretrainer)(mixed_precision="fp8")
        with pytest.raises(ValueError, match=rf"^{name}: mixed_precision must be 'no' or 'bf16'"):
            est.fit(X, y) if name == "M2SClassifier" else est.fit(X)


def test_prototype_classifier_passes_scikit_learn_init_checks():
    from sklearn.utils.estimator_checks import check_no_attributes_set_in_init

    check_no_attributes_set_in_init("M2SPrototypeClassifier", _prototypes())
    check_parameters_default_constructible("M2SPrototypeClassifier", M2SPrototypeClassifier())
