"""Rerun every benchmark of ``docs/benchmarks.md`` and print their tables.

Usage::

    python benchmarks/run_all.py [--reference PATH/TO/Multi-to-Single] [--device cpu]
        [--mixed-precision bf16] [--quick]

``--quick`` runs each benchmark at its smallest setting (a smoke run). The loading,
cache and MAT-check benchmarks read files: they take no device.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--mixed-precision",
        choices=["no", "bf16"],
        default="no",
        help="for the compute benchmarks (bench_mixed_precision always compares both)",
    )
    args = parser.parse_args(argv)
    precision = ["--mixed-precision", args.mixed_precision]
    runs = [
        ["bench_vs_reference.py", "--device", args.device, *precision]
        + (["--reference", args.reference] if args.reference else [])
        + (["--repeats", "1"] if args.quick else []),
        ["bench_throughput.py", "--device", args.device, *precision]
        + (["--repeats", "1", "--batch", "32"] if args.quick else []),
        ["bench_mixed_precision.py", "--device", args.device]
        + (["--seeds", "0", "--pretrain-epochs", "2", "--epochs", "2"] if args.quick else []),
        ["bench_sts_attention.py", "--device", args.device, *precision]
        + (["--windows", "5", "--repeats", "1"] if args.quick else []),
        ["bench_loading.py"]
        + (
            ["--seed-iv-subjects", "1", "--deap-subjects", "1", "--repeat", "1"]
            if args.quick
            else []
        ),
        ["bench_cache.py"],
        ["bench_mat_check.py"],
    ]
    failed = []
    for run in runs:
        script = HERE / run[0]
        if not script.exists():
            continue
        print(f"\n=== {' '.join(run)} ===", flush=True)
        if subprocess.call([sys.executable, str(script), *run[1:]]) != 0:
            failed.append(run[0])
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
