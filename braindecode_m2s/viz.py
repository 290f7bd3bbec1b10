"""Figures of an evaluation: scores per subject, confusion matrices, the STS
spatial attention as a scalp map, and the loss terms over epochs.

matplotlib draws everything; the topomap is MNE's
(:func:`mne.viz.plot_topomap`) on the dataset's template montage
(:func:`braindecode_m2s.datasets.get_info`). Every function returns the
figure and, given ``path``, also saves it (PNG by the extension) and closes it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "plot_subject_scores",
    "plot_confusion_matrices",
    "spatial_attention",
    "plot_spatial_attention",
    "plot_loss_curves",
]


def _finish(fig, path):
    if path is not None:
        import matplotlib.pyplot as plt

        from .utils.files import atomic_path

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # whole or not at all: a killed or failed save leaves no half figure
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=path.suffix[1:] or "png", dpi=110, bbox_inches="tight")
        finally:
            plt.close(fig)
    return fig


def _check_columns(table, columns, name):
    missing = [c for c in columns if c not in getattr(table, "columns", [])]
    if missing:
        raise ValueError(
            f"`{name}` lacks the columns {missing}; expected the table returned by "
            f"braindecode_m2s.evaluation.evaluate."
        )


def plot_subject_scores(results, path=None, score="score"):
    """Accuracy (%) per subject, one panel per modality setting.

    In each panel a bar is a pipeline's mean over subjects and the dots are
    its subjects (each the mean over sessions, folds and seeds), so the
    figure stays readable with many subjects and baselines.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`braindecode_m2s.evaluation.evaluate`.
    path : str | pathlib.Path | None
        Where to save the PNG.
    score : str
        Score column (fractions; shown in %).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    _check_columns(results, ["pipeline", "setting", "subject", score], "results")
    per = results.groupby(["setting", "pipeline", "subject"])[score].mean().mul(100)
    from .evaluation.settings import PAPER_SETTINGS

    order = list(PAPER_SETTINGS)  # the paper's order
    settings = sorted(
        dict.fromkeys(results["setting"]),
        key=lambda s: (order.index(s) if s in order else len(order), s),
    )
    pipelines = list(dict.fromkeys(results["pipeline"]))
    colors = {p: plt.cm.tab20(i % 20) for i, p in enumerate(pipelines)}
    n_max = max(results.loc[results.setting == s, "pipeline"].nunique() for s in settings)
    fig, axes = plt.subplots(
        1,
        len(settings),
        sharey=True,
        squeeze=False,
        figsize=(max(3.5, 0.45 * n_max + 1.5) * len(settings), 4),
    )
    rng = np.random.default_rng(0)
    for ax, setting in zip(axes.ravel(), settings):
        names = [p for p in pipelines if (setting, p) in per.index.droplevel("subject")]
        for i, name in enumerate(names):
            values = per.loc[(setting, name)].to_numpy()
            ax.bar(i, values.mean(), 0.7, color=colors[name], alpha=0.6)
            ax.scatter(
                i + rng.uniform(-0.15, 0.15, len(values)), values, s=12, color="k", zorder=3
            )
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_title(setting)
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("accuracy (%)")
    fig.suptitle("Accuracy per subject (dots) and mean over subjects (bars)")
    fig.tight_layout()
    return _finish(fig, path)


def plot_confusion_matrices(predictions, path=None, normalize="true", class_names=None):
    """One confusion matrix per pipeline and modality setting (all subjects pooled).

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``y_true``, ``y_pred``, ``pipeline``, ``setting`` (from
        :func:`~braindecode_m2s.evaluation.evaluate` with
        ``return_predictions=True``).
    path : str | pathlib.Path | None
        Where to save the PNG.
    normalize : {"true", "pred", "all"} | None
        As in :func:`sklearn.metrics.confusion_matrix`.
    class_names : sequence of str | None
        Names of the sorted labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    _check_columns(predictions, ["y_true", "y_pred", "pipeline", "setting"], "predictions")
    labels = np.unique(np.concatenate([predictions["y_true"], predictions["y_pred"]]))
    groups = list(predictions.groupby(["pipeline", "setting"], sort=True))
    n_cols = min(4, len(groups))
    n_rows = int(np.ceil(len(groups) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.2 * n_cols, 3.2 * n_rows), squeeze=False)
    for ax, ((pipe, setting), block) in zip(axes.ravel(), groups):
        ConfusionMatrixDisplay.from_predictions(
            block["y_true"],
            block["y_pred"],
            labels=labels,
            normalize=normalize,
            display_labels=class_names,
            ax=ax,
            colorbar=False,
            values_format=".2f",
        )
        ax.set_title(f"{pipe}\n{setting}", fontsize=9)
    for ax in axes.ravel()[len(groups) :]:
        ax.axis("off")
    fig.tight_layout()
    return _finish(fig, path)


def spatial_attention(model, X, batch_size=64):
    """Mean attention each electrode receives in the STS spatial attention.

    Runs ``model`` on ``X`` and, for every
    :class:`~braindecode_m2s.modules.STSAttention` layer of the EEG encoder
    (the spatial attention across electrodes of Liu et al., AAAI 2025),
    recomputes its softmax weights ``(batch, windows, heads, query, key)``
    from the layer's input; the result averages them over layers, samples,
    windows, heads and queries, so it sums to one over electrodes.

    Parameters
    ----------
    model : torch.nn.Module | skorch.NeuralNet
        The M2S module, or a fitted skorch wrapper of it (``module_``).
    X : dict of arrays
        Inputs with the EEG under ``"x"`` (other keys are passed too).
    batch_size : int
        Samples per forward pass.

    Returns
    -------
    numpy.ndarray | None
        ``(n_chans,)``, or ``None`` when the model has no STS attention over
        the channels of ``X["x"]`` (nothing to plot).
    """
    import torch

    module = getattr(model, "module_", model)
    if not callable(getattr(module, "eeg_attention", None)) or "x" not in X:
        return None
    totals = []
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            n = len(X["x"])
            for start in range(0, n, batch_size):
                x = np.asarray(X["x"][start : start + batch_size])
                for weights in module.eeg_attention(x):
                    # (batch, windows, heads, query, key) -> attention received per key
                    totals.append(weights.mean(dim=(0, 1, 2, 3)).cpu().numpy())
    finally:
        module.train(was_training)
    if not totals:
        return None
    return np.mean(totals, axis=0)


def plot_spatial_attention(weights, info, path=None, title="STS spatial attention"):
    """Scalp map of per-electrode attention (:func:`mne.viz.plot_topomap`).

    Parameters
    ----------
    weights : array-like, shape (n_chans,)
        E.g. from :func:`spatial_attention`.
    info : mne.Info
        Channels with positions, e.g. ``braindecode_m2s.datasets.get_info("SEED-IV")``.
    path : str | pathlib.Path | None
        Where to save the PNG.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import mne

    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1 or len(weights) != len(info["ch_names"]):
        raise ValueError(
            f"`weights` has shape {weights.shape}; expected ({len(info['ch_names'])},), one "
            f"value per channel of `info`."
        )
    fig, ax = plt.subplots(figsize=(4, 4))
    im, _ = mne.viz.plot_topomap(weights, info, axes=ax, show=False, cmap="viridis")
    fig.colorbar(im, ax=ax, shrink=0.7, label="mean attention received")
    ax.set_title(title)
    return _finish(fig, path)


def _loss_keys(epochs):
    keys = []
    for epoch in epochs:
        for key, value in epoch.items():
            numeric = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            if (
                numeric
                and key not in keys
                and key not in ("epoch", "dur")
                and "acc" not in key
                and "count" not in key
                and not key.endswith("_best")
            ):
                keys.append(key)
    return keys


def _draw_history(ax, epochs, title):
    for key in _loss_keys(epochs):
        xs = [e.get("epoch", i + 1) for i, e in enumerate(epochs) if key in e]
        ys = [float(e[key]) for e in epochs if key in e]
        ax.plot(xs, ys, marker="o", ms=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if ax.get_lines():
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no loss recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)


def plot_loss_curves(history, path=None, pretrain_history=None):
    """Every loss term of a skorch ``net.history`` over epochs.

    Parameters
    ----------
    history : skorch.history.History | list of dict
        ``net.history``; every numeric epoch entry except ``epoch``, ``dur``,
        batch counts, ``*_best`` and accuracies is drawn (train / valid loss
        and the terms M2S records: CLIP, M2M CPC, reconstruction, CLUB...).
    path : str | pathlib.Path | None
        Where to save the PNG.
    pretrain_history : skorch.history.History | list of dict | None
        The self-supervised stage's history (``M2SClassifier.pretrain_history_``),
        drawn in a first panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    panels = []
    if pretrain_history is not None:
        panels.append((list(pretrain_history), "Stage 1: self-supervised (M2M CPC, CLIP...)"))
    panels.append((list(history), "Stage 2: classifier" if panels else "Loss terms over epochs"))
    for epochs, _ in panels:
        if not epochs or not all(isinstance(e, dict) for e in epochs):
            raise ValueError(
                "`history` is empty or not a list of epoch dicts; expected a fitted net's "
                "`net.history`."
            )
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (epochs, title) in zip(axes.ravel(), panels):
        _draw_history(ax, epochs, title)
    fig.tight_layout()
    return _finish(fig, path)
