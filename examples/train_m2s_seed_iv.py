"""
Train M2S on SEED-IV with EEG + eye movements, test with one modality
=====================================================================

The M2S setting (Liu, Cai, Lu & Zheng, AAAI 2025): the model is trained with
both modalities, EEG differential-entropy (DE) features and eye-movement
features, and then tested with both, with EEG alone and with eye movements
alone. This example

1. loads SEED-IV with :class:`braindecode_m2s.SEEDIV`: the real
   distribution when ``MNE_DATASETS_SEEDIV_PATH`` (environment or MNE config)
   or ``--path`` points to it, otherwise a tiny copy in the official layout
   (62 channels, 3 sessions x 24 trials, 10-12 windows per trial, *random
   values*) written to a temporary folder that is removed at the end;
2. cuts aligned sequences of ``--sequence-length`` windows with
   :class:`braindecode_m2s.MultimodalEmotion`: ``X["x"]`` is
   ``(n, 62, L, 5)`` and ``X["eye"]`` ``(n, 31, L)``;
3. splits with the SEED-IV protocol, whole trials on one side
   (:func:`braindecode_m2s.split_by_trial`: trials 0-15 of every session
   train, trials 16-23 test);
4. stage 1: pretrains the M2S encoders on EEG + eye without labels
   (:class:`braindecode_m2s.M2MCPCPretrainer`: CLIP-style alignment + M2M
   CPC + 0.1 reconstruction + 0.3 CLUB) and prints each loss term and the
   CLIP / CPC retrieval accuracies from ``net.history``;
5. stage 2: trains a classifier on the frozen encoders in the paper's four
   modes (eeg->eeg, eye->eye, eeg->eye, eye->eeg) and prints the balanced
   accuracy and Cohen's kappa of each.

On the fixture the features are random numbers unrelated to the labels, so
the accuracies are chance-level: the fixture shows that the pipeline runs,
not how well M2S works. Pass ``--path`` (or configure the path) and more
``--epochs`` for real numbers.

Usage::

    python examples/train_m2s_seed_iv.py [--epochs 3] [--path /data/SEED_IV]

References
----------
Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025). Multi-to-Single:
Reducing Multimodal Dependency in Emotion Recognition Through Contrastive
Learning. AAAI 39(2), 1438-1446. doi:10.1609/aaai.v39i2.32134

Zheng, W.-L., Liu, W., Lu, Y., Lu, B.-L., & Cichocki, A. (2019).
EmotionMeter: A multimodal framework for recognizing human emotions. IEEE
Transactions on Cybernetics, 49(3), 1110-1122. doi:10.1109/TCYB.2018.2797176
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score
from skorch.helper import SliceDict

from braindecode_m2s import M2S, SEEDIV, M2MCPCPretrainer, MultimodalEmotion, split_by_trial
from braindecode_m2s.datasets.base import configured_path
from braindecode_m2s.datasets.fixtures import write_fixture

SEED = 0


def run(dataset, subjects, epochs, sequence_length, batch_size):
    paradigm = MultimodalEmotion(sequence_length=sequence_length, feature="de", smoothing="LDS")
    X, y, metadata = paradigm.get_data(dataset, subjects)
    print(
        "X:",
        {k: tuple(v.shape) for k, v in X.items()},
        "y:",
        y.shape,
        "samples per class:",
        np.bincount(y).tolist(),
    )

    train, test = split_by_trial(metadata, "SEED-IV")
    print(
        f"SEED-IV protocol: trials 0-15 train ({len(train)} samples), "
        f"trials 16-23 test ({len(test)} samples)"
    )

    small = dict(embed_dim=32, n_layers=2, head_dim=16, ff_dim=128)  # reference: 128/4/64/1024
    pretrainer = M2MCPCPretrainer(
        M2S(n_chans=62, n_outputs=4, modalities={"eye": 31}, n_bands=X["x"].shape[3], **small),
        max_epochs=epochs,
        batch_size=batch_size,
        random_state=SEED,
        verbose=0,
    )
    pretrainer.fit(SliceDict(x=X["x"][train], eye=X["eye"][train]))  # no labels
    columns = [
        "train_loss",
        "train_clip_loss",
        "train_cpc_loss",
        "train_recon_loss",
        "train_club_mi",
        "train_clip_acc_x->eye",
        "train_cpc_acc_eye->x",
    ]
    print(f"\nStage 1 in net.history (retrieval chance ~1/batch = {1 / batch_size:.3f}):")
    print("epoch " + " ".join(f"{c.removeprefix('train_'):>14}" for c in columns))
    for row in pretrainer.history:
        print(f"{row['epoch']:>5} " + " ".join(f"{row[c]:>14.3f}" for c in columns))

    print(f"\nStage 2, classifier on frozen encoders, {epochs} epoch(s) (chance 25 %):")
    X_train = SliceDict(x=X["x"][train], eye=X["eye"][train])
    X_test = SliceDict(x=X["x"][test], eye=X["eye"][test])
    for mode, train_keys, test_keys in (
        ("eeg->eeg", ["x"], ["x"]),
        ("eye->eye", ["eye"], ["eye"]),
        ("eeg->eye", ["x"], ["eye"]),
        ("eye->eeg", ["eye"], ["x"]),
    ):
        clf = pretrainer.to_classifier(
            train_modalities=train_keys,
            test_modalities=test_keys,
            max_epochs=epochs,
            batch_size=batch_size,
            verbose=0,
        )
        clf.fit(X_train, y[train])
        pred = clf.predict(X_test)
        print(
            f"  {mode:<9} balanced accuracy {100 * balanced_accuracy_score(y[test], pred):5.1f}"
            f" %   kappa {cohen_kappa_score(y[test], pred):+.3f}"
        )
    return pretrainer


def main(argv=None):
    doc = (__doc__ or "").strip()  # the gallery runs the code without its docstring
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    parser.add_argument(
        "--path",
        default=None,
        help="SEED-IV folder (default: MNE_DATASETS_SEEDIV_PATH, else a "
        "fixture in a temporary folder)",
    )
    parser.add_argument(
        "--sequence-length",
        type=int,
        default=5,
        help="windows per sample (default 5, as in the M2S reference)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    path = args.path or configured_path("SEED-IV")
    if path:
        dataset = SEEDIV(path=args.path) if args.path else SEEDIV()
        print(f"Real SEED-IV at {path}")
        run(dataset, dataset.subject_list, args.epochs, args.sequence_length, args.batch_size)
        return
    with tempfile.TemporaryDirectory(prefix="seediv_fixture_") as tmp:
        dataset = SEEDIV(path=write_fixture("seediv", tmp, n_windows=10), cache_dir=False)
        print(
            "No SEED-IV path configured; using a tiny fixture of random values "
            "(accuracies are chance-level)"
        )
        run(dataset, [1, 2], args.epochs, args.sequence_length, args.batch_size)


if __name__ == "__main__":
    main()
