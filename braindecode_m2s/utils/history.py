"""A skorch training history read as untrusted input.

skorch's ``load_params(f_history=...)`` reads the file with a plain
:func:`json.load` (``History.from_file``): a link to ``/dev/zero`` is read
until memory runs out, a FIFO blocks forever, deep nesting raises
``RecursionError``, and a file holding a number, a string or epochs of the
wrong types raises ``TypeError`` there or later, in the next ``fit``.
:func:`read_history` reads it through
:func:`~braindecode_m2s.utils.jsonfile.read_json` and checks that it has
the form skorch writes (``History.to_file``) before skorch sees it.
"""

from __future__ import annotations

import os

from .jsonfile import read_json

__all__ = ["MAX_HISTORY_BYTES", "MAX_HISTORY_DEPTH", "check_history", "read_history"]

#: Largest history file read (a 200-epoch run of 100 batches an epoch, every
#: stage-1 term recorded per batch, writes about 4 MB).
MAX_HISTORY_BYTES = 64 * 2**20
#: Deepest nesting accepted: the history, an epoch, its batches, a batch,
#: and a few levels for values of the user's own callbacks.
MAX_HISTORY_DEPTH = 16

#: What a history must be, to end the messages.
_FORM = "skorch's History: a list of epoch objects, each with a list of batch objects"


def _kind(value):
    """JSON kind of a parsed value; integers and floats are both numbers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _check_entry(entry, where, kinds):
    """Check one epoch or batch object; ``kinds`` maps each key to the kind seen first."""
    for key, value in entry.items():
        kind = _kind(value)
        if key == "epoch" or key.endswith("_batch_size"):
            low = 1 if key == "epoch" else 0
            if kind != "number" or not isinstance(value, int) or value < low:
                return f"has {key!r} = {str(value)[:40]!r} in {where}, not an integer >= {low}"
        elif (key == "dur" or key.endswith("_loss")) and kind != "number":
            return f"has {key!r} of JSON type {kind} in {where}, not a number"
        elif key.endswith("_best"):  # skorch compares the score it marks with new ones
            if kind != "boolean":
                return f"has {key!r} of JSON type {kind} in {where}, not a boolean"
            score = entry.get(key[: -len("_best")])
            if key[: -len("_best")] in entry and _kind(score) != "number":
                return f"has the score {key[:-5]!r} that {key!r} marks in {where}, not a number"
        first = kinds.setdefault(key, kind)
        if kind != first:  # skorch's callbacks compare a key's values across epochs
            return f"has {key!r} of JSON type {kind} in {where}, where earlier ones are {first}s"
    return None


def check_history(history):
    """Why ``history`` (a parsed JSON value) is not a skorch history, or None if it is.

    A history is a list of epoch objects. In an epoch, ``batches`` (when
    present) is a list of batch objects; ``epoch`` and the ``*_batch_size``
    keys are non-negative integers (``epoch`` from 1), ``dur`` and the
    ``*_loss`` keys numbers (NaN included), the ``*_best`` keys booleans
    (and the score ``X`` that ``X_best`` marks a number);
    every other key may hold any JSON value, of one JSON type throughout
    (numbers and integers alike), as skorch's callbacks compare a key's
    values across epochs and batches.

    Parameters
    ----------
    history : object
        The parsed file.

    Returns
    -------
    str | None
        A phrase naming the first problem (``"epoch 3 is a JSON string"``).
    """
    if not isinstance(history, list):
        return f"holds a JSON {_kind(history)}, not a list of epochs"
    epoch_kinds, batch_kinds = {}, {}
    for i, epoch in enumerate(history, 1):
        if not isinstance(epoch, dict):
            return f"has epoch {i} of JSON type {_kind(epoch)}, not an object"
        reason = _check_entry(
            {k: v for k, v in epoch.items() if k != "batches"}, f"epoch {i}", epoch_kinds
        )
        if reason:
            return reason
        batches = epoch.get("batches", [])
        if not isinstance(batches, list):
            return f"has the batches of epoch {i} of JSON type {_kind(batches)}, not a list"
        for j, batch in enumerate(batches, 1):
            if not isinstance(batch, dict):
                return f"has batch {j} of epoch {i} of JSON type {_kind(batch)}, not an object"
            reason = _check_entry(batch, f"batch {j} of epoch {i}", batch_kinds)
            if reason:
                return reason
    return None


def read_history(f, where="load_params"):
    """The epochs of a skorch history file, read and checked as untrusted input.

    Parameters
    ----------
    f : str | os.PathLike | file-like
        A history written by skorch (``save_params(f_history=...)``), or an
        open file of one (binary or text).
    where : str
        Who reads it, for messages.

    Returns
    -------
    list of dict
        The epochs, for ``skorch.history.History``.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``f``.
    ValueError
        If it is not a regular file of at most :data:`MAX_HISTORY_BYTES`,
        not UTF-8 JSON nested at most :data:`MAX_HISTORY_DEPTH` deep, or not
        a history (:func:`check_history`); the message names the file.
    """
    try:
        history = read_json(
            f, MAX_HISTORY_BYTES, MAX_HISTORY_DEPTH, list, "History file", expect=_FORM
        )
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    reason = check_history(history)
    if reason:
        name = str(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
        raise ValueError(f"{where}: History file {str(name)[:200]!r} {reason}; expected {_FORM}.")
    return history
