"""Bounded fuzzing in CI (issue 8, item 6): a fixed time budget per family.

Each family runs for :data:`BUDGET` seconds from a fixed seed in one worker
process (started once, outside the budgets); any crash, hang, exception other
than ValueError/OSError, or non-finite transformer output fails the test with
the cases that caused it. ``benchmarks/fuzz_campaign.py`` runs the same
generators for as long as wanted.
"""

import tempfile

import pytest

import fuzzlib

#: Seconds of fuzzing per family (three families).
BUDGET = 10.0


@pytest.fixture(scope="module")
def runner():
    with fuzzlib.Runner(timeout=60.0) as r:
        yield r


@pytest.fixture(scope="module")
def bases():
    with tempfile.TemporaryDirectory() as tmp:
        return fuzzlib.base_files(tmp)


def test_runner_counts_a_crash_and_recovers(runner):
    assert runner.run({"family": "selftest", "kind": "segfault"})[0] == "crash"
    assert runner.run(fuzzlib.transform_case(__import__("random").Random(0)))[0] in (
        "ok", "refused")


@pytest.mark.parametrize("family, seed", [("pickle", 11), ("file", 12), ("transform", 13)])
def test_fuzz_family(runner, bases, family, seed):
    counts, findings = fuzzlib.campaign(BUDGET, seed, (family,), runner=runner, bases=bases)
    tried = sum(counts.values())
    assert tried > 20, f"only {tried} {family} cases ran in {BUDGET} s"
    report = "\n".join(f"{outcome} {fam}/{kind}: {detail[:300]}"
                       for fam, kind, outcome, detail, _ in findings[:10])
    assert not findings, f"{len(findings)} of {tried} {family} cases failed:\n{report}"
