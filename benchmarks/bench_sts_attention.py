"""STS attention layer vs what a user would otherwise use: dense spatio-temporal attention.

One STS layer (:class:`braindecode_m2s.STSAttention`, the authors' design: attention
across the electrodes of each window, keys/values mixed from windows t, 0, t-1) against
PyTorch's ``nn.TransformerEncoderLayer`` (fused ``scaled_dot_product_attention``) over all
``n_chans x n_windows`` electrode-window tokens, the obvious dense alternative. Same
token features (bands), same heads and head size, same feed-forward width per token.

Prints, per number of windows, forward+backward time (median of repeats) and the number
of attention-score entries per sample, and the ratio dense / STS. STS grows linearly
with the number of windows (one C x C score matrix per window); dense attention grows
quadratically ((C T)^2 scores).

Usage::

    python benchmarks/bench_sts_attention.py [--chans 62] [--windows 5 20 80 320] [--batch 8]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from braindecode_m2s import STSAttention


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chans", type=int, default=62)
    parser.add_argument("--bands", type=int, default=5)
    parser.add_argument("--windows", type=int, nargs="+", default=[5, 20, 80, 320])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    heads, head_dim = 4, 16
    sts = STSAttention(args.bands, n_heads=heads, head_dim=head_dim, ff_dim=64)
    # dense: tokens projected to heads * head_dim, attention over all C*T tokens
    dense = nn.Sequential(
        nn.Linear(args.bands, heads * head_dim),
        nn.TransformerEncoderLayer(heads * head_dim, heads, dim_feedforward=64,
                                   dropout=0.1, batch_first=True),
        nn.Linear(heads * head_dim, args.bands),
    )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch "
          f"{args.batch}, {args.chans} channels x {args.bands} bands, {heads} heads x "
          f"{head_dim}")
    print(f"{'windows':>8} {'STS ms':>10} {'dense ms':>10} {'dense/STS':>10} "
          f"{'STS scores':>12} {'dense scores':>13}")
    for n_windows in args.windows:
        x = torch.randn(args.batch, args.chans, n_windows, args.bands, requires_grad=True)

        def run_sts():
            sts(x).sum().backward()

        def run_dense():
            tokens = x.reshape(args.batch, args.chans * n_windows, args.bands)
            dense(tokens).sum().backward()

        t_sts = timed(run_sts, args.repeats)
        t_dense = timed(run_dense, args.repeats)
        scores_sts = heads * n_windows * args.chans ** 2
        scores_dense = heads * (args.chans * n_windows) ** 2
        print(f"{n_windows:>8} {1e3 * t_sts:>10.1f} {1e3 * t_dense:>10.1f} "
              f"{t_dense / t_sts:>10.2f} {scores_sts:>12,} {scores_dense:>13,}")


if __name__ == "__main__":
    main()
