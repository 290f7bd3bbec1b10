"""Cost of the MATLAB v5 structure check that runs before scipy reads a file.

Writes a SEED-like preprocessed-EEG file (``<n_trials>`` variables of shape
(62, n_times), float64; uncompressed as scipy writes by default, and
zlib-compressed as MATLAB's ``-v7`` writes), then times, best of
``--repeat`` runs each:

- ``scipy.io.loadmat`` alone (what a reader without the check costs);
- :func:`~braindecode_m2s.datasets.io.matv5.check_mat_v5` alone;
- the first :func:`~braindecode_m2s.datasets.io.mat.load_mat` of a file
  version (check + load) and a repeated one (the check is remembered per
  file version in the process);
- a cached feature load: :class:`~braindecode_m2s.datasets.io.cache.ArrayCache`
  serving the converted arrays, which never calls scipy.

Usage::

    python benchmarks/bench_mat_check.py [--n-trials 15] [--n-times 20001] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.io

from braindecode_m2s.datasets.io import mat
from braindecode_m2s.datasets.io.cache import ArrayCache
from braindecode_m2s.datasets.io.matv5 import check_mat_v5


def best_of(repeat, func):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def write_file(path, n_trials, n_times, compress):
    rng = np.random.default_rng(0)
    arrays = {f"djc_eeg{k}": rng.standard_normal((62, n_times)) for k in range(1, n_trials + 1)}
    scipy.io.savemat(path, arrays, do_compression=compress)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=15)
    parser.add_argument("--n-times", type=int, default=20001)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        f"{'file':>12} {'MB':>6} {'loadmat':>8} {'check':>7} {'first':>7} {'ratio':>6} "
        f"{'repeat':>7} {'cached':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for compress in (False, True):
            path = Path(tmp) / f"eeg_{int(compress)}.mat"
            write_file(path, args.n_trials, args.n_times, compress)
            plain = best_of(args.repeat, lambda: scipy.io.loadmat(str(path)))
            check = best_of(args.repeat, lambda: check_mat_v5(path))

            def first():
                mat._CHECKED_V5.clear()
                mat.load_mat(path)

            first_t = best_of(args.repeat, first)
            repeat_t = best_of(args.repeat, lambda: mat.load_mat(path))
            cache = ArrayCache(Path(tmp) / "cache")
            cache.get_or_compute(path.name, lambda: mat.load_mat(path), sources=[path])
            cached = best_of(
                args.repeat,
                lambda: cache.get_or_compute(path.name, lambda: mat.load_mat(path), [path]),
            )
            name = "compressed" if compress else "plain"
            print(
                f"{name:>12} {path.stat().st_size / 1e6:>6.0f} {plain:>8.3f} {check:>7.3f} "
                f"{first_t:>7.3f} {first_t / plain:>6.2f} {repeat_t:>7.3f} {cached:>7.3f}"
            )
    print("seconds, best of", args.repeat, "; ratio = first load_mat / plain loadmat")


if __name__ == "__main__":
    main()
