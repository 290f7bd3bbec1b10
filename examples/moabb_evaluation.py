"""
Evaluate an M2S pipeline with MOABB, and with trial-grouped folds
=================================================================

:class:`braindecode_m2s.MultimodalEmotion` is a MOABB paradigm, and
:class:`braindecode_m2s.M2SClassifier` a scikit-learn estimator that takes
the paradigm's multimodal ``SliceDict`` directly, so MOABB's evaluations run
M2S like any other pipeline. This example evaluates one M2S pipeline
(trained and tested on EEG + eye movements) on SEED-IV three ways and prints
each results table:

1. ``moabb.evaluations.WithinSessionEvaluation`` as usually configured: a
   stratified k-fold over the *samples* of each (subject, session);
2. the same evaluation with trial-grouped folds (MOABB >= 1.5 forwards
   ``groups="trial"``, a metadata column, to a group-aware ``cv_class``, here
   :class:`sklearn.model_selection.StratifiedGroupKFold`);
3. plain scikit-learn: ``cross_val_score(..., groups=trial_groups(metadata),
   cv=GroupKFold(...))``.

.. warning:: **Leakage in the default within-session split.** A sample of
   the paradigm is a sequence of consecutive feature windows of one trial
   (one film clip), and one trial gives several samples (here overlapping:
   ``stride < sequence_length``). MOABB's default within-session k-fold
   splits samples, not trials, so windows of the same trial, even the same
   windows, land on both sides of a split, and the score measures
   recognition of clips seen in training. Report trial-grouped scores
   (2 or 3 above, or the SEED-IV protocol of
   :class:`braindecode_m2s.evaluation.ProtocolSplitter`) instead.

Data: the real SEED-IV when ``MNE_DATASETS_SEEDIV_PATH`` (environment or MNE
config) or ``--path`` points to it; otherwise a tiny copy in the official
layout with *random values* (so every score is chance-level, 25 %), written
to a temporary folder together with MOABB's results files, and removed at
the end. The point of the fixture run is that the machinery works, not the
numbers.

Usage::

    python examples/moabb_evaluation.py [--epochs 2] [--path /data/SEED_IV] [--subjects 1]
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from moabb.evaluations import WithinSessionEvaluation
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, cross_val_score

from braindecode_m2s import M2S, SEEDIV, M2SClassifier, MultimodalEmotion
from braindecode_m2s.datasets.base import configured_path
from braindecode_m2s.datasets.fixtures import write_fixture
from braindecode_m2s.evaluation import trial_groups

SEED = 0
COLUMNS = ["subject", "session", "pipeline", "score", "time", "samples"]


def make_pipeline(epochs):
    """M2S, pretrained on EEG + eye then classified from EEG (eeg->eeg).

    scikit-learn clones it for every fold; each fold runs both stages on its
    training samples only.
    """
    return M2SClassifier(
        M2S(
            n_chans=62,
            n_outputs=4,
            modalities={"eye": 31},
            embed_dim=32,
            n_layers=1,
            head_dim=16,
            ff_dim=64,
        ),
        train_modalities=["x"],
        test_modalities=["x"],
        pretrain_epochs=epochs,
        max_epochs=epochs,
        batch_size=16,
        pretrain_batch_size=32,
        iterator_train__drop_last=False,
        random_state=SEED,
        verbose=0,
    )


def run(dataset, subjects, epochs, n_splits, results_dir):
    paradigm = MultimodalEmotion(sequence_length=4, stride=2)
    pipelines = {"M2S eeg->eeg": make_pipeline(epochs)}
    pd.set_option("display.width", 120)

    print(
        f"\n1. MOABB WithinSessionEvaluation, default {n_splits}-fold stratified split "
        f"of samples (windows of a trial on both sides: leaky)"
    )
    default = WithinSessionEvaluation(
        paradigm=paradigm,
        datasets=[dataset],
        n_splits=n_splits,
        random_state=SEED,
        overwrite=True,
        hdf5_path=str(results_dir / "sample_folds"),
    )
    print(default.process(pipelines)[COLUMNS].to_string(index=False))

    print(
        f"\n2. MOABB WithinSessionEvaluation, {n_splits}-fold split by trial "
        f"(cv_class=StratifiedGroupKFold, groups='trial')"
    )
    grouped = WithinSessionEvaluation(
        paradigm=paradigm,
        datasets=[dataset],
        n_splits=n_splits,
        random_state=SEED,
        cv_class=StratifiedGroupKFold,
        groups="trial",
        overwrite=True,
        hdf5_path=str(results_dir / "trial_folds"),
    )
    print(grouped.process(pipelines)[COLUMNS].to_string(index=False))

    print(
        f"\n3. scikit-learn cross_val_score, GroupKFold({n_splits}) on trial_groups "
        f"(whole trials held out; all sessions of subject(s) {subjects} pooled)"
    )
    X, y, metadata = paradigm.get_data(dataset, subjects)
    groups = trial_groups(metadata)
    scores = cross_val_score(
        make_pipeline(epochs), X, y, groups=groups, cv=GroupKFold(n_splits), error_score="raise"
    )
    print(
        f"{len(y)} samples from {len(np.unique(groups))} trials; fold accuracies "
        f"{np.round(scores, 3).tolist()}; mean {scores.mean():.3f} (chance 0.25)"
    )


def main(argv=None):
    doc = (__doc__ or "").strip()  # the gallery runs the code without its docstring
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument(
        "--epochs", type=int, default=2, help="training epochs per fold (default 2)"
    )
    parser.add_argument(
        "--path",
        default=None,
        help="SEED-IV folder (default: MNE_DATASETS_SEEDIV_PATH, else a "
        "fixture in a temporary folder)",
    )
    parser.add_argument(
        "--subjects", type=int, nargs="+", default=[1], help="subjects to evaluate (default 1)"
    )
    parser.add_argument("--n-splits", type=int, default=2, help="folds (default 2)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="m2s_moabb_") as tmp:
        tmp = Path(tmp)
        path = args.path or configured_path("SEED-IV")
        if path:
            dataset = (
                SEEDIV(path=args.path, subjects=args.subjects)
                if args.path
                else SEEDIV(subjects=args.subjects)
            )
            print(f"Real SEED-IV at {path}; subjects {args.subjects}")
        else:
            root = write_fixture("seediv", tmp / "seediv", max(args.subjects), n_windows=10)
            dataset = SEEDIV(path=root, cache_dir=False, subjects=args.subjects)
            print(
                "No SEED-IV path configured; using a tiny fixture of random values "
                "(scores are chance-level)"
            )
        with warnings.catch_warnings():
            # MOABB's results writer triggers an h5py deprecation warning
            warnings.filterwarnings("ignore", message="Creating a dataset without passing")
            run(dataset, args.subjects, args.epochs, args.n_splits, tmp / "results")


if __name__ == "__main__":
    main()
