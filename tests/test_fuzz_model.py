"""Bounded fuzzing of M2S's inputs: every input gives finite logits or a ValueError.

The values (NaN, Inf, magnitude) are checked once by ``M2S.check_inputs`` (what
the estimators call at their boundary), names and shapes by ``forward`` too.

Random shapes, dtypes, magnitudes, NaN / Inf, empty batches and zero windows, in
training and eval mode, for both modalities, with a fixed seed and a fixed number of
inputs (a few seconds). Anything else (another exception type, a non-finite output, a
crash) fails.
"""

import numpy as np
import pytest
import torch
from conftest import N_BANDS, N_CHANS, N_EYE, SMALL

from braindecode_m2s import M2S

N_INPUTS = 300


def _random_array(rng, kind):
    ndim = int(rng.integers(0, 6))
    if kind == "x" and rng.random() < 0.6:
        shape = [int(rng.integers(0, 4)), N_CHANS, int(rng.integers(0, 7)), N_BANDS]
    elif kind == "eye" and rng.random() < 0.6:
        shape = [int(rng.integers(0, 4)), N_EYE, int(rng.integers(0, 7))]
    else:
        shape = [int(rng.integers(0, 5)) for _ in range(ndim)]
    scale = 10.0 ** rng.choice([-30, -3, 0, 3, 8, 30, 37])
    dtype = rng.choice(["float32", "float64", "float16", "int64", "bool"])
    value = rng.normal(size=shape) * scale
    if value.size and rng.random() < 0.2:
        value.flat[int(rng.integers(value.size))] = rng.choice([np.nan, np.inf, -np.inf])
    with np.errstate(over="ignore", invalid="ignore"):
        return value.astype(dtype)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_model_inputs_give_finite_logits_or_a_value_error(mode):
    rng = np.random.default_rng(0 if mode == "train" else 1)
    torch.manual_seed(0)
    model = M2S(**SMALL)
    getattr(model, mode)()
    outcomes = {"ok": 0, "ValueError": 0}
    for _ in range(N_INPUTS):
        kwargs = {}
        if rng.random() < 0.7:
            kwargs["x"] = _random_array(rng, "x")
        if rng.random() < 0.7:
            kwargs["eye"] = _random_array(rng, "eye")
        try:
            model.check_inputs(**kwargs)  # the estimators' boundary check
            out = model(**kwargs)
        except ValueError:
            outcomes["ValueError"] += 1
            continue
        assert torch.isfinite(out).all(), {k: v.shape for k, v in kwargs.items()}
        outcomes["ok"] += 1
    # the loop really reached both outcomes
    assert outcomes["ok"] > 10 and outcomes["ValueError"] > 100, outcomes
    # and the model is still healthy afterwards (no poisoned statistics)
    model.eval()
    good = model(x=torch.randn(2, N_CHANS, 5, N_BANDS), eye=torch.randn(2, N_EYE, 5))
    assert torch.isfinite(good).all()
