"""
Load SEED-IV: aligned EEG + eye-movement sequences, split by trial
==================================================================

Uses the real SEED-IV distribution when ``MNE_DATASETS_SEEDIV_PATH`` (or the
MNE config key of that name) points to it. Otherwise it writes a tiny copy in
the official layout (62 channels, 3 sessions x 24 trials, a few windows per
trial, random values) to a temporary folder, so the example always runs.

SEED-IV: Zheng, W.-L., Liu, W., Lu, Y., Lu, B.-L., & Cichocki, A. (2019).
EmotionMeter: A multimodal framework for recognizing human emotions. IEEE
Transactions on Cybernetics, 49(3), 1110-1122. doi:10.1109/TCYB.2018.2797176
"""

import tempfile

import numpy as np
from sklearn.model_selection import GroupKFold

from braindecode_m2s import SEEDIV, MultimodalEmotion
from braindecode_m2s.datasets.base import configured_path
from braindecode_m2s.datasets.fixtures import write_fixture
from braindecode_m2s.evaluation import ProtocolSplitter, trial_groups


def main():
    with tempfile.TemporaryDirectory(prefix="seediv_fixture_") as folder:
        run(folder)


def run(folder):
    configured = configured_path("SEED-IV")
    if configured:
        dataset, subjects = SEEDIV(), [1, 2]
        print(f"Real SEED-IV at {configured}")
    else:
        # what `m2s fixture --dataset seediv --out DIR --windows 10` writes
        dataset = SEEDIV(path=write_fixture("seediv", folder, n_windows=10), cache_dir=False)
        subjects = [1, 2]
        print(f"No SEED-IV path configured; using a tiny fixture at {dataset.path}")
    print(type(dataset).__doc__.splitlines()[0])

    trials = dataset.get_trial_features(subjects[0])
    first = trials[0]
    print(
        f"{len(trials)} trials of subject {subjects[0]}; trial 0: label {first.label} "
        f"({dataset.CLASS_NAMES[first.label]}), "
        + ", ".join(f"{k} {v.shape}" for k, v in first.modalities.items())
    )

    paradigm = MultimodalEmotion(sequence_length=5, feature="de", smoothing="LDS")
    X, y, metadata = paradigm.get_data(dataset, subjects)
    print({k: v.shape for k, v in X.items()}, "y", y.shape, "classes", np.bincount(y))
    print(metadata.head())

    # Literature protocol: per subject and session, first 16 trials train.
    for fold in ProtocolSplitter(metadata, "within-session", dataset="SEED-IV").folds():
        print(
            f"subject {fold['subject']} session {fold['session']}: {len(fold['train'])} "
            f"train / {len(fold['test'])} test samples"
        )

    # Cross-validation with whole trials held out.
    groups = trial_groups(metadata)
    for fold, (train, test) in enumerate(GroupKFold(3).split(X, y, groups)):
        assert not set(groups[train]) & set(groups[test])
        print(
            f"fold {fold}: {len(train)} train, {len(test)} test, "
            f"{len(np.unique(groups[test]))} test trials"
        )


if __name__ == "__main__":
    main()
