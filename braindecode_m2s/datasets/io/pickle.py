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
- memory stays in proportion to the input: the opcode stream is scanned
  first (:func:`~.pickle_scan.scan_pickle`, one linear pass of at most
  :data:`~.pickle_scan.MAX_OPCODES` opcodes), which charges every object
  the unpickler will create and refuses lengths past the end, huge
  integers, unbounded memo indices, deep nesting and hash-collision sets
  before anything is built; then every allocation a pickle can ask for
  (arrays, ``bytes(n)``, ``bytearray(n)``, container copies) is charged to
  the same budget: :data:`BUDGET_FACTOR` times the pickle's size plus
  :data:`BUDGET_CONSTANT`, never more than
  :data:`~.budget.MAX_READ_BYTES`;
- time is linear in the pickle's size: no dict or set can be made
  quadratic by keys whose hashes collide, no tuple key can be hashed
  exponentially, and the result is walked once (with a visited set);
- the result holds only real Python and numpy objects: the module's
  placeholders are replaced or refused wherever they sit, at any depth,
  by a walk of the whole result with an explicit stack (dict keys and set
  members may only be plain scalars); strings that cannot be encoded to
  UTF-8 (lone surrogates, in ``str`` objects or unicode arrays) are
  refused;
- a pickle cannot change the unpickler: the factories are immutable
  (``__slots__``, no ``__setstate__``), and the placeholders that receive
  numpy's ``BUILD`` states accept one state, once.

Every refusal or malformed input raises :class:`UnsafePickleError`, which is
both a :class:`pickle.UnpicklingError` and a :class:`ValueError`.
"""

from __future__ import annotations

import io
import math
import pickle
import re

import numpy as np

from ...utils.files import check_regular_file
from .budget import MAX_READ_BYTES
from .pickle_scan import MAX_COLLIDABLE_KEYS, MAX_DEPTH, scan_pickle

__all__ = [
    "UnsafePickleError",
    "SafeUnpickler",
    "safe_pickle_loads",
    "safe_pickle_load",
]

#: dtype kinds a pickle may hold: bool, signed/unsigned int, float, complex,
#: bytes and unicode strings.
ALLOWED_KINDS = frozenset("biufcSU")
#: Bytes a pickle may allocate (its objects as estimated by the scan, then
#: the arrays and copies the factories make): this many times its size, plus
#: a constant, never more than MAX_READ_BYTES. A numpy pickle needs about
#: two times its size (the data string, then the array's copy).
BUDGET_FACTOR = 8
BUDGET_CONSTANT = 1 << 20
#: Most dimensions of an array.
MAX_NDIM = 32
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
        if (
            version not in (3, 4)
            or subdescr is not None
            or names is not None
            or (fields is not None)
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
    """A bounded description of ``value``: never the repr of a big or deep object."""
    kind = type(value)
    if kind in (bytes, bytearray, str):
        text = repr(value) if len(value) <= 40 else f"{kind.__name__} of length {len(value)}"
    elif kind is int:
        text = (
            repr(value)
            if value.bit_length() <= 128
            else (f"an integer of {value.bit_length()} bits")
        )
    elif kind in (float, complex, bool) or value is None:
        text = repr(value)
    elif kind in (tuple, list, set, frozenset, dict):
        flat = len(value) <= 8 and all(
            type(v) in (int, float, bool, str, bytes) or v is None for v in value
        )
        if flat and kind is not dict:
            text = (
                "("
                + ", ".join(_short(v, 20) for v in value)
                + (",)" if kind is tuple and len(value) == 1 else ")")
            )
            text = text if kind is tuple else f"{kind.__name__}{text}"
        else:
            text = f"a {kind.__name__} of {len(value)} items"
    elif kind in (_DtypeStub, _ArrayStub, _ScalarStub):
        text = f"a numpy {kind.__name__[1:-4].lower()}"
    elif kind is _Factory:
        text = repr(value)
    else:
        text = f"a {kind.__name__}"
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
    if (
        not isinstance(shape, tuple)
        or len(shape) > MAX_NDIM
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
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
    if any(d > budget.limit for d in shape):
        # an empty array may declare any extent (its data is 0 bytes); one larger than
        # the bytes this read may allocate describes no data a file can hold, and
        # walking its rows (tolist, iteration) costs time and memory in that extent
        raise _refuse(
            where,
            f"array shape {_short(shape)} has an axis longer than the {budget.limit} "
            f"bytes a pickle of this size may allocate.",
        )
    data = _raw_bytes(raw, where)
    nbytes = count * dtype.itemsize
    if isinstance(raw, str):  # a Python-2 string, encoded back to bytes
        budget.charge(len(data), "the bytes of an array's data string")
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
    """Unicode arrays hold UCS-4 code points; refuse those no string can encode.

    Beyond U+10FFFF numpy cannot print them; U+D800..U+DFFF (lone
    surrogates) give strings that cannot be encoded to UTF-8.
    """
    order = ">" if dtype.byteorder == ">" else "<"
    codes = np.frombuffer(data, dtype=order + "u4")
    if codes.size and int(codes.max()) > 0x10FFFF:
        raise _refuse(where, "a unicode array holds code points beyond U+10FFFF.")
    if codes.size and np.any((codes >= 0xD800) & (codes <= 0xDFFF)):
        raise _refuse(
            where,
            "a unicode array holds lone surrogates (U+D800..U+DFFF), "
            "which no string encoding can write.",
        )


def _make_factories(budget):
    """Globals a pickle may name -> factories bound to one load's budget."""
    where = budget.where

    def reconstruct(subtype, shape, typecode):
        # numpy pickles call _reconstruct(ndarray, (0,), b"b") and BUILD the
        # result with (version, shape, dtype, is_fortran, data).
        if subtype is not ndarray_token:
            raise _refuse(
                where,
                f"_reconstruct of {_short(subtype)} is refused; only numpy.ndarray is allowed.",
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
            "latin1",
            "latin-1",
            "iso-8859-1",
            "iso8859-1",
            "l1",
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
                return (
                    codecs_encode(arg, rest[0])
                    if name == "bytes"
                    else build(codecs_encode(arg, rest[0]))
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
            if name in ("dict", "set", "frozenset"):
                _check_keys(arg, name == "dict" and not isinstance(arg, dict), where, name)
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

#: Types a dict key or set member may have: hashing them costs at most their
#: length, and strings and bytes have randomised hashes.
_SCALARS = (str, bytes, int, float, complex, bool, type(None))
_SMALL_INT = 1 << 61


def _check_keys(arg, pairs, where, name):
    """Keys of ``name(arg)``: plain scalars, few of them of collidable kinds.

    ``pairs`` says that ``arg`` holds (key, value) pairs (``dict(list)``).
    """
    collidable = 0
    for item in arg:
        if pairs:
            if type(item) not in (tuple, list) or len(item) != 2:
                raise _refuse(
                    where, f"dict() of {_short(item)} is refused; expected (key, value) pairs."
                )
            item = item[0]
        kind = type(item)
        if kind not in _SCALARS:
            raise _refuse(
                where,
                f"a {name} key is {_short(item)}; dict keys and set members must be "
                f"strings, bytes, numbers, booleans or None.",
            )
        if kind in (float, complex) or (kind is int and not -_SMALL_INT < item < _SMALL_INT):
            collidable += 1
            if collidable > MAX_COLLIDABLE_KEYS:
                raise _refuse(
                    where,
                    f"{name}() of more than {MAX_COLLIDABLE_KEYS} float or large-integer "
                    f"keys is refused: their hashes can be made to collide, which makes "
                    f"building it quadratic.",
                )


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds only numeric arrays, scalars and containers.

    ``find_class`` resolves the globals that numpy pickles use
    (``numpy.core.multiarray._reconstruct`` / ``scalar``, ``numpy.dtype``,
    ``numpy.ndarray`` as a type token, ``numpy.core.numeric._frombuffer``,
    their ``numpy._core`` names, ``_codecs.encode`` with latin-1) and the
    builtin containers and scalar types, each to a checking factory of this
    module (see the module docstring); any other global raises
    :class:`UnsafePickleError` ("Forbidden global") before anything is called.
    Use :func:`safe_pickle_loads`, which also scans the opcode stream first
    (without it, the C unpickler's own memo, stack and hashing are not
    bounded) and returns real numpy objects.

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
        if not isinstance(budget, _Budget):
            budget = _Budget(budget, where)
        self._table = _make_factories(budget)

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


_SURROGATE = re.compile("[\ud800-\udfff]")
_LEAVES = (bool, int, float, complex, bytes, bytearray, type(None))
_STUBS = (_ArrayStub, _ScalarStub, _DtypeStub)


def _leaf(obj, where):
    """The caller's value of a non-container, or ``_CONTAINER``."""
    kind = type(obj)
    if kind in _LEAVES or kind is np.ndarray:  # arrays from _frombuffer are copies
        return obj
    if kind is str:
        if not obj.isascii() and _SURROGATE.search(obj):
            raise _refuse(
                where,
                "a string holds lone surrogates (U+D800..U+DFFF), which "
                "no string encoding can write.",
            )
        return obj
    if kind is _ArrayStub:
        if obj.array is None:
            raise _refuse(where, "an array was created but its data never given.")
        return obj.array
    if kind is _ScalarStub:
        return obj.value
    if kind is _DtypeStub:
        return obj.dtype
    if kind in (list, tuple, dict, set, frozenset):
        return _CONTAINER
    raise _refuse(where, f"the pickle yields {_short(obj)}, which is not allowed.")


_CONTAINER = object()


def _resolve(root, where):
    """The loaded object with every placeholder replaced by its numpy object.

    One walk of the whole object graph with an explicit stack and a visited
    set, so its cost is linear in the number of objects (shared and cyclic
    containers included) and no placeholder can hide at any depth: lists
    and dicts are updated in place, tuples rebuilt when an item changed,
    and dict keys and set members must be plain scalars (checked one by
    one; they cannot hold placeholders). A container's height (the longest
    chain of containers below it) above :data:`MAX_DEPTH` is refused, and so
    is a tuple that contains itself (through a list or dict).
    """
    first = _leaf(root, where)
    if first is not _CONTAINER:
        return first
    done = {}  # id -> (resolved object, height) of finished containers
    open_ids = {}  # id -> the object, for containers on the stack
    stack = [(root, iter(_children(root, where)))]
    open_ids[id(root)] = root
    heights = [0]
    while stack:
        obj, children = stack[-1]
        pushed = False
        for child in children:
            if _leaf(child, where) is not _CONTAINER:
                continue
            key = id(child)
            if key in done:
                heights[-1] = max(heights[-1], done[key][1])
                continue
            if key in open_ids:
                if type(child) is tuple:
                    raise _refuse(where, "a tuple is part of a reference cycle.")
                continue  # a cycle through lists and dicts: they keep their identity
            if len(stack) >= MAX_DEPTH:
                raise _refuse(where, f"containers nested deeper than {MAX_DEPTH} levels.")
            open_ids[key] = child
            stack.append((child, iter(_children(child, where))))
            heights.append(0)
            pushed = True
            break
        if pushed:
            continue
        stack.pop()
        height = heights.pop() + 1
        if height > MAX_DEPTH:
            raise _refuse(where, f"containers nested deeper than {MAX_DEPTH} levels.")
        del open_ids[id(obj)]
        done[id(obj)] = (_rebuild(obj, done, where), height)
        if heights and height > heights[-1]:
            heights[-1] = height
    return done[id(root)][0]


def _children(obj, where):
    """The items of a container that may need resolving."""
    kind = type(obj)
    if kind is dict:
        for key in obj:
            if type(key) not in _SCALARS:
                raise _refuse(
                    where,
                    "dict keys must be strings, bytes, numbers, booleans "
                    "or None; numpy objects and containers are refused.",
                )
            if type(key) is str:
                _leaf(key, where)
        return obj.values()
    if kind in (set, frozenset):
        for item in obj:
            if type(item) not in _SCALARS:
                raise _refuse(
                    where,
                    "set members must be strings, bytes, numbers, "
                    "booleans or None; numpy objects and containers are "
                    "refused.",
                )
            if type(item) is str:
                _leaf(item, where)
        return ()
    return obj


def _value(item, done, where):
    value = _leaf(item, where)
    if value is not _CONTAINER:
        return value
    found = done.get(id(item))
    return item if found is None else found[0]  # None: an open list / dict (a cycle)


def _rebuild(obj, done, where):
    kind = type(obj)
    if kind is list:
        for i, item in enumerate(obj):
            value = _value(item, done, where)
            if value is not item:
                obj[i] = value
        return obj
    if kind is dict:
        for key in list(obj):
            item = obj[key]
            value = _value(item, done, where)
            if value is not item:
                obj[key] = value  # same keys: no resize while iterating
        return obj
    if kind is tuple:
        values = [_value(item, done, where) for item in obj]
        if all(v is i for v, i in zip(values, obj)):
            return obj
        return tuple(values)
    return obj  # set, frozenset: scalar members only


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
        the wrong size, or is over its budget (memory: :data:`BUDGET_FACTOR`
        times its size plus :data:`BUDGET_CONSTANT`, at most
        :data:`~.budget.MAX_READ_BYTES`; opcodes, integer sizes, nesting,
        collidable keys: see :mod:`~.pickle_scan`).
    """
    data = bytes(data)
    budget = _Budget(min(BUDGET_FACTOR * len(data) + BUDGET_CONSTANT, MAX_READ_BYTES), where)
    table = _make_factories(budget)
    scan_pickle(data, budget, lambda message: _refuse(where, message), table, encoding)
    unpickler = SafeUnpickler(io.BytesIO(data), budget=budget, where=where, encoding=encoding)
    try:
        obj = unpickler.load()
    except UnsafePickleError:
        raise
    except RecursionError:
        raise _refuse(where, "the pickle nests too deeply.") from None
    except MemoryError:
        raise _refuse(where, "the pickle needs more memory than is available.") from None
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
