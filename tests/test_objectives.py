"""The stage-1 objective as one module, and the joint variant built on it."""

import pytest
import torch
from braindecode import EEGClassifier
from conftest import N_BANDS, N_CHANS, N_CLASSES, N_EYE, N_WINDOWS, SMALL, SMALL_OBJECTIVE
from skorch.helper import SliceDict

from braindecode_m2s import M2S
from braindecode_m2s.objectives import REFERENCE_WEIGHTS, M2SJoint, M2SJointLoss, M2SObjective


def _inputs(batch=8, n_windows=N_WINDOWS, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, N_CHANS, n_windows, N_BANDS, generator=g),
        torch.randn(batch, N_EYE, n_windows, generator=g),
    )


def _pair(**objective_kwargs):
    model = M2S(**SMALL).train()
    return model, M2SObjective.for_model(model, **{**SMALL_OBJECTIVE, **objective_kwargs})


def test_the_objective_holds_every_stage_one_head_and_the_reference_weights():
    model, objective = _pair()
    assert objective.weights == REFERENCE_WEIGHTS
    assert objective.modalities == {"x": N_CHANS * N_BANDS, "eye": N_EYE}
    children = {name for name, _ in objective.named_children()}
    assert children == {"ei_encoders", "decoders", "club", "alignment", "cpc"}
    assert objective.cpc.context_dim == SMALL_OBJECTIVE["cpc_context_dim"]
    # the reference's defaults
    reference = M2SObjective.for_model(M2S(n_chans=62, n_outputs=4))
    assert reference.cpc.context_dim == 64 and reference.cpc.n_steps == 2
    assert reference.modalities == {"x": 310, "eye": 31}


@pytest.mark.parametrize("n_windows", [2, 3, 7])
def test_any_sequence_length_from_two(n_windows):
    model, objective = _pair()
    x, eye = _inputs(n_windows=n_windows)
    out = objective(model(x, eye=eye, return_features=True))
    out["loss"].backward()
    assert {"clip_loss", "cpc_loss", "recon_loss", "club_mi", "club_nll"} <= set(out["terms"])
    assert torch.isfinite(out["loss"])


def test_three_modalities():
    model = M2S(**{**SMALL, "modalities": {"eye": N_EYE, "ecg": 3}}).train()
    objective = M2SObjective.for_model(model, **SMALL_OBJECTIVE)
    x, eye = _inputs()
    ecg = torch.randn(8, 3, N_WINDOWS)
    out = objective(model(x, eye=eye, ecg=ecg, return_features=True))
    out["loss"].backward()
    assert len([k for k in out["terms"] if k.startswith("clip_acc_")]) == 6
    assert len([k for k in out["terms"] if k.startswith("cpc_acc_")]) == 9
    assert model.eval()(ecg=ecg).shape == (8, N_CLASSES)


def test_weights_switch_terms_off():
    model, objective = _pair(clip_weight=0, recon_weight=0, club_weight=0)
    x, eye = _inputs()
    out = objective(model(x, eye=eye, return_features=True))
    assert {k.split("_acc_")[0] for k in out["terms"]} == {"cpc_loss", "cpc"}
    assert "club_inputs" not in out


@pytest.mark.parametrize("bad", [{"cpc_weight": -1}, {"club_weight": float("nan")}])
def test_bad_weights_name_the_term(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        _pair(**bad)


def test_club_likelihood_reaches_q_only_and_the_bound_the_encoders_only():
    """One backward pass trains the encoders on the bound (q held fixed) and q on the
    likelihood of the detached features (the reference's two updates)."""
    model, objective = _pair(clip_weight=0, cpc_weight=0, recon_weight=0)
    x, eye = _inputs()
    features = model(x, eye=eye, return_features=True)
    out = objective(features)
    q = list(objective.club.parameters())
    mi = out["terms"]["club_mi"]
    # the likelihood term alone: gradient on q, none on the encoders
    nll = objective(club_inputs=out["club_inputs"])["loss"]
    nll.backward(retain_graph=True)
    assert all(p.grad is not None for p in q)
    assert all(p.grad is None for p in model.er_encoders.parameters())
    # the bound: gradient on the encoders, none on q (its parameters are detached)
    for p in q:
        p.grad = None
    (objective.weights["club"] * out["loss"] - objective.weights["club"] * nll).backward()
    er = model.er_encoders["x"].affine.weight.grad
    assert er is not None and er.abs().sum() > 0
    assert torch.isfinite(mi)


def test_the_objective_reads_a_generator():
    model, objective = _pair()
    x, eye = _inputs()
    features = model.eval()(x, eye=eye, return_features=True)
    a = objective(features, generator=torch.Generator().manual_seed(1))["loss"]
    b = objective(features, generator=torch.Generator().manual_seed(1))["loss"]
    torch.testing.assert_close(a, b)


def test_joint_variant_adds_the_self_supervised_terms_in_training_only():
    torch.manual_seed(0)
    joint = M2SJoint(M2S(**SMALL), **SMALL_OBJECTIVE).train()
    x, eye = _inputs()
    y = torch.arange(8) % N_CLASSES
    logits, stage_one = joint(x, eye=eye)
    assert logits.shape == (8, N_CLASSES) and stage_one > 0
    loss = M2SJointLoss()((logits, stage_one), y)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits, y) + stage_one)
    loss.backward()
    lstm = joint.objective.cpc.contexts["x"].weight_ih_l0
    assert lstm.grad is not None and lstm.grad.abs().sum() > 0
    # one modality, eval mode or no gradient: the cross-entropy alone
    assert joint(x)[1] == 0
    assert joint.eval()(x, eye=eye)[1] == 0
    # a sum-reduced criterion scales the cross-entropy only
    ce_sum = torch.nn.functional.cross_entropy(logits, y, reduction="sum")
    total = M2SJointLoss(reduction="sum")((logits, stage_one), y)
    torch.testing.assert_close(total, ce_sum + stage_one)


def test_joint_variant_under_a_plain_eegclassifier(small_data):
    x, eye, y = small_data
    net = EEGClassifier(
        M2SJoint(M2S(**SMALL), **SMALL_OBJECTIVE),
        criterion=M2SJointLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs=2,
        batch_size=16,
        train_split=None,
        verbose=0,
    )
    net.fit(SliceDict(x=x, eye=eye), y)
    proba = net.predict_proba(SliceDict(x=x, eye=eye))
    assert proba.shape == (len(y), N_CLASSES)
    torch.testing.assert_close(
        torch.as_tensor(proba.sum(1)), torch.ones(len(y), dtype=torch.float32)
    )
    assert len(net.history) == 2 and net.history[-1, "train_loss"] > 0
