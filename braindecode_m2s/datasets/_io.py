"""Shared readers of the official files: MATLAB, pickles, and an array cache.

The emotion corpora are distributed as MATLAB files (version 5, read with
:func:`scipy.io.loadmat`, and sometimes version 7.3, which is HDF5), as
Python-2 pickles (DEAP's ``data_preprocessed_python/sXX.dat``) and as ``.npz``
archives whose entries are pickled dictionaries (SEED-V). Every pickle read
here goes through the restricted unpickler of
:mod:`~braindecode_m2s.datasets._safe_pickle`, and every MATLAB v5 file is
checked by :func:`~braindecode_m2s.datasets._matv5.check_mat_v5` before scipy
reads it, so a hostile or corrupt file gives an error naming it instead of
running code or crashing the interpreter.

:class:`ArrayCache` stores converted arrays as ``.npz`` files written
atomically and keyed on their sources' content, so an interrupted conversion
never leaves a file that a later run trusts, and a changed source is never
served stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import scipy.io

from ._budget import MAX_READ_BYTES, over_budget
from ._matv5 import MatFileError, check_mat_v5
from ._matv73 import load_v73, v73_variable_names
from ._safe_pickle import (
    SafeUnpickler,
    UnsafePickleError,
    check_regular_file,
    safe_pickle_load,
    safe_pickle_loads,
)

__all__ = [
    "load_mat",
    "mat_variable_names",
    "SafeUnpickler",
    "UnsafePickleError",
    "MatFileError",
    "check_regular_file",
    "safe_pickle_load",
    "safe_pickle_loads",
    "load_npz_pickled",
    "ArrayCache",
    "MatVariables",
    "mat_selection_digest",
]

# --------------------------------------------------------------------------
# MATLAB files
# --------------------------------------------------------------------------

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_exists(path):
    return check_regular_file(path, "MATLAB file")


#: Files checked by :func:`check_mat_v5` in this process, keyed by their
#: identity (path, size, times, inode): (variable names, names whose
#: variables were checked in full, the variables' byte spans), so a file read
#: twice in a row (names or digest, then values) is walked once.
_CHECKED_V5 = {}


def _file_identity(path):
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _check_v5_once(path, keep=None):
    """Names of a v5 file, after :func:`check_mat_v5` of the variables ``keep`` selects.

    A variable checked once for this version of the file is not checked
    again; the headers of all variables are checked on the first call.
    """
    return _v5_layout(path, keep)[0]


def _v5_layout(path, keep=None):
    """(names, spans) of a v5 file, after checking the variables ``keep`` selects."""
    identity = _file_identity(path)
    names, checked, spans = _CHECKED_V5.get(identity, (None, set(), None))
    want = keep or (lambda name: True)
    if names is not None and all(n in checked for n in names if want(n)):
        return names, spans
    new_spans = []
    names = check_mat_v5(path, keep=lambda n: want(n) and n not in checked, spans=new_spans)
    if len(_CHECKED_V5) > 1024:
        _CHECKED_V5.clear()
    _CHECKED_V5[identity] = (names, checked | {n for n in names if want(n)}, new_spans)
    return names, new_spans


def _is_v73(path):
    """True if ``path`` is a MATLAB v7.3 (HDF5) file, read from its bytes."""
    with open(path, "rb") as f:
        head = f.read(520)
    if head[:4] == b"\x89HDF":
        return True
    # MATLAB writes a 512-byte text header, then the HDF5 superblock.
    return head[512:520] == _HDF5_SIGNATURE


def _name_filter(variables):
    """Turn the ``variables`` argument into a predicate on names."""
    if variables is None:
        return lambda name: True
    if isinstance(variables, re.Pattern):
        return lambda name: variables.fullmatch(name) is not None
    if isinstance(variables, str):
        pattern = re.compile(variables)
        return lambda name: pattern.fullmatch(name) is not None
    try:
        wanted = set(variables)
    except TypeError:
        raise ValueError(
            f"`variables` must be None, a list of names, or a regular expression; "
            f"got {variables!r}."
        ) from None
    return lambda name: name in wanted


def mat_variable_names(path):
    """Names of the variables of a MATLAB file, without loading their data.

    Parameters
    ----------
    path : str | pathlib.Path
        A MATLAB v5 or v7.3 file.

    Returns
    -------
    list of str
        Variable names in file order (read from the variables' headers for
        v5, which are all checked; the HDF5 root keys without
        ``#refs#``/``#subsystem#`` for v7.3).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    OSError
        If the path is a folder, FIFO or device, or cannot be read.
    ValueError
        If the file is truncated, structurally corrupt (checked before scipy
        reads it, see :func:`~braindecode_m2s.datasets._matv5.check_mat_v5`)
        or is not a MATLAB file.
    """
    path = _check_exists(path)
    if not _is_v73(path):
        return _check_v5_once(path, keep=lambda name: False)
    try:
        return v73_variable_names(path)
    except MatFileError:
        raise
    except Exception as err:  # h5py raises many different types
        raise ValueError(
            f"Cannot read the variable names of MATLAB file {str(path)!r}: the file "
            f"is truncated, corrupt or not a MATLAB file ({type(err).__name__}: {err})."
        ) from err


def load_mat(path, variables=None):
    """Read variables of a MATLAB file, version 5 or 7.3.

    Version 5 files are read with :func:`scipy.io.loadmat`; version 7.3 files
    are HDF5 and are read with :mod:`h5py`, with every array transposed so its
    shape equals what MATLAB (and scipy for v5) shows. In v7.3 files, cell
    arrays become object arrays, MATLAB structs become numpy structured
    arrays of object fields (the layout :func:`scipy.io.loadmat` returns for
    v5 structs, so ``s[0, 0]["field"]`` works on both), character arrays
    become ``str`` and logical arrays ``bool``; cells that reference the
    same HDF5 object share one converted value.

    Every read is within the budget of :mod:`~braindecode_m2s.datasets._budget`:
    a v5 file's structure is checked first, only the variables asked for are
    inflated, as a stream, up to the size their headers declare
    (:mod:`~braindecode_m2s.datasets._matv5`); a v7.3 file reads nothing
    outside itself and no data it does not store
    (:mod:`~braindecode_m2s.datasets._matv73`).

    Parameters
    ----------
    path : str | pathlib.Path
        The ``.mat`` file.
    variables : None | list of str | str | re.Pattern
        Which variables to read: ``None`` for all; a list of names; or a
        regular expression (string or compiled) matched with
        :func:`re.fullmatch` against each name.

    Returns
    -------
    dict of str -> object
        Variable name -> value; scipy's ``__header__``, ``__version__`` and
        ``__globals__`` entries are left out.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    OSError
        If the path is a folder, FIFO or device, or cannot be read.
    ValueError
        If the file is truncated, corrupt (a version 5 file's structure is
        checked before scipy reads it, so a corrupt file cannot crash the
        interpreter), not a MATLAB file, over its budget (never a
        :class:`MemoryError`), or if ``variables`` is not a valid selection.
    """
    path = _check_exists(path)
    keep = _name_filter(variables)
    v73 = _is_v73(path)
    if not v73:
        wanted = list(dict.fromkeys(n for n in _check_v5_once(path, keep) if keep(n)))
        if not wanted:
            return {}
    try:
        if v73:
            return load_v73(path, keep)
        data = scipy.io.loadmat(str(path), variable_names=wanted)
    except MatFileError:
        raise
    except MemoryError:
        raise ValueError(
            f"Cannot read MATLAB file {str(path)!r}: its variables need more memory "
            f"than is available."
        ) from None
    except Exception as err:
        raise ValueError(
            f"Cannot read MATLAB file {str(path)!r}: the file is truncated, corrupt "
            f"or not a MATLAB file ({type(err).__name__}: {err})."
        ) from err
    return {k: v for k, v in data.items() if not k.startswith("__")}


# --------------------------------------------------------------------------
# Pickled entries of .npz archives
# --------------------------------------------------------------------------


def load_npz_pickled(path, key):
    """Read one entry of an ``.npz`` archive, unpickling it safely if needed.

    SEED-V stores dictionaries as pickles inside 0-d bytes arrays of an
    ``.npz`` archive. The archive is opened with ``allow_pickle=False``; an
    entry that is a 0-d bytes or str array is unpickled with
    :class:`SafeUnpickler`, any other entry is returned as it is.

    Parameters
    ----------
    path : str | pathlib.Path
        The ``.npz`` file.
    key : str
        The entry.

    Returns
    -------
    object
        The unpickled object, or the array.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a readable ``.npz`` archive, the key is missing
        (the message lists the keys present), or the entry holds a pickled
        object array that cannot be read without pickle.
    pickle.UnpicklingError
        If the pickled entry names a forbidden global.

    Notes
    -----
    Budget: the entry's ``.npy`` header is read first; the array it
    declares must fit in the bytes the zip member declares, which must be
    at most its compressed size (stored) or about 1033 times it (deflated,
    deflate's largest ratio); other compressions are refused, and so is
    more than :data:`~._budget.MAX_READ_BYTES`. numpy allocates the
    declared array before reading it, so without this a 1 kB archive could
    ask for any amount of memory.
    """
    path = check_regular_file(path, "NPZ file")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as err:
        raise ValueError(
            f"Cannot read NPZ file {str(path)!r}: truncated, corrupt or not an npz "
            f"archive ({type(err).__name__}: {err})."
        ) from err
    with archive:
        if not hasattr(archive, "files"):
            raise ValueError(
                f"NPZ file {str(path)!r} holds a single array, not an npz archive with entries."
            )
        if key not in archive.files:
            raise ValueError(
                f"NPZ file {str(path)!r} has no entry {key!r}; entries present: "
                f"{sorted(archive.files)}."
            )
        _check_npz_entry(archive, key, path)
        try:
            value = archive[key]
        except ValueError as err:
            raise ValueError(
                f"Entry {key!r} of NPZ file {str(path)!r} is an object array that "
                f"would need pickle to load, or is corrupt; expected a numeric array "
                f"or a 0-d bytes array holding a pickle ({err})."
            ) from err
        except Exception as err:
            raise ValueError(
                f"Cannot read entry {key!r} of NPZ file {str(path)!r}: truncated or "
                f"corrupt ({type(err).__name__}: {err})."
            ) from err
    if value.ndim == 0 and value.dtype.kind in "SU":
        raw = value.item()
        if isinstance(raw, str):
            try:
                raw = raw.encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(
                    f"Entry {key!r} of NPZ file {str(path)!r} is a text array, not a "
                    f"pickle; expected a 0-d bytes array holding a pickle."
                ) from None
        return safe_pickle_loads(raw, where=f"entry {key!r} of NPZ file {str(path)!r}")
    return value


def _check_npz_entry(archive, key, path):
    """Refuse an ``.npz`` entry that declares more than its zip member can hold."""
    where = f"Entry {key!r} of NPZ file {str(path)!r}"
    zf = archive.zip
    name = key if key in zf.namelist() else f"{key}.npy"
    info = zf.getinfo(name)
    if info.compress_type == zipfile.ZIP_STORED:
        most = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        most = 1033 * info.compress_size + (1 << 16)
    else:
        raise ValueError(
            f"{where} is compressed with method {info.compress_type}; only "
            f"stored and deflated entries (what numpy writes) are read."
        )
    if info.file_size > most:
        raise ValueError(
            f"{where} declares {info.file_size} bytes in {info.compress_size} "
            f"compressed bytes, more than its compression can give."
        )
    try:
        with zf.open(name) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                return  # numpy refuses it itself
    except Exception as err:
        raise ValueError(
            f"{where} has no readable .npy header ({type(err).__name__}: {err})."
        ) from err
    count = 1
    for d in shape:
        count *= int(d)
    nbytes = count * dtype.itemsize
    if nbytes > info.file_size:
        raise ValueError(
            f"{where} declares an array of shape {shape} and dtype {dtype} "
            f"({nbytes} bytes) in a member of {info.file_size} bytes."
        )
    if nbytes > MAX_READ_BYTES:
        raise over_budget(where, nbytes, MAX_READ_BYTES, f"an array of shape {shape}")


# --------------------------------------------------------------------------
# Atomic on-disk cache of converted arrays
# --------------------------------------------------------------------------

_KEY_ENTRY = "__cache_key__"
#: Entries are packed: the arrays of one dtype are stored back to back in one
#: flat array ``__pack_<dtype>__``, and ``__index__`` (UTF-8 JSON as uint8)
#: lists each array's name, dtype, shape and offset. One ``.npy`` member per
#: dtype instead of one per array: reading 72 trials is one read, not 72
#: (each member costs a zip lookup and a header parse).
_INDEX_ENTRY = "__index__"
_PACK_PREFIX = "__pack_"
#: Algorithm tag of the digests remembered under ``.digests/``.
_DIGEST_TAG = "sha256:"
#: Temporary files of writers that died are removed when older than this
#: (seconds), or at once when the writer's process no longer exists.
ORPHAN_AGE = 6 * 3600
_TMP_NAME = re.compile(r".+\.pid(\d+)\.[^.]+\.tmp")
_DIGEST_CHUNK = 1 << 20


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
    path = _check_exists(path)
    if _is_v73(path):
        return content_digest(path)
    keep = _name_filter(variables)
    _, spans = _v5_layout(path, keep)
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

    Files are written to a temporary file ``<entry>.pid<PID>.<random>.tmp``
    in the cache folder and moved into place with :func:`os.replace` (atomic
    on POSIX and Windows), so an interrupted write never leaves a file under
    the final name; the temporary files of writers killed mid-write are
    removed the first time a process uses the folder (when their process no
    longer exists, or after :data:`ORPHAN_AGE` seconds). A cached file that
    cannot be read completely (truncated, corrupt, written for another key)
    is deleted and recomputed. The arrays of an entry are stored packed, one
    flat array per dtype (a cached load is then one read, however many
    trials the entry holds), and are returned as contiguous views into it.
    When the cache folder cannot be written, a warning is issued and the
    computed arrays are returned uncached. Only plain numeric arrays are stored and files are
    read with
    ``allow_pickle=False``.

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
            saved_stamp, saved_digest = memo.read_text().rsplit(" ", 1)
            if saved_stamp == stamp and saved_digest.startswith(_DIGEST_TAG):
                return saved_digest
        except (OSError, ValueError):
            pass
        digest = content_digest(source) if selection is None else selection.digest()
        digest = _DIGEST_TAG + digest
        try:
            if os.stat(source).st_ctime_ns == st.st_ctime_ns:  # unchanged meanwhile
                memo.parent.mkdir(parents=True, exist_ok=True)
                self._atomic_write_text(memo, f"{stamp} {digest}")
        except OSError:
            pass  # an unwritable cache only costs the digest next time
        return digest

    @staticmethod
    def _atomic_write_text(path, text):
        fd, tmp = tempfile.mkstemp(
            prefix=f"{path.name}.pid{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    def sweep_orphans(self):
        """Remove temporary files left by writers that were killed mid-write.

        A ``*.tmp`` file of the cache folder (or its ``.digests``) is removed
        when the process named in it no longer exists, or when it is older
        than :data:`ORPHAN_AGE` seconds (also for names without a process
        id).

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
                match = _TMP_NAME.fullmatch(tmp.name)
                try:
                    age = now - tmp.stat().st_mtime
                except OSError:
                    continue
                dead = (
                    match is not None
                    and int(match.group(1)) != os.getpid()
                    and (not _pid_alive(int(match.group(1))))
                )
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
            If the entry cannot be written (unwritable cache folder, full
            disk); the computed arrays are returned all the same.
        """
        sources = list(sources)
        if self.cache_dir is not None:
            self._sweep_once()
        path = self.path_for(key, sources)
        if path is not None and path.is_file():
            cached = self._read(path, key)
            if cached is not None:
                return cached
            _unlink_quietly(path)
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
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError):
            return None
        stored = arrays.pop(_KEY_ENTRY, None)
        if stored is None or stored.tobytes().decode("utf-8", "replace") != key:
            return None
        if _INDEX_ENTRY not in arrays:  # an entry written before packing
            return arrays
        return _unpack(arrays)

    def _write(self, path, key, arrays):
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = _pack(arrays)
        payload[_KEY_ENTRY] = np.frombuffer(key.encode("utf-8"), dtype=np.uint8)
        fd, tmp = tempfile.mkstemp(
            prefix=f"{path.name}.pid{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
        try:
            # no fsync: os.replace makes the entry appear whole or not at all
            # to other processes, and an entry that a crash of the machine
            # left incomplete fails the zip CRC or the key check on reading
            # and is recomputed
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **payload)
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise


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


def _unpack(stored):
    """Inverse of :func:`_pack`: contiguous views into the flat arrays.

    Returns None (the entry is then recomputed) if the index does not match
    the stored arrays.
    """
    try:
        index = json.loads(stored[_INDEX_ENTRY].tobytes().decode("utf-8"))
        out = {}
        for name, pack, shape, offset in index:
            flat = stored[f"{_PACK_PREFIX}{int(pack)}__"]
            size = int(np.prod(shape, dtype=np.int64))
            if not (0 <= offset and offset + size <= flat.size):
                return None
            out[str(name)] = flat[offset : offset + size].reshape(shape)
        return out
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None


def _unlink_quietly(path):
    """Remove ``path``; 1 if removed, 0 if it could not be."""
    try:
        os.unlink(path)
    except OSError:
        return 0
    return 1
