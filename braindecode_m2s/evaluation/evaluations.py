"""Run pipelines through a protocol, modality settings and seeds.

The evaluation of Liu et al. (AAAI 2025): every pipeline (M2S in its modes,
the baselines) is fitted and scored on every split of a trial-grouped
protocol (:mod:`~braindecode_m2s.evaluation.protocols`), for every modality
setting (:mod:`~braindecode_m2s.evaluation.settings`) and seed. The result is
one row per (split, pipeline, setting, seed) with MOABB's result columns
(``score, time, samples, subject, session, pipeline, dataset``) plus
``train_modalities``, ``test_modalities``, ``seed``, ``balanced_accuracy``
and ``kappa``.

Each (split, pipeline, setting, seed) is an independent task
(:mod:`~braindecode_m2s.evaluation.tasks`) keyed by a hash of its full
configuration in an on-disk :class:`~braindecode_m2s.evaluation.store.ResultStore`;
the stage-1 pretraining of M2S is one task shared by its four modes. The
tasks run on an existing engine (:mod:`~braindecode_m2s.evaluation.backends`:
joblib, Dask, Ray, SLURM through submitit); a rerun with the same store
computes only what is missing or failed.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .backends import get_backend
from .protocols import PROTOCOLS, ProtocolSplitter, normalize_dataset_code
from .records import RESULT_COLUMNS
from .settings import parse_setting
from .store import ResultStore
from .tasks import count_fits, plan_grid
from .transformers import as_modality_dict

__all__ = [
    "evaluate",
    "plan",
    "run_plan",
    "EvaluationPlan",
    "EmotionEvaluation",
    "RESULT_COLUMNS",
    "TaskFailedError",
    "TaskWarning",
]


def _check_pipelines(pipelines):
    if not isinstance(pipelines, dict) or not pipelines:
        raise ValueError(
            f"`pipelines` is {type(pipelines).__name__}; expected a non-empty dict "
            f"name -> scikit-learn estimator (as in MOABB)."
        )
    for name, est in pipelines.items():
        if not hasattr(est, "fit") or not hasattr(est, "get_params"):
            raise ValueError(
                f"Pipeline {name!r} is {est!r}; expected a scikit-learn compatible estimator."
            )


class TaskFailedError(RuntimeError):
    """Some tasks of an evaluation failed; the others' results are in the store.

    Attributes
    ----------
    failed : list of dict
        The failed records (``config``, ``traceback``).
    results : pandas.DataFrame
        The rows of the tasks that did finish.
    """

    def __init__(self, message, failed, results):
        super().__init__(message)
        self.failed = failed
        self.results = results


class TaskWarning(UserWarning):
    """A warning raised by tasks of a run, reported once with the number of tasks."""


def _report_warnings(counts, n_tasks):
    """One :class:`TaskWarning` per distinct message the tasks raised."""
    for message, n in counts.items():
        warnings.warn_explicit(
            f"{n} of {n_tasks} tasks warned: {message}",
            TaskWarning,
            __file__,
            0,
            module=__name__,
            registry=None,  # each run reports its own
        )


@dataclass
class EvaluationPlan:
    """The task graph of one :func:`evaluate` call, bound to its store.

    Attributes
    ----------
    tasks : list of Task
        ``pretrain`` tasks, then one ``fit`` task per result row.
    store : ResultStore
    fits : dict
        :func:`~braindecode_m2s.evaluation.tasks.count_fits` of the graph.
    """

    tasks: list
    store: ResultStore

    @property
    def fits(self):
        return count_fits(self.tasks)

    @property
    def fit_tasks(self):
        """The ``fit`` tasks (rows of the table), in table order."""
        return [t for t in self.tasks if t.kind == "fit"]

    def status(self):
        """``(counts, failed)`` of every task: see :meth:`ResultStore.status`."""
        return self.store.status([t.key for t in self.tasks])

    def results(self, return_predictions=False, allow_partial=False):
        """The table of the done ``fit`` tasks (all of them unless ``allow_partial``).

        Returns
        -------
        results : pandas.DataFrame
            Columns :data:`RESULT_COLUMNS`, sorted.
        predictions : pandas.DataFrame
            Only if ``return_predictions``.
        """
        rows, preds, failed = [], [], []
        for task in self.fit_tasks:
            record = self.store.read(task.key)
            if record is None or record.get("status") != "done":
                failed.append(record or dict(status="pending", config=task.config))
                continue
            rows.append(record["row"])
            if return_predictions:
                p = pd.DataFrame(record["predictions"])
                for key in (
                    "dataset",
                    "protocol",
                    "pipeline",
                    "setting",
                    "seed",
                    "subject",
                    "session",
                    "fold",
                ):
                    p[key] = record["row"][key]
                preds.append(p)
        if failed and not allow_partial:
            raise ValueError(
                f"{len(failed)} of {len(self.fit_tasks)} tasks are not done; "
                f"expected a complete run (or allow_partial=True)."
            )
        results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        order = ["pipeline", "setting", "seed", "subject", "session", "fold"]
        results = results.sort_values(order, kind="stable").reset_index(drop=True)
        if not return_predictions:
            return results
        preds = (
            pd.concat(preds, ignore_index=True)
            if preds
            else pd.DataFrame(columns=["y_true", "y_pred"])
        )
        return results, preds


def plan(
    pipelines,
    X,
    y,
    metadata,
    protocol="within-session",
    dataset=None,
    cv=None,
    settings=("multimodal",),
    seeds=(0,),
    store=None,
):
    """Check the inputs of :func:`evaluate` and build its task graph (runs nothing).

    The data and the folds' positions are written to ``store`` (once: they
    are content-addressed), so any worker that can read the store can run
    any task.

    Parameters
    ----------
    pipelines, X, y, metadata, protocol, dataset, cv, settings, seeds
        As :func:`evaluate`.
    store : ResultStore | str | Path
        Where the tasks' data and results live.

    Returns
    -------
    EvaluationPlan
    """
    _check_pipelines(pipelines)
    data = as_modality_dict(X)
    y = np.asarray(y)
    n = len(y)
    bad = {k: len(v) for k, v in data.items() if len(v) != n}
    if bad or len(metadata) != n:
        raise ValueError(
            f"X (lengths {dict((k, len(v)) for k, v in data.items())}), y ({n}) and "
            f"metadata ({len(metadata)}) must have the same number of samples."
        )
    if protocol not in PROTOCOLS:
        raise ValueError(f"`protocol` is {protocol!r}; expected one of {PROTOCOLS}.")
    code = "synthetic" if dataset is None else str(dataset)
    if dataset is not None:
        try:
            code = dataset = normalize_dataset_code(dataset)
        except ValueError:
            if cv is None and protocol == "within-session":
                raise
    keys = list(data)
    if isinstance(settings, dict):
        missing = [name for name in pipelines if name not in settings]
        if missing:
            raise ValueError(
                f"`settings` is a dict without entries for the pipelines {missing}; "
                f"expected one list of settings per pipeline name."
            )
        per_pipeline = {name: [parse_setting(s) for s in settings[name]] for name in pipelines}
    else:
        common = [parse_setting(s) for s in settings]
        per_pipeline = {name: common for name in pipelines}
    for group in per_pipeline.values():
        if not group:
            raise ValueError("`settings` is empty; expected at least one modality setting.")
        for s in group:
            s.resolve(keys)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("`seeds` is empty; expected at least one seed.")
    folds = ProtocolSplitter(metadata, protocol, dataset=dataset, cv=cv).folds()
    if y.dtype.kind == "O":
        y = np.asarray(y.tolist())
    store = store if isinstance(store, ResultStore) else ResultStore(store)
    fp = store.put_data(
        {k: np.asarray(v) for k, v in data.items()},
        y,
        "slicedict" if hasattr(X, "keys") else "array",
    )
    split_ids = [store.put_split(fp, f["train"], f["test"]) for f in folds]
    tasks = plan_grid(
        pipelines,
        per_pipeline,
        folds,
        seeds,
        keys,
        code,
        protocol,
        fp,
        split_ids,
        len(np.unique(y)),
    )
    return EvaluationPlan(tasks, store)


def run_plan(
    evaluation_plan, backend=None, n_jobs=1, progress=False, on_result=None, **backend_options
):
    """Run the tasks of a plan that are not done yet.

    Parameters
    ----------
    evaluation_plan : EvaluationPlan
    backend, n_jobs, progress, on_result
        As :func:`evaluate`.
    **backend_options
        Passed to :func:`~braindecode_m2s.evaluation.backends.get_backend`.

    Returns
    -------
    list of dict
        The failed records (empty when every task is done).

    Notes
    -----
    The progress bar counts model fits: every task of the plan, stage-1
    pretrainings included (``evaluation_plan.fits["graph_fits"]``, the
    ``total`` of ``run_status.json``). A warning the tasks raise is
    reported once at the end, as a :class:`TaskWarning` naming how many
    tasks raised it.
    """
    backend = get_backend(backend, n_jobs=n_jobs, **backend_options)
    store = evaluation_plan.store
    todo = [t for t in evaluation_plan.tasks if not store.is_done(t.key)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        # one step per model fit, the shared stage-1 pretrainings included: the
        # bar moves while they run, and its total is what the run trains
        total = len(evaluation_plan.tasks)
        bar = tqdm(total=total, initial=total - len(todo), unit="fit", desc="model fits")
    warned = {}

    def on_record(record):
        if bar is not None:
            bar.update(1)
        for message in record.get("warnings", ()):
            warned[message] = warned.get(message, 0) + 1
        if record.get("kind") == "fit" and on_result is not None:
            on_result(record)

    try:
        if todo:
            backend.run(todo, store, on_record)
    finally:
        if bar is not None:
            bar.close()
        _report_warnings(warned, len(todo))
    return evaluation_plan.status()[1]


def evaluate(
    pipelines,
    X,
    y,
    metadata,
    protocol="within-session",
    dataset=None,
    cv=None,
    settings=("multimodal",),
    seeds=(0,),
    n_jobs=1,
    progress=False,
    return_predictions=False,
    backend=None,
    store=None,
    on_result=None,
    **backend_options,
):
    """Fit and score pipelines on every split, modality setting and seed.

    Every (split, pipeline, setting, seed) is a task keyed by a hash of its
    full configuration (:mod:`~braindecode_m2s.evaluation.tasks`); an M2S
    pipeline's stage-1 pretraining is one task shared by its modes. With a
    ``store``, results are kept on disk and a rerun (after a kill, or with
    more pipelines or seeds) computes only the tasks that are missing or
    failed.

    Parameters
    ----------
    pipelines : dict of str -> estimator
        Scikit-learn compatible classifiers taking the paradigm's ``X``
        (cloned for every task).
    X : SliceDict | dict of arrays
        From :meth:`~braindecode_m2s.paradigms.MultimodalEmotion.get_data`
        or :func:`~braindecode_m2s.datasets.make_synthetic_emotion`.
    y : array-like, shape (n,)
        Labels.
    metadata : pandas.DataFrame
        With ``subject``, ``session``, ``trial``.
    protocol : {"within-session", "cross-session", "loso"}
        See :class:`~braindecode_m2s.evaluation.protocols.ProtocolSplitter`.
    dataset : str | None
        Dataset code; names the results and picks the within-session split
        (``None``: ``"synthetic"``, and ``cv`` must be given for
        within-session).
    cv : splitter | None
        One-session splitter overriding the dataset's standard one.
    settings : sequence of str | ModalitySetting | dict
        Modality settings (:func:`~braindecode_m2s.evaluation.parse_setting`),
        or a dict pipeline name -> its settings.
    seeds : sequence of int
        Seeds; each sets every ``random_state`` of the estimator (no global
        random state is touched).
    n_jobs : int
        Workers of the local backend (joblib) or of a local Dask cluster.
    progress : bool
        Show a tqdm progress bar with one step per model fit (every task:
        the shared stage-1 pretrainings and the ``fit`` tasks).
    return_predictions : bool
        Also return a table of every test prediction (for confusion matrices).
    backend : {None, "local", "dask", "ray", "slurm"} | backend object
        Where the tasks run (:mod:`~braindecode_m2s.evaluation.backends`);
        ``None``: joblib with ``n_jobs`` (inside the active
        ``joblib.parallel_backend``).
    store : ResultStore | str | Path | None
        The task store; ``None``: a temporary one, deleted at the end.
    on_result : callable | None
        Called with each ``fit`` task's record as it finishes (the CLI
        writes its partial table there).
    **backend_options
        Passed to the backend (``address``, ``resources``, ``num_gpus``,
        ``cluster``, ``timeout_min``...).

    Returns
    -------
    results : pandas.DataFrame
        One row per task, columns :data:`RESULT_COLUMNS`, sorted.
    predictions : pandas.DataFrame
        Only if ``return_predictions``: ``y_true``, ``y_pred`` and the task keys.

    Raises
    ------
    TaskFailedError
        If some tasks failed (after all others ran); their tracebacks are in
        the store and in the exception's ``failed``.
    """
    tmp = tempfile.TemporaryDirectory(prefix="m2s-store-") if store is None else None
    try:
        the_plan = plan(
            pipelines,
            X,
            y,
            metadata,
            protocol=protocol,
            dataset=dataset,
            cv=cv,
            settings=settings,
            seeds=seeds,
            store=tmp.name if tmp is not None else store,
        )
        failed = run_plan(
            the_plan,
            backend=backend,
            n_jobs=n_jobs,
            progress=progress,
            on_result=on_result,
            **backend_options,
        )
        if failed:
            last = failed[0].get("traceback", "").strip().splitlines() or ["?"]
            where = "" if tmp is not None else f" (tracebacks in the store {store})"
            raise TaskFailedError(
                f"{len(failed)} of {len(the_plan.tasks)} tasks failed{where}; first error: "
                f"{last[-1]}",
                failed,
                the_plan.results(allow_partial=True),
            )
        return the_plan.results(return_predictions=return_predictions)
    finally:
        if tmp is not None:
            tmp.cleanup()


class EmotionEvaluation:
    """MOABB-style evaluation of pipelines on emotion datasets.

    Same interface as MOABB's evaluations (``paradigm``, ``datasets``,
    ``n_jobs``; :meth:`process` takes ``{name: pipeline}`` and returns a
    DataFrame) with the protocol, modality settings and seeds of the M2S
    paper as options. Data come from ``paradigm.get_data`` of each dataset.

    Parameters
    ----------
    paradigm : MultimodalEmotion
        The paradigm that turns datasets into ``(X, y, metadata)``.
    datasets : list of EmotionDataset | None
        ``None``: every dataset of ``paradigm.datasets`` (instantiated with
        their default path configuration).
    protocol : {"within-session", "cross-session", "loso"}
        See :class:`~braindecode_m2s.evaluation.protocols.ProtocolSplitter`.
    settings : sequence of str
        Modality settings.
    seeds : sequence of int
        Seeds.
    subjects : list of int | None
        Subjects to use (``None``: all of each dataset).
    n_jobs : int
        joblib workers (see :func:`evaluate`).
    progress : bool
        tqdm progress bars.

    Attributes
    ----------
    predictions_ : pandas.DataFrame
        Test predictions of the last :meth:`process` (for confusion matrices).
    """

    def __init__(
        self,
        paradigm,
        datasets=None,
        protocol="within-session",
        settings=("multimodal",),
        seeds=(0,),
        subjects=None,
        n_jobs=1,
        progress=False,
    ):
        if protocol not in PROTOCOLS:
            raise ValueError(f"`protocol` is {protocol!r}; expected one of {PROTOCOLS}.")
        self.paradigm = paradigm
        self.datasets = datasets
        self.protocol = protocol
        self.settings = settings
        self.seeds = seeds
        self.subjects = subjects
        self.n_jobs = n_jobs
        self.progress = progress

    def _datasets(self):
        if self.datasets is not None:
            return list(self.datasets)
        return [cls() if isinstance(cls, type) else cls for cls in self.paradigm.datasets]

    def process(self, pipelines):
        """Evaluate ``pipelines`` on every dataset; one DataFrame of results."""
        _check_pipelines(pipelines)
        tables, preds = [], []
        for dataset in self._datasets():
            X, y, metadata = self.paradigm.get_data(dataset, subjects=self.subjects)
            res, pred = evaluate(
                pipelines,
                X,
                y,
                metadata,
                protocol=self.protocol,
                dataset=dataset.code,
                settings=self.settings,
                seeds=self.seeds,
                n_jobs=self.n_jobs,
                progress=self.progress,
                return_predictions=True,
            )
            tables.append(res)
            preds.append(pred)
        self.predictions_ = pd.concat(preds, ignore_index=True)
        return pd.concat(tables, ignore_index=True)
