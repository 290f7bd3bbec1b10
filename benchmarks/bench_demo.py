"""Time ``m2s demo`` and ``m2s demo --quick`` as a user runs them; print the key figures.

Each run is a whole process (``python -m braindecode_m2s demo --no-progress --csv ...``):
interpreter start, imports, data, every fit, the table. Several runs of each; the
median wall time, the CPU time of the process and its workers (user + sys), the load
average before each run and a one-thread matrix-product rate before and after (a loaded
machine inflates wall times: compare CPU times, or measure on a quiet machine). The key
figures come from the last run's CSV: balanced accuracy (%) of each row, M2S from one
modality minus the unimodal model of that modality, and the cross-modal modes against
chance.

Usage::

    python benchmarks/bench_demo.py [--runs 3] [--quick-runs 3] [--skip-full]

Targets: ``m2s demo`` <= 60 s and ``m2s demo --quick`` <= 20 s on two quiet
CPU cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

TARGETS = {"demo": 60.0, "demo --quick": 20.0}


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def matrix_rate(seconds=2.0):
    """Sustained float32 matrix-product rate of one thread now (GFLOP/s): how fast this
    machine is at the moment (a loaded machine gives a fraction of its quiet rate)."""
    import torch

    torch.set_num_threads(1)
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return count * 2 * 512**3 / (time.perf_counter() - start) / 1e9


def _load():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(args, runs, csv):
    """Run ``m2s <args>`` ``runs`` times; one dict per run (wall, cpu, load, exit code)."""
    out = []
    for k in range(runs):
        load = os.getloadavg()[0]
        cpu0, start = _children_cpu(), time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "braindecode_m2s", *args, "--no-progress", "--csv", csv],
            capture_output=True,
            text=True,
        )
        wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
        if proc.returncode != 0:
            sys.exit(f"m2s {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        warnings = sum("warning" in line.lower() for line in proc.stderr.splitlines())
        out.append(dict(run=k, wall_s=wall, cpu_s=cpu, load_1min=load, warning_lines=warnings))
        print(
            f"  m2s {' '.join(args)}: run {k}: {wall:.1f} s wall, {cpu:.1f} s CPU, load "
            f"{load:.2f} before, {warnings} warning line(s)",
            flush=True,
        )
    return out, proc.stdout


def key_figures(csv):
    """The table's key figures from the demo's CSV (scores in %)."""
    from braindecode_m2s.demo import CHANCE, PERCENT_COLUMNS, demo_table

    rows = pd.read_csv(csv)
    results = rows.assign(
        session=rows["session"].astype(str),
        **{column: rows[name] / 100 for column, name in PERCENT_COLUMNS.items()},
    )
    table = demo_table(results)
    several = len(results.groupby(["subject", "seed"])) > 1
    lines = [
        f"    {r.model:<26} {r.mode:<13} {r.balanced_accuracy_mean:5.1f}"
        + (f" ± {r.balanced_accuracy_std:4.1f}" if several else "")
        + f" %   kappa {r.kappa_mean:5.1f} %"
        for r in table.itertuples()
    ]
    score = {(r.pipeline, r.setting): r.balanced_accuracy_mean for r in table.itertuples()}
    for key, name in (("eeg", "EEG"), ("eye", "eye")):
        setting = f"{key}2{key}"
        if ("unimodal", setting) in score:
            diff = score[("M2S", setting)] - score[("unimodal", setting)]
            lines.append(f"    M2S {key}->{key} - unimodal {name}: {diff:+.1f} points")
    for setting in ("eeg2eye", "eye2eeg"):
        above = score[("M2S", setting)] - CHANCE
        mode = setting.replace("2", "->")
        lines.append(f"    M2S {mode}: {above:+.1f} points above chance ({CHANCE:.0f} %)")
    return "\n".join(lines)


def summary(name, runs):
    wall = statistics.median(r["wall_s"] for r in runs)
    cpu = statistics.median(r["cpu_s"] for r in runs)
    load = statistics.median(r["load_1min"] for r in runs)
    met = "met" if wall <= TARGETS[name] else "NOT met"
    return (
        f"m2s {name}: median {wall:.1f} s wall ({met}: target {TARGETS[name]:.0f} s), "
        f"{cpu:.1f} s CPU (user + sys, with its workers), over {len(runs)} runs; median "
        f"1-min load before a run {load:.2f}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of m2s demo (default 3)")
    parser.add_argument(
        "--quick-runs", type=int, default=3, help="runs of m2s demo --quick (default 3)"
    )
    parser.add_argument("--skip-full", action="store_true", help="time --quick only")
    args = parser.parse_args(argv)
    print(
        f"machine: {_cpu_model()}, {os.cpu_count()} logical CPUs; python "
        f"{platform.python_version()}; load average {_load()}",
        flush=True,
    )
    print(f"one-thread float32 matrix rate before: {matrix_rate():.0f} GFLOP/s", flush=True)
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        for name, extra, runs in (
            ("demo --quick", ["--quick"], args.quick_runs),
            ("demo", [], 0 if args.skip_full else args.runs),
        ):
            if runs < 1:
                continue
            csv = str(Path(tmp) / f"{name.replace(' ', '_')}.csv")
            timed, stdout = time_command(["demo", *extra], runs, csv)
            lines.append(summary(name, timed))
            lines.append(key_figures(csv))
            last_table = stdout
    print("\n".join(lines))
    print(f"load average after: {_load()}")
    print(f"one-thread float32 matrix rate after: {matrix_rate():.0f} GFLOP/s")
    print("\nlast table printed by m2s:\n" + last_table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
