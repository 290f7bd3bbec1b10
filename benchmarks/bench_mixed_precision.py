"""Speed and accuracy effect of ``mixed_precision="bf16"`` (bfloat16 autocast).

The README's quick start on the redundant synthetic scenario (one subject, SEED-IV split:
trials 0-15 train, 16-23 test; ``small`` sizes embed 64 / 2 layers / heads of 16 /
FFN 256), once in float32 and once under bf16 autocast, alternating per seed in one
process: stage 1 (:class:`~braindecode_m2s.M2MCPCPretrainer`, ``--pretrain-epochs``)
then two classifiers on the frozen encoders (``--epochs``), eeg->eeg and eeg->eye.

Prints per precision the stage-1 time, the balanced accuracy of both modes (mean ± std
over seeds) and the paired difference bf16 - float32 with its 95 % t-interval, and the
time ratio. On a CPU without native bfloat16 instructions (no AVX512-BF16 / AMX) the
autocast is emulated, so expect it slower there; on recent GPUs and Xeons it is the
fast path.

Usage::

    python benchmarks/bench_mixed_precision.py [--seeds 0 1 2] [--pretrain-epochs 20]
        [--epochs 30] [--device cpu] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from scipy import stats
from sklearn.metrics import balanced_accuracy_score

warnings.filterwarnings("ignore")
SMALL = dict(embed_dim=64, n_layers=2, head_dim=16, ff_dim=256)
MODES = {"eeg->eeg": (["x"], ["x"]), "eeg->eye": (["x"], ["eye"])}


def one_run(seed, precision, args):
    """Stage 1 then both modes; returns seconds of stage 1 and the modes' scores."""
    from braindecode_m2s import M2S, M2MCPCPretrainer, make_synthetic_emotion

    X, y, meta = make_synthetic_emotion(seed=seed, n_subjects=1, scenario="redundant")
    train = (meta.trial < 16).to_numpy()
    test = ~train
    start = time.perf_counter()
    pre = M2MCPCPretrainer(
        M2S(n_chans=62, n_outputs=4, **SMALL),
        max_epochs=args.pretrain_epochs,
        random_state=seed,
        device=args.device,
        mixed_precision=precision,
        verbose=0,
    ).fit(X[train])
    seconds = time.perf_counter() - start
    scores = {}
    for mode, (tr, te) in MODES.items():
        clf = pre.to_classifier(
            train_modalities=tr,
            test_modalities=te,
            max_epochs=args.epochs,
            random_state=seed,
            mixed_precision=precision,
            verbose=0,
        )
        clf.fit(X[train], y[train])
        scores[mode] = balanced_accuracy_score(y[test], clf.predict(X[test]))
    return seconds, scores


def interval(d):
    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return d.mean(), np.nan, np.nan
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean(), d.mean() - half, d.mean() + half


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    precisions = ("no", "bf16")
    runs = {p: [] for p in precisions}
    for i, seed in enumerate(args.seeds):
        order = precisions if i % 2 == 0 else precisions[::-1]  # alternate who goes first
        for p in order:
            runs[p].append(one_run(seed, p, args))
            sec, sc = runs[p][-1]
            print(
                f"seed {seed} {p:>4}: stage 1 {sec:6.1f} s, "
                + ", ".join(f"{m} {100 * v:.1f} %" for m, v in sc.items()),
                flush=True,
            )
    print(
        f"\n# bf16 autocast against float32, {args.device}, {args.threads} threads, seeds "
        f"{args.seeds}, {args.pretrain_epochs} pretraining + {args.epochs} epochs\n"
    )
    print("| | float32 | bf16 | bf16 - float32 (points, 95 % interval) |")
    print("|---|---:|---:|---|")
    for mode in MODES:
        a = np.array([s[mode] for _, s in runs["no"]]) * 100
        b = np.array([s[mode] for _, s in runs["bf16"]]) * 100
        mean, lo, hi = interval(b - a)
        print(
            f"| {mode} balanced acc. (%) | {a.mean():.1f} ± {a.std(ddof=1):.1f} | "
            f"{b.mean():.1f} ± {b.std(ddof=1):.1f} | {mean:+.1f} [{lo:+.1f}, {hi:+.1f}] |"
        )
    ta = np.array([t for t, _ in runs["no"]])
    tb = np.array([t for t, _ in runs["bf16"]])
    print(
        f"| stage 1 (s, median) | {np.median(ta):.1f} | {np.median(tb):.1f} | "
        f"bf16 / float32 time: {np.median(tb / ta):.2f}x |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
