"""Bounded fuzzing in CI (file readers, hostile pickles and archives, store
records, model folders and skorch histories): a fixed, seeded number of cases
per family.

Each family runs :data:`N_CASES` cases from a fixed seed in one worker
process (started once, outside the count), so a run is the same on every
machine, however loaded; any crash, hang, exception other than
ValueError/OSError, non-finite transformer output, read over its budget
(:func:`fuzzlib.time_budget`, :func:`fuzzlib.memory_budget`) or read outside
the tree (the runner watches the canary FIFO the hostile files point at)
fails the test with the cases that caused it. ``benchmarks/fuzz_campaign.py``
runs the same generators for as long as wanted.
"""

import random
import tempfile

import fuzzlib
import pytest

#: Cases per family, from a fixed seed.
N_CASES = {
    "pickle": 600,
    "file": 300,
    "transform": 80,
    "record": 300,
    "model": 300,
    "history": 300,
}


@pytest.fixture(scope="module")
def tree():
    with tempfile.TemporaryDirectory() as tmp:
        yield tmp, fuzzlib.base_files(tmp)


@pytest.fixture(scope="module")
def runner(tree):
    with fuzzlib.Runner(timeout=60.0, canaries=fuzzlib.canaries(tree[0])) as r:
        yield r


def test_runner_counts_a_crash_and_recovers(runner):
    assert runner.run({"family": "selftest", "kind": "segfault"})[0] == "crash"
    assert runner.run(fuzzlib.transform_case(random.Random(0)))[0] in ("ok", "refused")


def test_runner_sees_a_canary_opened(tree):
    import os
    import threading

    fifo = fuzzlib.canaries(tree[0])[0]
    reader = threading.Thread(target=lambda: os.close(os.open(fifo, os.O_RDONLY)))
    reader.start()
    runner = fuzzlib.Runner(canaries=[fifo])
    for _ in range(500):
        if runner._canary_opened():
            break
        reader.join(0.01)
    else:
        pytest.fail("the runner never saw the FIFO opened")
    reader.join(5)


def test_hostile_bases_present(tree):
    kinds = [k for k in tree[1] if k.startswith("hostile:")]
    assert any("v73_external_fifo" in k for k in kinds)
    assert any("set_hash_collisions" in k for k in kinds)
    assert any("v5_zeros_after_matrix" in k for k in kinds)


@pytest.mark.parametrize(
    "family, seed",
    [
        ("pickle", 11),
        ("file", 12),
        ("transform", 13),
        ("record", 14),
        ("model", 15),
        ("history", 16),
    ],
)
def test_fuzz_family(runner, tree, family, seed):
    counts, findings = fuzzlib.campaign(
        seed=seed, families=(family,), runner=runner, bases=tree[1], n_cases=N_CASES[family]
    )
    assert sum(counts.values()) == N_CASES[family]
    report = "\n".join(
        f"{outcome} {fam}/{kind}: {detail[:300]}"
        for fam, kind, outcome, detail, _ in findings[:10]
    )
    assert not findings, f"{len(findings)} of {N_CASES[family]} {family} cases failed:\n{report}"
