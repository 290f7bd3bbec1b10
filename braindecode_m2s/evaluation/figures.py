"""The figures of a run, drawn from what its tasks stored: no model is fitted for them.

- ``accuracy_per_subject.png`` and ``confusion_matrices.png``: from the
  results and the test predictions of every ``fit`` task.
- ``sts_attention_topomap.png``: the STS spatial attention of the M2S model
  that a stage-1 task trained (its artifact in the store), on the test
  trials of its fold. Stage 2 keeps the encoders frozen, so this is also
  the attention of every M2S mode trained on that model.
- ``loss_curves.png``: every loss term over epochs, of stage 1 (the
  artifact's history) and of the ``eeg2eeg`` classifier trained on that
  model (its record's history).

The M2S figures show one fold: the first of the plan, seed and setting
``eeg2eeg`` first.
"""

from __future__ import annotations

__all__ = ["write_figures", "M2S_FIGURES"]

#: The figures of M2S (written when the plan has a stage-1 task).
M2S_FIGURES = ("sts_attention_topomap.png", "loss_curves.png")


def write_figures(
    evaluation_plan, out, results, predictions, info=None, m2s=True, class_names=None
):
    """Write the figures of a complete run into ``out``.

    Parameters
    ----------
    evaluation_plan : EvaluationPlan
        Its store holds the tasks' records and artifacts.
    out : pathlib.Path
        Output folder.
    results, predictions : pandas.DataFrame
        From :meth:`EvaluationPlan.results` (``return_predictions=True``).
    info : mne.Info | None
        The EEG channels with positions (``None``: no topomap).
    m2s : bool
        Draw the M2S figures (attention topomap, loss curves).
    class_names : dict | list | None
        The labels' names for the confusion matrices (None: the dataset's own
        names where :mod:`~braindecode_m2s.viz` knows them).

    Returns
    -------
    notes : list of str
        What was drawn from which fold, and what was skipped and why.
    """
    from ..viz import plot_confusion_matrices, plot_subject_scores

    plot_subject_scores(results, out / "accuracy_per_subject.png")
    plot_confusion_matrices(predictions, out / "confusion_matrices.png", class_names=class_names)
    if not m2s:
        return []
    task = _m2s_task(evaluation_plan)
    if task is None:
        return []
    return _m2s_figures(task, evaluation_plan.store, out, info)


def _m2s_task(evaluation_plan):
    """The first ``fit`` task on a stage-1 model, ``eeg2eeg`` first (None if none)."""
    staged = [t for t in evaluation_plan.fit_tasks if t.depends_on]
    eeg = [t for t in staged if t.config["setting"] == "eeg2eeg"]
    return (eeg or staged or [None])[0]


def _m2s_figures(task, store, out, info):
    from ..viz import plot_loss_curves, plot_spatial_attention, spatial_attention
    from .tasks import pretrained_artifact

    cfg = task.config
    where = (
        f"{cfg['pipeline']} {cfg['setting']}, subject {cfg['subject']} session "
        f"{cfg['session']} fold {cfg['fold']}, seed {cfg['seed']}"
    )
    module, stage1, _ = pretrained_artifact(task, store)
    notes = []
    data, _, _ = store.load_data(cfg["data"])
    _, test = store.load_split(cfg["data"], cfg["split"])
    weights = spatial_attention(module, {k: v[test] for k, v in data.items()})
    if info is None or weights is None or len(weights) != len(info["ch_names"]):
        notes.append("STS attention topomap skipped: no spatial attention over known channels")
    else:
        title = f"{where}: STS spatial attention on the fold's test trials (stage-1 model)"
        plot_spatial_attention(weights, info, out / M2S_FIGURES[0], title=title)
    record = store.read(task.key) or {}
    stage2 = record.get("history") or []
    title = f"{where}: loss terms per epoch"
    if stage2:
        plot_loss_curves(
            stage2, out / M2S_FIGURES[1], pretrain_history=stage1 or None, title=title
        )
    elif stage1:
        plot_loss_curves(stage1, out / M2S_FIGURES[1], title=title)
    else:
        notes.append("loss curves skipped: the store holds no history (a run of an older version)")
    notes.insert(0, f"M2S figures: {where}")
    return notes
