"""On-demand fuzz campaign: hostile inputs against the readers and transformers.

Runs the three case families of ``tests/fuzz/fuzzlib.py`` (structured and
mutated pickles; mutated MATLAB v5 / v7.3, pickle, ``.npz`` and ``.cnt``
files read through the dataset readers; random feature-transformer inputs)
round-robin for ``--budget`` seconds, each case in a worker process that is
restarted when a case kills it, and prints the inputs tried and the outcomes
by kind: ok, refused (ValueError / OSError, the package's promise), and the
failures crash, hang, wrong_exception, non_finite. Failing inputs are saved
under ``--out`` (one ``.pkl`` per finding: the case dict, trusted output of
this script) with a line per finding on stdout.

Usage::

    python benchmarks/fuzz_campaign.py --budget 300 --seed 1 [--families pickle file]
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
    parser.add_argument("--budget", type=float, default=300.0, help="seconds of fuzzing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", nargs="+", default=["pickle", "file", "transform"],
                        choices=["pickle", "file", "transform"])
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds before a case counts as a hang")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the failing cases (default: none saved)")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    with fuzzlib.Runner(timeout=args.timeout) as runner:
        counts, findings = fuzzlib.campaign(args.budget, args.seed, tuple(args.families),
                                            runner=runner, report_every=60)
        restarts = runner.restarts
    elapsed = time.monotonic() - t0
    total = sum(counts.values())
    print(f"\nseed {args.seed}, budget {args.budget:g} s ({elapsed:.0f} s with start-up): "
          f"{total} inputs tried, worker restarts {restarts}")
    header = f"{'family':>10}" + "".join(f"{o:>16}" for o in fuzzlib.OUTCOMES)
    print(header)
    for family in args.families:
        row = "".join(f"{counts[(family, o)]:>16}" for o in fuzzlib.OUTCOMES)
        print(f"{family:>10}{row}")
    by_kind = {}
    for family, kind, outcome, detail, case in findings:
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
