"""Plots: per-subject scores, confusion matrices, STS attention topomap, loss curves."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from braindecode_m2s import M2S
from braindecode_m2s.datasets import get_info
from braindecode_m2s.viz import (
    plot_confusion_matrices,
    plot_loss_curves,
    plot_spatial_attention,
    plot_subject_scores,
    spatial_attention,
)

matplotlib.use("Agg")


def test_scores_and_confusion(tmp_path):
    rng = np.random.default_rng(0)
    res = pd.DataFrame(
        {
            "pipeline": ["a", "a", "b", "b"],
            "setting": ["eeg2eeg"] * 4,
            "subject": [1, 2, 1, 2],
            "score": rng.random(4),
        }
    )
    plot_subject_scores(res, tmp_path / "s.png")
    preds = pd.DataFrame(
        {
            "y_true": rng.integers(0, 4, 40),
            "y_pred": rng.integers(0, 4, 40),
            "pipeline": "a",
            "setting": ["x", "y"] * 20,
        }
    )
    plot_confusion_matrices(preds, tmp_path / "c.png")
    assert (tmp_path / "s.png").stat().st_size > 0 and (tmp_path / "c.png").stat().st_size > 0
    with pytest.raises(ValueError, match="lacks the columns"):
        plot_subject_scores(res.drop(columns="subject"))


def test_attention_topomap(tmp_path):
    model = M2S(
        n_outputs=4,
        n_chans=62,
        modalities={"eye": 31},
        embed_dim=16,
        proj_dim=8,
        n_layers=1,
        n_heads=2,
        head_dim=8,
        ff_dim=32,
        classifier_hidden=16,
    )
    X = {
        "x": np.random.randn(3, 62, 4, 5).astype("float32"),
        "eye": np.random.randn(3, 31, 4).astype("float32"),
    }
    weights = spatial_attention(model, X)
    assert weights.shape == (62,) and np.isclose(weights.sum(), 1, atol=1e-4)
    plot_spatial_attention(weights, get_info("SEED-IV"), tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 0
    assert spatial_attention(object(), X) is None  # no attention: skipped
    with pytest.raises(ValueError, match="one value per channel"):
        plot_spatial_attention(weights[:10], get_info("SEED-IV"))


def test_loss_curves(tmp_path):
    history = [
        {"epoch": i + 1, "train_loss": 1.0 / (i + 1), "train_cpc_loss": 0.5, "dur": 0.1}
        for i in range(3)
    ]
    pre = [{"epoch": 1, "train_clip_loss": 2.0, "train_club_mi": 0.1, "train_cpc_acc_x->x": 0.5}]
    fig = plot_loss_curves(history, tmp_path / "l.png", pretrain_history=pre)
    assert [{t.get_text() for t in ax.get_legend().get_texts()} for ax in fig.axes] == [
        {"train_clip_loss", "train_club_mi"},
        {"train_loss", "train_cpc_loss"},
    ]
    with pytest.raises(ValueError, match="net.history"):
        plot_loss_curves([])
