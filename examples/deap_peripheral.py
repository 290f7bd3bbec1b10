"""
M2S on DEAP: EEG + peripheral signals in training, each alone at test
=====================================================================

DEAP (Koelstra et al., 2012) records 32 EEG channels and 8 peripheral
channels (hEOG, vEOG, zEMG, tEMG, GSR, respiration, plethysmograph,
temperature) of 32 subjects watching 40 one-minute music videos, each rated
for valence, arousal, dominance and liking (1-9). This example

1. loads DEAP with :class:`braindecode_m2s.DEAP`: the real preprocessed
   files when ``MNE_DATASETS_DEAP_PATH`` (environment or MNE config) or
   ``--path`` points to them, otherwise a small copy in the official layout
   (``data_preprocessed_python/sXX.dat``, 40 channels x 8064 samples per
   trial, *random values and random ratings*) written to a temporary folder
   that is removed at the end;
2. cuts aligned sequences of 1-s feature windows with
   :class:`braindecode_m2s.MultimodalEmotion`: ``X["x"]`` holds EEG DE
   features ``(n, 32, L, 5)``, ``X["peripheral"]`` per-window peripheral
   features ``(n, 40, L)`` (5 per channel: mean, standard deviation and DE in
   three bands; the count is read from the data, not assumed);
3. splits by whole trials (:func:`braindecode_m2s.split_by_trial`: the first
   75 % of every subject's trials train, the others test; DEAP has no
   standard protocol of that kind in the package);
4. trains :class:`braindecode_m2s.M2SClassifier` (stage 1: self-supervised
   pretraining, then stage 2: a classifier on the frozen encoders) with
   ``modalities={"peripheral": n_features}`` on EEG + peripheral (binary
   target: valence >= 5) and prints the test accuracy with both, EEG only
   and peripheral only.

On the fixture the signals and ratings are random, so the accuracies are
chance-level: it shows that the pipeline runs, not how well M2S does.

Usage::

    python examples/deap_peripheral.py [--epochs 3] [--path /data/DEAP] [--subjects 1 2]

References
----------
Koelstra, S., Muhl, C., Soleymani, M., Lee, J.-S., Yazdani, A., Ebrahimi, T.,
Pun, T., Nijholt, A., & Patras, I. (2012). DEAP: A database for emotion
analysis using physiological signals. IEEE Transactions on Affective
Computing, 3(1), 18-31. doi:10.1109/T-AFFC.2011.15

Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025). Multi-to-Single:
Reducing Multimodal Dependency in Emotion Recognition Through Contrastive
Learning. AAAI 39(2), 1438-1446. doi:10.1609/aaai.v39i2.32134
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
from skorch.helper import SliceDict

from braindecode_m2s import DEAP, M2S, M2SClassifier, MultimodalEmotion, split_by_trial
from braindecode_m2s.datasets.base import configured_path
from braindecode_m2s.datasets.fixtures import write_fixture

SEED = 0


def run(dataset, subjects, epochs, sequence_length, batch_size):
    paradigm = MultimodalEmotion(sequence_length=sequence_length, feature="de", smoothing="LDS")
    X, y, metadata = paradigm.get_data(dataset, subjects)
    n_features = X["peripheral"].shape[1]
    print(
        "X:",
        {k: tuple(v.shape) for k, v in X.items()},
        "y:",
        y.shape,
        f"({dataset.target} >= {dataset.threshold:g}: low/high =",
        f"{np.bincount(y, minlength=2).tolist()})",
    )
    print(f"peripheral features per window: {n_features}")

    n_trials = int(metadata["trial"].max()) + 1
    train_trials = max(1, int(0.75 * n_trials))
    train, test = split_by_trial(metadata, train_trials)
    print(
        f"split by trial: trials 0-{train_trials - 1} train ({len(train)} samples), "
        f"trials {train_trials}-{n_trials - 1} test ({len(test)} samples)"
    )

    net = M2SClassifier(
        M2S(
            n_chans=X["x"].shape[1],
            n_outputs=2,
            n_bands=X["x"].shape[3],
            modalities={"peripheral": n_features},
            embed_dim=32,
            n_layers=2,
            head_dim=16,
            ff_dim=128,
        ),
        pretrain_epochs=epochs,  # stage 1: self-supervised on EEG + peripheral
        max_epochs=epochs,  # stage 2: classifier on the frozen encoders
        batch_size=batch_size,
        pretrain_batch_size=batch_size,
        random_state=SEED,
        verbose=0,
    )
    net.fit(SliceDict(x=X["x"][train], peripheral=X["peripheral"][train]), y[train])
    last = net.pretrain_history_[-1]
    print(
        f"stage 1 ({epochs} epoch(s), no labels): last epoch's objective "
        f"{last['train_loss']:.3f}, CLIP {last['train_clip_loss']:.3f}, M2M CPC "
        f"{last['train_cpc_loss']:.3f}; stage 2: classifier on EEG + peripheral"
    )

    majority = max(np.mean(y[test] == 0), np.mean(y[test] == 1))
    print(f"\nTest accuracy (majority class of the test set: {100 * majority:.1f} %):")
    test_sets = {
        "EEG + peripheral": SliceDict(x=X["x"][test], peripheral=X["peripheral"][test]),
        "EEG only": SliceDict(x=X["x"][test]),
        "peripheral only": SliceDict(peripheral=X["peripheral"][test]),
    }
    for name, X_test in test_sets.items():
        accuracy = float(np.mean(net.predict(X_test) == y[test]))
        print(f"  {name:<17} {100 * accuracy:5.1f} %")
    return net


def main(argv=None):
    doc = (__doc__ or "").strip()  # the gallery runs the code without its docstring
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    parser.add_argument(
        "--path",
        default=None,
        help="DEAP folder (default: MNE_DATASETS_DEAP_PATH, else a fixture in a temporary folder)",
    )
    parser.add_argument(
        "--subjects", type=int, nargs="+", default=[1, 2], help="subjects to use (default 1 2)"
    )
    parser.add_argument(
        "--sequence-length", type=int, default=10, help="1-s windows per sample (default 10)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    path = args.path or configured_path("DEAP")
    if path:
        dataset = DEAP(path=args.path) if args.path else DEAP()
        print(f"Real DEAP at {path}")
        run(dataset, args.subjects, args.epochs, args.sequence_length, args.batch_size)
        return
    with tempfile.TemporaryDirectory(prefix="deap_fixture_") as tmp:
        # what `m2s fixture --dataset deap --out DIR` writes
        dataset = DEAP(path=write_fixture("deap", tmp, max(args.subjects)), cache_dir=False)
        print(
            "No DEAP path configured; using a small fixture of random values "
            "(12 trials per subject; accuracies are chance-level)"
        )
        run(dataset, args.subjects, args.epochs, args.sequence_length, args.batch_size)


if __name__ == "__main__":
    main()
