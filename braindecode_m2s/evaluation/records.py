"""What a task record must hold for the store to report it.

A record of the :class:`~braindecode_m2s.evaluation.store.ResultStore` is
one JSON file, written by :func:`~braindecode_m2s.evaluation.tasks.run_task`.
The store reads it as untrusted input (a file can be edited, copied under
another task's name, truncated or replaced by a link): :func:`parse_record`
decodes it (strict UTF-8, bounded nesting, one JSON object) and
:func:`check_record` checks it against the task it claims to be (its key is
the SHA-256 of its configuration) and against itself (the scores of a
``done`` row are recomputed from its stored predictions; the epoch history a fit record may
hold is a list of dicts of numbers). Anything that fails is a
:class:`RecordError`; the store treats the record as missing.
"""

from __future__ import annotations

import math

import numpy as np

from ..utils.jsonfile import decode_json
from ..utils.jsonfile import depth_ok as _depth_ok  # noqa: F401 - the store's tests use it

__all__ = [
    "RESULT_COLUMNS",
    "MAX_DEPTH",
    "RecordError",
    "parse_record",
    "check_record",
    "prediction_scores",
]

#: Columns of the results table, in order.
RESULT_COLUMNS = [
    "dataset", "protocol", "pipeline", "setting", "train_modalities", "test_modalities",
    "seed", "subject", "session", "fold", "score", "balanced_accuracy", "kappa", "time",
    "samples", "samples_test", "n_classes",
]  # fmt: skip

#: Deepest nesting of brackets a record may have (the records written by
#: ``run_task`` nest about 10 deep: configuration, estimator, parameters).
MAX_DEPTH = 64

#: Largest gap between a stored score and the one recomputed from the record's
#: predictions (the recomputation is numpy's, the stored one scikit-learn's).
SCORE_TOLERANCE = 1e-9

#: Row fields that repeat the task's configuration.
_IDENTITY = ("dataset", "protocol", "pipeline", "setting", "seed", "subject", "session", "fold")


class RecordError(ValueError):
    """A task record that the store does not vouch for (it is treated as missing)."""


def parse_record(data, max_depth=MAX_DEPTH):
    """The JSON object encoded in ``data`` (bytes), or a :class:`RecordError`.

    Parameters
    ----------
    data : bytes
        The file's content.
    max_depth : int
        Deepest nesting of arrays and objects accepted (checked before
        parsing).

    Returns
    -------
    dict

    Raises
    ------
    RecordError
        If ``data`` is not UTF-8, nests deeper than ``max_depth``, or is not
        one JSON object (:func:`~braindecode_m2s.utils.jsonfile.decode_json`).
    """
    return decode_json(data, max_depth, dict, RecordError)


def _number(value, low=-math.inf, high=math.inf):
    """Whether ``value`` is a finite int or float (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return low <= value <= high and -1e300 < value < 1e300  # big ints compare exactly


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62


def _labels(values, name):
    """The kinds of labels (``str`` or ``float``) in the list ``values``."""
    if not isinstance(values, list):
        raise RecordError(f"has predictions {name!r} that are not a list")
    kinds = set()
    for v in values:
        if isinstance(v, str):
            kinds.add(str)
        elif isinstance(v, bool) or (
            _number(v, -(2.0**63), 2.0**63 - 1) and float(v).is_integer()
        ):  # scikit-learn's classification metrics refuse other numbers ("continuous")
            kinds.add(float)
        else:
            raise RecordError(f"has a prediction label in {name!r} that is not a class label")
    return kinds


def prediction_scores(y_true, y_pred):
    """Accuracy, balanced accuracy and Cohen's kappa of two label lists.

    scikit-learn's definitions (:func:`~sklearn.metrics.accuracy_score`,
    :func:`~sklearn.metrics.balanced_accuracy_score`,
    :func:`~sklearn.metrics.cohen_kappa_score`) computed with numpy from one
    confusion matrix: classes absent from ``y_true`` are left out of the
    balanced accuracy, and kappa is NaN when it is undefined (one class,
    predicted throughout).

    Parameters
    ----------
    y_true, y_pred : sequence
        Labels (numbers or strings), of the same non-zero length.

    Returns
    -------
    dict
        ``score``, ``balanced_accuracy``, ``kappa`` (floats).
    """
    n = len(y_true)
    classes, codes = np.unique(np.asarray([*y_true, *y_pred]), return_inverse=True)
    k = len(classes)
    t, p = codes[:n], codes[n:]
    hit = t == p
    rows = np.bincount(t, minlength=k)
    cols = np.bincount(p, minlength=k)
    present = rows > 0
    recall = np.bincount(t[hit], minlength=k)[present] / rows[present]
    trace = int(hit.sum())
    # kappa = 1 - observed / expected disagreement, without the k x k matrices
    expected = (float(n) * n - float(np.dot(rows, cols))) / n
    kappa = 1.0 - (n - trace) / expected if expected > 0 else math.nan
    return dict(
        score=trace / n,
        balanced_accuracy=float(recall.mean()),
        kappa=float(kappa),
    )


def _same_score(stored, computed):
    if math.isnan(computed):
        return isinstance(stored, float) and math.isnan(stored)
    return _number(stored) and abs(stored - computed) <= SCORE_TOLERANCE


def _check_fit_row(record, config):
    row, predictions = record.get("row"), record.get("predictions")
    if not isinstance(row, dict):
        raise RecordError("is done without a result row")
    missing = [c for c in RESULT_COLUMNS if c not in row]
    if missing:
        raise RecordError(f"has a row without {missing}")
    expected = {k: config.get(k) for k in _IDENTITY}
    for name in ("train_modalities", "test_modalities"):
        keys = config.get(name)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise RecordError(f"has a configuration whose {name!r} is not a list of names")
        expected[name] = "+".join(keys)
    for name, value in expected.items():
        if row[name] != value or type(row[name]) is not type(value):
            raise RecordError(f"has a row whose {name!r} is not its task's")
    if not _number(row["time"], 0.0):
        raise RecordError("has a row whose 'time' is not a finite duration")
    for name in ("samples", "samples_test", "n_classes"):
        if not _count(row[name]):
            raise RecordError(f"has a row whose {name!r} is not a count")
    if not isinstance(predictions, dict):
        raise RecordError("is done without its predictions")
    y_true, y_pred = predictions.get("y_true"), predictions.get("y_pred")
    kinds = _labels(y_true, "y_true") | _labels(y_pred, "y_pred")
    if len(kinds) > 1:
        raise RecordError("mixes string and number labels in its predictions")
    if not len(y_true) == len(y_pred) == row["samples_test"] > 0:
        raise RecordError("has predictions whose length is not the row's 'samples_test'")
    computed = prediction_scores(y_true, y_pred)
    for name, value in computed.items():
        if not _same_score(row[name], value):
            raise RecordError(
                f"has a row whose {name!r} ({row[name]!r}) is not its predictions' ({value!r})"
            )


def _check_history(record):
    """A fit record's optional ``history``: epochs as dicts of names -> numbers."""
    history = record.get("history")
    if history is None:
        return
    if not isinstance(history, list):
        raise RecordError("has a 'history' that is not a list of epochs")
    for epoch in history:
        if not isinstance(epoch, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in epoch.values()
        ):
            raise RecordError("has a 'history' epoch that is not a dict of numbers")


def _check_pretrain_row(record, config):
    row = record.get("row")
    if not isinstance(row, dict):
        raise RecordError("is done without a result row")
    if row.get("n_outputs") != config.get("n_outputs") or not _count(row.get("n_outputs")):
        raise RecordError("has a row whose 'n_outputs' is not its task's")
    if not _number(row.get("time"), 0.0):
        raise RecordError("has a row whose 'time' is not a finite duration")
    if not _count(row.get("samples")):
        raise RecordError("has a row whose 'samples' is not a count")
    if record.get("predictions") is not None:
        raise RecordError("is a stage-1 record with predictions")


def check_record(record, key, digest):
    """Check a parsed record against the task ``key`` it is stored as.

    Parameters
    ----------
    record : dict
        From :func:`parse_record`.
    key : str
        The task's key (the record's file name).
    digest : callable
        SHA-256 of a configuration (the store's
        :func:`~braindecode_m2s.evaluation.store.digest`).

    Returns
    -------
    dict
        ``record``, checked.

    Raises
    ------
    RecordError
        If the record belongs to another task, its configuration does not
        hash to its key, or it is not a well-formed ``done`` / ``failed``
        record (a done fit's scores must be those of its predictions).
    """
    if record.get("key") != key:
        raise RecordError("names another task")
    config = record.get("config")
    if not isinstance(config, dict):
        raise RecordError("has no configuration")
    try:
        same = digest(config) == key
    except (TypeError, ValueError, RecursionError):
        same = False
    if not same:
        raise RecordError("has a configuration that is not its task's")
    kind = record.get("kind")
    if kind not in ("fit", "pretrain") or config.get("kind") != kind:
        raise RecordError("has a 'kind' that is not its task's")
    if "wall_time" in record and not _number(record["wall_time"], 0.0):
        raise RecordError("has a 'wall_time' that is not a finite duration")
    status = record.get("status")
    if status == "failed":
        if not isinstance(record.get("traceback"), str):
            raise RecordError("is failed without a traceback")
        return record
    if status != "done":
        raise RecordError(f"has status {str(status)[:40]!r}; expected 'done' or 'failed'")
    if kind == "fit":
        _check_fit_row(record, config)
        _check_history(record)
    else:
        _check_pretrain_row(record, config)
    return record
