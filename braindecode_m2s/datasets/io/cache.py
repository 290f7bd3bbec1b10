"""The on-disk cache of converted arrays, keyed on their sources' content.

:class:`ArrayCache` stores converted arrays as ``.npz`` files written
atomically (:func:`~braindecode_m2s.utils.files.atomic_path`) and keyed on
the content of their sources (:func:`content_digest`, or
:func:`mat_selection_digest` of the variables a load reads, for a
:class:`MatVariables` source), so an interrupted conversion never leaves a
file that a later run trusts, and a changed source is never served stale.
An entry is read like any other untrusted file: within its budget, and one
that cannot be read is a miss.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np

from ...utils.files import atomic_path, read_regular_file, temporary_writer
from ...utils.jsonfile import decode_json
from .mat import check_mat_file, is_v73, name_filter, v5_layout
from .npz import check_npz_member

__all__ = ["ArrayCache", "MatVariables", "content_digest", "mat_selection_digest"]

_KEY_ENTRY = "__cache_key__"
#: Entries are packed: the arrays of one dtype are stored back to back in one
#: flat array ``__pack_<dtype>__``, and ``__index__`` (UTF-8 JSON as uint8)
#: lists each array's name, dtype, shape and offset. One ``.npy`` member per
#: dtype instead of one per array: reading 72 trials is one read, not 72
#: (each member costs a zip lookup and a header parse).
_INDEX_ENTRY = "__index__"
#: Deepest nesting of an entry's index (a list of [name, pack, shape, offset]).
_INDEX_DEPTH = 8
_PACK_PREFIX = "__pack_"
#: Algorithm tag of the digests remembered under ``.digests/``.
_DIGEST_TAG = "sha256:"
#: Temporary files of writers that died are removed when older than this
#: (seconds), or at once when the writer's process no longer exists.
ORPHAN_AGE = 6 * 3600
_DIGEST_CHUNK = 1 << 20
#: Largest digest memo read (a memo is one line of about 100 bytes).
_MEMO_BYTES = 4096
#: First bytes of an npz archive (a zip file's first local header).
_ZIP_MAGIC = b"PK\x03\x04"


def content_digest(path):
    """SHA-256 digest (hex) of a file's bytes.

    SHA-256 rather than BLAKE2b: CPUs with the SHA extensions (x86 since
    about 2017, ARMv8) hash it about three times faster, which is most of
    the cost of a first load of a feature file that is read only in part
    (see ``benchmarks/bench_loading.py``).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    str
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_DIGEST_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _selection_tag(variables):
    """Deterministic text of a ``variables`` selection (as :func:`load_mat` takes)."""
    if variables is None:
        return "all"
    if isinstance(variables, re.Pattern):
        return "re:" + variables.pattern
    if isinstance(variables, str):
        return "re:" + variables
    return "names:" + json.dumps(sorted(set(map(str, variables))))


def mat_selection_digest(path, variables=None):
    """SHA-256 digest (hex) of what :func:`load_mat` reads for ``variables``.

    For a version 5 file: the version and byte-order mark of its header,
    the names of all variables in file order (they decide which variables a
    selection picks) and the bytes of the selected variables (compressed
    ones as stored), so it changes whenever the result of
    ``load_mat(path, variables)`` can, and hashes a quarter of a SEED-IV
    feature file when a load reads a quarter of its variables. For a
    version 7.3 (HDF5) file, whose layout is not walked here, it is the
    digest of all its bytes (:func:`content_digest`).

    Parameters
    ----------
    path : pathlib.Path
    variables : None | list of str | str | re.Pattern
        As :func:`load_mat` takes it.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the file is not a valid MATLAB file (as :func:`load_mat`).
    """
    path = check_mat_file(path)
    if is_v73(path):
        return content_digest(path)
    keep = name_filter(variables)
    _, spans = v5_layout(path, keep)
    h = hashlib.sha256(b"matv5-selection\n")
    with open(path, "rb") as f:
        f.seek(124)
        h.update(f.read(4))  # version and byte order; the rest is free text
        for name, start, end in spans:
            if not keep(name):
                h.update(f"-{name}\n".encode("utf-8", "surrogateescape"))
                continue
            h.update(f"+{name}\0{end - start}\n".encode("utf-8", "surrogateescape"))
            f.seek(start)
            left = end - start
            while left:
                chunk = f.read(min(left, _DIGEST_CHUNK))
                if not chunk:
                    raise ValueError(
                        f"MATLAB file {str(path)!r} became shorter while it was read."
                    )
                h.update(chunk)
                left -= len(chunk)
    return h.hexdigest()


class MatVariables:
    """A cache source: the variables of a MATLAB file that a load reads.

    Given to :meth:`ArrayCache.get_or_compute` in ``sources`` instead of the
    file's path, its digest covers the file's variable list and the bytes of
    the selected variables only (:func:`mat_selection_digest`): a first load
    of the 24 ``de_LDS`` variables of a SEED-IV feature file hashes a
    quarter of it, not all 96 variables. The selection must be the one the
    load reads, or a superset of it.

    Parameters
    ----------
    path : str | pathlib.Path
        The MATLAB file.
    variables : None | list of str | str | re.Pattern
        The variables the load reads, as :func:`load_mat` takes them.
    """

    def __init__(self, path, variables=None):
        self.path = Path(path)
        self.variables = variables
        self.tag = _selection_tag(variables)

    def digest(self):
        """:func:`mat_selection_digest` of the file and selection."""
        return mat_selection_digest(self.path, self.variables)

    def __repr__(self):
        return f"MatVariables({str(self.path)!r}, {self.tag!r})"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class ArrayCache:
    """On-disk cache of converted numeric arrays, one ``.npz`` per key.

    Each entry's file name combines the readable ``key`` with a hash of the
    key and of the content of its source files (size and a SHA-256 digest of
    their bytes, or of the variables read for a :class:`MatVariables`
    source), so a source rewritten with other data is never served
    stale, even at the same size with its modification time restored. The
    digest of a source is computed once per version of the file: it is
    remembered under ``.digests/`` in the cache folder together with the
    file's size, modification and change times and inode, and recomputed
    when any of them differs (restoring a modification time changes the
    change time).

    Files are written by :func:`~braindecode_m2s.utils.files.atomic_path`:
    to a temporary file ``.<entry>.pid<PID>.<random>.tmp`` in the cache
    folder, moved into place with :func:`os.replace` (atomic on POSIX and
    Windows), so an interrupted write never leaves a file under the final
    name; the temporary files of writers killed mid-write are removed the
    first time a process uses the folder (when their process no longer
    exists, or after :data:`ORPHAN_AGE` seconds). The arrays of an entry are
    stored packed, one flat array per dtype (a cached load is then one read,
    however many trials the entry holds), and are returned as contiguous
    views into it. When the cache folder cannot be written, a warning is
    issued and the computed arrays are returned uncached. Only plain numeric
    arrays are stored.

    An entry is untrusted input like any dataset file (a cache folder can be
    shared, copied or damaged): it is opened with ``allow_pickle=False``,
    its members must be stored uncompressed (as :func:`numpy.savez` writes
    them), and the shape and dtype that each of its arrays declares are
    checked against the bytes its zip member holds, and against
    :data:`~.budget.MAX_READ_BYTES`, before numpy allocates the array
    (:func:`~.npz.check_npz_member`). An entry that cannot serve its key
    (over its budget, truncated, corrupt, written for another key) is a
    miss: a :class:`UserWarning` names it, it is removed and its arrays are
    recomputed, so no :class:`MemoryError` escapes and the next run does not
    meet it again.

    Parameters
    ----------
    cache_dir : str | pathlib.Path | None
        Folder of the cache (created when needed); ``None`` disables caching:
        :meth:`get_or_compute` then computes every time.
    """

    #: Cache folders whose orphaned temporary files this process removed.
    _swept = set()

    def __init__(self, cache_dir):
        self.cache_dir = None if cache_dir is None else Path(cache_dir).expanduser()

    def path_for(self, key, sources=()):
        """File that holds the entry ``key`` for the current ``sources``."""
        if self.cache_dir is None:
            return None
        if not isinstance(key, str) or not key:
            raise ValueError(f"Cache `key` must be a non-empty string; got {key!r}.")
        digest = hashlib.sha256(self._fingerprint(key, sources).encode()).hexdigest()
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:80]
        return self.cache_dir / f"{readable}-{digest[:20]}.npz"

    def _fingerprint(self, key, sources):
        parts = [key]
        for source in sources:
            selection = source if isinstance(source, MatVariables) else None
            path = selection.path if selection is not None else Path(source)
            try:
                st = os.stat(path)
            except OSError:
                parts.append(f"{path}|missing")
                continue
            part = f"{st.st_size}|{self._source_digest(path, st, selection)}"
            if selection is not None:
                part += f"|{selection.tag}"
            parts.append(part)
        return "\n".join(parts)

    def _source_digest(self, source, st, selection=None):
        """Content digest of ``source`` (or of its ``selection``), remembered per file version."""
        stamp = f"{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}"
        what = str(source.resolve())
        if selection is not None:
            what += "\0" + selection.tag
        name = hashlib.sha256(what.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        memo = self.cache_dir / ".digests" / f"{name}.txt"
        try:
            saved = read_regular_file(memo, _MEMO_BYTES, "Digest memo").decode()
            saved_stamp, saved_digest = saved.rsplit(" ", 1)
            if saved_stamp == stamp and saved_digest.startswith(_DIGEST_TAG):
                return saved_digest
        except (OSError, ValueError):
            pass
        digest = content_digest(source) if selection is None else selection.digest()
        digest = _DIGEST_TAG + digest
        try:
            if os.stat(source).st_ctime_ns == st.st_ctime_ns:  # unchanged meanwhile
                memo.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(memo, fsync=False) as tmp:
                    tmp.write_text(f"{stamp} {digest}")
        except OSError:
            pass  # an unwritable cache only costs the digest next time
        return digest

    def sweep_orphans(self):
        """Remove temporary files left by writers that were killed mid-write.

        A ``*.tmp`` file of the cache folder (or its ``.digests``) is removed
        when the process named in it
        (:func:`~braindecode_m2s.utils.files.temporary_writer`) no longer
        exists, or when it is older than :data:`ORPHAN_AGE` seconds (also for
        names without a process id).

        Returns
        -------
        int
            Number of files removed.
        """
        removed = 0
        if self.cache_dir is None:
            return removed
        now = time.time()
        for folder in (self.cache_dir, self.cache_dir / ".digests"):
            try:
                candidates = list(folder.glob("*.tmp"))
            except OSError:
                continue
            for tmp in candidates:
                writer = temporary_writer(tmp.name)
                try:
                    age = now - tmp.stat().st_mtime
                except OSError:
                    continue
                dead = writer is not None and writer != os.getpid() and not _pid_alive(writer)
                if dead or age > ORPHAN_AGE:
                    removed += _unlink_quietly(tmp)
        return removed

    def _sweep_once(self):
        key = str(self.cache_dir)
        if key not in ArrayCache._swept:
            ArrayCache._swept.add(key)
            self.sweep_orphans()

    def get_or_compute(self, key, compute, sources=()):
        """Return the cached arrays of ``key``, computing and storing them if needed.

        Parameters
        ----------
        key : str
            Identifies the entry: it must encode every option that changes
            the arrays (dataset, subject, feature options, tolerances...).
        compute : callable
            Called without arguments when the entry is missing, stale or
            corrupt; must return a dict of str -> numeric numpy array.
        sources : iterable of path-like or MatVariables
            Files the arrays are computed from; their size and content digest
            are part of the key. A :class:`MatVariables` stands for the
            variables of a MATLAB file that ``compute`` reads: only their
            bytes (and the file's variable list) are hashed.

        Returns
        -------
        dict of str -> numpy.ndarray

        Raises
        ------
        ValueError
            If ``compute`` returns something other than a dict of numeric
            arrays with string keys.

        Warns
        -----
        UserWarning
            If the entry exists but cannot be read (over its budget,
            truncated, corrupt, written for another key): it is removed and
            recomputed. If the entry cannot be written (unwritable cache
            folder, full disk): the computed arrays are returned all the
            same.
        """
        sources = list(sources)
        if self.cache_dir is not None:
            self._sweep_once()
        path = self.path_for(key, sources)
        if path is not None and path.is_file():
            try:
                return self._read(path, key)
            except ValueError as err:
                removed = _unlink_quietly(path)
                warnings.warn(
                    f"{err} Treating cache entry {key!r} as missing: "
                    f"{'removed it' if removed else 'could not remove it'}, recomputing.",
                    stacklevel=2,
                )
        arrays = self._check_arrays(compute(), key)
        if path is not None:
            try:
                self._write(path, key, arrays)
            except OSError as err:
                warnings.warn(
                    f"Cannot write cache entry {key!r} to {str(path.parent)!r} "
                    f"({type(err).__name__}: {err}); returning the computed arrays "
                    f"without caching them.",
                    stacklevel=2,
                )
        return arrays

    @staticmethod
    def _check_arrays(arrays, key):
        if not isinstance(arrays, dict):
            raise ValueError(
                f"The compute function of cache entry {key!r} must return a dict of "
                f"numpy arrays; got {type(arrays).__name__}."
            )
        out = {}
        for name, value in arrays.items():
            value = np.asarray(value)
            if (
                not isinstance(name, str)
                or name in (_KEY_ENTRY, _INDEX_ENTRY)
                or (name.startswith(_PACK_PREFIX))
            ):
                raise ValueError(
                    f"Cache entry {key!r}: array names must be strings other than "
                    f"{_KEY_ENTRY!r}, {_INDEX_ENTRY!r} and '{_PACK_PREFIX}*'; got {name!r}."
                )
            if value.dtype.kind not in "biufc":
                raise ValueError(
                    f"Cache entry {key!r}: array {name!r} has dtype {value.dtype}; "
                    f"only numeric arrays can be cached."
                )
            out[name] = value
        return out

    @staticmethod
    def _read(path, key):
        """The arrays of the entry at ``path``; a ValueError says why it cannot serve ``key``."""
        where = f"Cache entry file {str(path)!r}"
        try:
            with open(path, "rb") as f:
                magic = f.read(len(_ZIP_MAGIC))
            if magic != _ZIP_MAGIC:  # numpy would read an .npy, unchecked
                raise ValueError("not an npz archive")
            with np.load(path, allow_pickle=False) as archive:
                for name in archive.files:
                    # entries are written uncompressed (numpy.savez)
                    check_npz_member(archive.zip, name, f"its array {name!r}", deflated=False)
                arrays = {name: archive[name] for name in archive.files}
        except Exception as err:  # noqa: BLE001 - any failure of an entry is a miss
            # MemoryError included: the checks bound an entry by its file's
            # size, which may still exceed the memory free now
            reason = f"{type(err).__name__}: {str(err).rstrip('.')}"
            raise ValueError(f"{where} cannot be read ({reason}).") from None
        stored = arrays.pop(_KEY_ENTRY, None)
        if stored is None or stored.tobytes().decode("utf-8", "replace") != key:
            raise ValueError(f"{where} was written for another key.")
        if _INDEX_ENTRY not in arrays:  # an entry written before packing
            return arrays
        return _unpack(arrays, where)

    def _write(self, path, key, arrays):
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = _pack(arrays)
        payload[_KEY_ENTRY] = np.frombuffer(key.encode("utf-8"), dtype=np.uint8)
        # no fsync: os.replace makes the entry appear whole or not at all to
        # other processes, and an entry that a crash of the machine left
        # incomplete fails the zip CRC or the key check on reading and is
        # recomputed
        with atomic_path(path, fsync=False) as tmp, open(tmp, "wb") as f:
            np.savez(f, **payload)


def _pack(arrays):
    """Arrays of one dtype back to back in one flat array, and their index."""
    index, parts, sizes = [], {}, {}
    for name, value in arrays.items():
        value = np.asarray(value, order="C")  # a 0-d array stays 0-d
        dtype = value.dtype.str
        parts.setdefault(dtype, []).append(value.reshape(-1))
        offset = sizes.get(dtype, 0)
        index.append([name, dtype, list(value.shape), offset])
        sizes[dtype] = offset + value.size
    payload = {
        f"{_PACK_PREFIX}{n}__": np.concatenate(parts[dtype]) for n, dtype in enumerate(parts)
    }
    dtypes = list(parts)
    for entry in index:
        entry[1] = dtypes.index(entry[1])
    payload[_INDEX_ENTRY] = np.frombuffer(json.dumps(index).encode("utf-8"), dtype=np.uint8)
    return payload


def _unpack(stored, where):
    """Inverse of :func:`_pack`: contiguous views into the flat arrays.

    Raises a ValueError naming ``where`` (the entry is then recomputed) if
    the index does not match the stored arrays.
    """
    try:
        index = decode_json(stored[_INDEX_ENTRY].tobytes(), _INDEX_DEPTH, list)
        out = {}
        for name, pack, shape, offset in index:
            flat = stored[f"{_PACK_PREFIX}{int(pack)}__"]
            if not all(isinstance(d, int) and d >= 0 for d in [*shape, offset]):
                raise ValueError(f"shape {shape} or offset {offset} is not whole numbers")
            size = math.prod(shape)
            if offset + size > flat.size:
                raise ValueError(f"array {name!r} runs past its pack")
            out[str(name)] = flat[offset : offset + size].reshape(shape)
        return out
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as err:
        raise ValueError(f"{where} has an index that does not match its arrays ({err}).") from None


def _unlink_quietly(path):
    """Remove ``path``; 1 if removed, 0 if it could not be."""
    try:
        os.unlink(path)
    except OSError:
        return 0
    return 1
