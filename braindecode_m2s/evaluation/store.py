"""A content-addressed, crash-safe store of evaluation tasks and their results.

The evaluation of Liu et al. (AAAI 2025) is a grid of independent tasks
(:mod:`~braindecode_m2s.evaluation.tasks`). Each task is keyed by the SHA-256
of its full configuration; its outcome is one small JSON file in the store,
written atomically (a temporary file in the same folder, then
:func:`os.replace`), so a run killed at any moment leaves either a complete
record or none, never a half-written one. Rerunning the same grid reads the
records that exist and computes only the tasks that are missing or failed.

Layout of a store folder::

    STORE.json                    format marker
    data/<fingerprint>/           the data of a grid, written once
        meta.json                 modality keys, container type
        <key>.npy, y.npy          the arrays (memory-mapped by the tasks)
        splits/<split id>.npz     train / test positions of one fold
    tasks/<ab>/<key>.json         one record per task: status "done" (with the
                                  result row and predictions) or "failed"
                                  (with the traceback)
    artifacts/<ab>/<key>.pt       outputs a task hands to others (the stage-1
                                  encoders of M2S: tensors only)

The store is a cache that belongs to the user who runs the grid: its files
are read with :func:`json.loads`, :func:`numpy.load` (``allow_pickle=False``)
and :func:`torch.load` (``weights_only=True``), never unpickled.

The store vouches for what it reports. Its JSON files (``STORE.json``,
``meta.json``, the records) are read only as regular files, never through a
symbolic link, a FIFO or a device, with a size cap and a bounded nesting
depth (:func:`~braindecode_m2s.utils.files.read_regular_file`,
:func:`~braindecode_m2s.evaluation.records.parse_record`). A record is
checked against the task it is stored as (its key, the SHA-256 of its
configuration) and against itself (the scores of a result row are
recomputed from its predictions, and must be finite unless the
predictions leave kappa undefined):
:func:`~braindecode_m2s.evaluation.records.check_record`. A record that
fails is reported once, as a :class:`RecordWarning` naming it, and treated
as missing: its task runs again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import stat
import warnings
from pathlib import Path

import numpy as np

from ..utils.files import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    check_writable_dir,
    read_regular_file,
)
from .records import RecordError, check_record, parse_record

__all__ = [
    "ResultStore",
    "RecordWarning",
    "NotAStoreError",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_writable_dir",
]

_FORMAT = {"format": "braindecode-m2s task store", "version": 1}

#: Largest task record read (bytes): a row and the test predictions of one fold.
MAX_RECORD_BYTES = 64 << 20
#: Largest ``STORE.json`` / ``meta.json`` read (bytes).
MAX_MARKER_BYTES = 64 << 10


class RecordWarning(UserWarning):
    """A task record the store does not vouch for; its task is run again."""


class NotAStoreError(ValueError):
    """A store folder whose ``STORE.json`` is not this package's marker."""


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(obj):
    """Canonical JSON (sorted keys, no spaces); floats round-trip exactly."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), default=_json_default, allow_nan=True
    )


def digest(obj):
    """SHA-256 (hex) of the canonical JSON of ``obj``."""
    return hashlib.sha256(dumps(obj).encode("utf-8")).hexdigest()


class ResultStore:
    """Content-addressed store of task records, data and artifacts.

    Parameters
    ----------
    root : str | Path
        Folder of the store (created if missing).

    Notes
    -----
    Safe under concurrent writers (cluster workers writing different
    records, or the same record twice: the last atomic replace wins, and
    both hold the result of the same configuration).
    """

    def __init__(self, root):
        self.root = check_writable_dir(root, "store folder")
        self._warned = set()
        marker = self.root / "STORE.json"
        if marker.exists() or marker.is_symlink():
            try:
                found = parse_record(read_regular_file(marker, MAX_MARKER_BYTES, "STORE.json"))
            except (OSError, ValueError):
                found = None
            if not isinstance(found, dict) or found.get("format") != _FORMAT["format"]:
                raise NotAStoreError(
                    f"Store folder {str(self.root)!r} holds a STORE.json that "
                    f"is not a braindecode-m2s store marker; expected an empty "
                    f"folder or a store."
                )
        else:
            atomic_write_text(marker, dumps(_FORMAT))

    def __repr__(self):
        return f"ResultStore({str(self.root)!r})"

    def __reduce__(self):  # travels to workers as its path, opened there without checks
        return (_open, (str(self.root),))

    # -- data ------------------------------------------------------------------
    def put_data(self, data, y, container):
        """Write the grid's arrays once; returns their fingerprint.

        Parameters
        ----------
        data : dict of str -> numpy.ndarray
            The modalities.
        y : numpy.ndarray
            Labels (numbers or strings).
        container : {"slicedict", "array"}
            How the tasks hand ``X`` to the estimators.

        Returns
        -------
        str
            SHA-256 of the arrays' shapes, dtypes and bytes.
        """
        h = hashlib.sha256()
        arrays = {
            **{f"x_{k}": np.ascontiguousarray(v) for k, v in data.items()},
            "y": np.ascontiguousarray(y),
        }
        for name in sorted(arrays):
            a = arrays[name]
            if a.dtype.kind == "O":
                raise ValueError(
                    f"Array {name!r} has dtype object; expected numbers or "
                    f"strings (the store writes plain .npy files)."
                )
            h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
            h.update(memoryview(a).cast("B"))
        fp = h.hexdigest()
        folder = self.root / "data" / fp
        if not (folder / "meta.json").exists():
            folder.mkdir(parents=True, exist_ok=True)
            for name, a in arrays.items():
                path = folder / f"{name}.npy"
                if not path.exists():
                    with atomic_path(path) as tmp, open(tmp, "wb") as f:
                        np.save(f, a, allow_pickle=False)
            atomic_write_text(
                folder / "meta.json", dumps({"keys": list(data), "container": container})
            )
        return fp

    def load_data(self, fingerprint):
        """``(data, y, container)`` of a fingerprint, memory-mapped (once per process)."""
        return _load_data(str(self.root), fingerprint)

    def _load_data(self, fingerprint):
        folder = self.root / "data" / fingerprint
        meta = parse_record(
            read_regular_file(folder / "meta.json", MAX_MARKER_BYTES, "Data description")
        )
        data = {
            k: np.load(folder / f"x_{k}.npy", mmap_mode="r", allow_pickle=False)
            for k in meta["keys"]
        }
        y = np.load(folder / "y.npy", mmap_mode="r", allow_pickle=False)
        return data, y, meta["container"]

    def put_split(self, fingerprint, train, test):
        """Write one fold's positions; returns its id (SHA-256 of the positions)."""
        train = np.asarray(train, dtype=np.int64)
        test = np.asarray(test, dtype=np.int64)
        h = hashlib.sha256(train.tobytes())
        h.update(b"|")
        h.update(test.tobytes())
        split_id = h.hexdigest()
        folder = self.root / "data" / fingerprint / "splits"
        path = folder / f"{split_id}.npz"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.savez(f, train=train, test=test)
        return split_id

    def load_split(self, fingerprint, split_id):
        """``(train, test)`` positions of a fold."""
        with np.load(
            self.root / "data" / fingerprint / "splits" / f"{split_id}.npz", allow_pickle=False
        ) as f:
            return f["train"], f["test"]

    # -- records ---------------------------------------------------------------
    def _record_path(self, key):
        return self.root / "tasks" / key[:2] / f"{key}.json"

    def _artifact(self, key):
        return self.root / "artifacts" / key[:2] / f"{key}.pt"

    def artifact_path(self, key):
        """Where the artifact of task ``key`` lives (its folder is created)."""
        path = self._artifact(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, key, record):
        """Write the record of task ``key`` atomically."""
        path = self._record_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # no fsync: a record lost to a power cut reads as missing and is recomputed
        atomic_write_text(path, dumps(record), fsync=False)

    def read(self, key):
        """The record of task ``key`` (a dict), or ``None`` when it has none the store vouches for.

        A record that is not a regular file of at most
        :data:`MAX_RECORD_BYTES`, not a JSON object, or fails
        :func:`~braindecode_m2s.evaluation.records.check_record` (another
        task's record, a score that its predictions do not give, a
        non-finite number...) is reported once by a :class:`RecordWarning`
        and read as ``None``: its task runs again and its next record
        replaces it. A ``done`` stage-1 record whose artifact is not a
        regular file is treated the same way.
        """
        path = self._record_path(key)
        try:
            data = read_regular_file(path, MAX_RECORD_BYTES, "Task record")
            record = check_record(parse_record(data), key, digest)
            if record["kind"] == "pretrain" and record["status"] == "done":
                self._check_artifact(key)
        except FileNotFoundError:
            return None
        except (OSError, RecordError) as err:
            self._warn(path, err)
            return None
        return record

    def _check_artifact(self, key):
        path = self._artifact(key)
        try:
            mode = path.lstat().st_mode
        except OSError:
            raise RecordError(f"is done but its artifact {str(path)!r} is missing") from None
        if not stat.S_ISREG(mode):
            raise RecordError(f"is done but its artifact {str(path)!r} is not a regular file")

    def _warn(self, path, err):
        reason = str(err).strip() or type(err).__name__
        if isinstance(err, OSError):  # its message names the file
            message = f"{reason.rstrip('.')}; the store treats it as missing and reruns its task."
        else:
            message = (
                f"Task record {str(path)!r} {reason}; the store treats it as missing "
                f"and reruns its task."
            )
        warned = getattr(self, "_warned", None)
        if warned is None:
            warned = self._warned = set()
        if message not in warned:
            warned.add(message)
            warnings.warn(message, RecordWarning, stacklevel=3)

    def is_done(self, key):
        """Whether task ``key`` has a ``done`` record."""
        record = self.read(key)
        return record is not None and record.get("status") == "done"

    def status(self, keys):
        """Counts of ``done``, ``failed`` and ``pending`` among ``keys``.

        Returns
        -------
        counts : dict
            ``{"done": int, "failed": int, "pending": int, "total": int}``.
        failed : list of dict
            The failed records (``config``, ``traceback``).
        """
        counts = {"done": 0, "failed": 0, "pending": 0}
        failed = []
        for key in keys:
            record = self.read(key)
            state = "pending" if record is None else record["status"]
            counts[state] += 1
            if state == "failed":
                failed.append(record)
        counts["total"] = len(keys)
        return counts, failed

    def size_bytes(self):
        """Total size of the store's files, in bytes."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def _open(root):
    """A store already checked by the process that made it (a worker's copy)."""
    store = object.__new__(ResultStore)
    store.root = Path(root)
    store._warned = set()
    return store


@functools.lru_cache(maxsize=8)
def _load_data(root, fingerprint):
    return _open(root)._load_data(fingerprint)
