"""Plots: per-subject scores, confusion matrices, STS attention topomap, loss curves.

Each figure is checked at the size of a full SEED-IV reproduce (15 subjects, the
11 pipelines of ``paper_pipelines`` in 5 settings: 40 confusion matrices) for its
pixel size, and through its Axes for what a reader needs: class names, the
chance line, a colour scale with contrast, integer epochs, a title.
"""

import struct

import matplotlib
import numpy as np
import pandas as pd
import pytest

from braindecode_m2s import M2S
from braindecode_m2s.datasets import get_info
from braindecode_m2s.viz import (
    MAX_WIDTH_PX,
    plot_confusion_matrices,
    plot_loss_curves,
    plot_spatial_attention,
    plot_subject_scores,
    spatial_attention,
)

matplotlib.use("Agg")

SEED_IV_NAMES = ["neutral", "sad", "fear", "happy"]
M2S_MODES = ["eeg2eeg", "eye2eye", "eeg2eye", "eye2eeg"]
UNIMODAL = ["multimodal", "eeg2eeg", "eye2eye"]
ALL = ["multimodal", *M2S_MODES]
# paper_pipelines() on SEED-IV and the settings of each: 40 (pipeline, setting) pairs
REPRODUCE = {
    "M2S": M2S_MODES,
    "M2S-prototype": M2S_MODES,
    "de_svm": UNIMODAL,
    "de_logreg": UNIMODAL,
    "unimodal": ["eeg2eeg", "eye2eye"],
    "fusion": UNIMODAL,
    "dcca": ALL,
    "bdae": ALL,
    "cross_cpc": ALL,
    "clip_only": ALL,
    "dgcnn": ["eeg2eeg"],
}
MAX_HEIGHT_PX = 1100  # a grid that wraps stays about one laptop screen tall


def _png_size(path):
    with open(path, "rb") as f:
        return struct.unpack(">II", f.read(24)[16:24])


def _text(fig):
    """Every text of a figure, its subfigures and axes, whitespace collapsed (no wrapping)."""
    texts = []
    stack = [fig]
    while stack:
        f = stack.pop()
        texts += [f.get_suptitle(), *(t.get_text() for t in f.texts)]
        stack += f.subfigs
    texts += [t.get_text() for ax in fig.axes for t in [ax.title, *ax.texts]]
    return " ".join(" ".join(texts).split())


@pytest.fixture(scope="module")
def reproduce():
    """Made-up results and predictions the size of ``m2s reproduce`` on SEED-IV."""
    rng = np.random.default_rng(0)
    rows, preds = [], []
    for pipeline, settings in REPRODUCE.items():
        for setting in settings:
            for subject in range(1, 16):
                y_true = np.repeat(np.arange(4), 5)
                y_pred = np.where(rng.random(20) < 0.6, y_true, rng.integers(0, 4, 20))
                key = dict(
                    dataset="SEED-IV",
                    protocol="within-session",
                    pipeline=pipeline,
                    setting=setting,
                    seed=0,
                    subject=subject,
                    session="1",
                    fold=0,
                )
                rows.append(
                    dict(
                        key,
                        score=float(np.mean(y_true == y_pred)),
                        balanced_accuracy=rng.uniform(0.3, 0.9),
                        kappa=rng.uniform(-0.1, 0.7),
                        n_classes=4,
                    )
                )
                preds.append(pd.DataFrame(dict(key, y_true=y_true, y_pred=y_pred)))
    return pd.DataFrame(rows), pd.concat(preds, ignore_index=True)


def test_subject_scores_readable(reproduce, tmp_path):
    results, _ = reproduce
    fig = plot_subject_scores(results, tmp_path / "s.png")
    width, height = _png_size(tmp_path / "s.png")
    assert width <= MAX_WIDTH_PX and height <= MAX_HEIGHT_PX
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ALL  # the paper's order
    for ax in panels:  # balanced accuracy in % and a chance line at 1/4
        chance = [line for line in ax.get_lines() if line.get_label().startswith("chance")]
        assert len(chance) == 1 and np.allclose(chance[0].get_xdata(), 25)
        assert ax.get_xlim() == (0, 100)
    assert {ax.get_xlabel() for ax in panels} == {"balanced accuracy (%)"}
    # the bars are the means over subjects of balanced_accuracy (not of accuracy), in %
    eeg2eeg = panels[ALL.index("eeg2eeg")]
    means = results.query("setting == 'eeg2eeg'").groupby("pipeline")["balanced_accuracy"]
    assert np.allclose(sorted(p.get_width() for p in eeg2eeg.patches), sorted(100 * means.mean()))
    text = _text(fig)
    assert "SEED-IV, within-session protocol: balanced accuracy per subject" in text
    assert "mean over 15 subjects" in text and "chance level (25" in text
    assert "not evaluated" in text  # M2S has no multimodal setting


def test_subject_scores_keywords(reproduce):
    results, _ = reproduce
    three = results.assign(n_classes=3).query("setting == 'eeg2eeg'")
    fig = plot_subject_scores(three, title="Subject 3, M2S eeg2eeg")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("chance")]
    assert np.allclose(line.get_xdata(), 100 / 3)
    assert "Subject 3, M2S eeg2eeg" in _text(fig)
    fig = plot_subject_scores(three, chance=0.5)
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("chance")]
    assert np.allclose(line.get_xdata(), 50)
    fig = plot_subject_scores(results, score="kappa")  # chance 0, negative values shown
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Cohen's kappa (× 100)" and ax.get_xlim()[0] < 0
    assert [ln for ln in ax.get_lines() if ln.get_label().startswith("chance")]
    unknown = results.drop(columns="n_classes")  # no class count: no chance line
    fig = plot_subject_scores(unknown, score="score")
    assert not [ln for ax in fig.axes for ln in ax.get_lines()]
    assert fig.axes[0].get_xlabel() == "accuracy (%)"
    with pytest.raises(ValueError, match="lacks the columns"):
        plot_subject_scores(results.drop(columns="subject"))
    with pytest.raises(ValueError, match="lacks the columns"):
        plot_subject_scores(results.drop(columns="balanced_accuracy"))


def test_confusion_matrices_readable(reproduce, tmp_path):
    _, preds = reproduce
    fig = plot_confusion_matrices(preds, tmp_path / "c.png", class_names=SEED_IV_NAMES)
    width, height = _png_size(tmp_path / "c.png")
    assert width <= MAX_WIDTH_PX and height <= MAX_HEIGHT_PX
    matrices = [ax for ax in fig.axes if ax.images]
    assert len(matrices) == 40
    shown = {t.get_text() for ax in matrices for t in ax.get_xticklabels() + ax.get_yticklabels()}
    assert shown - {""} == set(SEED_IV_NAMES)
    assert {ax.get_xlabel() for ax in matrices} == {"", "predicted class"}
    for ax in matrices:  # normalised over the true class: each row sums to 100 %
        assert np.allclose(ax.images[0].get_array().sum(axis=1), 100)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == list(REPRODUCE)  # a column each
    text = _text(fig)
    assert "SEED-IV, within-session protocol: confusion matrices" in text
    assert "pooled over 15 subjects" in text and "normalised over its true class" in text
    colorbar = [ax for ax in fig.axes if ax.get_ylabel() == "% of the true class's samples"]
    assert len(colorbar) == 1


def test_confusion_matrices_names_and_empty_classes():
    rng = np.random.default_rng(0)
    preds = pd.DataFrame(
        {
            "y_true": np.repeat([0, 2, 3], 10),  # no class 1 in the test trials
            "y_pred": rng.integers(0, 4, 30),
            "dataset": "SEED-IV",
            "pipeline": "a",
            "setting": ["eeg2eeg", "eye2eye"] * 15,
        }
    )
    fig = plot_confusion_matrices(preds)  # names from the dataset column
    ax = next(ax for ax in fig.axes if ax.images)
    assert [t.get_text() for t in ax.get_yticklabels()] == SEED_IV_NAMES
    row = ax.images[0].get_array()[1]
    assert np.ma.getmaskarray(row).all() or np.isnan(np.ma.filled(row, np.nan)).all()
    assert "–" in [t.get_text() for t in ax.texts] and "no test sample" in _text(fig)
    fig = plot_confusion_matrices(preds, normalize=None, class_names={0: "zero"})
    ax = next(ax for ax in fig.axes if ax.images)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["zero", "1", "2", "3"]
    assert "counts of test samples" in _text(fig)
    with pytest.raises(ValueError, match="one name per sorted label"):
        plot_confusion_matrices(preds, class_names=["a", "b"])
    with pytest.raises(ValueError, match="normalize"):
        plot_confusion_matrices(preds, normalize="rows")


def _small_m2s():
    return M2S(
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


def test_attention_weights():
    X = {
        "x": np.random.randn(3, 62, 4, 5).astype("float32"),
        "eye": np.random.randn(3, 31, 4).astype("float32"),
    }
    weights = spatial_attention(_small_m2s(), X)
    assert weights.shape == (62,) and np.isclose(weights.sum(), 1, atol=1e-4)
    assert spatial_attention(object(), X) is None  # no attention: skipped


def test_attention_topomap_shows_contrast(tmp_path):
    info = get_info("SEED-IV")
    rng = np.random.default_rng(0)
    weights = 1 / 62 + rng.normal(0, 1e-5, 62)  # nearly uniform: 0.0161 +- 0.1 %
    weights /= weights.sum()
    fig = plot_spatial_attention(weights, info, tmp_path / "t.png")
    width, height = _png_size(tmp_path / "t.png")
    assert 600 <= width <= MAX_WIDTH_PX and 600 <= height <= MAX_HEIGHT_PX
    ax = next(ax for ax in fig.axes if ax.images)
    image = ax.images[0]
    low, high = image.get_clim()
    relative = 100 * (weights * 62 - 1)
    assert np.isclose(-low, high) and np.isclose(high, np.abs(relative).max())  # centred
    values = np.ma.compressed(image.get_array())
    assert np.ptp(values) > 0.5 * (high - low)  # the map spans most of the colour scale
    assert image.get_cmap().name.startswith("RdBu")
    colorbar = next(a for a in fig.axes if "uniform" in a.get_ylabel())
    assert "(1/62), %" in colorbar.get_ylabel()
    named = {t.get_text() for t in ax.texts} - {""}
    assert info["ch_names"][int(np.argmax(weights))] in named and len(named) == 10
    assert "STS spatial attention over the 62 electrodes" in _text(fig)
    fig = plot_spatial_attention(np.full(62, 1 / 62), info, title="Subject 2, eeg2eeg")
    assert "Subject 2, eeg2eeg" in _text(fig)  # exactly uniform: drawn, no division by 0
    with pytest.raises(ValueError, match="one value per channel"):
        plot_spatial_attention(weights[:10], info)


def _history(n_epochs):
    pre = [
        {
            "epoch": i + 1,
            "dur": 1.0,
            "train_loss": 10.0 - i,
            "train_loss_best": True,
            "train_clip_loss": 2.0 / (i + 1),
            "train_club_mi": 0.01 * (-1) ** i,
            "train_cpc_acc_x->x": 0.5,
            "train_batch_count": 6,
        }
        for i in range(n_epochs)
    ]
    history = [
        {"epoch": i + 1, "train_loss": 1.0 / (i + 1), "valid_loss": 1.2 / (i + 1)}
        for i in range(n_epochs)
    ]
    return pre, history


@pytest.mark.parametrize("n_epochs", [1, 3, 30])
def test_loss_curves_readable(n_epochs, tmp_path):
    pre, history = _history(n_epochs)
    fig = plot_loss_curves(history, tmp_path / "l.png", pretrain_history=pre)
    width, height = _png_size(tmp_path / "l.png")
    assert width <= MAX_WIDTH_PX and height <= MAX_HEIGHT_PX
    assert [ax.get_title() for ax in fig.axes] == [  # one panel per term, no accuracies
        "total loss (the weighted sum minimised)",
        "CLIP: cross-modal contrastive",
        "CLUB: mutual-information upper bound",
        "classifier loss",
    ]
    for ax in fig.axes:  # integer epochs only
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert ax.get_legend() is None
    assert fig.axes[-1].get_xlabel() == "epoch"
    stage_2 = fig.axes[-1]
    assert [line.get_linestyle() for line in stage_2.get_lines()] == ["-", "--"]
    # the legend (training / validation) lies outside every panel: it covers no curve
    fig.canvas.draw()
    legends = [leg for sub in fig.subfigs for leg in sub.legends]
    assert len(legends) == 1
    box = legends[0].get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)
    text = _text(fig)
    assert f"stage 1: {n_epochs} epoch" in text and f"stage 2: {n_epochs} epoch" in text
    assert "Stage 1: self-supervised pretraining" in text


def test_loss_curves_title_and_errors():
    fig = plot_loss_curves(_history(2)[1], title="Subject 4, M2S eye2eeg, seed 1")
    assert "Subject 4, M2S eye2eeg, seed 1" in _text(fig)
    assert [ax.get_title() for ax in fig.axes] == ["classifier loss"]
    with pytest.raises(ValueError, match="net.history"):
        plot_loss_curves([])
