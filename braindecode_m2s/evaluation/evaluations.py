"""Run pipelines through a protocol, modality settings and seeds.

The evaluation of Liu et al. (AAAI 2025): every pipeline (M2S in its modes,
the baselines) is fitted and scored on every split of a trial-grouped
protocol (:mod:`~braindecode_m2s.evaluation.protocols`), for every modality
setting (:mod:`~braindecode_m2s.evaluation.settings`) and seed. The result is
one row per (split, pipeline, setting, seed) with MOABB's result columns
(``score, time, samples, subject, session, pipeline, dataset``) plus
``train_modalities``, ``test_modalities``, ``seed``, ``balanced_accuracy``
and ``kappa``.

Each (split, pipeline, setting, seed) is an independent :mod:`joblib` task,
so ``n_jobs`` fans out locally (loky) or, inside
``with joblib.parallel_backend("dask"):`` / ``("ray")``, over a cluster; the
package has no distribution code of its own.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, balanced_accuracy_score, cohen_kappa_score

from .protocols import PROTOCOLS, ProtocolSplitter, normalize_dataset_code
from .settings import apply_setting, parse_setting
from .transformers import as_modality_dict

__all__ = ["evaluate", "EmotionEvaluation", "RESULT_COLUMNS"]

#: Columns of the results table, in order.
RESULT_COLUMNS = [
    "dataset", "protocol", "pipeline", "setting", "train_modalities", "test_modalities",
    "seed", "subject", "session", "fold", "score", "balanced_accuracy", "kappa", "time",
    "samples", "samples_test", "n_classes",
]  # fmt: skip


def _set_seed(estimator, seed):
    """Set every ``random_state`` parameter (nested ones too) to ``seed``."""
    params = estimator.get_params(deep=True)
    keys = {k: seed for k in params if k == "random_state" or k.endswith("__random_state")}
    if keys:
        try:
            estimator.set_params(**keys)
        except ValueError:  # a nested parameter that cannot be set independently
            if "random_state" in params:
                estimator.set_params(random_state=seed)
    return estimator


def _seed_everything(seed):
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.manual_seed(seed)


def _run_task(task, X_train, y_train, X_test, y_test, return_predictions):
    """Fit and score one (split, pipeline, setting, seed); a joblib task."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        _seed_everything(task["seed"])
        est = _set_seed(apply_setting(task["estimator"], task["setting"], task["keys"]),
                        task["seed"])
        start = time.perf_counter()
        est.fit(X_train, y_train)
        duration = time.perf_counter() - start
        y_pred = np.asarray(est.predict(X_test))
        warnings.simplefilter("ignore", UserWarning)  # classes absent from a test fold
        scores = dict(
            score=accuracy_score(y_test, y_pred),
            balanced_accuracy=balanced_accuracy_score(y_test, y_pred),
            kappa=cohen_kappa_score(y_test, y_pred),
        )
    row = {k: v for k, v in task.items() if k not in ("estimator", "keys")}
    setting = row.pop("setting")
    tr, te = setting.resolve(task["keys"])
    row.update(
        setting=setting.name,
        train_modalities="+".join(tr),
        test_modalities="+".join(te),
        **scores,
        time=duration,
        samples=len(y_train),
        samples_test=len(y_test),
        n_classes=len(np.unique(np.concatenate([np.asarray(y_train), np.asarray(y_test)]))),
    )
    preds = None
    if return_predictions:
        preds = pd.DataFrame({"y_true": np.asarray(y_test), "y_pred": y_pred})
        for key in ("dataset", "protocol", "pipeline", "setting", "seed", "subject",
                    "session", "fold"):
            preds[key] = row[key]
    return row, preds


def _check_pipelines(pipelines):
    if not isinstance(pipelines, dict) or not pipelines:
        raise ValueError(
            f"`pipelines` is {type(pipelines).__name__}; expected a non-empty dict "
            f"name -> scikit-learn estimator (as in MOABB)."
        )
    for name, est in pipelines.items():
        if not hasattr(est, "fit") or not hasattr(est, "get_params"):
            raise ValueError(
                f"Pipeline {name!r} is {est!r}; expected a scikit-learn compatible "
                f"estimator."
            )


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
):
    """Fit and score pipelines on every split, modality setting and seed.

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
        Seeds; each sets every ``random_state`` of the estimator, NumPy's
        and torch's global seeds.
    n_jobs : int
        joblib workers over the (split, pipeline, setting, seed) tasks.
    progress : bool
        Show a tqdm progress bar.
    return_predictions : bool
        Also return a table of every test prediction (for confusion matrices).

    Returns
    -------
    results : pandas.DataFrame
        One row per task, columns :data:`RESULT_COLUMNS`, sorted.
    predictions : pandas.DataFrame
        Only if ``return_predictions``: ``y_true``, ``y_pred`` and the task keys.
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

    def take(idx):
        return {k: v[idx] for k, v in data.items()}

    def tasks():
        for fold in folds:
            for name, est in pipelines.items():
                for setting in per_pipeline[name]:
                    for seed in seeds:
                        task = dict(dataset=code, protocol=protocol, pipeline=name,
                                    setting=setting, seed=seed, subject=fold["subject"],
                                    session=fold["session"], fold=fold["fold"],
                                    estimator=est, keys=keys)
                        tr, te = fold["train"], fold["test"]
                        yield delayed(_run_task)(task, _as_input(X, take(tr)), y[tr],
                                                 _as_input(X, take(te)), y[te],
                                                 return_predictions)

    n_tasks = len(folds) * sum(map(len, per_pipeline.values())) * len(seeds)
    out = Parallel(n_jobs=n_jobs, return_as="generator")(tasks())
    if progress:
        from tqdm.auto import tqdm

        out = tqdm(out, total=n_tasks, desc=f"{code} {protocol}", unit="fit")
    out = list(out)
    results = pd.DataFrame([row for row, _ in out])[RESULT_COLUMNS]
    order = ["pipeline", "setting", "seed", "subject", "session", "fold"]
    results = results.sort_values(order, kind="stable").reset_index(drop=True)
    if not return_predictions:
        return results
    preds = pd.concat([p for _, p in out], ignore_index=True)
    return results, preds


def _as_input(X, data):
    """Same container type as ``X`` (a SliceDict stays a SliceDict, an array an array)."""
    if hasattr(X, "keys"):
        from skorch.helper import SliceDict

        return SliceDict(**data)
    return data["x"]


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

    def __init__(self, paradigm, datasets=None, protocol="within-session",
                 settings=("multimodal",), seeds=(0,), subjects=None, n_jobs=1,
                 progress=False):
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
                pipelines, X, y, metadata, protocol=self.protocol, dataset=dataset.code,
                settings=self.settings, seeds=self.seeds, n_jobs=self.n_jobs,
                progress=self.progress, return_predictions=True,
            )
            tables.append(res)
            preds.append(pred)
        self.predictions_ = pd.concat(preds, ignore_index=True)
        return pd.concat(tables, ignore_index=True)
