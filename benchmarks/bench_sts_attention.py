"""Time and memory of temporal-sparse attention with and without query chunks.

:class:`braindecode_m2s.TemporalSparseAttention` keeps, for each query
window, its ``top_k`` highest scores. With ``query_chunk_size=None`` it
builds the whole ``(batch, heads, n_windows, n_windows)`` score tensor at
once; with ``query_chunk_size=C`` it handles ``C`` queries at a time, so the
largest score tensor is ``(batch, heads, C, n_windows)``: memory grows
linearly with the recording length instead of quadratically.

For every ``n_windows`` this script runs, each in a fresh Python process,

- ``TSA chunk=None`` and ``TSA chunk=128``:
  ``TemporalSparseAttention(embed_dim=32, n_heads=4, top_k=8,
  query_chunk_size=C)``;
- ``dense SDPA``: the same projections around
  :func:`torch.nn.functional.scaled_dot_product_attention` (PyTorch's fused
  kernel, which on the CPU may itself work in tiles);
- ``dense math``: the same with ``softmax(q k^T / sqrt(d)) v`` written out,
  the textbook dense attention that materialises all scores;

on a batch of 4 sequences of ``n_windows`` tokens, forward only (under
``torch.no_grad``) and forward + backward, and prints

- the wall time: best of 3 calls (of 2 from 1024 windows on; from 4096 on,
  the single call that also measures memory; best-of is the figure least
  disturbed by other load on the machine);
- the measured peak memory above the process's memory just before the
  call: the peak resident set size (``VmHWM``), reset before each
  measurement through ``/proc/self/clear_refs`` ("n/a" where the kernel
  does not offer it);
- the size of the largest score tensor, computed as ``batch x heads x rows
  x n_windows x 4 bytes`` with ``rows = n_windows``, or ``C`` with chunks
  ("-" for SDPA, whose fused kernel decides).

Chunking bounds the score memory of the forward pass (inference). With
autograd, each chunk's softmax output (and mask) is saved for the backward
pass, so the saved tensors of all chunks together still grow as
``n_windows**2``; the forward + backward column shows how much that is.

Usage::

    python benchmarks/bench_sts_attention.py [--n-windows 256 1024 4096] [--threads 2]

Linux only for the memory column (``/proc``); times are from this machine
and vary with its load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BATCH, EMBED_DIM, N_HEADS, TOP_K, CHUNK = 4, 32, 4, 8, 128
METHODS = ("TSA chunk=None", f"TSA chunk={CHUNK}", "dense SDPA", "dense math")


# -- measurement inside a fresh process -------------------------------------------
def _status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak():
    """Reset the peak RSS (VmHWM) of this process; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _measure(fn, repeats):
    """Best-of-``repeats`` seconds of ``fn`` and peak memory above the starting RSS (MiB).

    The first call measures the memory; ``repeats`` more calls the time
    (with ``repeats=0``, the first call's time).
    """
    import gc

    gc.collect()
    before = _status_kib("VmRSS")
    peak = None
    tracked = before is not None and _reset_peak()
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if tracked:
        peak = max(0.0, (_status_kib("VmHWM") - before) / 1024)
    if repeats == 0:
        return first, peak
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), peak


def _worker(n_windows, method, threads, repeats):
    import torch
    import torch.nn.functional as F

    from braindecode_m2s import TemporalSparseAttention

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    chunk = CHUNK if method == f"TSA chunk={CHUNK}" else None
    tsa = TemporalSparseAttention(EMBED_DIM, N_HEADS, top_k=TOP_K, query_chunk_size=chunk)

    def dense(x, kind):
        batch, n, dim = x.shape
        q, k, v = (
            t.reshape(batch, n, N_HEADS, dim // N_HEADS).transpose(1, 2)
            for t in tsa.qkv(x).chunk(3, -1)
        )
        if kind == "sdpa":
            out = F.scaled_dot_product_attention(q, k, v)
        else:
            weights = torch.softmax(q @ k.transpose(-2, -1) * (dim // N_HEADS) ** -0.5, -1)
            out = weights @ v
        return tsa.out_proj(out.transpose(1, 2).reshape(batch, n, dim))

    if method.startswith("TSA"):
        module = tsa
    elif method == "dense SDPA":
        def module(x):
            return dense(x, "sdpa")
    else:
        def module(x):
            return dense(x, "math")

    # warm up kernels and thread pools on a small input
    with torch.no_grad():
        module(torch.randn(1, 16, EMBED_DIM))
    x = torch.randn(BATCH, n_windows, EMBED_DIM)
    x_grad = x.clone().requires_grad_(True)

    def forward():
        with torch.no_grad():
            module(x)

    def forward_backward():
        module(x_grad).sum().backward()
        tsa.zero_grad(set_to_none=True)
        x_grad.grad = None

    result = {}
    for name, fn in (("forward", forward), ("forward+backward", forward_backward)):
        seconds, peak = _measure(fn, repeats)
        result[name] = {"seconds": seconds, "peak_mib": peak}
    return result


# -- driver ---------------------------------------------------------------------
def score_mib(n_windows, method):
    if method == "dense SDPA":
        return None
    rows = min(CHUNK, n_windows) if method == f"TSA chunk={CHUNK}" else n_windows
    return BATCH * N_HEADS * rows * n_windows * 4 / 2**20


def run_config(n_windows, method, threads):
    repeats = 0 if n_windows >= 4096 else (2 if n_windows >= 1024 else 3)
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_sts_attention as b; "
        "print('RESULT', json.dumps(b._worker(int(sys.argv[2]), sys.argv[3], "
        "int(sys.argv[4]), int(sys.argv[5]))))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run(
        [sys.executable, "-c", code, here, str(n_windows), method, str(threads), str(repeats)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)},
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(
        f"configuration n_windows={n_windows}, {method!r} failed:\n{proc.stderr[-2000:]}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-windows", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)

    print(f"batch {BATCH}, embed_dim {EMBED_DIM}, {N_HEADS} heads, top_k {TOP_K}, "
          f"float32, {args.threads} thread(s); one fresh process per row")
    print("peak = measured peak RSS above the RSS before the call; "
          "scores = largest score tensor (computed)\n")
    header = (f"{'n_windows':>9} {'method':<15} {'scores MiB':>10} | {'fwd ms':>9} "
              f"{'fwd peak MiB':>12} | {'fwd+bwd ms':>10} {'f+b peak MiB':>12}")
    print(header)
    print("-" * len(header))
    t_start = time.perf_counter()
    for n_windows in args.n_windows:
        for method in METHODS:
            res = run_config(n_windows, method, args.threads)
            scores = score_mib(n_windows, method)
            cells = []
            for mode in ("forward", "forward+backward"):
                r = res[mode]
                peak = "n/a" if r["peak_mib"] is None else f"{r['peak_mib']:.1f}"
                cells.append((f"{1000 * r['seconds']:.1f}", peak))
            print(f"{n_windows:>9} {method:<15} "
                  f"{'-' if scores is None else f'{scores:.1f}':>10} | "
                  f"{cells[0][0]:>9} {cells[0][1]:>12} | {cells[1][0]:>10} {cells[1][1]:>12}",
                  flush=True)
        print()
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
