"""M2S as a braindecode model: construction, shapes, conventions, input errors."""

import pickle

import numpy as np
import pytest
import torch
from conftest import N_BANDS, N_CHANS, N_CLASSES, N_EYE, N_WINDOWS, SMALL

from braindecode_m2s import M2S
from braindecode_m2s.objectives import M2SJointLoss, pretraining_loss


@pytest.fixture
def model():
    return M2S(**SMALL).eval()


def _inputs(batch=4, n_windows=N_WINDOWS):
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(batch, N_CHANS, n_windows, N_BANDS, generator=g),
        torch.randn(batch, N_EYE, n_windows, generator=g),
    )


def test_default_is_the_reference_configuration():
    model = M2S(n_chans=62, n_outputs=4).eval()
    assert model.modalities == {"eye": 31}
    assert len(model.er_encoders["x"].layers) == 4
    layer = model.er_encoders["x"].layers[0]
    assert (layer.embed_dim, layer.n_heads, layer.head_dim, layer.n_chans) == (5, 4, 64, 62)
    assert layer.ffn[0].in_features == 310 and layer.ffn[0].out_features == 1024
    assert model.er_encoders["x"].affine.out_features == 128
    assert len(model.er_encoders["eye"].layers) == 4
    assert model.er_encoders["eye"].layers[0].ffn[0].out_features == 1024
    assert model.projections["eye"][0].out_features == 32
    assert model.cpc.context_dim == 64 and model.cpc.n_steps == 2
    x = torch.randn(2, 62, 5, 5)
    eye = torch.randn(2, 31, 5)
    assert model(x, eye=eye).shape == (2, 4)
    assert model(x).shape == (2, 4)
    assert model(eye=eye).shape == (2, 4)
    assert model.get_output_shape() == (1, 4)


def test_any_subset_of_modalities(model):
    x, eye = _inputs()
    for kwargs in (dict(x=x), dict(eye=eye), dict(x=x, eye=eye)):
        out = model(**kwargs)
        assert out.shape == (4, N_CLASSES) and torch.isfinite(out).all()
    # a float64 array from skorch/numpy is accepted (cast to the model's dtype)
    assert model(eye=eye.double().numpy()).dtype == torch.float32


def test_prediction_reads_the_mean_embedding(model):
    x, eye = _inputs()
    with torch.no_grad():
        emb = model.embed(x, eye=eye)
        assert emb["x"].shape == (4, SMALL["proj_dim"])
        expected = model.classify((emb["x"] + emb["eye"]) / 2)
        torch.testing.assert_close(model(x, eye=eye), expected)
        torch.testing.assert_close(model(eye=eye), model.classify(emb["eye"]))


@pytest.mark.parametrize("n_windows", [2, 3, 7])
def test_any_sequence_length_from_two(n_windows):
    model = M2S(**SMALL).train()
    x, eye = _inputs(n_windows=n_windows)
    loss, record = pretraining_loss(model, model.encode(x, eye=eye))
    loss.backward()
    assert {"clip_loss", "cpc_loss", "recon_loss", "club_mi"} <= set(record)
    assert torch.isfinite(loss)


def test_three_modalities():
    model = M2S(**{**SMALL, "modalities": {"eye": N_EYE, "ecg": 3}}).train()
    x, eye = _inputs()
    ecg = torch.randn(4, 3, N_WINDOWS)
    loss, record = pretraining_loss(model, model.encode(x, eye=eye, ecg=ecg))
    loss.backward()
    assert len([k for k in record if k.startswith("clip_acc_")]) == 6
    assert len([k for k in record if k.startswith("cpc_acc_")]) == 9
    assert model.eval()(ecg=ecg).shape == (4, N_CLASSES)


def test_weights_switch_terms_off():
    model = M2S(**SMALL).train()
    x, eye = _inputs()
    _, record = pretraining_loss(
        model, model.encode(x, eye=eye), weights={"clip": 0, "cpc": 1, "recon": 0, "club": 0}
    )
    assert {k.split("_acc_")[0] for k in record} == {"cpc_loss", "cpc"}


def test_raw_eeg_front_end():
    small = {k: v for k, v in SMALL.items() if k != "n_outputs"}
    model = M2S(n_outputs=2, sfreq=100.0, n_times=400, window_seconds=1.0, **small).eval()
    raw = torch.randn(3, N_CHANS, 400)
    assert model.input_shape == (1, N_CHANS, 400)
    assert model(raw).shape == (3, 2)
    assert model(raw, eye=torch.randn(3, N_EYE, 4)).shape == (3, 2)
    assert model.get_output_shape() == (1, 2)
    with pytest.raises(ValueError, match="different numbers of windows"):
        model(raw, eye=torch.randn(3, N_EYE, 5))
    # without n_times: repr / print / get_output_shape still work (5 windows)
    bare = M2S(n_outputs=2, sfreq=100.0, window_seconds=1.0, **small)
    assert bare.input_shape == (1, N_CHANS, 500)
    assert "M2S" in repr(bare) and bare.get_output_shape() == (1, 2)
    with pytest.raises(ValueError, match="empty batch"):
        bare.eval()(torch.zeros(0, N_CHANS, 500))


def test_pickle_and_state_dict_round_trip(model):
    x, eye = _inputs()
    restored = pickle.loads(pickle.dumps(model))
    torch.testing.assert_close(restored(x, eye=eye), model(x, eye=eye))


def test_joint_criterion_adds_the_self_supervised_gradient():
    torch.manual_seed(0)
    model = M2S(**SMALL).train()
    x, eye = _inputs(batch=8)
    y = torch.arange(8) % N_CLASSES
    criterion = M2SJointLoss()
    # the forward returns logits and features and writes nothing on the model
    before = dict(vars(model))
    logits, features = model(x, eye=eye, return_features=True)
    assert vars(model).keys() == before.keys()
    assert logits.shape == (8, N_CLASSES) and features["module"] is model
    torch.manual_seed(1)
    joint = criterion((logits, features), y)
    ce = torch.nn.functional.cross_entropy(logits, y)
    # a sum-reduced criterion scales the cross-entropy only, not the stage-1 terms
    torch.manual_seed(1)
    total = M2SJointLoss(reduction="sum")((logits, features), y)
    ce_sum = torch.nn.functional.cross_entropy(logits, y, reduction="sum")
    torch.testing.assert_close(total - ce_sum, joint - ce, rtol=1e-4, atol=1e-4)
    assert joint > ce  # CE + the stage-1 terms
    joint.backward()
    lstm = model.cpc.contexts["x"].weight_ih_l0
    assert lstm.grad is not None and lstm.grad.abs().sum() > 0
    # with one modality, plain logits or frozen encoders: cross-entropy alone
    model.zero_grad()
    criterion(model(x, return_features=True), y).backward()
    assert lstm.grad is None or lstm.grad.abs().sum() == 0
    model.freeze_encoders()
    logits, features = model(x, eye=eye, return_features=True)
    assert "module" not in features
    assert all(m.training is False for m in model.er_encoders.modules())
    assert model.head.training


def test_check_inputs_refuses_values_forward_does_not_check(model):
    x, eye = _inputs()
    with pytest.raises(ValueError, match="magnitude below"):
        model.check_inputs(x, eye=eye * 1e37)
    with pytest.raises(ValueError, match="'x' contains NaN or Inf"):
        model.check_inputs(x.masked_fill(x > 2, float("nan")))
    model.check_inputs(x, eye=eye)  # good inputs pass


def test_unimodal_model():
    model = M2S(**{**SMALL, "modalities": {}}).train()
    x, _ = _inputs()
    model(x).sum().backward()
    with pytest.raises(ValueError, match="Unknown modality 'eye'"):
        model(x, eye=torch.zeros(4, N_EYE, N_WINDOWS))


@pytest.mark.parametrize(
    "make_inputs, match",
    [
        (lambda x, e: dict(x=x[0, 0]), r"EEG input 'x' has shape \(5, 5\); expected \(batch, 6"),
        (lambda x, e: dict(x=x[..., None]), "expected \\(batch, 6, n_windows, 5\\)"),
        (lambda x, e: dict(x=x[:, :4]), "has 4 channels .* built for n_chans=6"),
        (lambda x, e: dict(x=x[..., :3]), "3 band features .* expected n_bands=5"),
        (lambda x, e: dict(x=x[:, :, :, 0]), "no sfreq for its raw front end"),
        (
            lambda x, e: dict(eye=e[:, :2]),
            r"'eye' has shape \(4, 2, 5\); expected \(batch, 4, n_windows\)",
        ),
        (lambda x, e: dict(eye=e[0]), r"expected \(batch, 4, n_windows\)"),
        (lambda x, e: dict(x=x, eye=e[:3]), "different numbers of samples"),
        (lambda x, e: dict(x=x, eye=e[..., :4]), "different numbers of windows"),
        (lambda x, e: dict(x=x.masked_fill(x > 2, float("nan"))), "'x' contains NaN or Inf"),
        (lambda x, e: dict(eye=e.masked_fill(e > 2, float("inf"))), "'eye' contains NaN or Inf"),
        (
            lambda x, e: dict(x=x, pupil=e),
            "Unknown modality 'pupil'; this M2S accepts \\['x', 'eye'\\]",
        ),
        (lambda x, e: dict(), "got no modality"),
        (lambda x, e: dict(x=x, eye=None), None),
        (lambda x, e: dict(eye=e.long()), "floating-point"),
        (lambda x, e: dict(x=x[:0]), "empty batch"),
        (lambda x, e: dict(eye=e[..., :0]), "zero windows"),
    ],
)
def test_bad_inputs_are_clear_value_errors(model, make_inputs, match):
    x, eye = _inputs()
    if match is None:  # None modalities are simply absent
        assert model(**make_inputs(x, eye)).shape == (4, N_CLASSES)
        model.check_inputs(**make_inputs(x, eye))
        return
    with pytest.raises(ValueError, match=match):
        model.check_inputs(**make_inputs(x, eye))
    if "NaN" not in match:  # shapes and names are checked by forward too
        with pytest.raises(ValueError, match=match):
            model(**make_inputs(x, eye))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(modalities={"x": 3}), "not allowed"),
        (dict(modalities={"eye": 0}), "positive integer feature count"),
        (dict(cpc_weight=-1), "cpc_weight"),
        (dict(club_weight=float("nan")), "club_weight"),
        (dict(embed_dim=30, n_heads=4), "must divide embed_dim"),
    ],
)
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        M2S(n_chans=N_CHANS, n_outputs=2, **kwargs)


def test_missing_signal_parameters_raise():
    with pytest.raises(ValueError):
        M2S(n_outputs=2)
    with pytest.raises(ValueError):
        M2S(n_chans=4)


def test_deterministic_given_seed():
    torch.manual_seed(3)
    a = M2S(**SMALL)
    torch.manual_seed(3)
    b = M2S(**SMALL)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
    x, eye = _inputs()
    torch.manual_seed(5)
    out_a = a.train()(x, eye=eye)
    torch.manual_seed(5)
    out_b = b.train()(x, eye=eye)
    torch.testing.assert_close(out_a, out_b)
    assert np.isfinite(out_a.detach().numpy()).all()
