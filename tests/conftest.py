"""Shared fixtures: small seeded multimodal data and small M2S models."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.helper import SliceDict

warnings.filterwarnings("ignore", message="Montage name 'standard_1020' is deprecated")

# the fixture-tree writers of tests/datasets, importable from every test folder
sys.path.insert(0, str(Path(__file__).resolve().parent / "datasets"))

N_CHANS, N_BANDS, N_EYE, N_WINDOWS, N_CLASSES = 6, 5, 4, 5, 3

SMALL = dict(
    n_chans=N_CHANS,
    n_outputs=N_CLASSES,
    modalities={"eye": N_EYE},
    embed_dim=16,
    proj_dim=8,
    n_layers=1,
    n_heads=2,
    head_dim=8,
    ff_dim=32,
    classifier_hidden=16,
)
#: Small stage-1 heads (M2SObjective's sizes; ``criterion__*`` of the pretrainer).
SMALL_OBJECTIVE = dict(cpc_context_dim=8, cpc_layers=1, club_hidden=16)


def make_small_data(n=48, seed=0):
    """Three classes; EEG and eye both carry the class, with noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % N_CLASSES
    rng.shuffle(y)
    proto_x = rng.normal(size=(N_CLASSES, N_CHANS, 1, N_BANDS))
    proto_e = rng.normal(size=(N_CLASSES, N_EYE, 1))
    x = proto_x[y] + 0.8 * rng.normal(size=(n, N_CHANS, N_WINDOWS, N_BANDS))
    eye = proto_e[y] + 0.8 * rng.normal(size=(n, N_EYE, N_WINDOWS))
    return x.astype("float32"), eye.astype("float32"), y.astype("int64")


@pytest.fixture
def small_data():
    return make_small_data()


@pytest.fixture
def small_kwargs():
    return dict(SMALL)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


def slice_dict(**arrays):
    return SliceDict(**arrays)
