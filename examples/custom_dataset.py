"""
Bring your own multimodal dataset
=================================

The six datasets of the package are classes derived from
:class:`braindecode_m2s.EmotionDataset`, the shared base that follows MOABB's
dataset contract and adds one method, ``get_trial_features``, which returns
one :class:`braindecode_m2s.datasets.EmotionTrial` per stimulus trial with every
modality as a sequence of feature windows. A recording of your own enters
every tool of the package (the :class:`braindecode_m2s.MultimodalEmotion`
paradigm, the protocol splits, M2S, the baselines, MOABB's evaluations) by the
same door. This example

1. writes a small made-up study to a temporary folder: 3 subjects, 8 trials
   each, 8 EEG channels and 2 peripheral channels (skin conductance,
   respiration) at 128 Hz, one ``.npz`` file per trial with a binary label
   (*synthetic signals*: the label raises the EEG alpha power and the skin
   conductance a little, so there is something to learn);
2. declares the dataset in a class: the facts MOABB needs (subjects,
   sessions, events, code), the folder layout, where to apply for the data,
   the modalities, the raw recordings as MNE objects
   (``_get_single_subject_data``) and the feature windows
   (``get_trial_features``: EEG differential entropy from
   :class:`braindecode_m2s.features.DifferentialEntropy`, optionally LDS-smoothed, and
   four peripheral features per window);
3. cuts aligned samples with :class:`braindecode_m2s.MultimodalEmotion`,
   splits by whole trials (:func:`braindecode_m2s.split_by_trial`: trials
   0-5 train, 6-7 test) and trains :class:`braindecode_m2s.M2SClassifier`
   with ``modalities={"physio": 4}``: stage 1 on EEG + peripheral, stage 2 a
   classifier on the EEG embedding, tested on EEG and, cross-modal, on the
   peripheral features alone.

The printed accuracies describe this run on made-up data, nothing more.

Usage::

    python examples/custom_dataset.py [--epochs 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import mne
import numpy as np
from skorch.helper import SliceDict

from braindecode_m2s import M2S, EmotionDataset, M2SClassifier, MultimodalEmotion, split_by_trial
from braindecode_m2s.datasets import EmotionTrial
from braindecode_m2s.features import DifferentialEntropy, LinearDynamicalSystem

SEED = 0
SFREQ = 128.0
EEG_CHANNELS = ["F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"]
PHYSIO_CHANNELS = ["GSR", "Resp"]
N_TRIALS = 8
TRIAL_SECONDS = 20


# %%
# A study on disk
# ---------------
# One folder per subject, one file per trial: ``eeg`` (8, T) in microvolts,
# ``physio`` (2, T) and ``label``. Any layout works; the class below is the
# only place that knows it.


def write_study(root, subjects=(1, 2, 3), seed=SEED):
    """Write the made-up study under ``root``; returns ``root``."""
    rng = np.random.default_rng(seed)
    n_times = int(TRIAL_SECONDS * SFREQ)
    t = np.arange(n_times) / SFREQ
    for subject in subjects:
        folder = Path(root) / f"sub-{subject:02d}"
        folder.mkdir(parents=True)
        labels = rng.permutation(np.arange(N_TRIALS) % 2)
        for k, label in enumerate(labels):
            alpha = (1.0 + 0.6 * label) * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6.3, (8, 1)))
            eeg = 10 * (alpha + rng.standard_normal((8, n_times)))
            gsr = 2.0 + 0.3 * label + 0.05 * np.cumsum(rng.standard_normal(n_times)) / SFREQ
            resp = np.sin(2 * np.pi * 0.25 * t) + 0.1 * rng.standard_normal(n_times)
            np.savez(
                folder / f"trial-{k:02d}.npz", eeg=eeg, physio=np.stack([gsr, resp]), label=label
            )
    return Path(root)


# %%
# The dataset class
# -----------------
# Class attributes document the dataset (they are what the error messages
# quote when the folder is missing); ``__init__`` gives MOABB its facts;
# three methods read the files.


class MyStudy(EmotionDataset):
    """A made-up EEG + peripheral study: 3 subjects, 8 trials, low/high arousal.

    Parameters
    ----------
    path : str | pathlib.Path | None
        Root folder (``None``: ``MNE_DATASETS_MYSTUDY_PATH``).
    window_seconds : float
        Length of a feature window.
    """

    APPLY_URL = "https://example.org/my-study (made up)"
    LAYOUT = "<path>/sub-<NN>/trial-<KK>.npz   eeg (8, T) uV, physio (2, T), label"
    MODALITIES = {
        "x": "EEG DE features (8 channels, n_windows, 5 bands)",
        "physio": "peripheral features (4, n_windows): mean and std of GSR and respiration",
    }
    CLASS_NAMES = {0: "low_arousal", 1: "high_arousal"}

    def __init__(self, path=None, window_seconds=1.0):
        self.window_seconds = float(window_seconds)
        super().__init__(
            path=path,
            cache_dir=False,
            subjects=[1, 2, 3],
            sessions_per_subject=1,
            events={name: k + 1 for k, name in self.CLASS_NAMES.items()},
            code="MyStudy",
            interval=[0, TRIAL_SECONDS],
            paradigm="emotion",
            doi=None,
        )

    def _subject_files(self, subject):
        folder = self._require(self.root / f"sub-{subject:02d}", "subject folder")
        files = sorted(folder.glob("trial-*.npz"))
        if not files:
            raise FileNotFoundError(f"MyStudy: no trial-*.npz file in {str(folder)!r}.")
        return files

    def _read(self, subject):
        for path in self.data_path(subject):
            with np.load(path) as f:
                yield f["eeg"], f["physio"], int(f["label"])

    def _get_single_subject_data(self, subject):
        """The raw recordings of a subject: ``{session: {run: mne.io.Raw}}``."""
        trials = list(self._read(subject))
        info = mne.create_info(
            EEG_CHANNELS + PHYSIO_CHANNELS, SFREQ, ["eeg"] * len(EEG_CHANNELS) + ["gsr", "resp"]
        )
        data = np.concatenate(
            [np.concatenate([eeg * 1e-6, physio]) for eeg, physio, _ in trials], axis=1
        )
        raw = mne.io.RawArray(data, info, verbose="error")
        length = trials[0][0].shape[1] / SFREQ
        raw.set_annotations(
            mne.Annotations(
                onset=[k * length for k in range(len(trials))],
                duration=[length] * len(trials),
                description=[self.CLASS_NAMES[label] for *_, label in trials],
            )
        )
        return {"0": {"0": raw}}

    def get_trial_features(self, subject, feature="de", smoothing="LDS"):
        """One :class:`EmotionTrial` per trial, EEG DE and peripheral features.

        Parameters
        ----------
        subject : int
            Subject number.
        feature : str
            ``"de"`` only (differential entropy of 5 bands).
        smoothing : str | None
            ``"LDS"`` smooths the DE along the windows, ``None`` does not.

        Returns
        -------
        list of EmotionTrial
        """
        if feature != "de":
            raise ValueError(f"`feature` must be 'de' for MyStudy; got {feature!r}.")
        if smoothing not in (None, "LDS"):
            raise ValueError(f"`smoothing` must be None or 'LDS'; got {smoothing!r}.")
        de = DifferentialEntropy(sfreq=SFREQ, window_seconds=self.window_seconds)
        step = int(self.window_seconds * SFREQ)
        trials = []
        for k, (eeg, physio, label) in enumerate(self._read(subject)):
            x = de.fit_transform(eeg[None])  # (1, n_chans, n_windows, n_bands)
            if smoothing == "LDS":
                x = LinearDynamicalSystem().fit_transform(x)
            n_windows = x.shape[2]
            windows = physio[:, : n_windows * step].reshape(2, n_windows, step)
            features = np.concatenate([windows.mean(-1), windows.std(-1)])  # (4, n_windows)
            trials.append(
                EmotionTrial(
                    subject=subject,
                    session="0",
                    trial=k,
                    label=label,
                    modalities={
                        "x": x[0].astype(np.float32),
                        "physio": features.astype(np.float32),
                    },
                    window_seconds=self.window_seconds,
                )
            )
        return trials


# %%
# From files to M2S
# -----------------
# The paradigm reads ``get_trial_features`` and cuts samples that never cross
# trials; the rest is the same as for SEED-IV.


def run(root, epochs):
    dataset = MyStudy(path=root)
    raw = dataset.get_data([1])[1]["0"]["0"]
    print(
        f"raw recording of subject 1: {len(raw.ch_names)} channels, "
        f"{raw.n_times / raw.info['sfreq']:.0f} s, {len(raw.annotations)} trials"
    )
    print(f"trial 0 of subject 1: {dataset.get_trial_features(1)[0].n_windows} windows")

    X, y, metadata = MultimodalEmotion(sequence_length=5).get_data(dataset)
    print("X:", {k: tuple(v.shape) for k, v in X.items()}, "y:", np.bincount(y).tolist())
    train, test = split_by_trial(metadata, 6)
    print(
        f"split by trial: trials 0-5 train ({len(train)} samples), "
        f"trials 6-7 test ({len(test)} samples)"
    )

    net = M2SClassifier(
        M2S(
            n_chans=8,
            n_outputs=2,
            modalities={"physio": 4},
            embed_dim=32,
            n_layers=1,
            n_heads=2,
            head_dim=8,
            ff_dim=64,
        ),
        pretrain_epochs=epochs,  # stage 1 on EEG + peripheral, no labels
        max_epochs=epochs,  # stage 2: classifier on the EEG embedding
        train_modalities=["x"],
        batch_size=16,
        pretrain_batch_size=16,
        random_state=SEED,
        verbose=0,
    )
    net.fit(SliceDict(x=X["x"][train], physio=X["physio"][train]), y[train])
    for name, X_test in {
        "EEG": SliceDict(x=X["x"][test]),
        "peripheral (cross-modal)": SliceDict(physio=X["physio"][test]),
    }.items():
        accuracy = float(np.mean(net.predict(X_test) == y[test]))
        print(
            f"test accuracy, classifier trained on EEG, tested on {name}: {100 * accuracy:.1f} %"
        )
    return net


def main(argv=None):
    parser = argparse.ArgumentParser(description="Bring your own multimodal dataset.")
    parser.add_argument(
        "--epochs", type=int, default=5, help="epochs of each training stage (default 5)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="my_study_") as root:
        write_study(root)
        run(root, args.epochs)


if __name__ == "__main__":
    main()
