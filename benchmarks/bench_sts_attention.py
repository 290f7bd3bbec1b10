"""One STS attention layer against the like-for-like layer a user would write with SDPA.

The comparison is the same work: per window, multi-head attention across the electrode
tokens (features = bands), heads of ``--head-dim``, the post-norm residuals and the
feed-forward network over the window's flattened electrode x band vector. The user's
version projects every token to ``n_heads x head_dim`` queries / keys / values and calls
PyTorch's fused :func:`torch.nn.functional.scaled_dot_product_attention` (keys and values
from the window itself); ours is :class:`braindecode_m2s.STSAttention` (keys and values
mixed from windows t, 0, t-1; the regrouped 5 x 5 per-head products when the band count is
below the head size). Forward + backward, median of ``--repeats``, alternated, and the
peak memory of the autograd graph (saved tensors), per number of windows.

Usage::

    python benchmarks/bench_sts_attention.py [--chans 62] [--windows 5 20 80]
        [--batch 128] [--head-dim 64] [--device cpu] [--mixed-precision bf16]

``--mixed-precision bf16`` runs both layers under ``torch.autocast`` (bfloat16).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from braindecode_m2s import STSAttention


class SDPAWindowLayer(nn.Module):
    """Per-window electrode attention with fused SDPA: what a user would write."""

    def __init__(self, bands, chans, heads, head_dim, ff_dim):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.qkv = nn.Linear(bands, 3 * heads * head_dim, bias=False)
        self.out = nn.Linear(heads * head_dim, bands)
        width = bands * chans
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.ffn = nn.Sequential(
            nn.Linear(width, ff_dim),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(ff_dim, width),
            nn.Dropout(0.1),
        )
        self.drop = nn.Dropout(0.1)

    def forward(self, x):  # (B, C, T, E)
        b, c, t, e = x.shape
        h = x.transpose(1, 2).reshape(b * t, c, e)
        q, k, v = self.qkv(h).view(b * t, c, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v)
        att = self.out(att.transpose(1, 2).reshape(b * t, c, -1))
        flat = self.norm1((h + self.drop(att)).reshape(b, t, c * e))
        flat = self.norm2(flat + self.ffn(flat))
        return flat.view(b, t, c, e).transpose(1, 2)


def saved_bytes(fn):
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    out.sum().backward()
    return total


def _forward(layer, x, autocast):
    with autocast():
        return layer(x).float()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chans", type=int, default=62)
    parser.add_argument("--bands", type=int, default=5)
    parser.add_argument("--windows", type=int, nargs="+", default=[5, 20, 80])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--mixed-precision", choices=["no", "bf16"], default="no")
    args = parser.parse_args(argv)
    if args.mixed_precision == "bf16":
        device_type = torch.device(args.device).type
        autocast = partial(torch.autocast, device_type, dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext
    torch.manual_seed(0)
    kw = dict(heads=args.heads, head_dim=args.head_dim, ff_dim=1024)
    sts = STSAttention(
        args.bands, n_heads=args.heads, head_dim=args.head_dim, n_chans=args.chans, ff_dim=1024
    ).to(args.device)
    sdpa = SDPAWindowLayer(args.bands, args.chans, **kw).to(args.device)
    print(
        f"# One layer, forward + backward: STS attention vs per-window SDPA attention\n\n"
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.device}; "
        f"batch {args.batch}, {args.chans} electrodes x {args.bands} bands, "
        f"{args.heads} heads x {args.head_dim}, FFN 1024, mixed precision "
        f"{args.mixed_precision}\n"
    )
    print("| windows | STS (ms) | SDPA layer (ms) | SDPA / STS | STS saved MiB | SDPA saved MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n_windows in args.windows:
        x = torch.randn(
            args.batch, args.chans, n_windows, args.bands, device=args.device, requires_grad=True
        )

        def run(layer):
            with autocast():
                out = layer(x).float().sum()
            out.backward()

        fns = {"sts": lambda: run(sts), "sdpa": lambda: run(sdpa)}
        for fn in fns.values():
            fn()
        times = {k: [] for k in fns}
        for _ in range(args.repeats):
            for k, fn in fns.items():
                start = time.perf_counter()
                fn()
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                times[k].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in times.items()}
        mem = {
            k: saved_bytes(lambda layer=layer: _forward(layer, x, autocast))
            for k, layer in (("sts", sts), ("sdpa", sdpa))
        }
        print(
            f"| {n_windows} | {1e3 * med['sts']:.1f} | {1e3 * med['sdpa']:.1f} | "
            f"{med['sdpa'] / med['sts']:.2f} | {mem['sts'] / 2**20:.1f} | "
            f"{mem['sdpa'] / 2**20:.1f} |"
        )


if __name__ == "__main__":
    main()
