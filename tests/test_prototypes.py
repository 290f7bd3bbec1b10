"""The prototype mode (the reference's second test mode): learning, seeds, sklearn contract."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch.helper import SliceDict

from braindecode_m2s import (
    M2S,
    M2MCPCPretrainer,
    M2SPrototypeClassifier,
    evaluate,
    make_synthetic_emotion,
    split_by_trial,
)
from braindecode_m2s.evaluation import apply_setting
from braindecode_m2s.evaluation.pipelines import (
    M2S_SETTINGS,
    SMALL_M2S,
    paper_pipelines,
)

SIZES = {k[len("module__") :]: v for k, v in SMALL_M2S.items() if k.startswith("module__")}
SIGNAL = dict(n_chans=8, n_outputs=4, modalities={"eye": 6})
MODES = [("x", "x"), ("eye", "eye"), ("x", "eye"), ("eye", "x")]


@pytest.fixture(scope="module")
def data():
    """The redundant scenario (each modality carries the whole state), small."""
    X, y, meta = make_synthetic_emotion(
        n_subjects=1,
        n_sessions=2,
        n_chans=8,
        n_eye_features=6,
        n_windows=(12, 14),
        sequence_length=5,
        stride=2,
        scenario="redundant",
        noise=0.5,
        seed=0,
    )
    train, test = split_by_trial(meta, "SEED-IV")
    return X[train], y[train], X[test], y[test], (X, y, meta)


@pytest.fixture(scope="module")
def pretrainer(data):
    Xtr = data[0]
    # the model's initial weights seeded here: a module fixture is built before the
    # autouse seeding, from whatever state the tests before it left
    return M2MCPCPretrainer(
        _untrained(), max_epochs=4, batch_size=64, lr=1e-2, random_state=0, verbose=0
    ).fit(Xtr)


def _untrained():
    torch.manual_seed(0)
    return M2S(**SIGNAL, **SIZES)  # an instance is taken as given: random encoders


def _clf(pre, mode=("x", "eye"), **kwargs):
    return M2SPrototypeClassifier(
        pre, train_modalities=[mode[0]], test_modalities=[mode[1]], random_state=0, **kwargs
    )


def test_four_modes_learn_above_chance_and_pretraining_makes_cross_modal_work(data, pretrainer):
    Xtr, ytr, Xte, yte, _ = data
    for mode in MODES:
        clf = _clf(pretrainer, mode).fit(Xtr, ytr)
        assert clf.score(Xte, yte) > 0.45, mode  # chance: 0.25 (four classes)
        assert clf.draw_scores(Xte, yte).mean() > 0.4, mode
    for mode in MODES[2:]:  # random encoders share no space: cross-modal fails there
        trained = _clf(pretrainer, mode).fit(Xtr, ytr).score(Xte, yte)
        untrained = _clf(_untrained(), mode).fit(Xtr, ytr).score(Xte, yte)
        assert trained > untrained + 0.2, mode


def test_similarity_is_cosine_of_normalised_embeddings_and_references_are_class_members(
    data, pretrainer
):
    Xtr, ytr, Xte, _, _ = data
    clf = _clf(pretrainer, n_draws=5).fit(Xtr, ytr)
    assert clf.reference_indices_.shape == (5, 4)
    for k, label in enumerate(clf.classes_):
        assert (ytr[clf.reference_indices_[:, k]] == label).all()
    ref = pretrainer.transform(SliceDict(x=Xtr["x"][clf.reference_indices_.ravel()]))
    ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(clf.references_.reshape(-1, ref.shape[1]), ref, atol=1e-5)
    test = pretrainer.transform(SliceDict(eye=Xte["eye"]))
    test = test / np.linalg.norm(test, axis=1, keepdims=True)
    sims = clf.similarities(Xte)
    np.testing.assert_allclose(
        sims, np.einsum("nd,rkd->rnk", test, ref.reshape(5, 4, -1)), atol=1e-5
    )
    # probabilities: share of the draws each class wins; prediction: most wins
    proba = clf.predict_proba(Xte)
    np.testing.assert_allclose(proba, np.eye(4)[sims.argmax(2)].mean(0))
    np.testing.assert_allclose(proba.sum(1), 1.0)
    untied = np.sort(proba, 1)[:, -1] > np.sort(proba, 1)[:, -2]
    assert untied.any()
    np.testing.assert_array_equal(clf.predict(Xte)[untied], clf.classes_[proba.argmax(1)][untied])
    # decision: the share of draws won, ties broken by the mean similarity (below one draw)
    decision = clf.decision_function(Xte)
    np.testing.assert_allclose(decision, proba + (sims.mean(0) + 1) / (3 * 5))
    np.testing.assert_array_equal(clf.predict(Xte), clf.classes_[decision.argmax(1)])
    # one draw: the vote is that draw, so score is the reference's per-draw accuracy
    one = _clf(pretrainer, n_draws=1).fit(Xtr, ytr)
    assert one.score(Xte, data[3]) == pytest.approx(one.draw_scores(Xte, data[3])[0])


def test_seeded_draws_repeat_and_leave_the_global_rng_alone(data, pretrainer):
    Xtr, ytr, Xte, _, _ = data
    state = np.random.get_state()[1].copy()
    a = _clf(pretrainer).set_params(random_state=3).fit(Xtr, ytr)
    b = _clf(pretrainer).set_params(random_state=3).fit(Xtr, ytr)
    c = _clf(pretrainer).set_params(random_state=4).fit(Xtr, ytr)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    np.testing.assert_array_equal(a.reference_indices_, b.reference_indices_)
    np.testing.assert_array_equal(a.predict_proba(Xte), b.predict_proba(Xte))
    assert not np.array_equal(a.reference_indices_, c.reference_indices_)


def test_scikit_learn_contract(data, pretrainer):
    Xtr, ytr, Xte, yte, _ = data
    clf = _clf(pretrainer)
    for method in (clf.predict, clf.predict_proba, clf.similarities):
        with pytest.raises(NotFittedError):
            method(Xte)
    with pytest.raises(NotFittedError):
        _ = clf.classes_
    before = clf.get_params(deep=False)
    clf.fit(Xtr, ytr)
    after = clf.get_params(deep=False)
    assert before.keys() == after.keys()
    assert all(after[k] is before[k] or after[k] == before[k] for k in before)
    assert len(clf.pretrainer_.history) == 0  # given pretrained: nothing trained in fit
    # the fitted pretrainer is frozen: no nested parameter a seed setter could change
    assert not any(k.startswith("pretrained__") for k in clf.get_params(deep=True))
    unfitted = M2SPrototypeClassifier(M2MCPCPretrainer(M2S(**SIGNAL, **SIZES)))
    assert "pretrained__random_state" in unfitted.get_params(deep=True)
    # clone keeps the fitted pretrainer (read only) and gives an unfitted classifier
    twin = clone(clf)
    assert twin.pretrained is pretrainer and not hasattr(twin, "references_")
    np.testing.assert_array_equal(twin.fit(Xtr, ytr).predict(Xte), clf.predict(Xte))
    # a pretrained M2S is copied by clone, weights included
    module = pretrainer.module_
    on_module = _clf(module).fit(Xtr, ytr)
    copy_ = clone(on_module)
    assert copy_.pretrained is not module and isinstance(copy_.pretrained, M2S)
    np.testing.assert_array_equal(copy_.fit(Xtr, ytr).predict(Xte), clf.predict(Xte))
    # labels of any type (sorted as the integers are, so the draws are the same)
    names = np.array(["0 neutral", "1 sad", "2 fear", "3 happy"])
    strings = _clf(pretrainer).fit(Xtr, names[ytr])
    assert set(strings.classes_) == set(names)
    np.testing.assert_array_equal(strings.predict(Xte), names[clf.predict(Xte)])
    assert strings.score(Xte, names[yte]) == pytest.approx(clf.score(Xte, yte))


def test_fit_pretrains_an_unfitted_pretrainer_on_a_copy(data):
    Xtr, ytr, Xte, _, _ = data
    unfitted = M2MCPCPretrainer(M2S(**SIGNAL, **SIZES), max_epochs=1, batch_size=64, verbose=0)
    clf = M2SPrototypeClassifier(
        unfitted, n_draws=3, train_modalities=["eye"], test_modalities=["x"], random_state=7
    ).fit(Xtr, ytr)
    assert not getattr(unfitted, "initialized_", False)  # the parameter is untouched
    assert clf.pretrainer_ is not unfitted and clf.pretrainer_.random_state == 7
    assert len(clf.pretrainer_.history) == 1 and clf.trained_modalities_ == {"x", "eye"}
    assert clf.predict(Xte).shape == (len(Xte["x"]),)


def test_bad_inputs_are_value_errors(data, pretrainer):
    Xtr, ytr, Xte, _, _ = data
    with pytest.raises(ValueError, match="train_modalities.*'ecg'"):
        M2SPrototypeClassifier(pretrainer, train_modalities=["ecg"]).fit(Xtr, ytr)
    clf = _clf(pretrainer).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="test_modalities.*'eye'"):
        clf.predict(SliceDict(x=Xte["x"]))
    for n_draws in (0, 2.5, True):
        with pytest.raises(ValueError, match="n_draws"):
            _clf(pretrainer, n_draws=n_draws).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="pretrained"):
        M2SPrototypeClassifier("a model").fit(Xtr, ytr)
    with pytest.raises(ValueError, match="single class"):
        _clf(pretrainer).fit(Xtr, np.zeros(len(ytr)))
    with pytest.raises(ValueError, match="one label per sample"):
        _clf(pretrainer).fit(Xtr, ytr[:-1])
    with pytest.raises(ValueError, match="mixes label types"):
        _clf(pretrainer).fit(Xtr, np.array([1, "a"] * len(ytr), dtype=object)[: len(ytr)])
    with pytest.raises(ValueError, match=r"shape \(3,\) \(1-D\).*Reshape your data"):
        _clf(pretrainer).fit([1, 2, 3], ytr)  # array-like, as scikit-learn reads it
    with pytest.raises(ValueError, match="different numbers of samples"):
        clf.predict({"x": Xte["x"], "eye": Xte["eye"][:-1]})
    with pytest.raises(ValueError, match="test_modalities.*'ecg'.*this M2S does not hold"):
        _clf(pretrainer, ("x", "ecg")).fit(Xtr, ytr).predict({"ecg": Xte["eye"]})
    with pytest.raises(ValueError, match="has 3 features"):  # the model checks the layout
        clf.predict({"eye": Xte["eye"][:, :3]})
    with pytest.raises(ValueError, match="at least two modalities"):  # stage 1 needs two
        M2SPrototypeClassifier(
            M2MCPCPretrainer(M2S(**SIGNAL, **SIZES), max_epochs=1), train_modalities=["x"]
        ).fit(SliceDict(x=Xtr["x"]), ytr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a pretrainer fitted on x alone cannot exist:
        only_x = clone(pretrainer)  # stage 1 needs two modalities; fake its record
        only_x.__dict__.update(pretrainer.__dict__, modalities_=["x"])
        _clf(only_x).fit(Xtr, ytr).predict(Xte)
    assert any("never trained" in str(w.message) for w in caught)


def test_evaluate_and_reproduce_include_the_prototype_mode(data):
    pipelines, settings = paper_pipelines(
        max_epochs=1, m2s_kwargs={**SMALL_M2S, "pretrain_batch_size": 64}
    )
    assert isinstance(pipelines["M2S-prototype"], M2SPrototypeClassifier)
    assert settings["M2S-prototype"] == M2S_SETTINGS
    pre = pipelines["M2S-prototype"].pretrained
    assert pre.max_epochs == 1 and pre.batch_size == 64
    assert pre.get_params()["module__embed_dim"] == SMALL_M2S["module__embed_dim"]
    # the prototype pipeline's stage 1 is the classifier's own (one stage-1 path)
    stage_one = pipelines["M2S"].make_pretrainer().get_params(deep=False)
    assert {k: v for k, v in pre.get_params(deep=False).items() if k != "callbacks"} == {
        k: v for k, v in stage_one.items() if k != "callbacks"
    }
    _, deap = paper_pipelines(
        max_epochs=1, include=["M2S-prototype"], second_modality="peripheral"
    )
    assert deap["M2S-prototype"] == (
        "eeg2eeg",
        "peripheral2peripheral",
        "eeg2peripheral",
        "peripheral2eeg",
    )
    est = apply_setting(pipelines["M2S-prototype"], "eye2eeg", keys=["x", "eye"])
    assert (est.train_modalities, est.test_modalities) == (["eye"], ["x"])
    X, y, meta = data[4]
    res = evaluate(
        {"M2S-prototype": pipelines["M2S-prototype"]},
        X,
        y,
        meta,
        dataset="SEED-IV",
        settings=["eeg2eye"],
        seeds=[0],
    )
    assert len(res) == 2  # the two sessions, one SEED-IV split each
    assert (res["train_modalities"] == "x").all() and (res["test_modalities"] == "eye").all()
    assert res["score"].between(0, 1).all()
