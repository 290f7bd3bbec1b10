"""Restricted unpickling of numeric data: arrays, scalars and plain containers.

DEAP's ``.dat`` files, the SEED eye files and the entries of SEED-V's
``.npz`` archives are pickles. :mod:`pickle` runs whatever a pickle names, so
:class:`SafeUnpickler` resolves only the globals that numpy pickles use, and
never hands a pickle one of numpy's own constructors: each allowed global is a
frozen factory of this module that checks its arguments.

The guarantees, for any input bytes:

- no code outside this module runs (the "Restricting Globals" recipe of the
  :mod:`pickle` documentation, applied to every global);
- an array's values come only from bytes held in the pickle: arrays are
  built by copying exactly ``prod(shape) * itemsize`` bytes with
  :func:`numpy.frombuffer`, never from uninitialised memory, offsets or
  strides, and an array whose data never arrive is refused;
- only boolean, integer, float, complex and fixed-width string dtypes
  (kinds ``b i u f c S U``) exist: object, void, structured and datetime
  dtypes are refused before anything is built;
- memory stays in proportion to the input: every allocation a pickle can
  ask for (arrays, ``bytes(n)``, ``bytearray(n)``, container copies) is
  charged to a budget of a few times the pickle's own size, and the opcode
  stream is checked first (:func:`pickletools.genops`), so a length field
  that claims more bytes than the pickle holds is refused without
  allocating it;
- a pickle cannot change the unpickler: the factories are immutable
  (``__slots__``, no ``__setstate__``), and the placeholders that receive
  numpy's ``BUILD`` states accept one state, once.

Every refusal or malformed input raises :class:`UnsafePickleError`, which is
both a :class:`pickle.UnpicklingError` and a :class:`ValueError`.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import pickletools
import re
from pathlib import Path

import numpy as np

__all__ = [
    "UnsafePickleError",
    "SafeUnpickler",
    "safe_pickle_loads",
    "safe_pickle_load",
]

#: dtype kinds a pickle may hold: bool, signed/unsigned int, float, complex,
#: bytes and unicode strings.
ALLOWED_KINDS = frozenset("biufcSU")
#: Bytes a pickle may allocate: this many times its size, plus a constant.
BUDGET_FACTOR = 4
BUDGET_CONSTANT = 1 << 20
#: Deepest nesting of containers accepted in a result.
MAX_DEPTH = 100
#: Most dimensions of an array.
MAX_NDIM = 32
#: Opcodes never used by numeric pickles: persistent ids, class instantiation
#: through ``__new__``/``__init__``, the extension registry and out-of-band
#: buffers.
_FORBIDDEN_OPCODES = frozenset({
    "PERSID", "BINPERSID", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2",
    "EXT4", "NEXT_BUFFER", "READONLY_BUFFER",
})  # fmt: skip
#: dtype flags a plain dtype may carry in its pickled state (NPY_NEEDS_INIT,
#: set for unicode strings); the object-related flags are refused.
_PLAIN_DTYPE_FLAGS = 8
_DTYPE_SPEC = re.compile(r"(b1|\?|[iu][1248]|f[248]|f16|c8|c16|c32|[SU]\d{1,9})")


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle that is malformed, or that asks for something not allowed."""


def _refuse(where, message):
    return UnsafePickleError(f"{where}: {message}")


# --------------------------------------------------------------------------
# Budget and immutable factories
# --------------------------------------------------------------------------

class _Budget:
    """Bytes a pickle may still allocate through the factories."""

    __slots__ = ("left", "limit", "where")

    def __init__(self, limit, where):
        self.left = self.limit = int(limit)
        self.where = where

    def charge(self, nbytes, what):
        if nbytes > self.left:
            raise _refuse(
                self.where,
                f"{what} would allocate {nbytes} bytes; a pickle of this size may "
                f"allocate at most {self.limit} bytes in all.",
            )
        self.left -= nbytes


class _Factory:
    """A named, immutable callable that a pickle may reach through a global."""

    __slots__ = ("_name", "_func")

    def __init__(self, name, func):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_func", func)

    def __call__(self, *args):
        return self._func(*args)

    def __setattr__(self, name, value):
        raise AttributeError(f"{self._name} cannot be modified")

    def __setstate__(self, state):
        raise UnsafePickleError(
            f"the global {self._name} cannot receive a state (it cannot be modified)."
        )

    def __reduce__(self):
        raise TypeError(f"{self._name} cannot be pickled")

    def __repr__(self):
        return f"<restricted {self._name}>"


# --------------------------------------------------------------------------
# Placeholders that receive numpy's BUILD states
# --------------------------------------------------------------------------

class _DtypeStub:
    """What ``numpy.dtype(spec, align, copy)`` gives; BUILD sets its byte order."""

    __slots__ = ("dtype", "built", "where")

    def __init__(self, spec, where):
        self.where = where
        self.dtype = _plain_dtype(spec, where)
        self.built = False

    def __setstate__(self, state):
        if self.built:
            raise _refuse(self.where, "a dtype state was given twice.")
        self.built = True
        if not isinstance(state, tuple) or len(state) not in (8, 9):
            raise _refuse(self.where, f"dtype state {_short(state)} is not numpy's.")
        version, order, subdescr, names, fields, elsize = state[:6]
        if version not in (3, 4) or subdescr is not None or names is not None or (
            fields is not None
        ):
            raise _refuse(
                self.where,
                "only plain dtypes are allowed; got a sub-array, structured or "
                "unknown dtype state.",
            )
        flags = state[7]
        if not isinstance(flags, int) or flags & ~_PLAIN_DTYPE_FLAGS:
            raise _refuse(
                self.where,
                f"dtype state flags {_short(flags)} mark an object or custom dtype; "
                f"only plain dtypes are allowed.",
            )
        if order not in ("<", ">", "|", "="):
            raise _refuse(self.where, f"dtype byte order {order!r} is not one of < > | =.")
        if not isinstance(elsize, int) or elsize not in (-1, self.dtype.itemsize):
            raise _refuse(
                self.where,
                f"dtype state gives {_short(elsize)} bytes per element for "
                f"{self.dtype}; expected {self.dtype.itemsize}.",
            )
        if order in "<>" and self.dtype.itemsize > 1 and self.dtype.kind != "S":
            self.dtype = self.dtype.newbyteorder(order)


class _ArrayStub:
    """What ``_reconstruct`` gives; BUILD fills it with bytes from the pickle."""

    __slots__ = ("array", "budget")

    def __init__(self, budget):
        self.array = None
        self.budget = budget

    def __setstate__(self, state):
        where = self.budget.where
        if self.array is not None:
            raise _refuse(where, "an array state was given twice.")
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _refuse(where, f"array state {_short(state)} is not numpy's.")
        shape, dtype, is_fortran, raw = state[-4:]
        if not isinstance(is_fortran, (bool, int)):
            raise _refuse(where, f"array order flag {_short(is_fortran)} is not a bool.")
        order = "F" if is_fortran else "C"
        self.array = _array_from_bytes(raw, dtype, shape, order, self.budget)


class _ScalarStub:
    """A numpy scalar, kept out of reach of BUILD until the pickle is read."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __setstate__(self, state):
        raise UnsafePickleError("a numpy scalar cannot receive a state.")


# --------------------------------------------------------------------------
# Checks shared by the factories
# --------------------------------------------------------------------------

def _short(value, limit=60):
    text = repr(value) if not isinstance(value, (bytes, bytearray, str)) or len(
        value
    ) <= 40 else f"{type(value).__name__} of length {len(value)}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain_dtype(spec, where):
    """``numpy.dtype`` of an allowed kind from a spec string such as ``"f8"``."""
    if isinstance(spec, _DtypeStub):
        return spec.dtype
    if isinstance(spec, bytes):
        spec = spec.decode("latin-1")
    if not isinstance(spec, str) or not _DTYPE_SPEC.fullmatch(spec.lstrip("<>|=")):
        raise _refuse(
            where,
            f"dtype {_short(spec)} is not allowed; expected a bool, integer, float, "
            f"complex or fixed-width string dtype.",
        )
    dtype = np.dtype(spec)
    if dtype.kind not in ALLOWED_KINDS or dtype.hasobject or dtype.fields is not None:
        raise _refuse(where, f"dtype {dtype} is not allowed.")
    if dtype.kind in "SU" and dtype.itemsize == 0:
        raise _refuse(where, f"dtype {spec!r} has zero-width elements.")
    return dtype


def _as_dtype(value, where):
    if isinstance(value, _DtypeStub):
        return value.dtype
    raise _refuse(where, f"expected a numpy dtype; got {_short(value)}.")


def _check_shape(shape, where):
    """A tuple of non-negative Python ints; returns the element count."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, tuple) or len(shape) > MAX_NDIM or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise _refuse(
            where,
            f"array shape {_short(shape)} is not a tuple of at most {MAX_NDIM} "
            f"non-negative integers.",
        )
    return shape, math.prod(shape)


def _raw_bytes(raw, where):
    if isinstance(raw, str):
        try:
            return raw.encode("latin-1")
        except UnicodeEncodeError:
            raise _refuse(where, "array data string holds non-latin-1 characters.") from None
    if isinstance(raw, (bytes, bytearray)):
        return raw
    if isinstance(raw, pickle.PickleBuffer):
        return raw.raw()
    raise _refuse(where, f"array data {_short(raw)} is not a bytes string.")


def _array_from_bytes(raw, dtype, shape, order, budget):
    """Copy exactly ``prod(shape) * itemsize`` bytes of ``raw`` into a new array."""
    where = budget.where
    dtype = _as_dtype(dtype, where)
    shape, count = _check_shape(shape, where)
    data = _raw_bytes(raw, where)
    nbytes = count * dtype.itemsize
    if len(data) != nbytes:
        raise _refuse(
            where,
            f"an array of shape {shape} and dtype {dtype} needs {nbytes} bytes of "
            f"data; the pickle holds {len(data)}.",
        )
    if order not in ("C", "F"):
        raise _refuse(where, f"array order {_short(order)} is not 'C' or 'F'.")
    budget.charge(nbytes, f"an array of shape {shape} and dtype {dtype}")
    if dtype.kind == "U":
        _check_code_points(data, dtype, where)
    flat = np.frombuffer(data, dtype=dtype, count=count).copy()
    return flat.reshape(shape, order=order)


# --------------------------------------------------------------------------
# The factories a pickle may name
# --------------------------------------------------------------------------

def _check_code_points(data, dtype, where):
    """Unicode arrays hold UCS-4 code points; beyond U+10FFFF numpy cannot print them."""
    order = ">" if dtype.byteorder == ">" else "<"
    codes = np.frombuffer(data, dtype=order + "u4")
    if codes.size and int(codes.max()) > 0x10FFFF:
        raise _refuse(where, "a unicode array holds code points beyond U+10FFFF.")


def _make_factories(budget):
    """Globals a pickle may name -> factories bound to one load's budget."""
    where = budget.where

    def reconstruct(subtype, shape, typecode):
        # numpy pickles call _reconstruct(ndarray, (0,), b"b") and BUILD the
        # result with (version, shape, dtype, is_fortran, data).
        if subtype is not ndarray_token:
            raise _refuse(
                where,
                f"_reconstruct of {_short(subtype)} is refused; only numpy.ndarray "
                f"is allowed.",
            )
        if not isinstance(typecode, (str, bytes)):
            raise _refuse(where, f"_reconstruct type code {_short(typecode)} is not a string.")
        return _ArrayStub(budget)

    def ndarray(*args):
        raise _refuse(
            where,
            "calling numpy.ndarray is refused: only numpy.ndarray as the type "
            "argument of _reconstruct is allowed (arrays are built from the bytes "
            "in the pickle).",
        )

    def dtype(spec, align=False, copy=True, *rest):
        return _DtypeStub(spec, where)

    def scalar(dtype_, data=None):
        dt = _as_dtype(dtype_, where)
        raw = _raw_bytes(data, where)
        if len(raw) != dt.itemsize:
            raise _refuse(
                where,
                f"a numpy scalar of dtype {dt} needs {dt.itemsize} bytes; got {len(raw)}.",
            )
        if dt.kind == "U":
            _check_code_points(raw, dt, where)
        return _ScalarStub(np.frombuffer(raw, dtype=dt, count=1)[0].copy())

    def frombuffer(buf, dtype_, shape, order):
        return _array_from_bytes(buf, dtype_, shape, order, budget)

    def codecs_encode(text, encoding="utf-8", errors="strict"):
        if not isinstance(text, str) or str(encoding).lower().replace("_", "-") not in (
            "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1",
        ):
            raise _refuse(
                where,
                f"_codecs.encode with encoding {_short(encoding)} is refused; only "
                f"latin-1 (how protocol-2 pickles store bytes) is allowed.",
            )
        budget.charge(len(text), "_codecs.encode")
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise _refuse(where, "_codecs.encode got non-latin-1 text.") from None

    def sized(name, build):
        def make(arg=None, *rest):
            if arg is None and not rest:
                return build()
            if isinstance(arg, int) and not isinstance(arg, bool):
                if arg < 0:
                    raise _refuse(where, f"{name}({arg}) has a negative size.")
                budget.charge(arg, f"{name}({arg})")
                return build(arg)
            if isinstance(arg, str) and rest:
                budget.charge(len(arg), f"{name} of a string")
                return codecs_encode(arg, rest[0]) if name == "bytes" else build(
                    codecs_encode(arg, rest[0])
                )
            if isinstance(arg, (bytes, bytearray, list, tuple)):
                budget.charge(len(arg), f"{name} of a sequence")
                try:
                    return build(arg)
                except (TypeError, ValueError) as err:
                    raise _refuse(where, f"{name}({_short(arg)}): {err}") from None
            raise _refuse(where, f"{name}({_short(arg)}) is refused.")

        return make

    def container(name, build):
        def make(arg=None):
            if arg is None:
                return build()
            if not isinstance(arg, (list, tuple, set, frozenset, dict)):
                raise _refuse(
                    where,
                    f"{name}() of {type(arg).__name__} is refused; expected a list, "
                    f"tuple, set or dict from the pickle.",
                )
            budget.charge(16 * len(arg), f"{name}() of {len(arg)} items")
            try:
                return build(arg)
            except (TypeError, ValueError) as err:
                raise _refuse(where, f"{name}() failed: {err}") from None

        return make

    def text(arg="", *rest):
        if isinstance(arg, str) and not rest:
            return arg
        if isinstance(arg, (bytes, bytearray)) and rest:
            budget.charge(4 * len(arg), "str of bytes")
            try:
                return str(bytes(arg), *rest[:2])
            except (LookupError, UnicodeDecodeError, TypeError) as err:
                raise _refuse(where, f"str() of bytes failed: {err}") from None
        raise _refuse(where, f"str({_short(arg)}) is refused; only strings are allowed.")

    def number(name, build):
        def make(arg=0, *rest):
            if rest or not isinstance(arg, (int, float, complex, str, bytes)):
                raise _refuse(where, f"{name}({_short(arg)}) is refused.")
            if isinstance(arg, (str, bytes)) and len(arg) > 4300:
                raise _refuse(where, f"{name}() of a {len(arg)}-character string is refused.")
            try:
                return build(arg)
            except (TypeError, ValueError, OverflowError) as err:
                raise _refuse(where, f"{name}({_short(arg)}): {err}") from None

        return make

    def bool_(arg=False):
        if not isinstance(arg, (bool, int)):
            raise _refuse(where, f"numpy.bool_({_short(arg)}) is refused.")
        return _ScalarStub(np.bool_(bool(arg)))

    ndarray_token = _Factory("numpy.ndarray", ndarray)
    table = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[(module, "_reconstruct")] = _Factory("_reconstruct", reconstruct)
        table[(module, "scalar")] = _Factory("scalar", scalar)
    for module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
        table[(module, "dtype")] = _Factory("numpy.dtype", dtype)
        table[(module, "ndarray")] = ndarray_token
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        table[(module, "_frombuffer")] = _Factory("_frombuffer", frombuffer)
    table[("_codecs", "encode")] = _Factory("_codecs.encode", codecs_encode)
    table[("numpy", "bool_")] = _Factory("numpy.bool_", bool_)
    builtins = {
        "dict": _Factory("dict", container("dict", dict)),
        "list": _Factory("list", container("list", list)),
        "tuple": _Factory("tuple", container("tuple", tuple)),
        "set": _Factory("set", container("set", set)),
        "frozenset": _Factory("frozenset", container("frozenset", frozenset)),
        "bytearray": _Factory("bytearray", sized("bytearray", bytearray)),
        "bytes": _Factory("bytes", sized("bytes", bytes)),
        "str": _Factory("str", text),
        "int": _Factory("int", number("int", int)),
        "float": _Factory("float", number("float", float)),
        "complex": _Factory("complex", number("complex", complex)),
        "bool": _Factory("bool", number("bool", bool)),
    }
    for module in ("builtins", "__builtin__"):
        for name, factory in builtins.items():
            table[(module, name)] = factory
    table[("__builtin__", "long")] = builtins["int"]
    table[("__builtin__", "unicode")] = builtins["str"]
    return table


# --------------------------------------------------------------------------
# The unpickler
# --------------------------------------------------------------------------

def _prescan(data, where):
    """Walk the opcodes without building anything; refuse lengths past the end.

    :func:`pickletools.genops` reads every argument from an in-memory stream,
    so a length field that claims more bytes than remain is an error here
    instead of an allocation in the C unpickler.
    """
    size = len(data)
    try:
        for opcode, arg, pos in pickletools.genops(data):
            if opcode.name in _FORBIDDEN_OPCODES:
                raise _refuse(where, f"opcode {opcode.name} at byte {pos} is not allowed.")
            if opcode.name == "FRAME" and arg > size - pos:
                raise _refuse(
                    where, f"a frame at byte {pos} claims {arg} bytes; {size - pos} remain."
                )
    except UnsafePickleError:
        raise
    except Exception as err:  # genops raises ValueError, EOFError, ...
        raise _refuse(
            where,
            f"not a valid pickle (truncated or corrupt: {type(err).__name__}: {err}).",
        ) from None


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds only numeric arrays, scalars and containers.

    ``find_class`` resolves the globals that numpy pickles use
    (``numpy.core.multiarray._reconstruct`` / ``scalar``, ``numpy.dtype``,
    ``numpy.ndarray`` as a type token, ``numpy.core.numeric._frombuffer``,
    their ``numpy._core`` names, ``_codecs.encode`` with latin-1) and the
    builtin containers and scalar types, each to a checking factory of this
    module (see the module docstring); any other global raises
    :class:`UnsafePickleError` ("Forbidden global") before anything is called.
    Use :func:`safe_pickle_loads`, which also checks the opcode stream first
    and returns real numpy objects.

    Parameters
    ----------
    file : file object
        Binary stream of the pickle.
    budget : int
        Bytes the pickle may allocate through the factories.
    where : str
        Names the pickle (its file) in error messages.
    encoding : str
        Decoding of Python-2 ``str`` objects (``"latin1"`` for numpy data).
    """

    def __init__(self, file, *, budget, where="pickle", encoding="latin1"):
        super().__init__(file, encoding=encoding)
        self._where = where
        self._table = _make_factories(_Budget(budget, where))

    def find_class(self, module, name):  # noqa: D102
        try:
            return self._table[(module, name)]
        except (KeyError, TypeError):
            raise _refuse(
                self._where,
                f"Forbidden global {module}.{name} in pickle: only numpy arrays, "
                f"dtypes, scalars and builtin containers may be unpickled.",
            ) from None

    def persistent_load(self, pid):  # noqa: D102
        raise _refuse(self._where, "persistent ids are not allowed.")


def _resolve(obj, where, depth=0, seen=None):
    """Replace the placeholders of a loaded pickle by numpy objects."""
    if seen is None:
        seen = {}
    kind = type(obj)
    if obj is None or kind in (bool, int, float, complex, str, bytes, bytearray):
        return obj
    if kind is _ArrayStub:
        if obj.array is None:
            raise _refuse(where, "an array was created but its data never given.")
        return obj.array
    if kind is _ScalarStub:
        return obj.value
    if kind is _DtypeStub:
        return obj.dtype
    if kind is np.ndarray:  # from _frombuffer, already a copy
        return obj
    if depth > MAX_DEPTH:
        raise _refuse(where, f"containers nested deeper than {MAX_DEPTH} levels.")
    key = id(obj)
    if key in seen:
        if seen[key] is _IN_PROGRESS:
            raise _refuse(where, "a tuple is part of a reference cycle.")
        return seen[key]
    if kind is list:
        seen[key] = obj
        for i, item in enumerate(obj):
            obj[i] = _resolve(item, where, depth + 1, seen)
        return obj
    if kind is dict:
        seen[key] = obj
        for k in obj:
            _check_hashable(k, where)
            obj[k] = _resolve(obj[k], where, depth + 1, seen)
        return obj
    if kind is tuple:
        seen[key] = _IN_PROGRESS
        out = tuple(_resolve(item, where, depth + 1, seen) for item in obj)
        seen[key] = out
        return out
    if kind in (set, frozenset):
        for item in obj:
            _check_hashable(item, where)
        seen[key] = obj
        return obj
    raise _refuse(where, f"the pickle yields a {kind.__name__}, which is not allowed.")


_IN_PROGRESS = object()


def _check_hashable(item, where, depth=0):
    """Dict keys and set members must be plain values (no placeholders)."""
    if type(item) in (_ArrayStub, _ScalarStub, _DtypeStub, _Factory):
        raise _refuse(where, "numpy objects cannot be dict keys or set members.")
    if type(item) in (tuple, frozenset) and depth < MAX_DEPTH:
        for sub in item:
            _check_hashable(sub, where, depth + 1)


def safe_pickle_loads(data, encoding="latin1", where="pickle"):
    """Unpickle ``data`` allowing only numeric arrays, scalars and containers.

    Parameters
    ----------
    data : bytes | bytearray | memoryview
        The pickle.
    encoding : str
        How Python-2 ``str`` objects are decoded; ``"latin1"`` reads numpy
        arrays pickled by Python 2 (e.g. DEAP's ``.dat`` files).
    where : str
        Names the pickle in error messages (e.g. ``"DEAP file 's01.dat'"``).

    Returns
    -------
    object
        Dicts, lists, tuples, sets, strings, numbers, numpy arrays (owning
        their memory), numpy scalars and dtypes.

    Raises
    ------
    UnsafePickleError
        (a ``pickle.UnpicklingError`` and a ``ValueError``) if the pickle is
        truncated or malformed, names a global that is not allowed, holds a
        dtype other than bool/int/float/complex/string, gives array data of
        the wrong size, or asks for more memory than its size allows.
    """
    data = bytes(data)
    _prescan(data, where)
    budget = BUDGET_FACTOR * len(data) + BUDGET_CONSTANT
    unpickler = SafeUnpickler(io.BytesIO(data), budget=budget, where=where, encoding=encoding)
    try:
        obj = unpickler.load()
    except UnsafePickleError:
        raise
    except RecursionError:
        raise _refuse(where, "the pickle nests too deeply.") from None
    except Exception as err:  # the C unpickler raises many types on bad input
        raise _refuse(
            where,
            f"not a valid pickle (truncated or corrupt: {type(err).__name__}: "
            f"{_short(str(err), 200)}).",
        ) from None
    return _resolve(obj, where)


def safe_pickle_load(file_or_path, encoding="latin1"):
    """Unpickle a file or binary file object with :func:`safe_pickle_loads`.

    Parameters
    ----------
    file_or_path : str | pathlib.Path | file object
        Path of the pickle, or an open binary file (read to its end).
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
    OSError
        If the path is not a regular file (a folder, FIFO, device, symbolic
        link loop) or cannot be read.
    UnsafePickleError
        See :func:`safe_pickle_loads`; the message names the file.
    """
    if hasattr(file_or_path, "read"):
        name = getattr(file_or_path, "name", None)
        where = f"pickle {str(name)!r}" if name else "pickle stream"
        return safe_pickle_loads(file_or_path.read(), encoding=encoding, where=where)
    path = check_regular_file(file_or_path, "Pickle file")
    return safe_pickle_loads(
        path.read_bytes(), encoding=encoding, where=f"pickle file {str(path)!r}"
    )


def check_regular_file(path, what="File"):
    """Return ``path`` if it is a readable regular file, else raise naming it.

    Parameters
    ----------
    path : str | pathlib.Path
        The path.
    what : str
        Describes the file in messages (e.g. ``"MATLAB file"``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path`` (a dangling symbolic link included).
    OSError
        If ``path`` cannot be examined (a symbolic link loop, no permission),
        or is a folder, FIFO, socket or device rather than a regular file:
        opening a FIFO would block forever.
    """
    import stat as _stat

    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist.") from None
    except OSError as err:
        raise OSError(
            err.errno, f"{what} {str(path)!r} cannot be examined ({err.strerror})", str(path)
        ) from None
    if not _stat.S_ISREG(st.st_mode):
        kind = "a folder" if _stat.S_ISDIR(st.st_mode) else (
            "a FIFO" if _stat.S_ISFIFO(st.st_mode) else "not a regular file"
        )
        error = IsADirectoryError if _stat.S_ISDIR(st.st_mode) else OSError
        raise error(f"{what} {str(path)!r} is {kind}; expected a regular file.")
    return path
