"""Render every figure of :mod:`braindecode_m2s.viz` and print each file's pixel size.

Usage::

    python benchmarks/render_figures.py [--out figures/] [--tables-only]

Two sets of figures, written to ``--out``:

- ``run_*.png``: from a tiny synthetic run. :func:`braindecode_m2s.evaluation.evaluate`
  on synthetic data (4 subjects, one session, SEED-IV's within-session split, seeds 0
  and 1) with a small M2S (``make_m2s(max_epochs=1, **SMALL_M2S)``) in its four modes
  and a logistic regression on DE features in ``multimodal``, ``eeg2eeg`` and
  ``eye2eye``; then one small M2S fitted for 3 epochs on subject 1's training trials
  (``eeg2eeg``) for the STS attention topomap (on its test trials) and the loss curves,
  as ``m2s reproduce`` does. About a minute on two cores.
- ``full_*.png``: the size of a full ``m2s reproduce`` on SEED-IV, from made-up tables
  (nothing is fitted): 15 subjects x 3 sessions x 3 seeds, the 11 pipelines of
  :func:`~braindecode_m2s.evaluation.pipelines.paper_pipelines` with their settings
  (5 settings, 40 confusion matrices), 30 + 30 epochs of loss terms with a validation
  split, and a nearly uniform attention (1/62 plus a 3 % frontal gradient).

Each line printed is ``file  width x height px`` and ``too wide`` past
:data:`braindecode_m2s.viz.MAX_WIDTH_PX`.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

SEED_IV_CLASSES = ["neutral", "sad", "fear", "happy"]  # labels 0-3 of SEED-IV
# The pipelines of paper_pipelines() on SEED-IV features and the settings of each
# (M2S_SETTINGS, UNIMODAL_SETTINGS, PAPER_SETTINGS and the registry's flags): 40 pairs.
M2S_MODES = ["eeg2eeg", "eye2eye", "eeg2eye", "eye2eeg"]
UNIMODAL = ["multimodal", "eeg2eeg", "eye2eye"]
ALL = ["multimodal", *M2S_MODES]
FULL_PIPELINES = {
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


def png_size(path):
    """``(width, height)`` in pixels, read from the PNG header."""
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def full_tables(n_subjects=15, n_sessions=3, seeds=(0, 1, 2), n_test=40, seed=0):
    """A made-up results table and predictions table the size of a SEED-IV reproduce."""
    rng = np.random.default_rng(seed)
    rows, preds = [], []
    subject_effect = rng.normal(0, 0.08, n_subjects + 1)
    for p, (pipeline, settings) in enumerate(FULL_PIPELINES.items()):
        for setting in settings:
            level = 0.75 - 0.03 * p - (0.15 if setting in ("eeg2eye", "eye2eeg") else 0)
            for subject in range(1, n_subjects + 1):
                for session in range(1, n_sessions + 1):
                    for s in seeds:
                        acc = float(np.clip(level + subject_effect[subject], 0.05, 0.98))
                        y_true = rng.integers(0, 4, n_test)
                        hit = rng.random(n_test) < acc
                        y_pred = np.where(hit, y_true, rng.integers(0, 4, n_test))
                        recall = [np.mean(y_pred[y_true == c] == c) for c in set(y_true)]
                        rows.append(
                            dict(
                                dataset="SEED-IV",
                                protocol="within-session",
                                pipeline=pipeline,
                                setting=setting,
                                seed=s,
                                subject=subject,
                                session=str(session),
                                fold=0,
                                score=float(np.mean(hit)),
                                balanced_accuracy=float(np.nanmean(recall)),
                                n_classes=4,
                            )
                        )
                        preds.append(
                            pd.DataFrame(
                                dict(
                                    y_true=y_true,
                                    y_pred=y_pred,
                                    dataset="SEED-IV",
                                    protocol="within-session",
                                    pipeline=pipeline,
                                    setting=setting,
                                    seed=s,
                                    subject=subject,
                                    session=str(session),
                                    fold=0,
                                )
                            )
                        )
    return pd.DataFrame(rows), pd.concat(preds, ignore_index=True)


def full_histories(n_epochs=30, seed=0):
    """Made-up stage-1 and stage-2 histories with M2S's loss terms and a validation loss."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_epochs + 1)

    def decay(start, end):
        return end + (start - end) * np.exp(-t / 8) + rng.normal(0, 0.02 * start, n_epochs)

    terms = dict(
        clip_loss=decay(2.8, 1.2),
        cpc_loss=decay(4.6, 2.5),
        recon_loss=decay(2.0, 0.6),
        club_mi=rng.normal(0, 0.01, n_epochs),
        club_nll=decay(3.7, 2.9),
    )
    total = terms["clip_loss"] + terms["cpc_loss"] + 0.1 * terms["recon_loss"]
    total = total + 0.3 * terms["club_mi"] + terms["club_nll"]
    pre = [
        {
            "epoch": int(e),
            "dur": 1.0,
            "train_loss": float(total[i]),
            "train_loss_best": True,
            **{f"train_{k}": float(v[i]) for k, v in terms.items()},
            "train_clip_acc_x->eye": 0.3,
        }
        for i, e in enumerate(t)
    ]
    train, valid = decay(1.4, 0.5), decay(1.4, 0.9)
    history = [
        {"epoch": int(e), "train_loss": float(train[i]), "valid_loss": float(valid[i])}
        for i, e in enumerate(t)
    ]
    return pre, history


def render_full(out):
    from braindecode_m2s.datasets import get_info
    from braindecode_m2s.viz import (
        plot_confusion_matrices,
        plot_loss_curves,
        plot_spatial_attention,
        plot_subject_scores,
    )

    results, preds = full_tables()
    plot_subject_scores(results, out / "full_accuracy_per_subject.png")
    plot_confusion_matrices(
        preds, out / "full_confusion_matrices.png", class_names=SEED_IV_CLASSES
    )
    info = get_info("SEED-IV")
    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    gradient = (pos[:, 1] - pos[:, 1].mean()) / np.ptp(pos[:, 1])  # front +, back -
    weights = (1 + 0.03 * gradient + np.random.default_rng(0).normal(0, 0.004, 62)) / 62
    plot_spatial_attention(
        weights / weights.sum(),
        info,
        out / "full_sts_attention_topomap.png",
        title="M2S eeg2eeg, SEED-IV subject 1 session 1, seed 0: STS spatial attention "
        "(made-up weights)",
    )
    pre, history = full_histories()
    plot_loss_curves(
        history,
        out / "full_loss_curves.png",
        pretrain_history=pre,
        title="M2S eeg2eeg, SEED-IV subject 1 session 1, seed 0 (made-up histories)",
    )


def render_run(out):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skorch.helper import SliceDict

    from braindecode_m2s import make_synthetic_emotion
    from braindecode_m2s.datasets import get_info
    from braindecode_m2s.evaluation import ModalitySelect, ProtocolSplitter, TrialSplit, evaluate
    from braindecode_m2s.evaluation.pipelines import SMALL_M2S, make_m2s
    from braindecode_m2s.viz import (
        plot_confusion_matrices,
        plot_loss_curves,
        plot_spatial_attention,
        plot_subject_scores,
        spatial_attention,
    )

    X, y, meta = make_synthetic_emotion(n_subjects=4, n_sessions=1, n_windows=(10, 12), seed=0)
    pipelines = {
        "M2S": make_m2s(max_epochs=1, **SMALL_M2S),
        "DE+LR": make_pipeline(
            ModalitySelect(None, average_windows=True),
            StandardScaler(),
            LogisticRegression(C=0.1, max_iter=500),
        ),
    }
    settings = {"M2S": M2S_MODES, "DE+LR": UNIMODAL}
    start = time.perf_counter()
    results, preds = evaluate(
        pipelines, X, y, meta, cv=TrialSplit(16), settings=settings, seeds=(0, 1),
        return_predictions=True,
    )  # fmt: skip
    print(f"evaluate: {len(results)} fits in {time.perf_counter() - start:.0f} s")
    plot_subject_scores(results, out / "run_accuracy_per_subject.png")
    plot_confusion_matrices(preds, out / "run_confusion_matrices.png", class_names=SEED_IV_CLASSES)

    fold = ProtocolSplitter(meta, "within-session", dataset="SEED-IV").folds()[0]
    net = make_m2s(max_epochs=3, random_state=0, **SMALL_M2S)
    net.set_params(train_modalities=["x"], test_modalities=["x"])
    net.fit(SliceDict(**{k: v[fold["train"]] for k, v in X.items()}), y[fold["train"]])
    where = f"synthetic subject {fold['subject']} session {fold['session']}, seed 0"
    weights = spatial_attention(net, {k: v[fold["test"]] for k, v in X.items()})
    plot_spatial_attention(
        weights,
        get_info("SEED-IV"),
        out / "run_sts_attention_topomap.png",
        title=f"Small M2S, eeg2eeg, {where}: STS spatial attention on the test trials",
    )
    plot_loss_curves(
        net.history,
        out / "run_loss_curves.png",
        pretrain_history=net.pretrain_history_,
        title=f"Small M2S, eeg2eeg, {where}: loss terms per epoch",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="figures", help="folder of the PNG files")
    parser.add_argument(
        "--tables-only", action="store_true", help="only the full_* figures (no fitting)"
    )
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    from braindecode_m2s.viz import MAX_WIDTH_PX

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    render_full(out)
    if not args.tables_only:
        render_run(out)
    wide = 0
    for path in sorted(out.glob("*.png")):
        width, height = png_size(path)
        flag = "  too wide" if width > MAX_WIDTH_PX else ""
        wide += bool(flag)
        print(f"{path.name:36s} {width:5d} x {height:4d} px{flag}")
    return 1 if wide else 0


if __name__ == "__main__":
    sys.exit(main())
