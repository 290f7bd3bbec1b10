"""M2S against the contract braindecode's generic model tests ask of every model.

With the parametrization braindecode would give M2S (see
``benchmarks/peers/run_braindecode_model_tests.py``, which runs braindecode's
own test modules against it): required signal parameters ``n_chans``,
``n_outputs`` and ``sfreq`` (raw input goes through M2S's front end), on
braindecode's default test signal, 3 channels, 1000 samples at 250 Hz (four
1-s feature windows). TorchScript is not part of the contract: braindecode
exempts models whose ``forward`` returns a tensor or a dict, as M2S's does.
A tiny M2S keeps the module fast; one test compiles (the slow one).
"""

import inspect
import json

import mne
import numpy as np
import pytest
import torch
from skorch.dataset import ValidSplit
from torch import nn

from braindecode_m2s import M2S
from braindecode_m2s._braindecode import EEGClassifier

N_CHANS, N_TIMES, SFREQ, N_OUTPUTS, BATCH = 3, 1000, 250.0, 2, 3
WINDOW_SECONDS = N_TIMES / SFREQ
TINY = dict(embed_dim=32, n_layers=1, head_dim=8, ff_dim=64)


def _chs_info():
    chs = mne.create_info([f"C{i}" for i in range(1, N_CHANS + 1)], SFREQ, "eeg")["chs"]
    for k, ch in enumerate(chs):  # positions (MNE leaves them NaN without a montage)
        ch["loc"][:] = np.linspace(0.01, 0.12, 12) * (k + 1)
    return chs


def _tiny(**kwargs):
    return M2S(**{"n_chans": N_CHANS, "n_outputs": N_OUTPUTS, "sfreq": SFREQ, **TINY, **kwargs})


def _raw(batch=BATCH, seed=0):
    return torch.randn(batch, N_CHANS, N_TIMES, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def model():
    return _tiny().eval()


# Every way braindecode's integration test gives the signal parameters when
# n_chans, n_outputs and sfreq are required: channels from chs_info alone or
# n_chans alone, times from any pair that determines sfreq, or sfreq alone.
CHANNELS = {
    "chs_info": lambda: dict(chs_info=_chs_info(), n_chans=None),
    "n_chans": lambda: dict(n_chans=N_CHANS, chs_info=None),
}
TIMES = {
    "n_times+sfreq": dict(n_times=N_TIMES, sfreq=SFREQ, input_window_seconds=None),
    "sfreq+window": dict(n_times=None, sfreq=SFREQ, input_window_seconds=WINDOW_SECONDS),
    "n_times+window": dict(n_times=N_TIMES, sfreq=None, input_window_seconds=WINDOW_SECONDS),
    "sfreq": dict(n_times=None, sfreq=SFREQ, input_window_seconds=None),
}


@pytest.mark.parametrize("time", TIMES)
@pytest.mark.parametrize("channels", CHANNELS)
def test_every_signal_parameter_combination(channels, time):
    model = M2S(n_outputs=N_OUTPUTS, **CHANNELS[channels](), **TIMES[time], **TINY).eval()
    assert model.n_chans == N_CHANS and model.sfreq == SFREQ
    assert model(_raw()).shape == (BATCH, N_OUTPUTS)
    # the mixin's get_output_shape feeds a zero tensor of input_shape
    expected_times = N_TIMES if time != "sfreq" else 5 * int(SFREQ)  # five windows
    assert model.input_shape == (1, N_CHANS, expected_times)
    assert model.get_output_shape() == (1, N_OUTPUTS)


def test_input_shorter_than_a_window_is_refused_at_construction():
    with pytest.raises(ValueError, match="shorter than one 250-sample feature window"):
        _tiny(n_times=100)


def test_conventions_of_the_signature_and_the_children(model):
    children = [name for name, _ in model.named_children()]
    assert "final_layer" in children[-2:]
    assert isinstance(model.final_layer, nn.Linear)
    assert model.final_layer.out_features == N_OUTPUTS
    parameters = inspect.signature(M2S.__init__).parameters
    assert parameters["activation"].default is nn.ReLU  # a class, not an instance
    assert "drop_prob" in parameters
    text = str(model)  # torchinfo on input_shape, as print(model) does
    assert "M2S" in text and "[1, 3, 1250]" in text


def test_return_features_dict_and_default_tensor(model):
    with torch.no_grad():
        out = model(_raw(), return_features=True)
        logits = model(_raw())
    assert isinstance(out, dict) and out["cls_token"] is None
    assert out["features"].shape[0] == BATCH
    assert isinstance(logits, torch.Tensor) and logits.shape == (BATCH, N_OUTPUTS)
    torch.testing.assert_close(model.final_layer(model.head(out["features"])), logits)


def test_reset_head(model):
    x = _raw()
    with torch.no_grad():
        before = model(x)
    model.reset_head(10)
    with torch.no_grad():
        after = model.eval()(x)
    assert model.n_outputs == 10 and model.get_config()["n_outputs"] == 10
    assert before.shape == (BATCH, N_OUTPUTS) and after.shape == (BATCH, 10)
    assert model.get_output_shape() == (1, 10)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_size_one(model, mode):
    model.train(mode == "train")
    batch_norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    eye = torch.randn(1, 31, N_TIMES // int(SFREQ))  # the other modality, four windows
    with torch.no_grad():
        assert model(_raw(batch=1)).shape == (1, N_OUTPUTS)
        assert model(_raw(batch=1), eye=eye).shape == (1, N_OUTPUTS)
    assert model.training is (mode == "train")
    assert all(bn.training is (mode == "train") for bn in batch_norms)


def test_compile_equals_eager(model):
    x = _raw(batch=1)
    compiled = torch.compile(model, dynamic=False)
    with torch.no_grad():
        expected, got = model(x), compiled(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_export(model):
    x = _raw(batch=1)
    program = torch.export.export(model, (x,), strict=False)
    assert isinstance(program, torch.export.ExportedProgram)
    torch.testing.assert_close(program.module()(x), model(x))


def test_same_seed_same_state_dict():
    torch.manual_seed(7)
    a = _tiny()
    torch.manual_seed(7)
    b = _tiny()
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    # the state is the network's weights and statistics: no NaN placeholder, no
    # training status, nothing but parameters and buffers
    assert all(torch.isfinite(v).all() for v in state_a.values() if v.is_floating_point())
    tensors = {n for n, _ in a.named_parameters()} | {n for n, _ in a.named_buffers()}
    assert set(state_a) <= tensors
    torch.manual_seed(8)
    assert not all(torch.equal(state_a[k], v) for k, v in _tiny().state_dict().items())


def test_config_round_trip():
    model = _tiny(activation=nn.GELU, chs_info=_chs_info(), n_chans=None).eval()
    config = model.get_config()
    json.dumps(config)
    clone = M2S.from_config(json.loads(json.dumps(config))).eval()
    assert clone.get_config() == config
    clone.load_state_dict(model.state_dict())
    x = _raw()
    torch.testing.assert_close(clone(x), model(x))


def test_make_model_config_by_name(monkeypatch):
    """braindecode's pydantic configuration, resolved by name once M2S is registered."""
    from braindecode.models import util
    from braindecode.models.config import make_model_config

    monkeypatch.setitem(util.models_dict, "M2S", M2S)
    config_cls = make_model_config(M2S, ["n_chans", "n_outputs", "sfreq"])
    config = config_cls(n_chans=N_CHANS, n_outputs=N_OUTPUTS, sfreq=SFREQ, **TINY)
    again = config_cls.model_validate(json.loads(json.dumps(config.model_dump(mode="json"))))
    model = again.create_instance()
    assert isinstance(model, M2S) and model.sfreq == SFREQ
    assert model.get_config() == _tiny().get_config()


def test_hub_round_trip_offline(model, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["n_chans"] == N_CHANS and config["n_outputs"] == N_OUTPUTS
    assert config["sfreq"] == SFREQ and "braindecode_version" in config
    restored = M2S.from_pretrained(tmp_path).eval()
    x = _raw()
    torch.testing.assert_close(restored(x), model(x))
    # another number of classes: the head is rebuilt, the encoders are kept
    five = M2S.from_pretrained(tmp_path, n_outputs=5).eval()
    assert five.n_outputs == 5 and five(x).shape == (BATCH, 5)
    torch.testing.assert_close(
        five.state_dict()["projections.x.0.weight"], model.state_dict()["projections.x.0.weight"]
    )


@pytest.mark.parametrize("data", ["arrays", "epochs"])
def test_eeg_classifier_fits_with_inferred_signal_parameters(data):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, N_CHANS, N_TIMES)).astype("float32")
    y = np.arange(10) % 2
    kwargs = {f"module__{k}": v for k, v in TINY.items()}
    if data == "epochs":  # channels, sfreq and n_times from the MNE object
        X = mne.EpochsArray(X, mne.create_info(N_CHANS, SFREQ, "eeg"), verbose=False)
    else:  # arrays carry no sampling frequency
        kwargs["module__sfreq"] = SFREQ
    clf = EEGClassifier(
        M2S,
        optimizer=torch.optim.Adam,
        batch_size=4,
        max_epochs=1,
        classes=[0, 1],
        train_split=ValidSplit(0.2, random_state=0),
        verbose=0,
        **kwargs,
    )
    clf.fit(X, y)
    module = clf.module_
    assert (module.n_chans, module.n_times, module.n_outputs) == (N_CHANS, N_TIMES, 2)
    assert module.sfreq == SFREQ
    assert clf.predict(X).shape == (10,)
