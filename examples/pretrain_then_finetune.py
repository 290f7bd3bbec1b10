"""
Self-supervised M2S pretraining, then a classifier with few labels
==================================================================

Stage 1 of M2S (Liu, Cai, Lu & Zheng, AAAI 2025) needs no labels: CLIP-style
alignment of the modalities' embeddings, M2M CPC (every modality's future
predicted from all contexts), reconstruction and CLUB.
:class:`braindecode_m2s.M2MCPCPretrainer` trains the encoders on it, from
unlabelled EEG + eye data, and
:meth:`~braindecode_m2s.M2MCPCPretrainer.to_classifier` starts an
:class:`braindecode_m2s.M2SClassifier` from them.

This example uses the built-in synthetic SEED-IV-like data
(:func:`braindecode_m2s.datasets.make_synthetic_emotion`; a seeded generative
model, not brain signals), reduced to 16 EEG channels and two subjects so that
it runs in well under a minute on a laptop CPU:

- *unlabelled*: every sample of trials 0-15 of each session, labels dropped;
- *labelled*: the samples of the first ``--labelled-trials`` trials of each
  session, with labels (a subset of the unlabelled pool);
- *test*: trials 16-23 of each session (the SEED-IV protocol's test trials;
  never seen by either stage).

It then trains a classifier on the frozen pretrained encoders (stage 2) with
the labelled subset and, with the same seed, sizes, optimiser and number of
epochs, trains the same architecture end to end from scratch on the same
subset, and prints the test accuracy of both with EEG + eye, EEG only and
eye only. It is one seed at a small
budget: the printed numbers describe this run, nothing more general.

Usage::

    python examples/pretrain_then_finetune.py [--pretrain-epochs 10] [--epochs 10]

References
----------
Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025). Multi-to-Single:
Reducing Multimodal Dependency in Emotion Recognition Through Contrastive
Learning. AAAI 39(2), 1438-1446. doi:10.1609/aaai.v39i2.32134

van den Oord, A., Li, Y., & Vinyals, O. (2018). Representation learning with
contrastive predictive coding. arXiv:1807.03748.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from skorch.helper import SliceDict

from braindecode_m2s import M2S, M2MCPCPretrainer, M2SClassifier, split_by_trial
from braindecode_m2s.datasets import make_synthetic_emotion

SEED = 0
N_CHANS = 16
TEST_SETS = (("EEG + eye", ("x", "eye")), ("EEG only", ("x",)), ("eye only", ("eye",)))


def select(X, idx, keys=("x", "eye")):
    return SliceDict(**{k: X[k][idx] for k in keys})


def make_module(n_outputs):
    return M2S(
        n_chans=N_CHANS,
        n_outputs=n_outputs,
        modalities={"eye": 31},
        embed_dim=32,
        n_layers=2,
        head_dim=16,
        ff_dim=128,
    )


def accuracies(net, X, y, idx):
    return {
        name: float(np.mean(net.predict(select(X, idx, keys)) == y[idx]))
        for name, keys in TEST_SETS
    }


def main(argv=None):
    doc = (__doc__ or "").strip()  # the gallery runs the code without its docstring
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=10,
        help="epochs of M2M CPC pretraining (default 10)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=10,
        help="epochs of fine-tuning and of training from scratch (default 10)",
    )
    parser.add_argument(
        "--labelled-trials",
        type=int,
        default=4,
        help="labelled trials per session, from trial 0 (default 4)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.labelled_trials <= 16:
        parser.error(f"--labelled-trials must be in 1..16; got {args.labelled_trials}.")

    X, y, metadata = make_synthetic_emotion(
        n_subjects=2,
        n_sessions=3,
        n_chans=N_CHANS,
        sequence_length=5,
        seed=SEED,
        scenario="redundant",
    )
    n_classes = int(y.max()) + 1
    pool, test = split_by_trial(metadata, "SEED-IV")
    labelled, _ = split_by_trial(metadata, args.labelled_trials)
    print(
        f"Synthetic data: x {X['x'].shape[1:]}, eye {X['eye'].shape[1:]} per sample; "
        f"unlabelled {len(pool)} samples (trials 0-15), labelled {len(labelled)} "
        f"(trials 0-{args.labelled_trials - 1}), test {len(test)} (trials 16-23); "
        f"chance {100 / n_classes:.0f} %"
    )

    common = dict(random_state=SEED, verbose=0)
    # CLIP and CPC draw their negatives from the batch: pretrain with larger batches.
    # The labelled set is small: keep its last, incomplete batch.
    pretrain_batch = 64
    supervised = dict(batch_size=16, iterator_train__drop_last=False, **common)

    # 1. Stage 1 on unlabelled EEG + eye (no y).
    pretrainer = M2MCPCPretrainer(
        make_module(n_classes),
        max_epochs=args.pretrain_epochs,
        batch_size=pretrain_batch,
        **common,
    )
    t0 = time.perf_counter()
    pretrainer.fit(select(X, pool))
    seconds = time.perf_counter() - t0
    first, last = pretrainer.history[0], pretrainer.history[-1]
    pairs = sorted(k for k in last if k.startswith(("train_cpc_acc_", "train_clip_acc_")))
    print(
        f"\nPretraining ({args.pretrain_epochs} epochs, {seconds:.0f} s): objective "
        f"{first['train_loss']:.3f} -> {last['train_loss']:.3f}; retrieval accuracy "
        f"(chance 1/batch = {100 / pretrain_batch:.1f} %), first -> last epoch:"
    )
    for key in pairs:
        print(
            f"  {key.removeprefix('train_'):<16} {100 * first[key]:5.1f} % -> "
            f"{100 * last[key]:5.1f} %"
        )

    # 2. Classifier on the frozen pretrained encoders vs 3. end to end from scratch.
    finetuned = pretrainer.to_classifier(n_outputs=n_classes, max_epochs=args.epochs, **supervised)
    finetuned.fit(select(X, labelled), y[labelled])
    scratch = M2SClassifier(
        make_module(n_classes),
        max_epochs=args.epochs,
        pretrain_epochs=0,
        freeze_encoders=False,
        **supervised,
    )
    scratch.fit(select(X, labelled), y[labelled])

    print(
        f"\nTest accuracy (%) after {args.epochs} epochs on {len(labelled)} labelled "
        f"samples (seed {SEED}):"
    )
    print(f"{'':<22}" + "".join(f"{name:>11}" for name, _ in TEST_SETS))
    results = {}
    for name, net in (("pretrained+classifier", finetuned), ("from scratch", scratch)):
        results[name] = accuracies(net, X, y, test)
        print(f"{name:<22}" + "".join(f"{100 * results[name][t]:>11.1f}" for t, _ in TEST_SETS))
    diff = {
        t: results["pretrained+classifier"][t] - results["from scratch"][t] for t, _ in TEST_SETS
    }
    print(
        f"{'difference (points)':<22}" + "".join(f"{100 * diff[t]:>+11.1f}" for t, _ in TEST_SETS)
    )


if __name__ == "__main__":
    main()
