"""Overhead of the task store and the Dask backend on a simulated SEED-IV protocol.

The paper's grid on SEED-IV (Liu et al., AAAI 2025) is 45 subject-sessions x
13 pipelines (M2S in four modes and nine baselines) x seeds. Here every task
is a simulated fit (a classifier whose ``fit`` sleeps ``--delay`` seconds,
then fits a majority-class model), scheduled on a local Dask cluster of 2
workers through :func:`braindecode_m2s.evaluation.evaluate` with a
:class:`~braindecode_m2s.evaluation.store.ResultStore`; the same sleeping
tasks submitted to the same cluster with ``client.map`` (no store, no task
keys: what a user would write by hand) are the reference.

Printed figures:

- per-task overhead = (workers x wall time - sum of the fits' own times) /
  tasks, for the store-backed run and for the bare ``client.map`` run, and
  as a fraction of the task time (target: <= 5 % for tasks of >= 2 s);
- storage overhead per task (loading the fold from the store, writing the
  record: the task's wall time minus its fit time);
- planning time (hashing every configuration), the time of a rerun when
  every task is done (what a resume costs), the store's size;
- the fits of the real paper grid (M2S + baselines, planning only): one
  stage-1 pretraining shared by the four M2S modes against one per mode.

Default: 3 subject-sessions x 13 pipelines x 1 seed (39 tasks, about a
minute); ``--full``: 45 x 13 x 5 = 2925 tasks (about 50 minutes at 2 s).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class SleepingClassifier(ClassifierMixin, BaseEstimator):
    """A simulated fit: sleeps ``delay`` seconds, then predicts the majority class."""

    def __init__(self, delay=2.0, name="", random_state=None):
        self.delay = delay
        self.name = name
        self.random_state = random_state

    def fit(self, X, y):
        time.sleep(self.delay)
        values, counts = np.unique(y, return_counts=True)
        self.classes_, self.majority_ = values, values[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X["x"]), self.majority_)


def _bare(delay, seed):
    """The reference task: the same sleep, no store."""
    time.sleep(delay)
    return seed


def simulated_seed_iv(n_subject_sessions):
    """SEED-IV-sized data (62 channels x 5 bands, 31 eye features, 24 trials a session)."""
    from braindecode_m2s import make_synthetic_emotion

    n_subjects = max(1, -(-n_subject_sessions // 3))
    X, y, meta = make_synthetic_emotion(
        n_subjects=n_subjects,
        n_sessions=3,
        n_windows=(8, 10),
        sequence_length=5,
        n_eye_features=31,
        seed=0,
    )
    groups = meta[["subject", "session"]].drop_duplicates().head(n_subject_sessions)
    keep = meta.set_index(["subject", "session"]).index.isin(
        list(groups.itertuples(index=False, name=None))
    )
    return X[keep], y[keep], meta[keep].reset_index(drop=True)


def paper_fit_counts(X, y, meta, seeds, store):
    """Fits of the paper's grid (planning only) with and without the shared stage 1."""
    import warnings

    from braindecode_m2s.evaluation.evaluations import plan
    from braindecode_m2s.evaluation.pipelines import paper_pipelines

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipes, settings = paper_pipelines(
            max_epochs=1, n_chans=X["x"].shape[1], n_outputs=len(np.unique(y))
        )
    p = plan(pipes, X, y, meta, dataset="SEED-IV", settings=settings, seeds=seeds, store=store)
    return len(pipes), p.fits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full",
        action="store_true",
        help="the whole grid: 45 subject-sessions x 13 pipelines x 5 seeds",
    )
    parser.add_argument("--subject-sessions", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--pipelines", type=int, default=13)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds per simulated fit")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.full:
        args.subject_sessions, args.seeds = 45, 5

    from distributed import Client, LocalCluster

    from braindecode_m2s.evaluation import evaluate
    from braindecode_m2s.evaluation.evaluations import plan
    from braindecode_m2s.evaluation.store import ResultStore

    X, y, meta = simulated_seed_iv(args.subject_sessions)
    seeds = list(range(args.seeds))
    pipes = {
        f"P{i:02d}": SleepingClassifier(args.delay, name=f"P{i:02d}")
        for i in range(args.pipelines)
    }
    n_tasks = args.subject_sessions * args.pipelines * args.seeds
    print(
        f"grid: {args.subject_sessions} subject-sessions x {args.pipelines} pipelines x "
        f"{args.seeds} seeds = {n_tasks} tasks of {args.delay:.1f} s, "
        f"{args.workers} Dask workers; data {sum(v.nbytes for v in X.values()) / 1e6:.1f} MB"
    )

    with (
        tempfile.TemporaryDirectory() as root,
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        # workers up, with the package imported (any real fit imports torch): both runs
        # below then measure the steady state, not the first import
        client.run(lambda: __import__("braindecode_m2s.evaluation.tasks"))
        start = time.perf_counter()
        bare = client.gather(client.map(_bare, [args.delay] * n_tasks, range(n_tasks), pure=False))
        bare_wall = time.perf_counter() - start
        assert len(bare) == n_tasks
        bare_over = (args.workers * bare_wall - n_tasks * args.delay) / n_tasks

        t0 = time.perf_counter()
        the_plan = plan(
            pipes, X, y, meta, dataset="SEED-IV", settings=["multimodal"], seeds=seeds, store=root
        )
        plan_time = time.perf_counter() - t0
        start = time.perf_counter()
        res = evaluate(
            pipes,
            X,
            y,
            meta,
            dataset="SEED-IV",
            settings=["multimodal"],
            seeds=seeds,
            store=root,
            backend="dask",
            client=client,
        )
        wall = time.perf_counter() - start
        assert len(res) == n_tasks
        store = ResultStore(root)
        records = [store.read(t.key) for t in the_plan.tasks]
        fit_time = float(res["time"].sum())
        task_wall = np.array([r["wall_time"] for r in records])
        storage = float(np.mean(task_wall - np.array([r["row"]["time"] for r in records])))
        over = (args.workers * wall - fit_time) / n_tasks
        start = time.perf_counter()
        again = evaluate(
            pipes,
            X,
            y,
            meta,
            dataset="SEED-IV",
            settings=["multimodal"],
            seeds=seeds,
            store=root,
            backend="dask",
            client=client,
        )
        resume = time.perf_counter() - start
        assert again.drop(columns="time").equals(res.drop(columns="time"))
        size = store.size_bytes()
        data_size = sum(p.stat().st_size for p in (store.root / "data").rglob("*") if p.is_file())
        n_pipes, fits = paper_fit_counts(X, y, meta, seeds, tempfile.mkdtemp(dir=root))

    task = args.delay
    print(f"{'':34s} {'per task':>10s} {'of a task':>10s}")
    print(
        f"{'client.map, no store (reference)':34s} {1e3 * bare_over:8.1f}ms "
        f"{100 * bare_over / task:9.2f}%"
    )
    print(f"{'evaluate(backend=dask, store)':34s} {1e3 * over:8.1f}ms {100 * over / task:9.2f}%")
    print(
        f"{'  of which storage (load + write)':34s} {1e3 * storage:8.1f}ms "
        f"{100 * storage / task:9.2f}%"
    )
    print(
        f"wall time: {wall:.1f} s with the store, {bare_wall:.1f} s bare "
        f"(ratio {wall / bare_wall:.3f}); ideal {n_tasks * task / args.workers:.1f} s"
    )
    print(
        f"planning (hash {n_tasks} configurations, write data once): {plan_time:.2f} s; "
        f"rerun with every task done: {resume:.2f} s"
    )
    print(
        f"store: {size / 1e6:.2f} MB ({data_size / 1e6:.2f} MB data written once, "
        f"{(size - data_size) / n_tasks / 1e3:.1f} kB per task record)"
    )
    print(
        f"paper grid on these {args.subject_sessions} subject-sessions x {args.seeds} "
        f"seeds ({n_pipes} pipelines, planning only): {fits['tasks']} result rows; "
        f"{fits['graph_fits']} model fits with one M2S stage-1 pretraining per fold and "
        f"seed ({fits['pretrain_tasks']} pretrainings) against {fits['flat_fits']} when each "
        f"mode pretrains its own: {fits['saved']} fits saved"
    )


if __name__ == "__main__":
    main()
