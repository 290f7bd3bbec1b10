"""The store vouches for what it reports .

A record is read as untrusted input: another task's record, a score its
predictions do not give, a non-finite number, malformed JSON, a link or a
FIFO in its place are each reported once (a RecordWarning naming the file)
and treated as missing: the task runs again and the table is the one of an
untouched store. The hostile files (links to /dev/zero, FIFOs, deep nesting,
huge numbers) are read in a child process under memory, CPU and wall-clock
limits.
"""

import json
import math
import random
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from isolation import LIMIT_MEMORY, describe, run_isolated
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, cohen_kappa_score

from braindecode_m2s.cli import main
from braindecode_m2s.evaluation import evaluate
from braindecode_m2s.evaluation.evaluations import plan
from braindecode_m2s.evaluation.records import (
    RecordError,
    check_record,
    parse_record,
    prediction_scores,
)
from braindecode_m2s.evaluation.store import RecordWarning, ResultStore, digest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _grid_run  # noqa: E402


def grid(store):
    """Two logistic-regression tasks (two subjects), the table and the records' paths."""
    X, y, meta = _grid_run.data()
    pipes = _grid_run.pipelines(LogisticRegression)
    kw = dict(dataset="SEED-IV", settings=["eeg2eeg"], seeds=[0], store=store)
    return lambda: evaluate(pipes, X, y, meta, **kw), lambda: plan(pipes, X, y, meta, **kw)


@pytest.fixture
def done(tmp_path):
    """A finished grid: (rerun, plan maker, table, record paths of its tasks)."""
    run, make_plan = grid(tmp_path / "store")
    table = run()
    tasks = make_plan().tasks
    paths = [tmp_path / "store" / "tasks" / t.key[:2] / f"{t.key}.json" for t in tasks]
    return run, make_plan, table, paths


def rerun_warns_once(run, path):
    """Rerun; exactly one RecordWarning, naming ``path``; returns the table."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = run()
    ours = [w for w in caught if issubclass(w.category, RecordWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert str(path) in str(ours[0].message)
    assert "treats it as missing" in str(ours[0].message)
    return table


def same(a, b):
    pd.testing.assert_frame_equal(a.drop(columns="time"), b.drop(columns="time"))


def edit(path, change):
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


# -- records are checked against their task and their predictions ----------------
def test_record_saved_under_another_tasks_name_is_recomputed(done):
    run, make_plan, table, paths = done
    paths[1].write_bytes(paths[0].read_bytes())  # two rows the same, one lost, before
    again = rerun_warns_once(run, paths[1])
    same(again, table)
    assert make_plan().status()[0] == dict(done=2, failed=0, pending=0, total=2)


def _set(field, value):
    def change(record):
        record["row"][field] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        _set("score", 0.99),
        _set("balanced_accuracy", 0.99),
        _set("kappa", 0.5),
        _set("score", float("nan")),
        _set("kappa", float("inf")),
        _set("time", -1.0),
        _set("samples_test", 3),
        _set("pipeline", "other"),
        _set("seed", 1),
        lambda r: r["predictions"]["y_pred"].reverse(),
        lambda r: r["config"].update(seed=1),
        lambda r: r.update(kind="pretrain"),
    ],
    ids=[
        "score",
        "balanced_accuracy",
        "kappa",
        "nan",
        "inf",
        "negative_time",
        "samples_test",
        "pipeline",
        "seed",
        "predictions",
        "config",
        "kind",
    ],
)
def test_edited_record_is_recomputed(done, change):
    run, _, table, paths = done
    edit(paths[0], change)
    same(rerun_warns_once(run, paths[0]), table)


def test_huge_number_text_is_recomputed(done):
    # 1e999999 is read as inf by json: a non-finite score
    run, _, table, paths = done
    text = paths[0].read_text()
    score = json.loads(text)["row"]["score"]
    paths[0].write_text(text.replace(f'"score":{score!r}', '"score":1e999999', 1))
    assert "1e999999" in paths[0].read_text()
    same(rerun_warns_once(run, paths[0]), table)


def test_scores_of_predictions_are_scikit_learns():
    rng = random.Random(0)
    for i in range(300):
        n, k = rng.randint(1, 40), rng.randint(1, 5)
        labels = "abcde"[:k] if i % 2 else range(k)
        y_true = [rng.choice(list(labels)) for _ in range(n)]
        y_pred = [rng.choice(list(labels)) for _ in range(n)]
        got = prediction_scores(y_true, y_pred)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = dict(
                score=accuracy_score(y_true, y_pred),
                balanced_accuracy=balanced_accuracy_score(y_true, y_pred),
                kappa=cohen_kappa_score(y_true, y_pred),
            )
        for name, value in want.items():
            if math.isnan(value):
                assert math.isnan(got[name])
            else:
                assert got[name] == pytest.approx(value, abs=1e-12)


def test_undefined_kappa_of_its_predictions_is_accepted(done):
    # one class, predicted throughout: kappa is NaN for scikit-learn too
    _, _, _, paths = done
    record = json.loads(paths[0].read_text())
    n = record["row"]["samples_test"]
    record["predictions"] = {"y_true": [1] * n, "y_pred": [1] * n}
    record["row"].update(score=1.0, balanced_accuracy=1.0, kappa=float("nan"))
    assert check_record(record, record["key"], digest) is record
    record["row"]["kappa"] = 0.0  # a number where the predictions give none
    with pytest.raises(RecordError, match="kappa"):
        check_record(record, record["key"], digest)


def test_a_fit_record_may_hold_its_epoch_history(done):
    # what the figures draw: epochs as dicts of numbers, nothing else
    _, _, _, paths = done
    record = json.loads(paths[0].read_text())
    record["history"] = [{"epoch": 1, "train_loss": 1.5, "dur": 0.1}, {"epoch": 2}]
    assert check_record(record, record["key"], digest) is record
    for bad in ({"epoch": 1}, [{"train_loss": "1.5"}], [[1.5]], [{"epoch": True}]):
        record["history"] = bad
        with pytest.raises(RecordError, match="history"):
            check_record(record, record["key"], digest)


# -- malformed records are missing, never a traceback ----------------------------
def _dump(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def _deep(n):
    return ("[" * n + "]" * n).encode()


MALFORMED = {
    "deep_nesting": lambda r: _deep(100_000),
    "nesting_past_the_limit": lambda r: _dump({**r, "extra": json.loads(_deep(70))}),
    "json_list": lambda r: _dump([r]),
    "json_string": lambda r: b'"done"',
    "invalid_utf8": lambda r: _dump(r)[:-5] + b"\xff\xfe" + b'"}}}',
    "latin1_in_a_string": lambda r: _dump(r).replace(b'"done"', b'"d\xf6ne"'),
    "truncated": lambda r: _dump(r)[:50],
    "empty": lambda r: b"",
    "done_without_row": lambda r: _dump({k: v for k, v in r.items() if k != "row"}),
    "row_is_a_list": lambda r: _dump({**r, "row": list(r["row"].values())}),
    "status_is_a_list": lambda r: _dump({**r, "status": ["done"]}),
    "key_is_a_list": lambda r: _dump({**r, "key": [r["key"]]}),
    "config_is_a_list": lambda r: _dump({**r, "config": [r["config"]]}),
    "pipeline_is_a_list": lambda r: _dump(
        {**r, "row": {**r["row"], "pipeline": [r["row"]["pipeline"]]}}
    ),
    "predictions_are_a_list": lambda r: _dump({**r, "predictions": [1, 2]}),
    "labels_are_dicts": lambda r: _dump(
        {**r, "predictions": {"y_true": [{}] * 16, "y_pred": [{}] * 16}}
    ),
    "failed_without_traceback": lambda r: _dump(
        {**{k: v for k, v in r.items() if k not in ("row", "predictions")}, "status": "failed"}
    ),
    "huge_integer": lambda r: _dump(r).replace(b'"seed":0', b'"seed":' + b"9" * 5000),
    "big_integer_time": lambda r: _dump({**r, "row": {**r["row"], "time": 10**400}}),
    "status_unknown": lambda r: _dump({**r, "status": "maybe"}),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_record_is_missing_and_recomputed(done, name):
    run, make_plan, table, paths = done
    record = json.loads(paths[0].read_text())
    paths[0].write_bytes(MALFORMED[name](record))
    store = ResultStore(paths[0].parents[2])
    with pytest.warns(RecordWarning, match="treats it as missing") as caught:
        assert store.read(record["key"]) is None
        assert store.read(record["key"]) is None  # warned once per store
    assert len(caught) == 1 and str(paths[0]) in str(caught[0].message)
    same(rerun_warns_once(run, paths[0]), table)


def test_parse_record_bounds_depth_before_parsing():
    assert parse_record(b'{"a": [[["x"]]], "b": "[[[[[["}', max_depth=4) == {
        "a": [[["x"]]],
        "b": "[[[[[[",
    }
    with pytest.raises(RecordError, match="deeper than 3"):
        parse_record(b'{"a": [[["x"]]]}', max_depth=3)


def test_blank_traceback_under_status(tmp_path, capsys):
    args = ["evaluate", "--dataset", "synthetic", "--quick", "--pipelines", "DE+LR"]
    args += ["--settings", "eeg2eeg", "--no-progress", "--out", str(tmp_path)]
    assert main(args) == 0
    path = next((tmp_path / "store" / "tasks").rglob("*.json"))
    record = json.loads(path.read_text())
    for key in ("row", "predictions"):
        record.pop(key)
    record.update(status="failed", traceback="  \n ")
    path.write_text(json.dumps(record))
    capsys.readouterr()
    assert main([*args, "--status"]) == 0
    out = capsys.readouterr().out
    assert "failed 1" in out and f"(task {record['key'][:12]}): (no traceback recorded)" in out


def test_done_stage_one_record_without_its_artifact_is_missing(tmp_path):
    from braindecode_m2s.evaluation.pipelines import SMALL_M2S, make_m2s

    X, y, meta = _grid_run.data()
    keep = (meta["subject"] == 1).to_numpy()
    X, y, meta = X[keep], y[keep], meta[keep].reset_index(drop=True)
    kw = dict(dataset="SEED-IV", settings=["eeg2eeg"], seeds=[0], store=tmp_path)
    pipes = {"M2S": make_m2s(max_epochs=1, **SMALL_M2S)}
    first = evaluate(pipes, X, y, meta, **kw)
    artifact = next((tmp_path / "artifacts").rglob("*.pt"))
    artifact.unlink()
    for task in plan(pipes, X, y, meta, **kw).fit_tasks:  # the mode must be refitted too
        (tmp_path / "tasks" / task.key[:2] / f"{task.key}.json").unlink()
    with pytest.warns(RecordWarning, match="artifact"):
        again = evaluate(pipes, X, y, meta, **kw)
    assert artifact.is_file()
    same(again, first)


# -- links, FIFOs, huge files and numbers, in a child under limits ---------------
_CHILD = (
    textwrap.dedent("""
    import json, os, resource, sys, warnings
    sys.path.insert(0, os.path.join(os.getcwd(), "tests", "evaluation"))
    import _grid_run
    from sklearn.linear_model import LogisticRegression
    from braindecode_m2s.evaluation import evaluate
    from braindecode_m2s.evaluation.evaluations import plan
    from braindecode_m2s.evaluation.store import ResultStore, MAX_RECORD_BYTES

    X, y, meta = _grid_run.data()
    pipes = _grid_run.pipelines(LogisticRegression)
    kw = dict(dataset="SEED-IV", settings=["eeg2eeg"], seeds=[0])
    reference = evaluate(pipes, X, y, meta, **kw)  # every import done before the limits
""")
    + LIMIT_MEMORY
    + textwrap.dedent("""
    resource.setrlimit(resource.RLIMIT_CPU, (120, 120))
    folder, cases = sys.argv[1], sys.argv[2:]

    def hostile(case, path):
        if case == "link_to_dev_zero":
            os.symlink("/dev/zero", path)
        elif case == "link_to_a_record":
            os.symlink(path.with_name("elsewhere.json"), path)
        elif case == "fifo":
            os.mkfifo(path)
        elif case == "sparse_over_the_cap":
            with open(path, "wb") as f:
                f.truncate(MAX_RECORD_BYTES + 1)
        elif case == "deep_nesting_10M":
            path.write_bytes(b"[" * 10_000_000 + b"]" * 10_000_000)
        elif case == "long_float":
            path.write_bytes(b'{"key": 1' + b"0" * 20_000_000 + b"e-20000000}")
        elif case == "long_integer":
            path.write_bytes(b'{"key": ' + b"7" * 20_000_000 + b"}")
        elif case == "big_exponent":
            path.write_bytes(b'{"key": 1e999999, "status": "done", "row": {"score": -1e999999}}')

    for case in cases:
        store = os.path.join(folder, case)
        out = {}
        try:
            evaluate(pipes, X, y, meta, store=store, **kw)
            if case.startswith("marker_"):
                marker = os.path.join(store, "STORE.json")
                os.unlink(marker)
                if case == "marker_link_to_dev_zero":
                    os.symlink("/dev/zero", marker)
                else:
                    os.mkfifo(marker)
                try:
                    ResultStore(store)
                    out["result"] = "opened"
                except ValueError as err:
                    out["result"] = "refused"
                    out["message"] = str(err)
            else:
                task = plan(pipes, X, y, meta, store=store, **kw).tasks[0]
                from pathlib import Path
                path = Path(store) / "tasks" / task.key[:2] / (task.key + ".json")
                os.replace(path, path.with_name("elsewhere.json"))
                hostile(case, path)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    again = evaluate(pipes, X, y, meta, store=store, **kw)
                cut = lambda t: t.drop(columns="time")
                out["result"] = "same" if cut(again).equals(cut(reference)) else "different"
                out["warnings"] = [str(w.message) for w in caught
                                   if w.category.__name__ == "RecordWarning"]
                out["path"] = str(path)
                out["regular_now"] = path.is_file() and not path.is_symlink()
        except BaseException as err:
            out["result"] = "error"
            out["message"] = f"{type(err).__name__}: {str(err)[:500]}"
        print(json.dumps({case: out}), flush=True)
""")
)

RECORD_CASES = [
    "link_to_dev_zero",
    "link_to_a_record",
    "fifo",
    "sparse_over_the_cap",
    "deep_nesting_10M",
    "long_float",
    "long_integer",
    "big_exponent",
]
MARKER_CASES = ["marker_link_to_dev_zero", "marker_fifo"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile_records")
    proc = run_isolated(_CHILD, folder, *RECORD_CASES, *MARKER_CASES, timeout=300)
    assert proc.returncode == 0, describe(proc)
    found = {}
    for line in proc.stdout.splitlines():
        found.update(json.loads(line))
    assert set(found) == set(RECORD_CASES + MARKER_CASES), describe(proc)
    return found


@pytest.mark.parametrize("case", RECORD_CASES)
def test_hostile_record_is_missing_and_recomputed(hostile, case):
    out = hostile[case]
    assert out["result"] == "same", out
    assert len(out["warnings"]) == 1 and out["path"] in out["warnings"][0], out
    assert out["regular_now"], out  # the rerun's record replaced the link or FIFO


@pytest.mark.parametrize("case", MARKER_CASES)
def test_hostile_store_marker_is_refused_unread(hostile, case):
    out = hostile[case]
    assert out["result"] == "refused" and "STORE.json" in out["message"], out


def test_record_over_the_size_cap_is_not_read(done, monkeypatch):
    from braindecode_m2s.evaluation import store as store_module

    _, _, _, paths = done
    monkeypatch.setattr(store_module, "MAX_RECORD_BYTES", 100)
    store = ResultStore(paths[0].parents[2])
    with pytest.warns(RecordWarning, match="expected at most 100"):
        assert store.read(paths[0].stem) is None


def test_real_records_nest_far_below_the_limit(done):
    from braindecode_m2s.evaluation.records import MAX_DEPTH, _depth_ok

    _, _, _, paths = done
    text = paths[0].read_text()
    assert _depth_ok(text, 12) and MAX_DEPTH >= 64
    assert np.isfinite(json.loads(text)["row"]["score"])


def test_folder_in_place_of_a_record_is_missing(done):
    _, _, _, paths = done
    key = paths[0].stem
    paths[0].unlink()
    paths[0].mkdir()
    store = ResultStore(paths[0].parents[2])
    with pytest.warns(RecordWarning, match="is a folder") as caught:
        for _ in range(3):  # no descriptor left open, one warning
            assert store.read(key) is None
    assert len(caught) == 1
