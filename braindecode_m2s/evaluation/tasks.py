"""The evaluation grid as a graph of pure, content-addressed tasks.

The comparison of Liu et al. (AAAI 2025) fits every pipeline on every fold
of a protocol (per subject-session for the within-session protocol), in
every modality setting and for every seed. Here each of those fits is a
*task*: a small, JSON-serialisable configuration (dataset, protocol,
subject, session, fold, the data's fingerprint, the fold's positions, the
pipeline's name and full parameters, the setting, the seed, the package
version) whose SHA-256 is its key in a
:class:`~braindecode_m2s.evaluation.store.ResultStore`. :func:`run_task`
is a pure function of that configuration (and the estimator it describes):
it reads the data from the store, fits, scores and writes one record, and
never touches global random states (seeds go into the estimators'
``random_state``).

M2S is trained in two stages (Sec. 3 of the paper): a self-supervised
stage-1 pretraining on every modality (M2M CPC, CLIP alignment,
reconstruction, CLUB), then a classifier on the frozen encoders. Stage 1
does not depend on the mode (``eeg2eeg``, ``eye2eye``, ``eeg2eye``,
``eye2eeg``): it sees all modalities of the training fold. The graph has
one ``pretrain`` task per (fold, seed, stage-1 configuration), whose output
(the encoders' weights, an artifact of the store) feeds the ``fit`` task of
each mode; baselines are independent ``fit`` tasks. :func:`count_fits`
reports what this saves against fitting stage 1 once per mode.

What the reports draw comes from these tasks, never from another fit: the
stage-1 artifact holds the pretrained model's configuration, weights and
epoch history (``{"config", "state_dict", "history"}``), and the record of
a ``fit`` task of a skorch estimator holds its epoch history
(``"history"``: the loss terms per epoch, :func:`epoch_history`).
"""

from __future__ import annotations

import contextlib
import inspect
import numbers
import re
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..utils.files import atomic_path
from ..utils.quiet import quiet_warnings
from .records import RecordError, check_record, parse_record
from .settings import apply_setting
from .store import ResultStore, digest, dumps

__all__ = [
    "Task",
    "describe",
    "plan_grid",
    "run_task",
    "count_fits",
    "set_seed",
    "epoch_history",
    "pretrained_artifact",
]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def describe(obj):
    """A JSON-serialisable description of ``obj``, stable across processes.

    Estimators are described by their class and :meth:`get_params`
    (``deep=False``, recursively), classes and functions by their qualified
    name, arrays and torch modules by a hash of their content; anything else
    by its ``repr`` without memory addresses. Two estimators with the same
    description fit the same model.

    Parameters
    ----------
    obj : object

    Returns
    -------
    JSON-serialisable object
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [describe(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((describe(v) for v in obj), key=repr)
    if isinstance(obj, dict):
        return {str(k): describe(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        return {
            "ndarray": digest(
                [
                    arr.dtype.str,
                    list(arr.shape),
                    memoryview(arr).cast("B").hex()
                    if arr.dtype.kind != "O"
                    else repr(arr.tolist()),
                ]
            )
        }
    if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return {"callable": f"{obj.__module__}.{obj.__qualname__}"}
    import torch

    if isinstance(obj, torch.nn.Module):
        state = {k: v.detach().cpu().numpy() for k, v in obj.state_dict().items()}
        config = obj.get_config() if callable(getattr(obj, "get_config", None)) else None
        return {
            "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
            "init": describe(config),
            "state": describe({k: describe(v) for k, v in state.items()}),
        }
    if hasattr(obj, "get_params") and not inspect.isclass(obj):
        try:
            params = obj.get_params(deep=False)
        except Exception:  # noqa: BLE001 - an object whose get_params needs a fit
            params = None
        if params is not None:
            return {
                "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
                "params": describe(params),
            }
    return {"repr": _ADDRESS.sub("", repr(obj))}


def set_seed(estimator, seed):
    """Set every ``random_state`` parameter of ``estimator`` (nested too) to ``seed``.

    The only way a seed reaches a model: no global random state is touched.
    """
    params = estimator.get_params(deep=True)
    keys = {k: seed for k in params if k == "random_state" or k.endswith("__random_state")}
    if keys:
        try:
            estimator.set_params(**keys)
        except ValueError:  # a nested parameter that cannot be set independently
            if "random_state" in params:
                estimator.set_params(random_state=seed)
    return estimator


@dataclass
class Task:
    """One node of the evaluation graph.

    Attributes
    ----------
    key : str
        SHA-256 of ``config``: the task's address in the store.
    config : dict
        The full, JSON-serialisable configuration.
    estimator : estimator
        The unfitted estimator ``config`` describes (modality setting and
        seed applied); ``None`` for a ``pretrain`` task built from
        ``source``.
    depends_on : tuple of str
        Keys of the tasks whose artifacts this one reads.
    """

    key: str
    config: dict
    estimator: object = None
    depends_on: tuple = field(default_factory=tuple)

    @property
    def kind(self):
        """``"fit"`` or ``"pretrain"``."""
        return self.config["kind"]


# -- M2S: stage 1 as its own task ---------------------------------------------------
def _pretrainable(estimator, keys):
    """Whether ``estimator`` is an M2SClassifier whose ``fit`` runs stage 1 on data
    with these modalities (so stage 1 can be a task shared by its modes)."""
    from ..training import M2SClassifier

    return (
        isinstance(estimator, M2SClassifier) and estimator.pretrain_epochs > 0 and len(keys) >= 2
    )


# -- planning ---------------------------------------------------------------------------
def plan_grid(
    pipelines, per_pipeline, folds, seeds, keys, dataset, protocol, data_fp, split_ids, n_classes
):
    """The task graph of one grid, in the order of the results table.

    Parameters
    ----------
    pipelines : dict of str -> estimator
    per_pipeline : dict of str -> list of ModalitySetting
    folds : list of dict
        From :meth:`~braindecode_m2s.evaluation.ProtocolSplitter.folds`.
    seeds : list of int
    keys : list of str
        Modality keys of ``X``.
    dataset, protocol : str
    data_fp : str
        Fingerprint of the data in the store.
    split_ids : list of str
        Store id of each fold's positions.
    n_classes : int
        Number of classes of ``y`` (M2S builds its head with it).

    Returns
    -------
    list of Task
        ``pretrain`` tasks first, then the ``fit`` tasks.
    """
    from .. import __version__

    pretrain, fits = {}, []
    for fold, split in zip(folds, split_ids):
        where = dict(
            version=__version__,
            dataset=dataset,
            protocol=protocol,
            subject=describe(fold["subject"]),
            session=str(fold["session"]),
            fold=int(fold["fold"]),
            data=data_fp,
            split=split,
        )
        for name, est in pipelines.items():
            for setting in per_pipeline[name]:
                for seed in seeds:
                    model = set_seed(apply_setting(est, setting, keys), seed)
                    tr, te = setting.resolve(keys)
                    config = dict(
                        where,
                        kind="fit",
                        pipeline=name,
                        seed=int(seed),
                        setting=setting.name,
                        train_modalities=list(tr),
                        test_modalities=list(te),
                        estimator=describe(model),
                        pretrain=None,
                    )
                    depends = ()
                    if _pretrainable(model, keys):
                        p_config = dict(
                            where,
                            kind="pretrain",
                            seed=int(seed),
                            n_outputs=int(n_classes),
                            # the stage-1 estimator the classifier's own fit would run:
                            # every parameter (optimiser, callbacks, pretrainer__*,
                            # precision, device, seed) is in the key
                            stage1=describe(model.make_pretrainer(int(n_classes))),
                        )
                        p_key = digest(p_config)
                        if p_key not in pretrain:
                            pretrain[p_key] = Task(p_key, p_config, model)
                        config["pretrain"] = p_key
                        depends = (p_key,)
                    fits.append(Task(digest(config), config, model, depends))
    return [*pretrain.values(), *fits]


def count_fits(tasks):
    """Model fits of the graph against one stage-1 pretraining per M2S mode.

    Parameters
    ----------
    tasks : list of Task
        From :func:`plan_grid`.

    Returns
    -------
    dict
        ``tasks`` (fit tasks: rows of the table), ``pretrain_tasks``,
        ``flat_fits`` (stage-1 and stage-2 fits when each mode pretrains its
        own encoders, plus the baselines), ``graph_fits`` (the same with one
        pretraining shared by the modes), ``saved``.
    """
    fit = [t for t in tasks if t.kind == "fit"]
    pre = [t for t in tasks if t.kind == "pretrain"]
    m2s = sum(1 for t in fit if t.depends_on)
    flat = len(fit) + m2s
    graph = len(fit) + len(pre)
    return dict(
        tasks=len(fit),
        pretrain_tasks=len(pre),
        flat_fits=flat,
        graph_fits=graph,
        saved=flat - graph,
    )


# -- running -----------------------------------------------------------------------------
def _take(data, idx, container):
    sub = {k: np.asarray(v[idx]) for k, v in data.items()}
    if container == "slicedict":
        from skorch.helper import SliceDict

        return SliceDict(**sub)
    return sub["x"]


def epoch_history(history):
    """The epochs of a skorch ``History`` as plain dicts of numbers (no batches).

    What a task keeps of a fit's history (in its record or artifact): every
    numeric entry of every epoch (``epoch``, ``dur``, ``train_loss``, the
    loss terms of M2S...), as Python ints and floats.

    Parameters
    ----------
    history : skorch.history.History | list of dict | None

    Returns
    -------
    list of dict
        Empty for ``None``.
    """
    epochs = []
    for epoch in history or ():
        epochs.append(
            {
                str(k): v.item() if isinstance(v, np.generic) else v
                for k, v in epoch.items()
                if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
            }
        )
    return epochs


def _run_pretrain(task, store):
    """Stage 1 as the classifier's ``fit`` runs it (:meth:`M2SClassifier.pretrain`);
    the pretrained model into the store (its configuration and weights)."""
    import torch

    data, y, _ = store.load_data(task.config["data"])
    train, _ = store.load_split(task.config["data"], task.config["split"])
    start = time.perf_counter()
    pretrainer = task.estimator.pretrain(_take(data, train, "slicedict"), np.asarray(y)[train])
    duration = time.perf_counter() - start
    module = pretrainer.model
    saved = {
        "config": module.get_config(),
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "history": epoch_history(pretrainer.history),
    }
    with atomic_path(store.artifact_path(task.key)) as tmp:
        torch.save(saved, tmp)
    return dict(time=duration, samples=len(train))


def pretrained_artifact(task, store):
    """The model a stage-1 task trained, rebuilt from the store, and its epoch history.

    Parameters
    ----------
    task : Task
        A ``pretrain`` task, or a ``fit`` task that depends on one.
    store : ResultStore

    Returns
    -------
    module : torch.nn.Module
        The pretrained model (on the CPU).
    history : list of dict
        Stage 1's epochs (:func:`epoch_history`; empty for an artifact
        written before histories were kept).
    record : dict
        The stage-1 task's record.
    """
    import torch

    p_key = task.key if task.kind == "pretrain" else task.config["pretrain"]
    record = store.read(p_key)
    if record is None or record.get("status") != "done":
        raise RuntimeError(
            f"Stage-1 task {p_key} has no done record in the store; "
            f"expected it to run before its mode classifiers."
        )
    saved = torch.load(store.artifact_path(p_key), weights_only=True, map_location="cpu")
    given = task.estimator.module
    cls = given if inspect.isclass(given) else type(given)
    module = cls.from_config(saved["config"])
    module.load_state_dict(saved["state_dict"])
    return module, list(saved.get("history", [])), record


def _run_fit(task, store):
    from sklearn.base import clone
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, cohen_kappa_score

    cfg = task.config
    data, y, container = store.load_data(cfg["data"])
    train, test = store.load_split(cfg["data"], cfg["split"])
    y = np.asarray(y)
    est = clone(task.estimator)
    extra_time = 0.0
    if cfg["pretrain"] is not None:  # stage 2 on the model of the stage-1 task
        module, _, p_record = pretrained_artifact(task, store)
        est = est.on_pretrained(module)
        extra_time = p_record["row"]["time"]
    X_train, X_test = _take(data, train, container), _take(data, test, container)
    start = time.perf_counter()
    est.fit(X_train, y[train])
    duration = time.perf_counter() - start + extra_time
    y_pred = np.asarray(est.predict(X_test))
    y_test = y[test]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes absent from a test fold
        scores = dict(
            score=float(accuracy_score(y_test, y_pred)),
            balanced_accuracy=float(balanced_accuracy_score(y_test, y_pred)),
            kappa=float(cohen_kappa_score(y_test, y_pred)),
        )
    row = dict(
        dataset=cfg["dataset"],
        protocol=cfg["protocol"],
        pipeline=cfg["pipeline"],
        setting=cfg["setting"],
        train_modalities="+".join(cfg["train_modalities"]),
        test_modalities="+".join(cfg["test_modalities"]),
        seed=cfg["seed"],
        subject=cfg["subject"],
        session=cfg["session"],
        fold=cfg["fold"],
        **scores,
        time=duration,
        samples=int(len(train)),
        samples_test=int(len(test)),
        n_classes=int(len(np.unique(np.concatenate([y[train], y_test])))),
    )
    predictions = {"y_true": y_test.tolist(), "y_pred": y_pred.tolist()}
    return row, predictions, epoch_history(getattr(est, "history", None))


#: Tasks running in this process, and the thread limits to restore after the last one.
_THREADS_LOCK = threading.Lock()
_THREADS = {"running": 0, "blas": None, "torch": None}


def _imported_torch():
    """torch if this process has imported it (completely: not in another thread's import)."""
    torch = sys.modules.get("torch")
    spec = getattr(torch, "__spec__", None)
    if torch is None or getattr(spec, "_initializing", False):
        return None
    return torch if callable(getattr(torch, "set_num_threads", None)) else None


@contextlib.contextmanager
def single_threaded():
    """Compute with one thread in torch and in the BLAS / OpenMP libraries.

    Floating-point sums depend on how a reduction is split between threads:
    the same fit gives different weights with 1 and with 16 intra-op
    threads. Engines start their workers with different counts (Dask's
    nanny sets ``OMP_NUM_THREADS=1``, Ray one thread per CPU it grants,
    loky the cores divided by the workers, a local process every core), so
    every task computes with one thread, whatever its worker was given:
    the same table under every backend. Parallelism comes from running
    tasks side by side. The limits hold while any task of the process runs
    (tasks in threads share them) and are restored after the last one.
    torch is limited when the task's estimator has imported it (an
    estimator that imports torch inside ``fit`` is not).
    """
    from threadpoolctl import threadpool_limits

    with _THREADS_LOCK:
        torch = _imported_torch()
        if torch is not None and _THREADS["torch"] is None:  # before the limits below
            _THREADS["torch"] = torch.get_num_threads()
        if _THREADS["running"] == 0:
            _THREADS["blas"] = threadpool_limits(limits=1)
        _THREADS["running"] += 1
        if torch is not None:
            torch.set_num_threads(1)
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS["running"] -= 1
            if _THREADS["running"] == 0:
                _THREADS["blas"].restore_original_limits()
                torch = _imported_torch()
                if torch is not None and _THREADS["torch"] is not None:
                    torch.set_num_threads(_THREADS["torch"])
                _THREADS.update(blas=None, torch=None)


def run_task(task, store):
    """Run one task (unless the store already holds its result) and record it.

    A pure function of ``task.config``: it reads the data and the fold from
    ``store``, fits a clone of ``task.estimator`` (seeded by its
    ``random_state``; no global random state is set) with one thread
    (:func:`single_threaded`: the same numbers on every backend), and
    writes a ``done`` record (the result row and the test predictions) or a
    ``failed`` record (the traceback) atomically. Exceptions of the fit are
    recorded, not raised, so one failing task does not stop the others; a
    record that the store would not vouch for
    (:func:`~braindecode_m2s.evaluation.records.check_record`: a
    non-finite score...) is recorded as failed. Errors writing the record
    (a full disk) are raised.

    Parameters
    ----------
    task : Task
    store : ResultStore | str | Path

    Returns
    -------
    dict
        The record: ``key``, ``kind``, ``status`` (``"done"`` or
        ``"failed"``), ``config``, and ``row`` / ``predictions`` (and
        ``history``, the epochs of a skorch estimator) or ``traceback``;
        with ``warnings`` (one line per distinct warning the task raised)
        when it raised some: the task prints none itself, the runner
        reports each once (:func:`~braindecode_m2s.evaluation.run_plan`).
    """
    store = store if isinstance(store, ResultStore) else ResultStore(store)
    record = store.read(task.key)
    if record is not None and record.get("status") == "done":
        return record
    start = time.perf_counter()
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught, single_threaded():
            quiet_warnings()
            if task.kind == "pretrain":
                info = _run_pretrain(task, store)
                record = dict(
                    status="done",
                    row=dict(info, n_outputs=task.config["n_outputs"]),
                    predictions=None,
                )
            else:
                row, predictions, history = _run_fit(task, store)
                record = dict(status="done", row=row, predictions=predictions)
                if history:
                    record["history"] = history
    except Exception:  # noqa: BLE001 - recorded in the store, reported by the runner
        record = dict(status="failed", traceback=traceback.format_exc())
    record.update(
        key=task.key, kind=task.kind, config=task.config, wall_time=time.perf_counter() - start
    )
    if record["status"] == "done":
        try:
            check_record(parse_record(dumps(record).encode("utf-8")), task.key, digest)
        except RecordError as err:
            record.pop("row"), record.pop("predictions")
            record.update(status="failed", traceback=f"RecordError: the record {err}.")
    store.write(task.key, record)
    messages = {f"{w.category.__name__}: {str(w.message).strip()}".splitlines()[0] for w in caught}
    # for the runner, which reports each message once (not stored: a rerun has none)
    return dict(record, warnings=sorted(messages)) if messages else record
