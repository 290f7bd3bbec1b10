"""Task store, task graph, resume after a kill, and the Dask / Ray / submitit backends."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from braindecode_m2s import make_synthetic_emotion
from braindecode_m2s.evaluation import ModalitySelect, evaluate
from braindecode_m2s.evaluation.evaluations import TaskFailedError, plan
from braindecode_m2s.evaluation.pipelines import SMALL_M2S, make_m2s
from braindecode_m2s.evaluation.store import ResultStore, atomic_write_text, digest
from braindecode_m2s.evaluation.tasks import describe

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import _grid_run  # noqa: E402

SETTINGS = {"LR": ["eeg2eeg", "multimodal"], "M2S": ["eeg2eeg", "eeg2eye"]}


@pytest.fixture(scope="module")
def data():
    return make_synthetic_emotion(
        n_subjects=2,
        n_sessions=1,
        n_chans=6,
        n_eye_features=4,
        n_windows=(10, 12),
        sequence_length=5,
        seed=0,
    )


def lr():
    return make_pipeline(
        ModalitySelect(None, average_windows=True),
        StandardScaler(),
        LogisticRegression(max_iter=200),
    )


def grid():
    return {"LR": lr(), "M2S": make_m2s(max_epochs=1, **SMALL_M2S)}


@pytest.fixture(scope="module")
def one(data):
    """One subject-session: one fold (one M2S pretraining, two modes, two LR rows)."""
    X, y, meta = data
    keep = (meta["subject"] == 1).to_numpy()
    return X[keep], y[keep], meta[keep].reset_index(drop=True)


def run(data, **kw):
    X, y, meta = data
    return evaluate(grid(), X, y, meta, dataset="SEED-IV", settings=SETTINGS, seeds=[0], **kw)


@pytest.fixture(scope="module")
def serial(one, tmp_path_factory):
    store = tmp_path_factory.mktemp("serial_store")
    return run(one, store=store), store


def same(a, b):
    pd.testing.assert_frame_equal(a.drop(columns="time"), b.drop(columns="time"))


# -- store and graph ---------------------------------------------------------------------
def test_atomic_write_and_store_marker(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "x" * 10)
    assert (tmp_path / "a.txt").read_text() == "x" * 10
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "STORE.json").write_text("{}")
    with pytest.raises(ValueError, match="not a braindecode-m2s store"):
        ResultStore(tmp_path / "bad")
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match="is a file"):
        ResultStore(tmp_path / "file")


def test_description_is_stable_and_parameter_sensitive():
    a, b = describe(lr()), describe(lr())
    assert digest(a) == digest(b)
    other = lr().set_params(logisticregression__C=0.5)
    assert digest(describe(other)) != digest(a)
    json.dumps(describe(make_m2s(max_epochs=1, **SMALL_M2S)))  # serialisable


def test_graph_shares_stage_one_between_modes(data, tmp_path):
    X, y, meta = data
    p = plan(
        grid(), X, y, meta, dataset="SEED-IV", settings=SETTINGS, seeds=[0, 1], store=tmp_path
    )
    # 2 folds x 2 seeds: 4 pretrainings feed 8 M2S rows; 8 LR rows are independent
    assert p.fits == dict(tasks=16, pretrain_tasks=4, flat_fits=24, graph_fits=20, saved=4)
    m2s = [t for t in p.fit_tasks if t.config["pipeline"] == "M2S"]
    assert all(t.depends_on and t.depends_on[0] in {u.key for u in p.tasks} for t in m2s)
    modes = {}
    for t in m2s:
        modes.setdefault(t.depends_on, set()).add(t.config["setting"])
    assert all(v == {"eeg2eeg", "eeg2eye"} for v in modes.values())
    keys = [t.key for t in p.tasks]
    assert len(set(keys)) == len(keys)
    again = plan(
        grid(), X, y, meta, dataset="SEED-IV", settings=SETTINGS, seeds=[0, 1], store=tmp_path
    )
    assert [t.key for t in again.tasks] == keys  # content-addressed: same config, same key


def _every_parameter_changed():
    """An M2SClassifier with every kind of parameter away from its default."""
    import torch
    from skorch.callbacks import LRScheduler

    from braindecode_m2s import M2S

    sizes = {k[len("module__") :]: v for k, v in SMALL_M2S.items() if k.startswith("module__")}
    others = {k: v for k, v in SMALL_M2S.items() if not k.startswith("module__")}
    params = {
        **make_m2s(max_epochs=2, pretrain_epochs=2, **others).get_params(deep=False),
        "module": M2S(n_chans=6, n_outputs=4, modalities={"eye": 4}, **sizes),
        "optimizer": torch.optim.Adam,
        "optimizer__weight_decay": 1e-3,
        "lr": 3e-3,
        "callbacks": [("step", LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=1))],
        "pretrain_lr": 2e-3,
        "pretrainer__optimizer": torch.optim.SGD,
        "pretrainer__optimizer__momentum": 0.9,
        "pretrainer__callbacks": [
            ("cosine", LRScheduler(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=2))
        ],
        "pretrainer__criterion__cpc_steps": 1,
        "club_steps": 2,
        "clip_weight": 0.5,
        "mixed_precision": "bf16",
        "device": "cpu",
    }
    return type(make_m2s())(**params)


@pytest.mark.parametrize("kind", ["defaults", "every parameter changed"])
def test_the_shared_stage_one_task_trains_exactly_what_fit_trains(one, tmp_path, kind):
    """One stage-1 path: evaluate()'s stage-1 task is the classifier's own pretrain(),
    so each mode predicts exactly as a clone fitted by hand on the same split and seed
    (with the tasks' one thread: float sums depend on the thread count)."""
    from sklearn.base import clone

    from braindecode_m2s import split_by_trial
    from braindecode_m2s.evaluation.tasks import single_threaded

    X, y, meta = one
    clf = make_m2s(max_epochs=2, **SMALL_M2S) if kind == "defaults" else _every_parameter_changed()
    settings = {"M2S": ["eeg2eye", "eye2eeg"]}
    kw = dict(dataset="SEED-IV", settings=settings, seeds=[3])
    p = plan({"M2S": clf}, X, y, meta, store=tmp_path / "plan", **kw)
    assert p.fits["pretrain_tasks"] == 1 and p.fits["tasks"] == 2
    _, predictions = evaluate({"M2S": clf}, X, y, meta, return_predictions=True, **kw)
    train, test = split_by_trial(meta, "SEED-IV")
    for setting, (tr, te) in {"eeg2eye": ("x", "eye"), "eye2eeg": ("eye", "x")}.items():
        by_hand = clone(clf).set_params(
            random_state=3, train_modalities=[tr], test_modalities=[te]
        )
        with single_threaded():
            expected = by_hand.fit(X[train], y[train]).predict(X[test])
        got = predictions.loc[predictions["setting"] == setting, "y_pred"].to_numpy()
        np.testing.assert_array_equal(got, expected)


def test_serial_run_is_cached_and_resumable(one, serial):
    first, store = serial
    assert len(first) == 4 and first["score"].between(0, 1).all()
    assert (first.loc[first.pipeline == "M2S", "time"] > 0).all()
    records = sorted((store / "tasks").rglob("*.json"))
    assert len(records) == 5  # 4 rows + 1 stage-1 pretraining
    stamps = {p: p.stat().st_mtime_ns for p in records}
    pd.testing.assert_frame_equal(run(one, store=store), first)  # nothing recomputed
    assert {p: p.stat().st_mtime_ns for p in records} == stamps
    # a lost M2S row is recomputed from the stored encoders, not pretrained again
    m2s_rows = [
        p for p in records if json.loads(p.read_text()).get("config", {}).get("pipeline") == "M2S"
    ]
    m2s_rows[0].unlink()
    pd.testing.assert_frame_equal(
        run(one, store=store).drop(columns="time"), first.drop(columns="time")
    )
    pre = [p for p in records if json.loads(p.read_text())["kind"] == "pretrain"]
    assert all(p.stat().st_mtime_ns == stamps[p] for p in pre)


class FailsIfFlag(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; fit raises while the file ``flag`` exists."""

    def __init__(self, flag="", seed_to_fail=0, random_state=None):
        self.flag = flag
        self.seed_to_fail = seed_to_fail
        self.random_state = random_state

    def fit(self, X, y):
        if self.random_state == self.seed_to_fail and os.path.exists(self.flag):
            raise RuntimeError("planned failure for the test")
        values, counts = np.unique(y, return_counts=True)
        self.classes_, self.majority_ = values, values[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X["x"]), self.majority_)


def test_failed_tasks_keep_their_traceback_and_are_retried(data, tmp_path):
    X, y, meta = data
    flag = tmp_path / "fail"
    flag.write_text("")
    pipes = {"F": FailsIfFlag(str(flag))}
    kw = dict(dataset="SEED-IV", settings=["eeg2eeg"], seeds=[0, 1], store=tmp_path / "s")
    with pytest.raises(TaskFailedError, match="2 of 4 tasks failed.*planned failure") as err:
        evaluate(pipes, X, y, meta, **kw)
    assert len(err.value.results) == 2 and set(err.value.results["seed"]) == {1}
    p = plan(pipes, X, y, meta, **{k: v for k, v in kw.items()})
    counts, failed = p.status()
    assert counts == dict(done=2, failed=2, pending=0, total=4)
    assert all("RuntimeError: planned failure" in r["traceback"] for r in failed)
    flag.unlink()
    res = evaluate(pipes, X, y, meta, **kw)
    assert len(res) == 4 and p.status()[0]["done"] == 4


# -- backends: the same table ------------------------------------------------------------
def test_loky_gives_the_serial_table(one, serial):
    same(run(one, n_jobs=2, backend="local", joblib_backend="loky"), serial[0])


def test_threads_give_the_serial_table_for_sklearn_pipelines(reference):
    X, y, meta = _grid_run.data()
    threads = evaluate(
        _grid_run.pipelines(LogisticRegression),
        X,
        y,
        meta,
        n_jobs=2,
        joblib_backend="threading",
        dataset="SEED-IV",
        settings=_grid_run.SETTINGS,
        seeds=_grid_run.SEEDS,
    )
    same(threads, reference)


def test_threads_give_the_serial_table_for_m2s(one, serial):
    """Seeded fits fork torch's generator and take turns on it (one lock per process)."""
    same(run(one, n_jobs=2, backend="local", joblib_backend="threading"), serial[0])


@pytest.fixture(scope="module")
def dask_cluster():
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


def test_dask_local_cluster_gives_the_serial_table(one, serial, dask_cluster, tmp_path):
    same(
        run(one, backend="dask", address=dask_cluster.scheduler_address, store=tmp_path), serial[0]
    )


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        # Ray's workers import the task's classes: this checkout and _grid_run
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": _env()["PYTHONPATH"]}},
        )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def test_ray_local_gives_the_serial_table(one, serial, local_ray, tmp_path):
    same(run(one, backend="ray", store=tmp_path), serial[0])


def test_submitit_executors_give_the_serial_table(one, serial, tmp_path):
    pytest.importorskip("submitit")
    # the debug executor: submitit's path (job arrays, dependent submission) in-process
    same(run(one, backend="slurm", cluster="debug", store=tmp_path / "debug"), serial[0])
    # the local executor: one process per job, as sbatch would run them (LR rows only:
    # each job process imports torch)
    X, y, meta = one
    local = evaluate(
        {"LR": lr()},
        X,
        y,
        meta,
        dataset="SEED-IV",
        settings=SETTINGS["LR"],
        seeds=[0],
        backend="slurm",
        cluster="local",
        poll_interval=0.2,
        store=tmp_path / "local",
    )
    same(local, serial[0][serial[0].pipeline == "LR"].reset_index(drop=True))


# -- kill, then resume -------------------------------------------------------------------
def _env():
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")]),
    )


def _done(store):
    if not (store / "tasks").exists():
        return 0
    n = 0
    for p in (store / "tasks").rglob("*.json"):
        try:
            n += json.loads(p.read_text()).get("status") == "done"
        except (OSError, ValueError):  # pragma: no cover - records are atomic
            pass
    return n


@pytest.fixture(scope="module")
def reference(data):
    X, y, meta = _grid_run.data()
    return evaluate(
        _grid_run.pipelines(LogisticRegression),
        X,
        y,
        meta,
        dataset="SEED-IV",
        settings=_grid_run.SETTINGS,
        seeds=_grid_run.SEEDS,
    )


@pytest.mark.parametrize("backend", ["local", "dask", "ray", "slurm"])
def test_killed_run_resumes_to_the_uninterrupted_table(backend, reference, tmp_path, request):
    pytest.importorskip(
        {"local": "joblib", "dask": "distributed", "ray": "ray", "slurm": "submitit"}[backend]
    )
    address = None
    if backend == "dask":
        address = request.getfixturevalue("dask_cluster").scheduler_address
    elif backend == "ray":
        address = request.getfixturevalue("local_ray")
    store, out = tmp_path / "store", tmp_path / "out.csv"
    code = (
        f"import _grid_run; _grid_run.main({str(store)!r}, {backend!r}, {str(out)!r}, {address!r})"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while _done(store) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-3000:]  # still running
    os.killpg(proc.pid, signal.SIGKILL)  # the run and every process it started
    proc.wait()
    killed_at = _done(store)
    assert 2 <= killed_at < len(reference), proc.stderr.read().decode()[-2000:]
    assert not out.exists()
    time.sleep(_grid_run.DELAY * 2)  # tasks a surviving cluster was running may land
    before = {p: p.read_bytes() for p in (store / "tasks").rglob("*.json")}
    resumed = _grid_run.run(store, backend, address)
    same(resumed, reference)
    after = {p: p.read_bytes() for p in (store / "tasks").rglob("*.json")}
    done_before = {p for p, b in before.items() if json.loads(b)["status"] == "done"}
    assert all(after[p] == before[p] for p in done_before)  # done tasks not recomputed
    assert len(after) == len(reference) and _done(store) == len(reference)


# -- every backend, whatever its workers' thread count: the same summary.csv ------------
def test_thread_probe_sees_the_thread_count(one):
    import torch

    from braindecode_m2s.evaluation.tasks import single_threaded

    X, y, _ = one
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        free = _grid_run.ThreadProbe(0).fit(X, y)
        with single_threaded():
            pinned = _grid_run.ThreadProbe(0).fit(X, y)
        assert torch.get_num_threads() == 3  # restored after the task
    finally:
        torch.set_num_threads(before)
    assert free.threads_[0] == 3 and set(pinned.threads_) == {1}
    assert free.seed_ != pinned.seed_  # the probe's table would change with the threads


def test_every_backend_writes_the_same_summary(
    one, dask_cluster, local_ray, tmp_path, monkeypatch
):
    """Serial with 3 torch threads, loky, Dask (1 thread), Ray, submitit's processes (2)."""
    pytest.importorskip("submitit")
    import torch

    from braindecode_m2s.evaluation.runs import run_and_report

    X, y, meta = one
    pipes = {"LR": lr(), "probe": _grid_run.ThreadProbe()}
    settings = {"LR": ["eeg2eeg"], "probe": ["eeg2eeg"]}
    backends = {
        "serial": dict(backend="local"),
        "loky": dict(backend="local", n_jobs=2, joblib_backend="loky"),
        "dask": dict(backend="dask", address=dask_cluster.scheduler_address),
        "ray": dict(backend="ray"),
        "submitit": dict(backend="slurm", cluster="local", poll_interval=0.2),
    }
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # the serial run computes in this process
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # submitit's job processes inherit it
    summaries = {}
    try:
        for name, options in backends.items():
            report = run_and_report(
                pipes, X, y, meta, tmp_path / name, dataset="SEED-IV", settings=settings, **options
            )
            assert report.state == "complete", (name, report.error)
            summaries[name] = (tmp_path / name / "summary.csv").read_bytes()
    finally:
        torch.set_num_threads(before)
    assert len(pd.read_csv(tmp_path / "serial" / "summary.csv")) == 2
    assert {name: s == summaries["serial"] for name, s in summaries.items()} == dict.fromkeys(
        backends, True
    )
