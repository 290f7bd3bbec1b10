"""Time DEAP feature extraction: first computation vs the on-disk cache.

Writes a DEAP-sized fixture (``data_preprocessed_python/sXX.dat`` with
``data`` of shape (40, 40, 8064) and ``labels`` (40, 4), seeded random
numbers) to a temporary folder, then times
:meth:`braindecode_m2s.datasets.DEAP.get_trial_features` twice per subject:
once computing DE + LDS features from the pickle, once reading the
:class:`~braindecode_m2s.datasets.io.cache.ArrayCache` entry.

Usage::

    python benchmarks/bench_cache.py [--subjects 2] [--trials 40]
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

from braindecode_m2s.datasets import DEAP


def write_fixture(root, n_subjects, n_trials, seed=0):
    folder = Path(root) / "data_preprocessed_python"
    folder.mkdir(parents=True)
    for subject in range(1, n_subjects + 1):
        rng = np.random.default_rng([seed, subject])
        content = {
            "labels": rng.uniform(1, 9, (n_trials, 4)),
            "data": rng.standard_normal((n_trials, 40, 8064)) * 10,
        }
        (folder / f"s{subject:02d}.dat").write_bytes(pickle.dumps(content, protocol=2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=2)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_fixture(Path(tmp) / "deap", args.subjects, args.trials)
        print(
            f"fixture: {args.subjects} subjects x {args.trials} trials x 40 ch x 8064 "
            f"samples written in {time.perf_counter() - t0:.1f} s"
        )
        dataset = DEAP(path=Path(tmp) / "deap", cache_dir=Path(tmp) / "cache")
        print(f"{'subject':>7} {'first (s)':>10} {'cached (s)':>11} {'speed-up':>9}")
        for subject in range(1, args.subjects + 1):
            t0 = time.perf_counter()
            first = dataset.get_trial_features(subject)
            t1 = time.perf_counter()
            second = dataset.get_trial_features(subject)
            t2 = time.perf_counter()
            assert np.array_equal(first[0].modalities["x"], second[0].modalities["x"])
            print(f"{subject:>7} {t1 - t0:>10.3f} {t2 - t1:>11.3f} {(t1 - t0) / (t2 - t1):>8.0f}x")
        size = sum(p.stat().st_size for p in (Path(tmp) / "cache").glob("*.npz"))
        print(f"cache: {size / 1e6:.1f} MB for {args.subjects} subjects")


if __name__ == "__main__":
    main()
