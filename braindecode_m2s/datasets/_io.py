"""Shared readers of the official files: MATLAB, pickles, and an array cache.

The emotion corpora are distributed as MATLAB files (version 5, read with
:func:`scipy.io.loadmat`, and sometimes version 7.3, which is HDF5), as
Python-2 pickles (DEAP's ``data_preprocessed_python/sXX.dat``) and as ``.npz``
archives whose entries are pickled dictionaries (SEED-V). Unpickling runs
arbitrary code unless the classes a pickle may name are restricted, so every
pickle read here goes through :class:`SafeUnpickler`, which rebuilds numpy
arrays, dtypes and scalars and plain containers, and nothing else (see the
warning in the :mod:`pickle` documentation, "Restricting Globals").

:class:`ArrayCache` stores converted arrays as ``.npz`` files written
atomically, so an interrupted conversion never leaves a file that a later run
trusts.
"""

from __future__ import annotations

import codecs
import copyreg
import hashlib
import io
import os
import pickle
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import scipy.io

__all__ = [
    "load_mat",
    "mat_variable_names",
    "SafeUnpickler",
    "safe_pickle_load",
    "safe_pickle_loads",
    "load_npz_pickled",
    "ArrayCache",
]

# --------------------------------------------------------------------------
# MATLAB files
# --------------------------------------------------------------------------

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_exists(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MATLAB file {str(path)!r} does not exist.")
    return path


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
        Variable names in file order (``scipy.io.whosmat`` for v5, the HDF5
        root keys without ``#refs#``/``#subsystem#`` for v7.3).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is truncated or is not a MATLAB file.
    """
    path = _check_exists(path)
    try:
        if _is_v73(path):
            import h5py

            with h5py.File(path, "r") as f:
                return [k for k in f.keys() if not k.startswith("#")]
        return [entry[0] for entry in scipy.io.whosmat(str(path))]
    except Exception as err:  # scipy and h5py raise many different types
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
    become ``str`` and logical arrays ``bool``.

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
    ValueError
        If the file is truncated, corrupt, or not a MATLAB file, or if
        ``variables`` is not a valid selection.
    """
    path = _check_exists(path)
    keep = _name_filter(variables)
    try:
        if _is_v73(path):
            return _load_v73(path, keep)
        names = [entry[0] for entry in scipy.io.whosmat(str(path))]
        wanted = [name for name in names if keep(name)]
        if not wanted:
            return {}
        data = scipy.io.loadmat(str(path), variable_names=wanted)
    except Exception as err:
        raise ValueError(
            f"Cannot read MATLAB file {str(path)!r}: the file is truncated, corrupt "
            f"or not a MATLAB file ({type(err).__name__}: {err})."
        ) from err
    return {k: v for k, v in data.items() if not k.startswith("__")}


def _load_v73(path, keep):
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        for name in f.keys():
            if name.startswith("#") or not keep(name):
                continue
            out[name] = _h5_value(f, f[name])
    return out


def _matlab_class(obj):
    cls = obj.attrs.get("MATLAB_class")
    if isinstance(cls, bytes):
        cls = cls.decode("ascii")
    elif isinstance(cls, np.ndarray):
        cls = cls.tobytes().decode("ascii")
    return cls


def _h5_value(f, obj):
    """Convert one HDF5 object of a MATLAB v7.3 file to numpy."""
    import h5py

    if isinstance(obj, h5py.Group):
        return _h5_struct(f, obj)
    cls = _matlab_class(obj)
    if obj.attrs.get("MATLAB_sparse") is not None:
        raise ValueError(f"sparse matrix {obj.name!r} is not supported")
    if obj.attrs.get("MATLAB_empty", 0):
        # The data of an empty array hold its MATLAB dimensions.
        dims = tuple(int(d) for d in np.asarray(obj[()]).ravel()) or (0, 0)
        if cls == "char":
            return ""
        if cls == "cell":
            return np.empty(dims, dtype=object)
        return np.zeros(dims)
    data = obj[()]
    if obj.dtype == h5py.ref_dtype:
        cell = np.empty(data.shape, dtype=object)
        for index in np.ndindex(data.shape):
            cell[index] = _h5_value(f, f[data[index]])
        return cell.T
    data = np.asarray(data).T
    if cls == "char":
        rows = np.atleast_2d(data).astype(np.uint32)
        strings = ["".join(map(chr, row)) for row in rows]
        return strings[0] if len(strings) == 1 else np.array(strings)
    if cls == "logical":
        return data.astype(bool)
    if data.dtype.names is not None and set(data.dtype.names) == {"real", "imag"}:
        return data["real"] + 1j * data["imag"]
    return data


def _h5_struct(f, group):
    """A MATLAB struct (HDF5 group) as a scipy-style structured array."""
    import h5py

    names = [k for k in group.keys()]
    fields = group.attrs.get("MATLAB_fields")
    if fields is not None:
        ordered = []
        for entry in fields:
            entry = np.asarray(entry)
            name = entry.tobytes().decode("ascii") if entry.dtype.kind == "S" else (
                "".join(x.decode("ascii") if isinstance(x, bytes) else str(x)
                        for x in entry.ravel())
            )
            if name in names:
                ordered.append(name)
        names = ordered + [n for n in names if n not in ordered]
    # A struct array stores each field as a dataset of references (one per
    # element) without a MATLAB_class of its own; a scalar struct stores the
    # field values directly.
    children = {n: group[n] for n in names}
    is_array = bool(children) and all(
        isinstance(c, h5py.Dataset)
        and c.dtype == h5py.ref_dtype
        and _matlab_class(c) is None
        for c in children.values()
    )
    dtype = [(n, object) for n in names]
    if is_array:
        shape = children[names[0]].shape[::-1]
        out = np.empty(shape, dtype=dtype)
        for n, child in children.items():
            refs = child[()].T
            for index in np.ndindex(shape):
                out[index][n] = _h5_value(f, f[refs[index]])
        return out
    out = np.empty((1, 1), dtype=dtype)
    for n, child in children.items():
        out[0, 0][n] = _h5_value(f, child)
    return out


# --------------------------------------------------------------------------
# Restricted unpickling
# --------------------------------------------------------------------------

def _reconstruct(subtype, shape, dtype):
    """``numpy.core.multiarray._reconstruct`` limited to plain ndarrays."""
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(
            f"Refusing to rebuild an array of type {subtype!r}; only "
            f"numpy.ndarray is allowed."
        )
    return np.ndarray.__new__(np.ndarray, shape, dtype)


_LATIN1 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"}


def _codecs_encode(text, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` (how Python 3 pickles bytes) limited to latin-1."""
    if str(encoding).lower() not in _LATIN1 or not isinstance(text, str):
        raise pickle.UnpicklingError(
            f"Refusing _codecs.encode with encoding {encoding!r}; only latin-1 "
            f"(how protocol-2 pickles store bytes) is allowed."
        )
    return codecs.encode(text, "latin-1", errors)


def _copyreg_reconstructor(cls, base, state):
    """``copy_reg._reconstructor`` limited to numpy arrays."""
    if cls is not np.ndarray or base is not np.ndarray:
        raise pickle.UnpicklingError(
            f"Refusing copy_reg._reconstructor({cls!r}, {base!r}); only "
            f"numpy.ndarray is allowed."
        )
    return copyreg._reconstructor(cls, base, state)


def _numpy_scalar(dtype, *args):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError(
            f"Refusing to rebuild a numpy scalar of dtype {dtype!r}; only plain "
            f"numeric/string dtypes are allowed."
        )
    from numpy._core.multiarray import scalar

    return scalar(dtype, *args)


def _frombuffer(buf, dtype, shape, order):
    """``numpy._core.numeric._frombuffer`` (pickle protocol 5) for plain dtypes."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError(
            f"Refusing to rebuild an array of dtype {dtype!r} from a buffer; only "
            f"plain numeric/string dtypes are allowed."
        )
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_ALLOWED = {}
for _module in _NUMPY_MODULES:
    _ALLOWED[(_module, "_reconstruct")] = _reconstruct
    _ALLOWED[(_module, "scalar")] = _numpy_scalar
for _module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "dtype")] = np.dtype
    _ALLOWED[(_module, "ndarray")] = np.ndarray
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_module, "_frombuffer")] = _frombuffer
for _module in ("copy_reg", "copyreg"):
    _ALLOWED[(_module, "_reconstructor")] = _copyreg_reconstructor
_ALLOWED[("_codecs", "encode")] = _codecs_encode
for _module in ("builtins", "__builtin__"):
    for _name, _obj in {
        "dict": dict,
        "list": list,
        "tuple": tuple,
        "set": set,
        "frozenset": frozenset,
        "bytearray": bytearray,
        "bytes": bytes,
        "str": str,
        "int": int,
        "float": float,
        "complex": complex,
        "bool": bool,
        "object": object,
    }.items():
        _ALLOWED[(_module, _name)] = _obj
# Python 2 names of the numeric builtins.
_ALLOWED[("__builtin__", "long")] = int
_ALLOWED[("__builtin__", "unicode")] = str
_ALLOWED[("numpy", "bool_")] = np.bool_
del _module, _name, _obj


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that can only rebuild numpy arrays and plain containers.

    ``find_class`` resolves only the globals that numpy's pickles use
    (``numpy.core.multiarray._reconstruct`` / ``scalar``, ``numpy.dtype``,
    ``numpy.ndarray``, ``numpy.core.numeric._frombuffer`` (protocol 5) and
    their ``numpy._core`` names, ``_codecs.encode``
    restricted to latin-1, ``copy_reg._reconstructor`` restricted to
    ``numpy.ndarray``) and builtin containers and scalar types. Any other
    global raises :class:`pickle.UnpicklingError` naming it, before anything
    is called, following the "Restricting Globals" recipe of the :mod:`pickle`
    documentation.
    """

    def find_class(self, module, name):  # noqa: D102
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"Forbidden global {module}.{name} in pickle: only numpy arrays, "
                f"dtypes, scalars and builtin containers may be unpickled."
            ) from None


def safe_pickle_loads(data, encoding="latin1"):
    """Unpickle ``data`` with :class:`SafeUnpickler`.

    Parameters
    ----------
    data : bytes
        The pickle.
    encoding : str
        How Python-2 ``str`` objects are decoded; ``"latin1"`` is required to
        read numpy arrays pickled by Python 2 (e.g. DEAP's ``.dat`` files).

    Returns
    -------
    object
        The unpickled object.

    Raises
    ------
    pickle.UnpicklingError
        If the pickle names a global that is not allowed.
    """
    return SafeUnpickler(io.BytesIO(data), encoding=encoding).load()


def safe_pickle_load(file_or_path, encoding="latin1"):
    """Unpickle a file or binary file object with :class:`SafeUnpickler`.

    Parameters
    ----------
    file_or_path : str | pathlib.Path | file object
        Path of the pickle, or an open binary file.
    encoding : str
        See :func:`safe_pickle_loads`.

    Returns
    -------
    object
        The unpickled object.

    Raises
    ------
    FileNotFoundError
        If a path is given and does not exist.
    pickle.UnpicklingError
        If the pickle names a global that is not allowed.
    """
    if hasattr(file_or_path, "read"):
        return SafeUnpickler(file_or_path, encoding=encoding).load()
    path = Path(file_or_path)
    if not path.is_file():
        raise FileNotFoundError(f"Pickle file {str(path)!r} does not exist.")
    with open(path, "rb") as f:
        return SafeUnpickler(f, encoding=encoding).load()


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
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NPZ file {str(path)!r} does not exist.")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as err:
        raise ValueError(
            f"Cannot read NPZ file {str(path)!r}: truncated, corrupt or not an npz "
            f"archive ({type(err).__name__}: {err})."
        ) from err
    with archive:
        if key not in archive.files:
            raise ValueError(
                f"NPZ file {str(path)!r} has no entry {key!r}; entries present: "
                f"{sorted(archive.files)}."
            )
        try:
            value = archive[key]
        except ValueError as err:
            raise ValueError(
                f"Entry {key!r} of NPZ file {str(path)!r} is an object array that "
                f"would need pickle to load; expected a numeric array or a 0-d "
                f"bytes array holding a pickle ({err})."
            ) from err
        except Exception as err:
            raise ValueError(
                f"Cannot read entry {key!r} of NPZ file {str(path)!r}: truncated or "
                f"corrupt ({type(err).__name__}: {err})."
            ) from err
    if value.ndim == 0 and value.dtype.kind in "SU":
        raw = value.item()
        if isinstance(raw, str):
            raw = raw.encode("latin-1")
        try:
            return safe_pickle_loads(raw)
        except pickle.UnpicklingError:
            raise
        except Exception as err:
            raise ValueError(
                f"Entry {key!r} of NPZ file {str(path)!r} is a bytes array that is "
                f"not a valid pickle ({type(err).__name__}: {err})."
            ) from err
    return value


# --------------------------------------------------------------------------
# Atomic on-disk cache of converted arrays
# --------------------------------------------------------------------------

_KEY_ENTRY = "__cache_key__"


class ArrayCache:
    """On-disk cache of converted numeric arrays, one ``.npz`` per key.

    Each entry's file name combines the readable ``key`` with a hash of the
    key and of the size and modification time of its source files, so
    editing or replacing a source file invalidates the entry. Files are
    written to a temporary file in the cache folder and moved into place with
    :func:`os.replace` (atomic on POSIX and Windows), so an interrupted write
    never leaves a file under the final name. A cached file that cannot be
    read completely (truncated, corrupt, written for another key) is deleted
    and recomputed. Only plain numeric arrays are stored and files are read
    with ``allow_pickle=False``.

    Parameters
    ----------
    cache_dir : str | pathlib.Path | None
        Folder of the cache (created when needed); ``None`` disables caching:
        :meth:`get_or_compute` then computes every time.
    """

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

    @staticmethod
    def _fingerprint(key, sources):
        parts = [key]
        for source in sources:
            source = Path(source)
            try:
                st = source.stat()
                parts.append(f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}")
            except OSError:
                parts.append(f"{source}|missing")
        return "\n".join(parts)

    def get_or_compute(self, key, compute, sources=()):
        """Return the cached arrays of ``key``, computing and storing them if needed.

        Parameters
        ----------
        key : str
            Identifies the entry (e.g. dataset, subject and feature options).
        compute : callable
            Called without arguments when the entry is missing, stale or
            corrupt; must return a dict of str -> numeric numpy array.
        sources : iterable of path-like
            Files the arrays are computed from; their size and modification
            time are part of the key.

        Returns
        -------
        dict of str -> numpy.ndarray

        Raises
        ------
        ValueError
            If ``compute`` returns something other than a dict of numeric
            arrays with string keys.
        """
        sources = list(sources)
        path = self.path_for(key, sources)
        if path is not None and path.is_file():
            cached = self._read(path, key)
            if cached is not None:
                return cached
            try:
                path.unlink()
            except OSError:
                pass
        arrays = self._check_arrays(compute(), key)
        if path is not None:
            self._write(path, key, arrays)
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
            if not isinstance(name, str) or name == _KEY_ENTRY:
                raise ValueError(
                    f"Cache entry {key!r}: array names must be strings other than "
                    f"{_KEY_ENTRY!r}; got {name!r}."
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
        return arrays

    def _write(self, path, key, arrays):
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = dict(arrays)
        payload[_KEY_ENTRY] = np.frombuffer(key.encode("utf-8"), dtype=np.uint8)
        fd, tmp = tempfile.mkstemp(
            prefix=path.name + ".", suffix=".tmp", dir=path.parent
        )
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
