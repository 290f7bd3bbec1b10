"""On-demand fuzz campaign: hostile inputs against the readers and transformers.

Runs the six case families of ``tests/fuzz/fuzzlib.py`` round-robin, each
case in a worker process that is restarted when a case kills it:

- ``pickle``: structured pickles, pickles aimed at the budgets (colliding
  keys, deep nesting, big integers, memo indices, DUP / BINGET runs, lone
  surrogates), mutated numpy pickles and mutated hostile pickles of
  ``tests/datasets/hostile_files.py``;
- ``file``: mutated MATLAB v5 (plain, compressed, zip bombs), MATLAB v7.3
  (external storage, external and soft links, virtual datasets, unallocated
  datasets, empty cells, reference DAGs and cycles, plugin filters), pickle,
  ``.npz`` and ``.cnt`` files, read through the dataset readers;
- ``transform``: random feature-transformer inputs;
- ``record``: task records of the evaluation store, valid ones mutated once
  (types, nesting, sizes, encodings, keys, configurations, scores, numbers;
  links, FIFOs, folders and sparse files in their place; ``STORE.json``):
  each must be accepted with scikit-learn's scores of its predictions
  (ok) or treated as missing with one warning naming it (refused);
- ``model``: model folders of ``M2S.save_pretrained`` changed once
  (``config.json``: types, sizes, keys, activation names, nesting,
  encodings; weights: safetensors headers, tensors, truncation, bytes;
  ``pytorch_model.bin`` from a simulated Hub: zip bombs, huge storages,
  pickles that call code; links, FIFOs, folders, sparse files), read by
  ``M2S.from_pretrained``;
- ``history``: skorch histories changed once, read by
  ``M2SClassifier.load_params(f_history=...)`` (path, open file,
  checkpoint), one accepted case in ten trained on for an epoch. Both: a
  valid model or history (ok), or a ``ValueError`` / ``FileNotFoundError``
  naming the file (refused).

It stops after ``--cases`` inputs (reproducible: same seed, same inputs) or
``--budget`` seconds, and prints the inputs tried and the outcomes by
family: ok, refused (ValueError / OSError, the package's promise), and the
failures crash, hang, wrong_exception (any other exception type),
non_finite, budget_breach (a read over :func:`fuzzlib.time_budget` CPU seconds
or :func:`fuzzlib.memory_budget` bytes of peak memory) and outside_read (a
read opened the canary FIFO outside the tree, or returned the canary file's
bytes); then the rate. Failing inputs are saved under ``--out`` (one
``.pkl`` per finding: the case dict, trusted output of this script) with a
line per finding on stdout.

Usage::

    python benchmarks/fuzz_campaign.py --cases 1000000 --seed 1 [--families pickle file]
    python benchmarks/fuzz_campaign.py --budget 600 --seed 1
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fuzz"))

import fuzzlib  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--cases", type=int, default=None, help="inputs to try")
    stop.add_argument("--budget", type=float, default=None, help="seconds of fuzzing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--families",
        nargs="+",
        default=list(fuzzlib.FAMILIES),
        choices=list(fuzzlib.FAMILIES),
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds before a case counts as a hang"
    )
    parser.add_argument(
        "--report-every", type=float, default=60.0, help="seconds between progress lines"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the failing cases (default: none saved)"
    )
    args = parser.parse_args(argv)
    if args.cases is None and args.budget is None:
        args.budget = 300.0
    t0 = time.monotonic()
    counts, findings = fuzzlib.campaign(
        args.budget,
        args.seed,
        tuple(args.families),
        report_every=args.report_every,
        n_cases=args.cases,
        timeout=args.timeout,
    )
    elapsed = time.monotonic() - t0
    total = sum(counts.values())
    limit = f"{args.cases} cases" if args.cases is not None else f"budget {args.budget:g} s"
    print(
        f"\nseed {args.seed}, {limit}: {total} inputs tried in {elapsed:.0f} s "
        f"({total / elapsed:.1f} inputs/s, start-up included)"
    )
    header = f"{'family':>10}" + "".join(f"{o:>16}" for o in fuzzlib.OUTCOMES)
    print(header)
    for family in args.families:
        row = "".join(f"{counts[(family, o)]:>16}" for o in fuzzlib.OUTCOMES)
        print(f"{family:>10}{row}")
    row = "".join(f"{sum(counts[(f, o)] for f in args.families):>16}" for o in fuzzlib.OUTCOMES)
    print(f"{'all':>10}{row}")
    by_kind = {}
    for family, kind, outcome, detail, _case in findings:
        by_kind.setdefault((family, kind, outcome), []).append(detail)
    print(f"\nfailures: {len(findings)}")
    for (family, kind, outcome), details in sorted(by_kind.items()):
        print(f"  {outcome:>15} {family}/{kind}: {len(details)}  e.g. {details[0][:160]!r}")
    if args.out is not None and findings:
        args.out.mkdir(parents=True, exist_ok=True)
        for i, finding in enumerate(findings):
            (args.out / f"finding_{i:04d}.pkl").write_bytes(pickle.dumps(finding))
        print(f"saved {len(findings)} failing cases under {args.out}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
