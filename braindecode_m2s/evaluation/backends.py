"""Where the evaluation tasks run: joblib, Dask, Ray or SLURM (through submitit).

The package schedules nothing itself: each adapter hands the graph of
:mod:`~braindecode_m2s.evaluation.tasks` to an existing engine, with each
``fit`` task depending on its stage-1 ``pretrain`` task, and reports every
record as it arrives. Results travel through the
:class:`~braindecode_m2s.evaluation.store.ResultStore` (a folder every
worker can read and write: a shared file system on a cluster), so a task
that ran is never run again, whatever engine ran it.

=============  ===========================================  ======================
backend        engine                                       one task per GPU
=============  ===========================================  ======================
``local``      joblib (``n_jobs``; the active                (one machine)
               ``joblib.parallel_backend``: loky, threading,
               or ``"dask"`` / ``"ray"``)
``dask``       ``distributed.Client`` (an address, a given    ``resources={"GPU": 1}``
               client, or a ``LocalCluster``)                (workers started with
                                                             ``--resources GPU=1``)
``ray``        ``ray`` remote functions (``ray.init``;        ``num_gpus=1``
               an address for a cluster)
``slurm``      ``submitit`` (``sbatch`` job arrays;           ``gpus_per_node=1``
               ``cluster="local"`` / ``"debug"`` runs the     (``--gres=gpu:1``)
               same path on one machine)
=============  ===========================================  ======================
"""

from __future__ import annotations

import traceback
import uuid
from pathlib import Path

from .choices import BACKENDS
from .tasks import run_task

__all__ = [
    "LocalBackend",
    "DaskBackend",
    "RayBackend",
    "SlurmBackend",
    "get_backend",
    "check_backend",
    "backend_options",
    "BACKENDS",
]

#: The package each backend's engine comes from (``local``: joblib, a dependency).
_ENGINES = {"dask": "distributed", "ray": "ray", "slurm": "submitit"}


def _lost(task, store, error):
    """A failed record for a task the engine lost (killed worker, cancelled job)."""
    record = dict(
        status="failed",
        key=task.key,
        kind=task.kind,
        config=task.config,
        traceback="".join(traceback.format_exception(error)),
    )
    store.write(task.key, record)
    return record


def _run_after(task, store, *dependencies):
    """Run ``task`` once the engine has finished ``dependencies`` (their records)."""
    return run_task(task, store)


def _waves(tasks):
    """``tasks`` in dependency order: each wave depends only on earlier ones."""
    keys = {t.key for t in tasks}
    first = [t for t in tasks if not any(d in keys for d in t.depends_on)]
    rest = [t for t in tasks if any(d in keys for d in t.depends_on)]
    return [w for w in (first, rest) if w]


class LocalBackend:
    """Tasks through :class:`joblib.Parallel`, in dependency order.

    Parameters
    ----------
    n_jobs : int
        joblib workers (1: in this process, in order).
    joblib_backend : str | None
        ``"loky"``, ``"threading"``...; ``None``: the active
        ``joblib.parallel_backend`` (so ``with joblib.parallel_backend("dask"):``
        still fans out over a Dask cluster).
    """

    name = "local"

    def __init__(self, n_jobs=1, joblib_backend=None):
        self.n_jobs = n_jobs
        self.joblib_backend = joblib_backend

    def __repr__(self):
        return f"LocalBackend(n_jobs={self.n_jobs}, joblib_backend={self.joblib_backend!r})"

    def run(self, tasks, store, on_record):
        """Run ``tasks`` (pretrainings first) and call ``on_record`` on each record."""
        from joblib import Parallel, delayed

        for wave in _waves(tasks):
            if self.n_jobs == 1 and self.joblib_backend is None:
                for task in wave:
                    on_record(run_task(task, store))
                continue
            out = Parallel(
                n_jobs=self.n_jobs, backend=self.joblib_backend, return_as="generator_unordered"
            )(delayed(run_task)(task, store) for task in wave)
            for record in out:
                on_record(record)


class DaskBackend:
    """Tasks as :mod:`distributed` futures; a ``fit`` waits for its ``pretrain``.

    Parameters
    ----------
    client : distributed.Client | None
        A client to use (not closed here).
    address : str | None
        Scheduler address (``"tcp://host:8786"``) when no client is given.
        With neither, the current default client, else a ``LocalCluster`` of
        ``n_workers`` single-threaded worker processes (closed at the end).
    n_workers : int
        Workers of that ``LocalCluster``.
    resources : dict | None
        Dask resources each task needs, e.g. ``{"GPU": 1}`` with workers
        started as ``dask worker ADDRESS --resources GPU=1``: one task per GPU.
    """

    name = "dask"

    def __init__(self, client=None, address=None, n_workers=2, resources=None):
        self.client = client
        self.address = address
        self.n_workers = n_workers
        self.resources = resources

    def __repr__(self):
        return (
            f"DaskBackend(address={self.address!r}, n_workers={self.n_workers}, "
            f"resources={self.resources!r})"
        )

    def _client(self):
        from distributed import Client, LocalCluster

        if self.client is not None:
            return self.client, None
        if self.address is not None:
            client = Client(self.address)
            return client, client
        try:
            from distributed import get_client

            return get_client(), None
        except ValueError:  # no client in this process
            cluster = LocalCluster(
                n_workers=self.n_workers, threads_per_worker=1, dashboard_address=None
            )
            client = Client(cluster)
            return client, _Closing(client, cluster)

    def run(self, tasks, store, on_record):
        """Submit the graph, then call ``on_record`` as each task completes."""
        from distributed import as_completed

        client, owned = self._client()
        try:
            futures, task_of = {}, {}
            run_id = uuid.uuid4().hex[:8]
            for task in tasks:
                deps = [futures[d] for d in task.depends_on if d in futures]
                fut = client.submit(
                    _run_after,
                    task,
                    store,
                    *deps,
                    pure=False,
                    key=f"m2s-{task.kind}-{task.key[:16]}-{run_id}",
                    resources=self.resources,
                )
                futures[task.key] = fut
                task_of[fut.key] = task
            for fut in as_completed(list(futures.values())):
                try:
                    record = fut.result()
                except Exception as err:  # noqa: BLE001 - a lost worker, recorded
                    record = _lost(task_of[fut.key], store, err)
                on_record(record)
        finally:
            if owned is not None:
                owned.close()


class _Closing:
    def __init__(self, *things):
        self.things = things

    def close(self):
        for thing in self.things:
            thing.close()


class RayBackend:
    """Tasks as Ray remote calls; a ``fit`` receives its ``pretrain``'s reference.

    Parameters
    ----------
    address : str | None
        ``ray.init(address=...)`` (``"auto"``, ``"ray://host:10001"``) when
        Ray is not initialised yet; ``None`` starts a local Ray.
    num_cpus : int | None
        CPUs of that local Ray (``ray.init(num_cpus=...)``).
    num_gpus : float
        GPUs each task reserves (``1``: one task per GPU).
    cpus_per_task : float
        CPUs each task reserves.
    init_kwargs : dict | None
        More ``ray.init`` arguments.
    """

    name = "ray"

    def __init__(self, address=None, num_cpus=None, num_gpus=0, cpus_per_task=1, init_kwargs=None):
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.cpus_per_task = cpus_per_task
        self.init_kwargs = init_kwargs

    def __repr__(self):
        return (
            f"RayBackend(address={self.address!r}, num_gpus={self.num_gpus}, "
            f"cpus_per_task={self.cpus_per_task})"
        )

    def run(self, tasks, store, on_record):
        """Submit the graph, then call ``on_record`` as each task completes."""
        import ray

        if not ray.is_initialized():
            kwargs = dict(self.init_kwargs or {})
            if self.address is not None:
                kwargs["address"] = self.address
            elif self.num_cpus is not None:
                kwargs["num_cpus"] = self.num_cpus
            ray.init(**kwargs)
        remote = ray.remote(_run_after).options(
            num_cpus=self.cpus_per_task, num_gpus=self.num_gpus, max_retries=0
        )
        refs, task_of = {}, {}
        for task in tasks:
            deps = [refs[d] for d in task.depends_on if d in refs]
            ref = remote.remote(task, store, *deps)
            refs[task.key] = ref
            task_of[ref] = task
        pending = list(refs.values())
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    record = ray.get(ref)
                except Exception as err:  # noqa: BLE001 - a lost worker, recorded
                    record = _lost(task_of[ref], store, err)
                on_record(record)


class SlurmBackend:
    """Tasks as SLURM jobs through :mod:`submitit` (job arrays).

    Tasks with nothing to wait for are submitted at once as one job array;
    the mode classifiers of an M2S pretraining are submitted (as an array)
    when that pretraining's job ends. The command that submits stays until
    every job has ended; killed, it can be rerun: done tasks are not
    resubmitted.

    Parameters
    ----------
    folder : str | Path | None
        submitit's folder of job scripts and logs (``None``: ``slurm/`` in
        the store).
    cluster : {None, "slurm", "local", "debug"}
        ``None``: SLURM when ``sbatch`` is found, else local processes;
        ``"debug"`` runs jobs in this process (submitit's executors).
    poll_interval : float
        Seconds between checks of the jobs' states.
    **parameters
        submitit parameters: ``timeout_min`` (default 120), ``slurm_partition``,
        ``gpus_per_node`` (``--gres=gpu:N``), ``cpus_per_task``, ``mem_gb``,
        ``slurm_array_parallelism``, ``slurm_account``, ``slurm_qos``...
    """

    name = "slurm"

    def __init__(self, folder=None, cluster=None, poll_interval=5.0, **parameters):
        self.folder = folder
        self.cluster = cluster
        self.poll_interval = poll_interval
        self.parameters = parameters

    def __repr__(self):
        return f"SlurmBackend(cluster={self.cluster!r}, parameters={self.parameters!r})"

    def _executor(self, store):
        import submitit

        folder = Path(self.folder) if self.folder is not None else store.root / "slurm"
        executor = submitit.AutoExecutor(folder=folder / "%j", cluster=self.cluster)
        params = dict(self.parameters)
        params.setdefault("name", "m2s-task")
        params.setdefault("timeout_min", 120)  # submitit's default is 5 minutes
        executor.update_parameters(**params)
        return executor

    def run(self, tasks, store, on_record):
        """Submit the tasks, then call ``on_record`` as each job ends."""
        from submitit.helpers import as_completed

        executor = self._executor(store)
        keys = {t.key for t in tasks}
        waiting = {}
        ready = []
        for task in tasks:
            deps = [d for d in task.depends_on if d in keys]
            if deps:
                waiting.setdefault(deps[0], []).append(task)
            else:
                ready.append(task)

        def submit(batch):
            if not batch:
                return []
            if len(batch) == 1:
                return [(executor.submit(run_task, batch[0], store), batch[0])]
            with executor.batch():
                jobs = [executor.submit(run_task, t, store) for t in batch]
            return list(zip(jobs, batch))

        submitted = submit(ready)
        while submitted:
            task_of = {id(job): task for job, task in submitted}
            later = []
            for job in as_completed(
                [job for job, _ in submitted], poll_frequency=self.poll_interval
            ):
                task = task_of[id(job)]
                try:
                    record = job.result()
                except Exception as err:  # noqa: BLE001 - a failed job, recorded
                    record = _lost(task, store, err)
                on_record(record)
                later.extend(submit(waiting.pop(task.key, [])))
            submitted = later


def get_backend(backend=None, n_jobs=1, **options):
    """A backend object from a name (or the object itself).

    Parameters
    ----------
    backend : {None, "local", "dask", "ray", "slurm"} | backend object
        ``None``: ``"local"``.
    n_jobs : int
        Workers of the local backend, and of a Dask ``LocalCluster``.
    **options
        Passed to the backend's constructor.

    Returns
    -------
    LocalBackend | DaskBackend | RayBackend | SlurmBackend
    """
    if backend is None:
        backend = "local"
    if not isinstance(backend, str):
        if not callable(getattr(backend, "run", None)):
            raise ValueError(
                f"`backend` is {backend!r}; expected one of {BACKENDS} or an "
                f"object with a run(tasks, store, on_record) method."
            )
        return backend
    name = backend.lower()
    if name == "local":
        return LocalBackend(n_jobs=n_jobs, **options)
    if name == "dask":
        return DaskBackend(n_workers=max(1, n_jobs), **options)
    if name == "ray":
        return RayBackend(**options)
    if name == "slurm":
        return SlurmBackend(**options)
    raise ValueError(f"`backend` is {backend!r}; expected one of {BACKENDS}.")


def check_backend(name):
    """Check that a backend is known and its engine installed (nothing is started).

    Parameters
    ----------
    name : str
        One of :data:`BACKENDS`.

    Raises
    ------
    ValueError
        Naming the backend and what to install.
    """
    import importlib.util

    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    engine = _ENGINES.get(name)
    if engine is not None and importlib.util.find_spec(engine) is None:
        raise ValueError(
            f"backend {name!r} needs the package {engine!r}, which is not installed "
            f"(pip install braindecode-m2s[dist])"
        )


def backend_options(
    backend,
    address=None,
    gpus_per_task=None,
    cpus_per_task=None,
    slurm_partition=None,
    slurm_time=None,
    slurm_array_parallelism=None,
    slurm_cluster=None,
):
    """Keyword arguments of :func:`get_backend` from the command line's cluster options.

    Parameters
    ----------
    backend : str
        One of :data:`BACKENDS`.
    address : str | None
        Dask scheduler or Ray cluster address.
    gpus_per_task : float | None
        Dask resource ``GPU``, Ray ``num_gpus``, SLURM ``gpus_per_node``.
    cpus_per_task : int | None
        Ray and SLURM.
    slurm_partition, slurm_time, slurm_array_parallelism, slurm_cluster
        submitit's ``slurm_partition``, ``timeout_min``,
        ``slurm_array_parallelism`` and ``cluster``.

    Returns
    -------
    dict
    """
    if backend == "local":
        return {}
    if backend == "dask":
        return dict(address=address, resources={"GPU": gpus_per_task} if gpus_per_task else None)
    if backend == "ray":
        return dict(address=address, num_gpus=gpus_per_task or 0, cpus_per_task=cpus_per_task or 1)
    options = dict(
        cluster=slurm_cluster,
        timeout_min=slurm_time,
        slurm_partition=slurm_partition,
        cpus_per_task=cpus_per_task,
        gpus_per_node=int(gpus_per_task) if gpus_per_task else None,
        slurm_array_parallelism=slurm_array_parallelism,
        poll_interval=1.0 if slurm_cluster in ("local", "debug") else 10.0,
    )
    return {k: v for k, v in options.items() if v is not None}
