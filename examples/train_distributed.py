"""
M2S on several GPUs (or CPU processes) with DistributedDataParallel
===================================================================

One script, run as it is on one process or launched on several:

.. code-block:: bash

    python examples/train_distributed.py                  # one process
    accelerate launch --multi_gpu --num_processes 4 examples/train_distributed.py
    torchrun --nproc_per_node 4 examples/train_distributed.py  # the same, by torch

On a machine without GPUs the same commands start CPU processes (gloo); this
project's test suite runs both stages that way on 2 processes.

:class:`braindecode_m2s.AcceleratedM2SClassifier` is
:class:`~braindecode_m2s.M2SClassifier` with skorch's ``AccelerateMixin``:
Hugging Face ``accelerate`` wraps the model in PyTorch's
DistributedDataParallel and gives every process its shard of each epoch; both
stages of M2S (Liu, Cai, Lu & Zheng, AAAI 2025) train that way. Stage 1
computes its loss inside the model's forward pass, so DDP synchronises every
gradient; CLUB's own optimiser steps average theirs over the processes. At the
end every process holds the same model.

``find_unused_parameters=True`` is required (in stage 1 the classifier gets no
gradient, in stage 2 the encoder of a modality left out gets none); mixed
precision is then the accelerator's (``Accelerator(mixed_precision="bf16")``).
The data and sizes are the README's quick start: the built-in synthetic
SEED-IV-like generator (not brain signals), one subject, a reduced M2S; the
accuracy printed describes this run only.

References
----------
Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025). Multi-to-Single:
Reducing Multimodal Dependency in Emotion Recognition Through Contrastive
Learning. AAAI 39(2), 1438-1446. doi:10.1609/aaai.v39i2.32134
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs
from sklearn.metrics import balanced_accuracy_score
from skorch.helper import SliceDict

from braindecode_m2s import M2S, AcceleratedM2SClassifier, M2SClassifier, split_by_trial
from braindecode_m2s.datasets import make_synthetic_emotion

SMALL = dict(embed_dim=64, n_layers=2, head_dim=16, ff_dim=256)  # the README's quick start


def main(pretrain_epochs=20, epochs=30):
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    accelerator.print(
        f"{accelerator.num_processes} process(es), {accelerator.distributed_type}, "
        f"device {accelerator.device}"
    )
    X, y, metadata = make_synthetic_emotion(seed=0, n_subjects=1, scenario="redundant")
    train, test = split_by_trial(metadata, "SEED-IV")  # trials 0-15 train, 16-23 test

    # %%
    # Both stages, on every process: the accelerator shards each epoch. Stage 2
    # trains on EEG and tests on eye movements (cross-modal, eeg2eye).
    clf = AcceleratedM2SClassifier(
        M2S(n_chans=62, n_outputs=4, **SMALL),
        accelerator=accelerator,
        pretrain_epochs=pretrain_epochs,
        max_epochs=epochs,
        train_modalities=["x"],
        test_modalities=["eye"],
        random_state=0,
        verbose=0,
    )
    clf.fit(X[train], y[train])
    share = len(train) // accelerator.num_processes
    accelerator.print(f"stages 1 and 2 on {len(train)} samples, {share} per process and epoch")

    # %%
    # Every process predicts its share; the accelerator gathers them all
    X_test = SliceDict(eye=X["eye"][test])
    proba = clf.predict_proba(X_test)
    accuracy = balanced_accuracy_score(y[test], np.asarray(clf.classes_)[proba.argmax(1)])
    accelerator.print(f"eeg->eye balanced accuracy: {accuracy:.2f} (chance 0.25)")

    # %%
    # Every process calls save_params (it synchronises them); the main one writes
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m2s.pt"
        clf.save_params(f_params=path)
        if accelerator.is_main_process:
            # a plain M2SClassifier, in one process, reads the same parameters
            plain = M2SClassifier(M2S(n_chans=62, n_outputs=4, **SMALL), test_modalities=["eye"])
            plain.initialize()
            plain.load_params(f_params=path)
            same = np.allclose(plain.predict_proba(X_test), proba, atol=1e-6)
            print(f"reloaded in a plain M2SClassifier: same predictions: {same}")
    accelerator.wait_for_everyone()


def cli(argv=None):
    doc = (__doc__ or "").strip()  # the gallery runs the code without its docstring
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    main(args.pretrain_epochs, args.epochs)


if __name__ == "__main__":
    cli()
