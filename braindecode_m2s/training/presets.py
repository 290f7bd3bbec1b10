"""Named settings: the authors' stage 1, as ``M2SClassifier`` parameters."""

from __future__ import annotations

import torch
from skorch.callbacks import LRScheduler

__all__ = ["reference_pretraining"]


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
