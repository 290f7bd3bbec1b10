"""M2S as a braindecode model: architecture only; construction, shapes, conventions,
input errors, configurations read as untrusted input."""

import pickle

import numpy as np
import pytest
import torch
from conftest import N_BANDS, N_CHANS, N_CLASSES, N_EYE, N_WINDOWS, SMALL

from braindecode_m2s import M2S


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
        (lambda x, e: dict(x=x[0, 0]), r"'x' has shape \(5, 5\) \(2-D\); expected 4-D"),
        (lambda x, e: dict(x=x[..., None]), r"\(5-D\); expected 4-D features \(batch, 6, n_w"),
        (lambda x, e: dict(x=x[:, :4]), "has 4 channels .* built for n_chans=6"),
        (lambda x, e: dict(x=x[..., :3]), "3 band features .* expected n_bands=5"),
        (lambda x, e: dict(x=x[:, :, :, 0]), "no sfreq for its raw front end"),
        (
            lambda x, e: dict(eye=e[:, :2]),
            r"'eye' has 2 features \(shape \(4, 2, 5\)\); expected \(batch, 4, n_windows\)",
        ),
        (lambda x, e: dict(eye=e[0]), r"'eye' has shape \(4, 5\) \(2-D\); expected 3-D"),
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
        (dict(embed_dim=0), "`embed_dim` must be an integer in"),
        (dict(n_chans="62"), "`n_chans` must be an integer in \\[1, 4096\\]; got '62'"),
        (dict(n_chans=4.5), "`n_chans` must be an integer in \\[1, 4096\\]; got 4.5"),
        (dict(n_chans=-3), r"`n_chans` must be an integer in \[1, 4096\]"),
        (dict(n_outputs=0), "`n_outputs` must be an integer in"),
        (dict(n_chans=10**9), "`n_chans` must be an integer in"),
        (dict(embed_dim=10**7), "`embed_dim` must be an integer in"),
        (dict(embed_dim=8192, ff_dim=65536, n_layers=64), "parameters; expected at most"),
        (dict(drop_prob=1.0), r"`drop_prob` must be a number in \[0.0, 1.0\)"),
        (dict(activation="os.abort"), "activation 'os.abort' is not one of"),
        (dict(activation=print), "activation must be one of the torch.nn classes"),
        (dict(modalities=[("eye", 3)]), "modalities must be a dict"),
        (dict(embed_dim=30, n_heads=4), "must divide embed_dim"),
    ],
)
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        M2S(**{"n_chans": N_CHANS, "n_outputs": 2, **kwargs})


def test_missing_signal_parameters_raise():
    with pytest.raises(ValueError, match=r"M2S needs n_chans .*EEGClassifier\(M2S, module__n_c"):
        M2S(n_outputs=2)
    with pytest.raises(ValueError, match="M2S needs n_outputs"):
        M2S(n_chans=4)


def test_deterministic_given_seed():
    torch.manual_seed(3)
    a = M2S(**SMALL)
    torch.manual_seed(3)
    b = M2S(**SMALL)
    # every tensor of the state dict: weights and buffers only, no labels or flags
    assert a.state_dict().keys() == b.state_dict().keys()
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    x, eye = _inputs()
    torch.manual_seed(5)
    out_a = a.train()(x, eye=eye)
    torch.manual_seed(5)
    out_b = b.train()(x, eye=eye)
    torch.testing.assert_close(out_a, out_b)
    assert np.isfinite(out_a.detach().numpy()).all()


def test_the_model_is_architecture_only():
    """No loss, no labels, no training status and no stage-1 heads on the model."""
    model = M2S(**SMALL)
    state = model.state_dict()
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert not any(
        key.startswith(("club", "cpc", "alignment", "decoders", "ei_encoders")) for key in state
    )
    children = {name for name, _ in model.named_children()}
    assert children == {"standardizers", "er_encoders", "projections", "head", "final_layer"}
    for name in ("pretrained", "class_values", "ssl_weights", "freeze_encoders", "frozen"):
        assert not hasattr(model, name)
    # the forward has no side effect: the same call twice in eval mode, nothing written
    x, eye = _inputs()
    model.eval()
    before = dict(vars(model))
    torch.testing.assert_close(model(x, eye=eye), model(x, eye=eye))
    assert vars(model).keys() == before.keys()


def test_return_features_is_braindecodes_dict(model):
    x, eye = _inputs()
    out = model(x, eye=eye, return_features=True)
    assert isinstance(out, dict) and out["cls_token"] is None
    assert out["features"].shape == (4, SMALL["proj_dim"])
    assert set(out["modalities"]) == {"x", "eye"}
    part = out["modalities"]["eye"]
    assert part["input"].shape == (4, N_WINDOWS, N_EYE)
    assert part["er"].shape == (4, N_WINDOWS, SMALL["embed_dim"])
    torch.testing.assert_close(
        out["features"], (out["modalities"]["x"]["embedding"] + part["embedding"]) / 2
    )
    torch.testing.assert_close(model.classify(out["features"]), model(x, eye=eye))
    embedded = model(embedding=out["features"], return_features=True)
    assert embedded["features"] is not None and embedded["cls_token"] is None
    assert isinstance(M2S(**SMALL, return_features=True).eval()(x), dict)


def test_attention_weights_are_public(model):
    x, _ = _inputs()
    weights = model.eeg_attention(x)
    assert len(weights) == SMALL["n_layers"]
    assert weights[0].shape == (4, N_WINDOWS, SMALL["n_heads"], N_CHANS, N_CHANS)
    torch.testing.assert_close(weights[0].sum(-1), torch.ones(4, N_WINDOWS, 2, N_CHANS))
