"""Figures of an evaluation: scores per subject, confusion matrices, the STS
spatial attention as a scalp map, and the loss terms over epochs.

matplotlib draws everything; the topomap is MNE's
(:func:`mne.viz.plot_topomap`) on the dataset's template montage
(:func:`braindecode_m2s.datasets.get_info`). Every function returns the
figure and, given ``path``, also saves it (PNG by the extension, at
:data:`DPI` dots per inch) and closes it.

Every figure is made to be read at 100 % zoom on a laptop screen: at most
:data:`MAX_WIDTH_PX` pixels wide (grids of panels wrap onto more rows), text
of 8 points or more, axes labelled with their units, and a header: a title
(``title=``; by default built from the data: dataset, protocol, subjects,
seeds, pipeline or setting) over a caption saying what each mark shows and
what is averaged or pooled.
"""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import numpy as np

__all__ = [
    "plot_subject_scores",
    "plot_confusion_matrices",
    "spatial_attention",
    "plot_spatial_attention",
    "plot_loss_curves",
    "DPI",
    "MAX_WIDTH_PX",
]

#: Resolution of the saved figures (dots per inch).
DPI = 110
#: Widest saved figure, in pixels (a laptop screen at 100 % zoom).
MAX_WIDTH_PX = 1600
# Widest figure in inches, with room for the saving's padding (1540 px at DPI).
_MAX_WIDTH_IN = 14.0
_TITLE_PT, _CAPTION_PT = 12, 9.5

_SCORE_LABELS = {
    "balanced_accuracy": "balanced accuracy (%)",
    "score": "accuracy (%)",
    "accuracy": "accuracy (%)",
    "kappa": "Cohen's kappa (× 100)",
}
_NORMALIZE_CAPTIONS = {
    "true": "each row is normalised over its true class: the % of that class's test samples "
    "predicted as each class (rows sum to 100\u00a0%, the diagonal is each class's recall)",
    "pred": "each column is normalised over its predicted class: the % of the samples "
    "predicted as that class that are of each true class (columns sum to 100\u00a0%, the "
    "diagonal is each class's precision)",
    "all": "normalised over all test samples (the cells sum to 100\u00a0%)",
    None: "counts of test samples (not normalised)",
}
_NORMALIZE_UNITS = {
    "true": "% of the true class's samples",
    "pred": "% of the predicted class's samples",
    "all": "% of all test samples",
    None: "test samples",
}


def _finish(fig, path):
    if path is not None:
        import matplotlib.pyplot as plt

        from .utils.files import atomic_path

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # whole or not at all: a killed or failed save leaves no half figure
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=path.suffix[1:] or "png", dpi=DPI, bbox_inches="tight")
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
    if len(table) == 0:
        raise ValueError(f"`{name}` has no rows; expected at least one evaluated fit.")


# -- layout helpers ---------------------------------------------------------------------


def _wrap(text, width_in, size_pt):
    """``text`` wrapped to lines that fit ``width_in`` inches at ``size_pt`` points."""
    chars = max(20, int(0.92 * width_in * 72 / (0.56 * size_pt)))
    return "\n".join(
        textwrap.fill(part, chars, break_on_hyphens=False) for part in str(text).split("\n")
    )


def _framed(width, body_height, title, caption):
    """A figure of ``width`` inches: a header (title over caption) above a body.

    Returns the figure and the subfigure to draw in (constrained layout); the
    figure's height is the body's plus what the wrapped header needs.
    """
    import matplotlib.pyplot as plt

    title = _wrap(title, width - 0.3, _TITLE_PT)
    caption = _wrap(caption, width - 0.3, _CAPTION_PT) if caption else ""
    n_title = title.count("\n") + 1
    n_caption = caption.count("\n") + 1 if caption else 0
    line_t, line_c = 1.3 * _TITLE_PT / 72, 1.35 * _CAPTION_PT / 72
    header = 0.12 + n_title * line_t + (0.06 + n_caption * line_c if caption else 0) + 0.08
    fig = plt.figure(figsize=(width, body_height + header), layout="constrained")
    top, body = fig.subfigures(2, 1, height_ratios=[header, body_height], hspace=0)
    y = 1 - 0.1 / header
    top.suptitle(title, x=0.5, y=y, ha="center", va="top", fontsize=_TITLE_PT, weight="bold")
    if caption:
        y -= (n_title * line_t + 0.06) / header
        top.text(0.5, y, caption, ha="center", va="top", fontsize=_CAPTION_PT, color="0.2")
    return fig, body


def _grid_shape(n, n_cols_max):
    """Rows and columns of a grid of ``n`` panels at most ``n_cols_max`` wide, balanced."""
    n_cols = max(1, min(n, n_cols_max))
    n_rows = math.ceil(n / n_cols)
    return n_rows, math.ceil(n / n_rows)


def _drop_unused(axes, n):
    """Remove the grid's axes past the ``n``-th; show x tick labels above the holes."""
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.remove()
    n_rows, n_cols = axes.shape
    for i in range(n):
        r, c = divmod(i, n_cols)
        if r + 1 < n_rows and (r + 1) * n_cols + c >= n:
            flat[i].xaxis.set_tick_params(which="both", labelbottom=True)
    return list(flat[:n])


def _is_bottom(i, n, n_cols):
    """Whether panel ``i`` of ``n`` (row-major, ``n_cols`` wide) has no panel below it."""
    return i + n_cols >= n


# -- what a table covers ----------------------------------------------------------------


def _unique(table, column):
    if column not in getattr(table, "columns", []):
        return []
    return list(dict.fromkeys(v for v in table[column] if v == v))  # NaN dropped


def _numbers(values):
    """``[0, 1, 2]`` as ``"0, 1, 2"``, a long run of integers as ``"0-9"``."""
    try:
        ints = sorted(int(v) for v in values)
    except (TypeError, ValueError):
        return ", ".join(map(str, values))
    if len(ints) > 3 and ints == list(range(ints[0], ints[-1] + 1)):
        return f"{ints[0]}-{ints[-1]}"
    return ", ".join(map(str, ints))


def _plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def _where(table):
    """``"SEED-IV, within-session protocol"`` from a table's dataset and protocol columns."""
    parts = [", ".join(map(str, _unique(table, "dataset")))]
    protocols = _unique(table, "protocol")
    if protocols:
        parts.append(", ".join(map(str, protocols)) + " protocol")
    return ", ".join(p for p in parts if p)


def _seeds(table):
    seeds = _unique(table, "seed")
    if not seeds:
        return ""
    return f"seed{'s' if len(seeds) > 1 else ''} {_numbers(seeds)}"


def _pooled(table, with_subjects=True):
    """What rows of a table pool: ``"15 subjects, 3 sessions, seeds 0-2"``."""
    parts = []
    subjects = _unique(table, "subject")
    if with_subjects and subjects:
        parts.append(
            f"subject {subjects[0]}" if len(subjects) == 1 else _plural(len(subjects), "subject")
        )
    for column, word in (("session", "session"), ("fold", "fold")):
        values = _unique(table, column)
        if len(values) > 1:
            parts.append(_plural(len(values), word))
    if _seeds(table):
        parts.append(_seeds(table))
    return parts


def _join(parts):
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _setting_rank(setting):
    """Position of a setting in the paper's order (other second modalities read as eye)."""
    from .evaluation.settings import PAPER_SETTINGS

    text = str(setting)
    match = re.fullmatch(r"([a-z0-9_]+)2([a-z0-9_]+)", text)
    if match:
        a, b = (m if m in ("eeg", "all") else "eye" for m in match.groups())
        text = f"{a}2{b}"
    order = list(PAPER_SETTINGS)
    return (order.index(text) if text in order else len(order), str(setting))


def _ordered_settings(values):
    return sorted(dict.fromkeys(values), key=_setting_rank)


def _default_chance(table, score):
    """1 / n_classes of the table (its ``n_classes`` column), 0 for kappa; None if unknown."""
    if score == "kappa":
        return 0.0
    counts = _unique(table, "n_classes")
    if len(counts) == 1 and int(counts[0]) > 0:
        return 1.0 / int(counts[0])
    return None


def _percent(value):
    return f"{value:.3g}\u00a0%"  # a no-break space: never wrapped apart


# -- scores per subject -----------------------------------------------------------------


def plot_subject_scores(results, path=None, score="balanced_accuracy", *, chance=None, title=None):
    """Score (%) per subject, one panel per modality setting, with the chance level.

    In each panel a row is a pipeline: the bar and the number are its mean
    over subjects, the dots its subjects (each the mean over that subject's
    sessions, folds and seeds), and a dashed line marks chance. Pipelines
    keep their row in every panel (a pipeline not evaluated in a setting
    says so), and the panels wrap onto several rows to stay within
    :data:`MAX_WIDTH_PX`.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`braindecode_m2s.evaluation.evaluate`.
    path : str | pathlib.Path | None
        Where to save the PNG.
    score : str
        Score column (fractions; shown in %): ``"balanced_accuracy"`` (the
        package's metric), ``"score"`` (accuracy) or ``"kappa"``.
    chance : float | None
        Chance level as a fraction (0.25 for four balanced classes);
        ``None``: ``1 / n_classes`` from the table's ``n_classes`` column
        (0 for ``kappa``), and no line when the table does not say.
    title : str | None
        Figure title; ``None``: dataset, protocol and score from the table.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    _check_columns(results, ["pipeline", "setting", "subject", score], "results")
    per = results.groupby(["setting", "pipeline", "subject"])[score].mean().mul(100)
    done = set(per.index.droplevel("subject"))
    settings = _ordered_settings(results["setting"])
    pipelines = list(dict.fromkeys(results["pipeline"]))
    if chance is None:
        chance = _default_chance(results, score)
    label = _SCORE_LABELS.get(score, f"{score.replace('_', ' ')} (%)")
    n_subjects = len(_unique(results, "subject"))

    longest = max(len(str(p)) for p in pipelines)
    left = 0.3 + 0.075 * longest  # pipeline names at 9 pt
    panel_w = 2.4
    n_rows, n_cols = _grid_shape(len(settings), int((_MAX_WIDTH_IN - left - 0.3) // panel_w))
    width = min(_MAX_WIDTH_IN, left + n_cols * panel_w + 0.3)
    panel_h = 0.3 * len(pipelines) + 0.45
    body_h = n_rows * panel_h + 0.55 + 0.45  # tick labels and x label; legend

    where = _where(results)
    if title is None:
        what = f"{label.split(' (')[0]} per subject, by modality setting"
        title = f"{where}: {what}" if where else what[0].upper() + what[1:]
    parts = _pooled(results, with_subjects=False)
    averaged = [p for p in parts if not p.startswith("seed ")]  # one seed is not averaged
    dot = "Dot: one subject" + (f", the mean over its {_join(averaged)}" if averaged else "")
    dot += "".join(f" ({p})" for p in parts if p.startswith("seed "))
    caption = f"{dot}. Bar and number: the mean over {_plural(n_subjects, 'subject')}." + (
        "" if chance is None else f" Dashed line: chance level ({_percent(100 * chance)})."
    )
    fig, body = _framed(width, body_h, title, caption)
    axes = body.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False)
    axes = _drop_unused(axes, len(settings))
    colors = {p: plt.cm.tab10(i % 10) for i, p in enumerate(pipelines)}
    rng = np.random.default_rng(0)
    low = 10 * math.floor((per.min() - 5) / 10) if len(per) and per.min() < 0 else 0.0
    for i, (ax, setting) in enumerate(zip(axes, settings)):
        for row, name in enumerate(pipelines):
            values = (
                per.loc[(setting, name)].dropna().to_numpy() if (setting, name) in done else []
            )
            if not len(values):
                ax.text(
                    low + 2,
                    row,
                    "not evaluated" if (setting, name) not in done else "no score (NaN)",
                    va="center",
                    fontsize=8,
                    color="0.45",
                    bbox=dict(fc="white", ec="none", pad=1),
                    zorder=4,
                )
                continue
            mean = float(values.mean())
            ax.barh(row, mean - low, left=low, height=0.7, color=colors[name], alpha=0.45)
            jitter = rng.uniform(-0.2, 0.2, len(values))
            ax.scatter(values, row + jitter, s=14, color="k", linewidths=0, zorder=3)
            ax.text(low + 1.5, row, f"{mean:.1f}", va="center", fontsize=8, zorder=4)
        if chance is not None:
            ax.axvline(
                100 * chance,
                color="tab:red",
                ls="--",
                lw=1.3,
                zorder=2,
                label=f"chance ({_percent(100 * chance)})",
            )
        ax.set_title(str(setting), fontsize=10, weight="bold")
        ax.set_xlim(low, 100)
        ax.set_ylim(len(pipelines) - 0.5, -0.5)
        ax.set_yticks(range(len(pipelines)), [str(p) for p in pipelines], fontsize=9)
        ax.tick_params(axis="x", labelsize=9)
        ax.grid(axis="x", alpha=0.3)
        if _is_bottom(i, len(settings), n_cols):
            ax.set_xlabel(label, fontsize=9)
    handles = [
        Patch(color="0.6", alpha=0.6, label=f"mean over {_plural(n_subjects, 'subject')}"),
        Line2D([], [], ls="", marker="o", ms=4, color="k", label="one subject"),
    ]
    if chance is not None:
        handles.append(
            Line2D([], [], color="tab:red", ls="--", label=f"chance ({_percent(100 * chance)})")
        )
    body.legend(
        handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=9
    )
    return _finish(fig, path)


# -- confusion matrices -----------------------------------------------------------------


def _class_names(class_names, labels, table):
    """Display names of the sorted ``labels``: given, the dataset's, or the labels."""
    if class_names is None:
        datasets = _unique(table, "dataset")
        try:
            from .datasets.names import dataset_class

            known = getattr(dataset_class(datasets[0]), "CLASS_NAMES", None)
        except (ValueError, IndexError, ImportError, AttributeError):
            known = None
        if len(datasets) == 1 and isinstance(known, dict):
            class_names = known
    if isinstance(class_names, dict):
        return [str(class_names.get(label, label)) for label in labels]
    if class_names is None:
        return [str(label) for label in labels]
    names = [str(n) for n in class_names]
    if len(names) != len(labels):
        raise ValueError(
            f"`class_names` has {len(names)} names for the {len(labels)} labels "
            f"{list(labels)}; expected one name per sorted label (or a dict label -> name)."
        )
    return names


def _blank(ax, k):
    """An empty slot of the grid: the box of a ``k`` x ``k`` matrix, nothing drawn.

    Its title and y label (pipeline, setting) stay visible, and the labels of
    a neighbouring matrix may overflow into it.
    """
    ax.set_xlim(-0.5, k - 0.5)
    ax.set_ylim(k - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.patch.set_visible(False)


def plot_confusion_matrices(
    predictions, path=None, normalize="true", class_names=None, *, title=None
):
    """One confusion matrix per pipeline and modality setting (all subjects pooled).

    A grid with a column per pipeline and a row per setting (or the other way
    round when there are more settings than pipelines); slots of pipelines
    not evaluated in a setting stay empty, and columns that do not fit
    :data:`MAX_WIDTH_PX` wrap onto a further block of rows. Cells show their
    value (in % when normalised; ``–`` on grey where there is nothing to
    normalise by, e.g. a class absent from the test trials) and share one
    colour scale; the caption states the normalisation and what is pooled.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``y_true``, ``y_pred``, ``pipeline``, ``setting`` (from
        :func:`~braindecode_m2s.evaluation.evaluate` with
        ``return_predictions=True``).
    path : str | pathlib.Path | None
        Where to save the PNG.
    normalize : {"true", "pred", "all"} | None
        As in :func:`sklearn.metrics.confusion_matrix` (``"true"``: each row
        over its true class, the diagonal is the recall); stated on the figure.
    class_names : sequence of str | dict | None
        Names of the sorted labels (a sequence), or label -> name; ``None``:
        the dataset's (``CLASS_NAMES`` of the class named by the table's
        ``dataset`` column, e.g. SEED-IV's neutral, sad, fear, happy), else
        the labels themselves.
    title : str | None
        Figure title; ``None``: dataset and protocol from the table.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    _check_columns(predictions, ["y_true", "y_pred", "pipeline", "setting"], "predictions")
    if normalize not in _NORMALIZE_CAPTIONS:
        raise ValueError(
            f"`normalize` is {normalize!r}; expected one of 'true', 'pred', 'all' or None."
        )
    labels = np.unique(np.concatenate([predictions["y_true"], predictions["y_pred"]]))
    names = _class_names(class_names, labels, predictions)
    pipelines = list(dict.fromkeys(predictions["pipeline"]))
    settings = _ordered_settings(predictions["setting"])
    values = {
        key: _normalized(
            confusion_matrix(block["y_true"], block["y_pred"], labels=labels), normalize
        )
        for key, block in predictions.groupby(["pipeline", "setting"])
    }
    k = len(labels)
    # the longer list runs along the columns (wrapping into blocks of rows), the other down
    by_setting = len(pipelines) >= len(settings)
    columns, lines = (pipelines, settings) if by_setting else (settings, pipelines)

    def key(line, column):
        return (column, line) if by_setting else (line, column)

    side = max(0.85, 0.23 * k)  # inches per matrix: >= 2 digits at 8 pt in a cell
    name_w = 0.065 * max(len(n) for n in names)
    left = 0.75 + name_w  # row label (setting, "true class") and class names
    right = 0.8  # the colour bar
    col_w = side + 0.14
    n_cols = max(1, min(len(columns), int((_MAX_WIDTH_IN - left - right) // col_w)))
    blocks = [columns[i : i + n_cols] for i in range(0, len(columns), n_cols)]
    rows = [  # (block, line) with something to show
        (b, line)
        for b, block in enumerate(blocks)
        for line in lines
        if any(key(line, c) in values for c in block)
    ]
    width = min(_MAX_WIDTH_IN, max(6.5, left + n_cols * col_w + right))
    row_h = side + 0.16
    body_h = len(rows) * row_h + len(blocks) * 0.35 + name_w * 0.75 + 0.45

    where = _where(predictions)
    if title is None:
        what = "confusion matrices of every pipeline and modality setting"
        title = f"{where}: {what}" if where else what[0].upper() + what[1:]
    pooled = _pooled(predictions)
    notes = [
        f"Test predictions pooled over {_join(pooled) if pooled else 'every test split'}; "
        f"{_NORMALIZE_CAPTIONS[normalize]}."
    ]
    if len(values) < len(pipelines) * len(settings):
        notes.append("An empty slot: the pipeline is not evaluated in that setting.")
    if any(np.isnan(v).any() for v in values.values()):
        notes.append("Grey cells (–): no test sample to normalise by.")
    fig, body = _framed(width, body_h, title, " ".join(notes))
    axes = body.subplots(len(rows), n_cols, squeeze=False)
    vmax = 100.0 if normalize else max(float(np.nanmax(v, initial=1)) for v in values.values())
    cmap = plt.get_cmap("Blues").with_extremes(bad="0.88")
    image = None
    for r, (b, line) in enumerate(rows):
        block = blocks[b]
        for c in range(n_cols):
            ax = axes[r, c]
            column = block[c] if c < len(block) else None
            if r == 0 or rows[r - 1][0] != b:  # first row of a block: the column names
                ax.set_title(textwrap.fill(str(column or ""), 14), fontsize=9, weight="bold")
            if key(line, column) not in values:
                _blank(ax, k)
                continue
            cm = values[key(line, column)]
            image = ax.imshow(cm, cmap=cmap, vmin=0, vmax=vmax)
            for (i, j), v in np.ndenumerate(cm):
                ax.text(
                    j,
                    i,
                    "–" if np.isnan(v) else f"{v:.0f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if v > 0.6 * vmax else "black",
                )
            ax.set_xticks(range(k), [])
            ax.set_yticks(range(k), [])
            ax.tick_params(length=2)
        # class names left of the row's first matrix; one in a blank slot's space
        # stays out of the layout (it would widen that gap in every row)
        shown = [c for c in range(n_cols) if axes[r, c].images]
        if shown:
            axes[r, shown[0]].set_yticks(range(k), names, fontsize=8)
            axes[r, shown[0]].yaxis.set_in_layout(shown[0] == 0)
        axes[r, 0].set_ylabel(f"{line}\ntrue class", fontsize=9)
    for b in range(len(blocks)):  # predicted class names under each column's last matrix
        block_rows = [r for r, row in enumerate(rows) if row[0] == b]
        for c in range(n_cols):
            filled = [r for r in block_rows if axes[r, c].images]
            if filled:
                ax = axes[filled[-1], c]
                ax.set_xticks(
                    range(k), names, fontsize=8, rotation=45, ha="right", rotation_mode="anchor"
                )
                ax.set_xlabel("predicted class", fontsize=9)
                ax.xaxis.set_in_layout(filled[-1] == block_rows[-1])
    if image is not None:
        body.colorbar(
            image,
            ax=axes.ravel().tolist(),
            shrink=min(0.9, 3.0 / max(1.0, body_h)),
            aspect=25,
            label=_NORMALIZE_UNITS[normalize],
        )
    return _finish(fig, path)


def _normalized(counts, normalize):
    """A confusion matrix of counts in % as ``normalize`` says (NaN where nothing to divide)."""
    counts = counts.astype(float)
    if normalize is None:
        return counts
    axis = {"true": 1, "pred": 0, "all": None}[normalize]
    total = counts.sum(axis=axis, keepdims=axis is not None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * counts / np.where(total > 0, total, np.nan)


# -- STS spatial attention --------------------------------------------------------------


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


def plot_spatial_attention(weights, info, path=None, title=None, *, n_named=5):
    """Scalp map of the attention each electrode receives, relative to uniform.

    A nearly uniform attention (each of ``n`` electrodes close to ``1 / n``)
    would be one colour on an absolute scale, so the map shows the contrast:
    ``100 * (weight / mean weight - 1)``, the % above or below uniform
    attention (``1 / n`` when the weights sum to one), on a diverging colour
    map centred on uniform (white) and symmetric around it. The ``n_named``
    most and least attended electrodes are marked and named.

    Parameters
    ----------
    weights : array-like, shape (n_chans,)
        E.g. from :func:`spatial_attention`.
    info : mne.Info
        Channels with positions, e.g. ``braindecode_m2s.datasets.get_info("SEED-IV")``.
    path : str | pathlib.Path | None
        Where to save the PNG.
    title : str | None
        Figure title (say the model, subject and mode shown); ``None``:
        ``"STS spatial attention over the <n> electrodes"``.
    n_named : int
        How many of the most and of the least attended electrodes to name.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import mne
    from matplotlib import patheffects
    from matplotlib.transforms import ScaledTranslation

    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1 or len(weights) != len(info["ch_names"]):
        raise ValueError(
            f"`weights` has shape {weights.shape}; expected ({len(info['ch_names'])},), one "
            f"value per channel of `info`."
        )
    n = len(weights)
    mean = weights.mean()
    relative = 100 * (weights / mean - 1) if mean > 0 else np.zeros(n)
    span = float(np.abs(relative).max())
    span = span if span > 0 else 1.0  # exactly uniform: a blank map on a +-1 % scale
    order = np.argsort(relative)
    n_named = max(0, min(int(n_named), n // 2))
    top, bottom = order[::-1][:n_named], order[:n_named]
    named = np.zeros(n, dtype=bool)
    named[np.r_[top, bottom].astype(int)] = True
    ch_names = list(info["ch_names"])

    def listing(idx):
        fmt = "+.1f" if span >= 1 else "+.2g"
        return ", ".join(f"{ch_names[i]} ({relative[i]:{fmt}} %)" for i in idx)

    if title is None:
        title = f"STS spatial attention over the {n} electrodes"
    caption = (
        f"Attention each electrode receives, in % above (red) or below (blue) uniform "
        f"attention ({mean:.3g} = 1/{round(1 / mean) if mean > 0 else n} of the total); "
        f"as from spatial_attention: the mean over the STS layers, heads, query "
        f"electrodes, windows and samples."
    )
    if n_named:
        caption += f"\nMost attended: {listing(top)}.\nLeast attended: {listing(bottom)}."
    fig, body = _framed(7.2, 5.3, title, caption)
    ax = body.subplots()
    image, _ = mne.viz.plot_topomap(
        relative,
        info,
        axes=ax,
        show=False,
        cmap="RdBu_r",
        vlim=(-span, span),
        extrapolate="local",  # the map covers the electrodes, no colour beyond them
        names=[c if named[i] else "" for i, c in enumerate(ch_names)],
        mask=named,
        mask_params=dict(marker="o", markerfacecolor="w", markeredgecolor="k", markersize=5),
        contours=6,
    )
    # MNE's limits centre the head circle, the map reaches lower: fit them to what is drawn
    xs = [line.get_xdata() for line in ax.lines]  # sensors, head, nose, ears
    ys = [line.get_ydata() for line in ax.lines]
    clip = image.get_clip_path()  # the map's outline
    if clip is not None:
        corners = clip.get_fully_transformed_path().get_extents().get_points()
        corners = ax.transData.inverted().transform(corners)
        xs.append(corners[:, 0])
        ys.append(corners[:, 1])
    if xs:
        xs, ys = np.concatenate(xs), np.concatenate(ys)
        margin = 0.03 * (xs.max() - xs.min())
        ax.set_xlim(xs.min() - margin, xs.max() + margin)
        ax.set_ylim(ys.min() - margin, ys.max() + margin)
    lift = ScaledTranslation(0, 4 / 72, fig.dpi_scale_trans)
    for text in ax.texts:  # the names above their electrode, legible on any colour
        text.set_transform(text.get_transform() + lift)
        text.set(fontsize=8.5, va="bottom", ha="center", weight="bold")
        text.set_path_effects([patheffects.withStroke(linewidth=2.5, foreground="white")])
    bar = body.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label(f"attention received vs. uniform (1/{n}), %", fontsize=9)
    return _finish(fig, path)


# -- loss curves ------------------------------------------------------------------------

#: Panel titles and y-axis labels of the loss terms M2S records (keys without train_/valid_).
_LOSS_TERMS = {
    "loss": ("total loss (the weighted sum minimised)", "loss"),
    "clip_loss": ("CLIP: cross-modal contrastive", "InfoNCE (nats)"),
    "cpc_loss": ("M2M CPC: contrastive predictive coding", "InfoNCE (nats)"),
    "recon_loss": ("reconstruction", "MSE"),
    "club_mi": ("CLUB: mutual-information upper bound", "MI bound (nats)"),
    "club_nll": ("CLUB: estimator's negative log-likelihood", "NLL (nats)"),
}
_SPLITS = {"train_": "training", "valid_": "validation"}


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


def _term(key):
    """``("clip_loss", "validation")`` from ``"valid_clip_loss"``."""
    for prefix, split in _SPLITS.items():
        if key.startswith(prefix):
            return key[len(prefix) :], split
    return key, ""


def _terms(epochs):
    """The history's loss terms, each with its keys by split, in order of appearance."""
    terms = {}
    for key in _loss_keys(epochs):
        term, split = _term(key)
        terms.setdefault(term, {})[split] = key
    return terms


def _draw_term(ax, epochs, term, keys, stage_2):
    styles = {"training": "-", "validation": "--", "": "-"}
    for split, key in keys.items():
        xs = [e.get("epoch", i + 1) for i, e in enumerate(epochs) if key in e]
        ys = [float(e[key]) for e in epochs if key in e]
        ax.plot(
            xs,
            ys,
            ls=styles[split],
            marker="o",
            ms=3.5,
            color="C0" if split != "validation" else "C1",
            label=split or key,
        )
    name, unit = _LOSS_TERMS.get(term, (term.replace("_", " "), "loss"))
    if stage_2 and term == "loss":
        name, unit = "classifier loss", "loss"
    ax.set_title(name, fontsize=9.5)
    ax.set_ylabel(unit, fontsize=9)
    ax.tick_params(labelsize=8.5)
    ax.grid(alpha=0.3)


def plot_loss_curves(history, path=None, pretrain_history=None, *, title=None):
    """Every loss term of a skorch ``net.history`` over epochs, one panel per term.

    Each term has its own panel and y scale (the terms differ by orders of
    magnitude), training solid and validation (when recorded) dashed; stage 1
    (self-supervised) and stage 2 (classifier) each have a block of panels.
    Epochs are ticked at integers.

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
        drawn in a first block.
    title : str | None
        Figure title (say the subject, split and mode the model was fitted
        on); ``None``: the stages and their epochs.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.ticker import MaxNLocator

    stages = []
    if pretrain_history is not None:
        stages.append((list(pretrain_history), "Stage 1: self-supervised pretraining"))
    stages.append((list(history), "Stage 2: classifier" if stages else "Training"))
    for epochs, _ in stages:
        if not epochs or not all(isinstance(e, dict) for e in epochs):
            raise ValueError(
                "`history` is empty or not a list of epoch dicts; expected a fitted net's "
                "`net.history`."
            )
    terms = [_terms(epochs) for epochs, _ in stages]
    n_cols = _grid_shape(max(max(len(t) for t in terms), 1), 3)[1]
    shapes = [_grid_shape(max(len(t), 1), n_cols) for t in terms]
    panel_w, panel_h = 3.6, 2.15
    width = min(_MAX_WIDTH_IN, n_cols * panel_w + 0.3)
    body_h = sum(rows * panel_h + 0.45 for rows, _ in shapes) + 0.4
    n_epochs = [len(epochs) for epochs, _ in stages]
    if title is None:
        if len(stages) == 2:
            title = (
                f"M2S training: loss terms per epoch (stage 1: {_plural(n_epochs[0], 'epoch')}, "
                f"stage 2: {_plural(n_epochs[1], 'epoch')})"
            )
        else:
            title = f"Loss terms per epoch ({_plural(n_epochs[0], 'epoch')})"
    splits = {split for t in terms for keys in t.values() for split in keys}
    caption = "Each point: the mean over the epoch's training batches"
    if "validation" in splits:
        caption += " (solid) and the validation loss (dashed)"
    caption += "; one panel per recorded term, each on its own scale."
    fig, body = _framed(width, body_h, title, caption)
    blocks = (
        body.subfigures(len(stages), 1, height_ratios=[r for r, _ in shapes])
        if len(stages) > 1
        else [body]
    )
    for block, (epochs, name), stage_terms, (rows, _), n in zip(
        blocks, stages, terms, shapes, n_epochs
    ):
        block.suptitle(f"{name} ({_plural(n, 'epoch')})", fontsize=10.5, weight="bold")
        axes = block.subplots(rows, n_cols, squeeze=False, sharex=True)
        panels = _drop_unused(axes, max(len(stage_terms), 1))
        if not stage_terms:
            panels[0].text(
                0.5,
                0.5,
                "no loss recorded",
                ha="center",
                va="center",
                transform=panels[0].transAxes,
            )
        for ax, (term, keys) in zip(panels, stage_terms.items()):
            _draw_term(ax, epochs, term, keys, stage_2=len(stages) == 1 or block is blocks[-1])
        for i, ax in enumerate(panels):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            numbers = [e.get("epoch", j + 1) for j, e in enumerate(epochs)]
            pad = max(0.5, 0.03 * (max(numbers) - min(numbers)))
            ax.set_xlim(min(numbers) - pad, max(numbers) + pad)
            if _is_bottom(i, len(panels), n_cols):
                ax.set_xlabel("epoch", fontsize=9)
    if "validation" in splits:
        from matplotlib.lines import Line2D

        body.legend(
            handles=[
                Line2D([], [], color="C0", marker="o", ms=3.5, label="training"),
                Line2D([], [], color="C1", ls="--", marker="o", ms=3.5, label="validation"),
            ],
            loc="outside lower center",
            ncols=2,
            frameon=False,
            fontsize=9,
        )
    return _finish(fig, path)
