"""Named settings as ``M2SClassifier`` parameters: the authors' stage 1, and the
measured recipe for every mode at the authors' sizes."""

from __future__ import annotations

import torch
from skorch.callbacks import LRScheduler

from ..models.m2s import EEG_KEY

__all__ = ["reference_pretraining", "eeg_path_recipe"]


def reference_pretraining(epochs=200):
    """The stage 1 of the authors' ``pretrain.py``, as :class:`M2SClassifier` parameters.

    Adam (lr 1e-4, weight decay 1e-4) for the model and for CLUB's own
    optimiser, cosine annealing of the model's learning rate over the whole
    run, batches of 512, 200 epochs (Liu et al., 2025; GitHub
    Arcee-LYK/Multi-to-Single, ``M2S_demo_code/pretrain.py``). The one
    departure: the cosine steps once per epoch (``T_max=epochs``) where the
    reference steps per batch over ``epochs x batches``; the curve is the same
    but for its steps within an epoch. ::

        clf = M2SClassifier(M2S(n_chans=62, n_outputs=4), **reference_pretraining())

    On one SEED-IV subject-session (about 500 sequences) the 200 epochs take
    about 6 minutes on 2 quiet CPU cores (``docs/benchmarks.md``).
    ``docs/results.md`` compares this stage 1 with the defaults at the authors'
    sizes: it aligns the modalities far better (cross-modal modes at over 90 %
    of within-modality) at a cost in EEG-only accuracy.

    Parameters
    ----------
    epochs : int
        Stage-1 epochs (the cosine's period).

    Returns
    -------
    dict
        ``pretrain_epochs``, ``pretrain_lr``, ``pretrain_batch_size`` and the
        ``pretrainer__*`` parameters (a fresh callback at every call).
    """
    return {
        "pretrain_epochs": epochs,
        "pretrain_lr": 1e-4,
        "pretrain_batch_size": 512,
        "pretrainer__optimizer": torch.optim.Adam,
        "pretrainer__optimizer__weight_decay": 1e-4,
        "pretrainer__callbacks": [
            (
                "cosine",
                LRScheduler(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=epochs),
            )
        ],
    }


def eeg_path_recipe(train_modalities, test_modalities, pretrain_epochs=100):
    """The best-supported settings for one mode at the authors' sizes, measured over seeds.

    The authors' stage 1 (:func:`reference_pretraining`) shortened to
    ``pretrain_epochs``; then, for the within-EEG mode (train and test on
    ``"x"`` alone), the EEG encoder fine-tuned end to end at lr 1e-4, and for
    every other mode (the cross-modal ones, which need the encoders aligned,
    and the other within-modality ones) the reference's classifier on frozen
    encoders. Stage 2 runs 30 epochs. ``docs/results.md`` ("Pretraining length,
    the stage-1 terms and fine-tuning") gives the measurements behind each
    choice: a longer stage 1 aligns the modalities but costs the frozen EEG
    embedding EEG-only information, and fine-tuning at lr 1e-4 recovers it
    (at the classifiers' lr 1e-3 it does not). ::

        clf = M2SClassifier(M2S(n_chans=62, n_outputs=4),
                            **eeg_path_recipe(["x"], ["x"]), random_state=0)

    The modes share one stage 1 when they are read from one pretrainer:
    ``M2MCPCPretrainer`` with the ``pretrainer__*`` parameters of the preset,
    then ``to_classifier(**stage-2 parameters)`` per mode
    (``benchmarks/bench_eeg_path.py`` does so).

    Parameters
    ----------
    train_modalities, test_modalities : sequence of str
        The mode (``["x"], ["eye"]`` is eeg->eye).
    pretrain_epochs : int
        Stage-1 epochs (100: the length measured for the recipe).

    Returns
    -------
    dict
        :class:`M2SClassifier` parameters: those of
        :func:`reference_pretraining`, the modalities, ``max_epochs``,
        ``freeze_encoders`` and ``lr``.
    """
    train_modalities, test_modalities = list(train_modalities), list(test_modalities)
    within_eeg = train_modalities == test_modalities == [EEG_KEY]
    return {
        **reference_pretraining(pretrain_epochs),
        "train_modalities": train_modalities,
        "test_modalities": test_modalities,
        "max_epochs": 30,
        "freeze_encoders": not within_eeg,
        "lr": 1e-4 if within_eeg else 1e-3,
    }
