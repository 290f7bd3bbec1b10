"""skorch training of M2S: both stages, the four modes, the braindecode / sklearn contract."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from braindecode import EEGClassifier
from conftest import N_CHANS, SMALL
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from skorch.callbacks import EarlyStopping
from skorch.helper import SliceDict

from braindecode_m2s import M2S, M2MCPCPretrainer, M2SClassifier, TrialValidSplit
from braindecode_m2s.objectives import M2SJoint, M2SJointLoss

FAST = dict(max_epochs=3, batch_size=16, verbose=0)
PRE = dict(pretrain_epochs=2, pretrain_batch_size=16)


def _module_kwargs():
    return {f"module__{k}": v for k, v in SMALL.items() if k not in ("n_chans", "n_outputs")}


def _X(small_data):
    x, eye, y = small_data
    return SliceDict(x=x, eye=eye), y


def _clf(**kwargs):
    return M2SClassifier(M2S(**SMALL), random_state=0, **{**FAST, **PRE, **kwargs})


def test_plain_eegclassifier_fits_an_eeg_array(small_data):
    x, _, y = small_data
    net = EEGClassifier(M2S(**SMALL), optimizer=torch.optim.AdamW, **FAST, train_split=None)
    net.fit(x, y)
    assert net.predict(x).shape == y.shape


def test_plain_eegclassifier_joint_variant_trains_the_self_supervised_terms(small_data):
    X, y = _X(small_data)

    def trained(**weights):
        torch.manual_seed(0)
        net = EEGClassifier(
            M2SJoint(M2S(**SMALL), **weights),
            criterion=M2SJointLoss,
            optimizer=torch.optim.AdamW,
            train_split=None,
            **FAST,
        )
        net.fit(X, y)
        return net.module_.objective.cpc.contexts["x"].weight_ih_l0.detach().clone()

    with_ssl = trained()
    without = trained(clip_weight=0, cpc_weight=0, recon_weight=0, club_weight=0)
    # without the terms, M2M CPC's LSTM never gets a gradient
    torch.manual_seed(0)
    init = M2SJoint(M2S(**SMALL)).objective.cpc.contexts["x"].weight_ih_l0
    torch.testing.assert_close(without, init)
    assert not torch.allclose(with_ssl, init)


def test_two_stages_log_every_term_and_retrieval_accuracy(small_data):
    X, y = _X(small_data)
    clf = _clf().fit(X, y)
    row = clf.pretrain_history_[-1]
    for key in (
        "train_loss",
        "train_clip_loss",
        "train_cpc_loss",
        "train_recon_loss",
        "train_club_mi",
        "train_club_nll",
        "train_clip_acc_x->eye",
        "train_clip_acc_eye->x",
        "train_cpc_acc_eye->x",
        "train_cpc_acc_x->x",
    ):
        assert np.isfinite(row[key]), key
    assert len(clf.pretrain_history_) == PRE["pretrain_epochs"]
    assert len(clf.history) == FAST["max_epochs"]
    # stage 2 trained the classifier only: encoders frozen at their pretrained values
    assert clf.pretrainer_ is not None and clf.encoders_frozen_
    assert all(not p.requires_grad for p in clf.module_.er_encoders.parameters())
    # the model carries no training status: stage 1 and freezing are the estimator's
    assert set(clf.module_.state_dict()) == set(M2S(**SMALL).state_dict())


def test_frozen_stage_two_leaves_encoders_untouched(small_data):
    X, y = _X(small_data)
    pre = M2MCPCPretrainer(
        M2S(**SMALL), max_epochs=2, batch_size=16, random_state=0, verbose=0
    ).fit(X)
    before = {k: v.clone() for k, v in pre.module_.er_encoders.state_dict().items()}
    clf = pre.to_classifier(**FAST).fit(X, y)
    assert clf.pretrainer_ is None and not hasattr(clf, "pretrain_history_")  # no stage 1
    for k, v in clf.module_.er_encoders.state_dict().items():
        torch.testing.assert_close(v, before[k])
    tuned = pre.to_classifier(freeze_encoders=False, **FAST).fit(X, y)
    changed = [
        not torch.equal(v, before[k]) for k, v in tuned.module_.er_encoders.state_dict().items()
    ]
    assert any(changed)


@pytest.mark.parametrize(
    "train, test", [("x", "x"), ("eye", "eye"), ("x", "eye"), ("eye", "x"), (None, None)]
)
def test_the_four_modes(small_data, train, test):
    X, y = _X(small_data)
    clf = _clf(
        train_modalities=None if train is None else [train],
        test_modalities=None if test is None else [test],
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # both encoders were pretrained: no warning
        pred = clf.predict(X)
    assert pred.shape == y.shape
    # the test modality is what is read: other modalities may be absent
    only = X if test is None else SliceDict(**{test: X[test]})
    np.testing.assert_array_equal(clf.predict(only), pred)
    assert clf.transform(only).shape == (len(y), SMALL["proj_dim"])


def test_missing_modality_is_a_clear_error(small_data):
    X, y = _X(small_data)
    clf = _clf(test_modalities=["eye"]).fit(X, y)
    with pytest.raises(ValueError, match="test_modalities=\\['eye'\\] names modality 'eye'"):
        clf.predict(SliceDict(x=X["x"]))
    with pytest.raises(ValueError, match="train_modalities=\\['pupil'\\]"):
        _clf(train_modalities=["pupil"]).fit(X, y)


def test_predicting_from_an_untrained_encoder_warns(small_data):
    X, y = _X(small_data)
    with pytest.warns(UserWarning, match="no pretrained encoders"):
        clf = M2SClassifier(
            M2S,
            random_state=0,
            pretrain_epochs=0,
            train_modalities=["x"],
            module__n_outputs=SMALL["n_outputs"],
            **_module_kwargs(),
            **FAST,
        )
        clf.fit(X, y)
    with pytest.warns(UserWarning, match="modality 'eye', whose encoder was never trained"):
        clf.predict(SliceDict(eye=X["eye"]))


def _fit_predict(module, X, y, **kwargs):
    clf = M2SClassifier(module, random_state=3, **{**FAST, **PRE, **kwargs})
    clf.fit(X, y)
    return clf.predict_proba(X)


def test_random_state_repeats_a_fit_whatever_the_global_rng_and_module_form(small_data):
    X, y = _X(small_data)
    torch.manual_seed(123)
    module = M2S(**SMALL)
    np.random.seed(7)
    a = _fit_predict(module, X, y)
    torch.manual_seed(999)
    b = _fit_predict(module, X, y)  # an instance keeps its weights: the same start
    np.testing.assert_allclose(a, b)
    kwargs = dict(module__n_outputs=SMALL["n_outputs"], **_module_kwargs())
    torch.manual_seed(1)
    c = _fit_predict(M2S, X, y, **kwargs)
    torch.manual_seed(2)
    d = _fit_predict(M2S, X, y, **kwargs)  # the class form: random_state builds it
    np.testing.assert_allclose(c, d)


def test_an_initialised_module_keeps_its_weights(small_data):
    """skorch's contract (its test_with_initialized_module_partial_fit / _warm_start):
    after 0 epochs the module is the one given, weight for weight, and fit leaves the
    given instance untouched."""
    X, y = _X(small_data)
    module = M2S(**SMALL)
    given = {k: v.clone() for k, v in module.state_dict().items()}
    for warm in (False, True):
        clf = M2SClassifier(
            module, pretrain_epochs=0, max_epochs=0, freeze_encoders=False, warm_start=warm
        )
        clf.partial_fit(X, y)
        assert all(torch.equal(clf.module_.state_dict()[k], v) for k, v in given.items())
    M2SClassifier(module, **{**FAST, **PRE}, freeze_encoders=False).fit(X, y)
    assert all(torch.equal(module.state_dict()[k], v) for k, v in given.items())
    # stage 1 runs on the given weights, only when asked
    pre = M2MCPCPretrainer(module, max_epochs=0).fit(X)
    assert all(torch.equal(pre.module_.state_dict()[k], v) for k, v in given.items())


def test_fit_is_pretrain_then_stage_two_on_the_pretrained_model(small_data):
    """The one stage-1 path: fit equals pretrain() followed by a fit of the pretrained
    model with pretrain_epochs=0, prediction for prediction."""
    X, y = _X(small_data)
    clf = _clf(train_modalities=["x"], test_modalities=["eye"])
    direct = clone(clf).fit(X, y).predict_proba(X)
    pretrainer = clone(clf).pretrain(X, y)
    two_steps = clf.on_pretrained(pretrainer.module_)
    np.testing.assert_array_equal(two_steps.fit(X, y).predict_proba(X), direct)


def test_second_fit_starts_from_scratch_unless_warm_start(small_data):
    X, y = _X(small_data)
    clf = _clf()
    first = clf.fit(X, y).predict_proba(X)
    second = clf.fit(X, y).predict_proba(X)
    np.testing.assert_allclose(first, second)
    clf.set_params(warm_start=True)
    third = clf.fit(X, y).predict_proba(X)
    assert not np.allclose(first, third)
    assert len(clf.history) == 2 * FAST["max_epochs"]


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 5]),
        np.array([-1, 0, 1]),
        np.array(["calm", "fear", "joy"]),
        np.array([1, 2, 3, 4]),
    ],
)
def test_any_labels_are_encoded_like_scikit_learn(small_data, labels):
    X, y = _X(small_data)
    y = labels[np.arange(len(y)) % len(labels)]
    clf = _clf(train_modalities=["x"]).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    assert set(clf.predict(X)) <= set(labels)
    assert clf.predict_proba(X).shape == (len(y), len(labels))
    assert 0 <= clf.score(X, y) <= 1


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda X, y: (X, y[:-1]), "X has 48 samples but y has 47"),
        (lambda X, y: (X, np.full(len(y), 3)), "single class"),
        (lambda X, y: (X, np.c_[y, y]), "1-D"),
        (
            lambda X, y: (SliceDict(x=X["x"], eye=np.where(X["eye"] > 2, np.nan, X["eye"])), y),
            "fit: Modality 'eye' contains NaN",
        ),
        (lambda X, y: (X, y + 0.5 * np.arange(len(y))), "Unknown label type: 'continuous'"),
    ],
)
def test_bad_training_inputs(small_data, bad, match):
    X, y = _X(small_data)
    with pytest.raises(ValueError, match=match):
        _clf().fit(*bad(X, y))


def test_trial_valid_split_keeps_trials_whole_and_early_stopping_uses_it(small_data):
    X, y = _X(small_data)
    groups = np.arange(len(y)) // 4  # 12 "trials" of 4 windows
    split = TrialValidSplit(0.25, random_state=0)
    train, valid = split(np.arange(len(y)), y, groups=groups)
    assert not set(groups[train.indices]) & set(groups[valid.indices])
    clf = _clf(
        train_split=TrialValidSplit(0.25, random_state=0),
        max_epochs=20,
        callbacks=[("es", EarlyStopping(patience=2, load_best=True))],
    )
    clf.fit(X, y, groups=groups)
    assert "valid_loss" in clf.history[-1] and len(clf.history) <= 20
    with pytest.warns(UserWarning, match="no groups"):
        _clf(train_split=TrialValidSplit(0.25, random_state=0)).fit(X, y)


def test_learns_with_its_defaults():
    from braindecode_m2s import make_synthetic_emotion

    X, y, meta = make_synthetic_emotion(
        seed=0, n_subjects=1, n_sessions=1, n_chans=8, sequence_length=5, scenario="redundant"
    )
    train = (meta.trial < 16).to_numpy()
    model = M2S(n_chans=8, n_outputs=4, embed_dim=32, n_layers=1, ff_dim=64, head_dim=16)
    clf = M2SClassifier(
        model,
        random_state=0,
        verbose=0,
        pretrain_epochs=20,
        max_epochs=30,
        train_modalities=["x"],
        test_modalities=["x"],
    )
    clf.fit(X[train], y[train])
    assert clf.score(X[~train], y[~train]) > 0.4  # chance: 0.25
    assert clf.pretrain_history_[-1, "train_clip_acc_x->eye"] > 2 / 16


def test_clone_pickle_and_save_load(small_data, tmp_path):
    X, y = _X(small_data)
    clf = _clf()
    assert clone(clf).get_params()["train_modalities"] is None
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X))
    # skorch's save_params / load_params into a fresh estimator: same predictions and
    # labels (they travel in the file's metadata, not in the model's tensors)
    clf.save_params(f_params=tmp_path / "p.pt")
    other = _clf()
    other.initialize()
    other.load_params(f_params=tmp_path / "p.pt")
    np.testing.assert_allclose(other.predict_proba(X), clf.predict_proba(X), rtol=1e-5)
    np.testing.assert_array_equal(other.predict(X), clf.predict(X))


def test_grid_search_and_cross_val_score(small_data):
    X, y = _X(small_data)
    grid = GridSearchCV(
        _clf(train_modalities=["x"], test_modalities=["eye"]),
        {"lr": [1e-3, 1e-2]},
        cv=2,
        error_score="raise",
    )
    grid.fit(X, y)
    assert np.isfinite(grid.best_score_)
    scores = cross_val_score(_clf(), X, y, cv=2, error_score="raise")
    assert np.isfinite(scores).all()


def test_pretrainer_transform_in_a_pipeline(small_data):
    X, y = _X(small_data)
    pre = M2MCPCPretrainer(M2S(**SMALL), max_epochs=2, batch_size=16, random_state=0, verbose=0)
    pipe = Pipeline([("m2s", pre), ("clf", LogisticRegression(max_iter=200))])
    pipe.fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert pre.transform(SliceDict(eye=X["eye"])).shape == (len(y), SMALL["proj_dim"])
    assert pre.transform(X["x"]).shape == (len(y), SMALL["proj_dim"])


def test_pretrainer_weights_switch_terms_off(small_data):
    X, _ = _X(small_data)
    pre = M2MCPCPretrainer(
        M2S(**SMALL),
        max_epochs=1,
        batch_size=16,
        verbose=0,
        clip_weight=0,
        recon_weight=0,
        club_weight=0,
    ).fit(X)
    keys = set(pre.history[-1])
    assert "train_cpc_loss" in keys
    assert not keys & {"train_clip_loss", "train_recon_loss", "train_club_mi"}
    with pytest.raises(ValueError, match="club_weight"):
        M2MCPCPretrainer(M2S(**SMALL), club_weight=-1).fit(X)


def test_pretrainer_needs_two_modalities(small_data):
    x, _, _ = small_data
    with pytest.raises(ValueError, match="at least two modalities"):
        M2MCPCPretrainer(M2S(**SMALL)).fit(SliceDict(x=x))
    with pytest.raises(ValueError, match="at least two modalities"):
        M2MCPCPretrainer(M2S(**SMALL)).fit(x)


def test_prediction_before_fit_raises_not_fitted(small_data):
    X, _ = _X(small_data)
    with pytest.raises(NotFittedError):
        _clf().predict(X)
    with pytest.raises(NotFittedError):
        M2MCPCPretrainer(M2S(**SMALL)).transform(X)


def test_class_form_on_a_braindecode_windows_dataset():
    from braindecode.datasets import create_from_X_y

    rng = np.random.default_rng(0)
    raw = rng.normal(size=(12, N_CHANS, 400)).astype("float32")
    y = np.arange(12) % 2
    windows = create_from_X_y(
        raw, y, drop_last_window=False, sfreq=100.0, ch_names=[f"C{i}" for i in range(N_CHANS)]
    )
    small = {k: v for k, v in _module_kwargs().items() if k != "module__modalities"}
    clf = M2SClassifier(M2S, module__modalities={}, random_state=0, **small, **FAST)
    with pytest.warns(UserWarning, match="no pretrained encoders"):
        clf.fit(windows, y=None)
    # skorch's fit(dataset, y): the labels given, the dataset's inputs
    relabelled = np.where(y == 1, "high", "low")
    with pytest.warns(UserWarning, match="no pretrained encoders"):
        other = clone(clf).fit(windows, relabelled)
    assert set(other.predict(raw)) <= {"high", "low"}
    assert clf.module_.n_chans == N_CHANS and clf.module_.sfreq == 100.0
    assert clf.predict(raw).shape == (12,)


def test_a_training_set_smaller_than_a_batch_still_trains(small_data):
    X, y = _X(small_data)
    clf = _clf(batch_size=64, pretrain_batch_size=128).fit(X[:20], y[:20])
    assert clf.history[-1, "train_batch_count"] == 1
    assert clf.pretrain_history_[-1, "train_batch_count"] == 1


def test_reference_pretraining_is_the_authors_stage_one(small_data):
    """The preset: Adam (lr 1e-4, weight decay 1e-4) for the model and CLUB, cosine
    annealing over the run, batches of 512, the given epochs."""
    from skorch.callbacks import LRScheduler

    from braindecode_m2s import reference_pretraining

    X, y = _X(small_data)
    clf = M2SClassifier(M2S(**SMALL), random_state=0, **FAST, **reference_pretraining(epochs=3))
    clf.fit(X, y)
    pretrainer = clf.pretrainer_
    assert (pretrainer.max_epochs, pretrainer.batch_size) == (3, 512)
    for optimizer in (pretrainer.optimizer_, pretrainer.optimizer_club_):
        assert type(optimizer) is torch.optim.Adam
        assert optimizer.defaults["lr"] == 1e-4
        assert optimizer.defaults["weight_decay"] == 1e-4
    (cosine,) = [cb for name, cb in pretrainer.callbacks_ if name == "cosine"]
    assert isinstance(cosine, LRScheduler)
    assert cosine.policy == torch.optim.lr_scheduler.CosineAnnealingLR
    assert cosine.kwargs["T_max"] == 3
    # the fit ran that stage 1: the learning rate followed the cosine
    rates = clf.pretrain_history_[:, "event_lr"]
    np.testing.assert_allclose(rates, [1e-4, 7.5e-5, 2.5e-5])
    # stage 2 keeps its own optimiser (AdamW, 1e-3)
    assert type(clf.optimizer_) is torch.optim.AdamW
    assert clf.optimizer_.defaults["lr"] == 1e-3


def test_eeg_path_recipe_fine_tunes_only_the_within_eeg_mode(small_data):
    """The recipe: the authors' stage 1 at 100 epochs for every mode; eeg->eeg
    fine-tunes the encoders at lr 1e-4, every other mode keeps them frozen (lr 1e-3);
    30 stage-2 epochs; the dict is M2SClassifier's parameters and it trains."""
    from braindecode_m2s import eeg_path_recipe, reference_pretraining

    modes = {
        ("x", "x"): (False, 1e-4),
        ("eye", "eye"): (True, 1e-3),
        ("x", "eye"): (True, 1e-3),
        ("eye", "x"): (True, 1e-3),
    }
    stage_one = reference_pretraining(100)
    for (train, test), (frozen, lr) in modes.items():
        recipe = eeg_path_recipe([train], [test])
        assert recipe["freeze_encoders"] is frozen and recipe["lr"] == lr
        assert recipe["max_epochs"] == 30
        assert (recipe["train_modalities"], recipe["test_modalities"]) == ([train], [test])
        for key, value in stage_one.items():
            if key != "pretrainer__callbacks":
                assert recipe[key] == value
        ((name, cosine),) = recipe["pretrainer__callbacks"]
        assert name == "cosine" and cosine.kwargs["T_max"] == 100
    X, y = _X(small_data)
    recipe = {**eeg_path_recipe(["x"], ["x"], pretrain_epochs=2), **FAST}
    clf = M2SClassifier(M2S(**SMALL), random_state=0, **recipe).fit(X, y)
    assert len(clf.pretrain_history_) == 2
    assert not clf.encoders_frozen_ and clf.optimizer_.defaults["lr"] == 1e-4
    assert clone(clf).get_params()["freeze_encoders"] is False


def test_objective_sizes_are_the_criterions_parameters(small_data):
    """The stage-1 heads' sizes are criterion__* (pretrainer__criterion__* of the
    classifier); the weights are the estimators' own."""
    X, y = _X(small_data)
    fast = dict(max_epochs=1, batch_size=16, verbose=0, random_state=0)
    pre = M2MCPCPretrainer(M2S(**SMALL), criterion__cpc_context_dim=4, **fast).fit(X)
    assert pre.criterion_.cpc.context_dim == 4
    assert pre.criterion_.weights == {"clip": 1.0, "cpc": 1.0, "recon": 0.1, "club": 0.3}
    clf = _clf(pretrainer__criterion__club_hidden=6, club_weight=0.5).fit(X, y)
    assert clf.pretrainer_.criterion_.club["x"].p_mu[0].out_features == 3
    assert clf.pretrainer_.criterion_.weights["club"] == 0.5
    with pytest.raises(ValueError, match="criterion__club_weight is this estimator's own"):
        M2MCPCPretrainer(M2S(**SMALL), criterion__club_weight=0.0, **fast).fit(X)


def test_pretrainer_parameters_go_to_stage_one_and_clash_with_none(small_data):
    X, y = _X(small_data)
    clf = _clf(pretrainer__optimizer=torch.optim.SGD, pretrainer__optimizer__momentum=0.5)
    assert clf.get_params()["pretrainer__optimizer__momentum"] == 0.5
    cloned = clone(clf).set_params(pretrainer__optimizer__momentum=0.9)
    cloned.fit(X, y)
    assert cloned.pretrain_history_[-1, "train_loss"] > 0
    optimizer = clf.make_pretrainer().initialize().optimizer_
    assert type(optimizer) is torch.optim.SGD and optimizer.defaults["momentum"] == 0.5
    with pytest.raises(ValueError, match="pretrainer__lr is the classifier's own 'pretrain_lr'"):
        _clf(pretrainer__lr=0.1).fit(X, y)
    with pytest.raises(ValueError, match="'random_state'"):
        _clf(pretrainer__random_state=3).fit(X, y)


def test_module_grids_on_an_instance_and_on_the_class(small_data):
    """GridSearchCV over module__* parameters: M2SClassifier rebuilds a given instance
    from its own configuration; a plain EEGClassifier rebuilds it from the module__*
    parameters alone (skorch), so there the class form is the way, and the error of the
    instance form says so."""
    X, y = _X(small_data)
    grid = {"module__embed_dim": [8, 16]}
    search = GridSearchCV(_clf(pretrain_epochs=0, freeze_encoders=False), grid, cv=2)
    search.fit(X, y)
    assert search.best_estimator_.module_.embed_dim in (8, 16)
    assert search.best_estimator_.module_.n_chans == N_CHANS  # the instance's own arguments
    fast = dict(optimizer=torch.optim.AdamW, train_split=None, **FAST)
    sizes = {k: v for k, v in _module_kwargs().items() if k != "module__embed_dim"}
    by_class = EEGClassifier(
        M2S, module__n_chans=N_CHANS, module__n_outputs=SMALL["n_outputs"], **sizes, **fast
    )
    GridSearchCV(by_class, grid, cv=2, error_score="raise").fit(X, y)
    with pytest.raises(ValueError, match=r"give the class and every parameter"):
        GridSearchCV(EEGClassifier(M2S(**SMALL), **fast), grid, cv=2, error_score="raise").fit(
            X, y
        )
