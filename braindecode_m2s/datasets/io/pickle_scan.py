"""A bounded, linear pre-scan of a pickle's opcodes, before anything is built.

:func:`scan_pickle` walks the opcode stream once, as the unpickler will, but
with a symbolic stack: each entry says only what kind of object the
unpickler will hold there (a string, a small integer, a float, a list of so
many items nested so deep...), never the object itself. That is enough to
refuse, before the C unpickler allocates or hashes anything:

- opcodes that numeric pickles never use (persistent ids, ``INST`` / ``OBJ``
  / ``NEWOBJ``, the extension registry, out-of-band buffers), and globals
  outside the restricted unpickler's table;
- length fields past the end of the pickle, integers of more than
  :data:`MAX_INT_BYTES` bytes (a product of two 3 MB integers takes
  minutes), more than :data:`MAX_OPCODES` opcodes (20 MB of ``DUP`` /
  ``BINGET`` would take minutes to scan and unpickle);
- memo indices beyond the number of opcodes read so far (``LONG_BINPUT``
  with index 2**27 makes the C unpickler allocate a 2 GB memo table from
  11 bytes), and ``GET`` of a slot never set;
- containers nested deeper than :data:`MAX_DEPTH` where the nesting is
  built (a 2 MB nested list);
- dict keys and set members that are not plain scalars (str, bytes, int,
  float, bool, None): hashing a tuple that shares its items is exponential
  in its depth, and tuple hashes collide cheaply; and more than
  :data:`MAX_COLLIDABLE_KEYS` keys per dict or set whose hashes an author
  can make collide (floats, integers beyond 2**61: 60,000 integers that all
  hash alike make a set quadratic, minutes). Strings and bytes have
  randomised hashes and small integers distinct ones, so they are never
  limited;
- a pickle whose objects would take more memory than its budget: every
  object the unpickler will create is charged (an upper estimate of its
  size in CPython) to the same :class:`~.pickle._Budget` that the
  restricted factories charge their arrays to.

The scan's cost is one pass, a few operations per opcode, and at most
:data:`MAX_OPCODES` opcodes.
"""

from __future__ import annotations

import pickle
import pickletools

__all__ = [
    "MAX_COLLIDABLE_KEYS",
    "MAX_DEPTH",
    "MAX_INT_BYTES",
    "MAX_OPCODES",
    "scan_pickle",
]

#: Most opcodes a pickle may hold (the scan then takes well under a second).
#: A numpy array is about 20 opcodes whatever its size; a pickled list of
#: 300,000 Python floats is refused.
MAX_OPCODES = 1 << 18
#: Longest integer (bytes of ``LONG1`` / ``LONG4``, or 2.4 times as many
#: decimal digits of ``INT`` / ``LONG``): 2048 bits.
MAX_INT_BYTES = 256
#: Deepest nesting of containers.
MAX_DEPTH = 100
#: Most keys per dict or set whose hashes can be made to collide (floats,
#: integers beyond +-2**61, numbers from a REDUCE).
MAX_COLLIDABLE_KEYS = 1024

# The symbolic stack holds plain ints (no object the garbage collector
# tracks, so the scan stays linear): the scalar kinds below; a global as
# _GLOBAL + the kind calling it returns; a container as _FIRST_CONTAINER + its
# index in the per-container lists (kind, depth, collidable keys). Marks live
# on their own stack, as in CPython.
KEY = 0  # str, bytes, bool, None, int in (-2**61, 2**61): cheap, distinct hashes
COLLIDABLE = 1  # float, big int, complex: hashable, but collisions are cheap to make
OTHER = 2  # anything else: the factories' placeholders, bytearray, unknown
C_LIST, C_TUPLE, C_DICT, C_SET, C_FROZENSET = 10, 11, 12, 13, 14
_GLOBAL = 100
_FIRST_CONTAINER = 1000
_CONTAINER_NAMES = {
    C_LIST: "list",
    C_TUPLE: "tuple",
    C_DICT: "dict",
    C_SET: "set",
    C_FROZENSET: "frozenset",
}

#: What calling an allowed global returns, for the symbolic stack.
_GLOBAL_RESULTS = {
    "builtins.list": C_LIST,
    "builtins.tuple": C_TUPLE,
    "builtins.dict": C_DICT,
    "builtins.set": C_SET,
    "builtins.frozenset": C_FROZENSET,
    "builtins.str": KEY,
    "builtins.bytes": KEY,
    "_codecs.encode": KEY,
    "builtins.int": COLLIDABLE,
    "builtins.float": COLLIDABLE,
    "builtins.complex": COLLIDABLE,
    "builtins.bool": KEY,
}
for _k in list(_GLOBAL_RESULTS):
    if _k.startswith("builtins."):
        _GLOBAL_RESULTS["__builtin__." + _k.split(".", 1)[1]] = _GLOBAL_RESULTS[_k]
_GLOBAL_RESULTS["__builtin__.long"] = COLLIDABLE
_GLOBAL_RESULTS["__builtin__.unicode"] = KEY

# Estimated bytes of each object in CPython 3 (64-bit), upper ends.
_SLOT = 8
_INT, _FLOAT, _STR, _BYTES, _BYTEARRAY = 32, 24, 80, 40, 64
_LIST, _TUPLE, _DICT, _SET, _OBJECT = 56, 40, 232, 216, 64
_PER_ITEM = {C_LIST: 16, C_TUPLE: 8, C_DICT: 64, C_SET: 64, C_FROZENSET: 64}

# Actions, one per opcode.
(
    _PUSH_KEY,
    _PUSH_COLL,
    _PUSH_OTHER,
    _INT_TEXT,
    _LONG_BIN,
    _TEXT,
    _BYTES_OP,
    _BYTEARRAY_OP,
    _STR_PY2,
    _EMPTY,
    _FROM_MARK,
    _TUPLE_N,
    _APPEND,
    _APPENDS,
    _SETITEM,
    _SETITEMS,
    _ADDITEMS,
    _POP,
    _POP_MARK,
    _DUP,
    _MARK,
    _GET,
    _PUT,
    _MEMOIZE,
    _GLOBAL,
    _STACK_GLOBAL,
    _REDUCE,
    _BUILD,
    _PROTO,
    _FRAME,
    _STOP,
    _FORBIDDEN,
) = range(32)

_ACTIONS_BY_NAME = {
    "BININT": _PUSH_KEY,
    "BININT1": _PUSH_KEY,
    "BININT2": _PUSH_KEY,
    "NONE": _PUSH_KEY,
    "NEWTRUE": _PUSH_KEY,
    "NEWFALSE": _PUSH_KEY,
    "FLOAT": _PUSH_COLL,
    "BINFLOAT": _PUSH_COLL,
    "INT": _INT_TEXT,
    "LONG": _INT_TEXT,
    "LONG1": _LONG_BIN,
    "LONG4": _LONG_BIN,
    "UNICODE": _TEXT,
    "SHORT_BINUNICODE": _TEXT,
    "BINUNICODE": _TEXT,
    "BINUNICODE8": _TEXT,
    "STRING": _STR_PY2,
    "BINSTRING": _STR_PY2,
    "SHORT_BINSTRING": _STR_PY2,
    "BINBYTES": _BYTES_OP,
    "SHORT_BINBYTES": _BYTES_OP,
    "BINBYTES8": _BYTES_OP,
    "BYTEARRAY8": _BYTEARRAY_OP,
    "EMPTY_LIST": _EMPTY,
    "EMPTY_TUPLE": _EMPTY,
    "EMPTY_DICT": _EMPTY,
    "EMPTY_SET": _EMPTY,
    "LIST": _FROM_MARK,
    "TUPLE": _FROM_MARK,
    "DICT": _FROM_MARK,
    "FROZENSET": _FROM_MARK,
    "TUPLE1": _TUPLE_N,
    "TUPLE2": _TUPLE_N,
    "TUPLE3": _TUPLE_N,
    "APPEND": _APPEND,
    "APPENDS": _APPENDS,
    "SETITEM": _SETITEM,
    "SETITEMS": _SETITEMS,
    "ADDITEMS": _ADDITEMS,
    "POP": _POP,
    "POP_MARK": _POP_MARK,
    "DUP": _DUP,
    "MARK": _MARK,
    "GET": _GET,
    "BINGET": _GET,
    "LONG_BINGET": _GET,
    "PUT": _PUT,
    "BINPUT": _PUT,
    "LONG_BINPUT": _PUT,
    "MEMOIZE": _MEMOIZE,
    "GLOBAL": _GLOBAL,
    "STACK_GLOBAL": _STACK_GLOBAL,
    "REDUCE": _REDUCE,
    "BUILD": _BUILD,
    "PROTO": _PROTO,
    "FRAME": _FRAME,
    "STOP": _STOP,
    **dict.fromkeys(
        [
            "PERSID",
            "BINPERSID",
            "INST",
            "OBJ",
            "NEWOBJ",
            "NEWOBJ_EX",
            "EXT1",
            "EXT2",
            "EXT4",
            "NEXT_BUFFER",
            "READONLY_BUFFER",
        ],
        _FORBIDDEN,
    ),
}
_EMPTY_KINDS = {
    "EMPTY_LIST": C_LIST,
    "EMPTY_TUPLE": C_TUPLE,
    "EMPTY_DICT": C_DICT,
    "EMPTY_SET": C_SET,
    "LIST": C_LIST,
    "TUPLE": C_TUPLE,
    "DICT": C_DICT,
    "FROZENSET": C_FROZENSET,
}
_EMPTY_SIZES = {C_LIST: _LIST, C_TUPLE: _TUPLE, C_DICT: _DICT, C_SET: _SET, C_FROZENSET: _SET}

# Per opcode byte: (action, argument length code, name, parameter).
# Argument length codes: n >= 0 fixed; -1 up to a newline; -2 / -3 / -4 / -5
# a 1-byte / signed 4-byte / unsigned 4-byte / unsigned 8-byte length, then
# that many bytes; -6 two lines (GLOBAL); None no argument.
_TABLE = [None] * 256
for _op in pickletools.opcodes:
    _n = None if _op.arg is None else _op.arg.n
    if _op.name == "GLOBAL":
        _n = -6
    _param = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}.get(_op.name, _EMPTY_KINDS.get(_op.name))
    _TABLE[ord(_op.code)] = (_ACTIONS_BY_NAME[_op.name], _n, _op.name, _param)
_LENGTH_BYTES = {-2: 1, -3: 4, -4: 4, -5: 8}


def scan_pickle(data, budget, refuse, allowed_globals, encoding="latin1"):
    """Walk ``data``'s opcodes with a symbolic stack; raise on what is refused.

    Parameters
    ----------
    data : bytes
        The pickle.
    budget : _Budget
        Charged with an upper estimate of every object the unpickler will
        create (bytes); raises when exhausted.
    refuse : callable
        ``refuse(message)`` returns the exception to raise (it names the file).
    allowed_globals : collection of (str, str)
        ``(module, name)`` pairs the unpickler resolves; ``GLOBAL`` of
        another pair is refused here.
    encoding : str
        The unpickler's encoding of Python-2 strings (``"latin1"`` and
        ``"bytes"`` give one byte per character, others up to four).

    Raises
    ------
    Exception
        Whatever ``refuse`` returns, or the budget's error.
    """
    size = len(data)
    py2_factor = (
        1
        if str(encoding).lower().replace("_", "-")
        in ("latin1", "latin-1", "iso-8859-1", "bytes", "ascii")
        else 4
    )
    stack = []
    marks = []
    memo = {}
    kinds, depths, collidables = [], [], []  # per container

    def new_container(kind, depth):
        kinds.append(kind)
        depths.append(depth)
        collidables.append(0)
        return _FIRST_CONTAINER + len(kinds) - 1

    def depth_of(items):
        deepest = 0
        for token in items:
            if token >= _FIRST_CONTAINER and depths[token - _FIRST_CONTAINER] > deepest:
                deepest = depths[token - _FIRST_CONTAINER]
        return deepest

    memo_high = -1
    charged = 0
    limit = budget.left
    pos = 0
    ops = 0
    table = _TABLE

    def pop_mark():
        if not marks:
            raise refuse(f"an opcode at byte {at} needs a MARK that was never set.")
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    def add_keys(container, keys):
        index = container - _FIRST_CONTAINER
        kind = kinds[index]
        for key in keys:
            if key > COLLIDABLE:
                raise refuse(
                    f"a {_CONTAINER_NAMES[kind]} key at byte {at} is a "
                    f"{_describe(key, kinds)}; dict keys and set members must be strings, "
                    f"bytes, numbers, booleans or None."
                )
            if key == COLLIDABLE:
                collidables[index] += 1
                if collidables[index] > MAX_COLLIDABLE_KEYS:
                    raise refuse(
                        f"a {_CONTAINER_NAMES[kind]} gets more than {MAX_COLLIDABLE_KEYS} "
                        f"float or large-integer keys (at byte {at}); their hashes can be "
                        f"made to collide, which makes building it quadratic."
                    )

    while True:
        if pos >= size:
            raise refuse("not a valid pickle (truncated or corrupt: it ends before STOP).")
        at = pos
        entry = table[data[pos]]
        pos += 1
        ops += 1
        if ops > MAX_OPCODES:
            raise refuse(f"the pickle holds more than {MAX_OPCODES} opcodes.")
        if entry is None:
            raise refuse(f"not a valid pickle (unknown opcode {data[at]:#04x} at byte {at}).")
        action, n, name, param = entry
        # -- the argument -------------------------------------------------
        arg_len = 0
        if n is not None:
            if n >= 0:
                arg_len = n
                if pos + n > size:
                    raise refuse(
                        f"not a valid pickle (the argument of {name} at byte {at} is cut off)."
                    )
                arg_start = pos
                pos += n
            elif n == -1 or n == -6:
                arg_start = pos
                end = data.find(b"\n", pos)
                if n == -6 and end >= 0:
                    end = data.find(b"\n", end + 1)
                if end < 0:
                    raise refuse(
                        f"not a valid pickle (the line of {name} at byte {at} never ends)."
                    )
                arg_len = end - pos
                pos = end + 1
            else:
                width = _LENGTH_BYTES[n]
                if pos + width > size:
                    raise refuse(
                        f"not a valid pickle (the length of {name} at byte {at} is cut off)."
                    )
                arg_len = int.from_bytes(data[pos : pos + width], "little", signed=n == -3)
                pos += width
                if arg_len < 0 or arg_len > size - pos:
                    raise refuse(
                        f"not a valid pickle (truncated or corrupt: {name} at byte {at} "
                        f"claims {arg_len} bytes; {size - pos} remain)."
                    )
                arg_start = pos
                pos += arg_len
        # -- the stack effect ----------------------------------------------
        cost = 0
        if action == _PUSH_KEY:
            stack.append(KEY)
            cost = _SLOT + _INT
        elif action == _PUSH_COLL:
            stack.append(COLLIDABLE)
            cost = _SLOT + _FLOAT
        elif action == _TEXT:
            stack.append(KEY)
            cost = _SLOT + _STR + 4 * arg_len
        elif action == _STR_PY2:
            stack.append(KEY)
            cost = _SLOT + _STR + py2_factor * arg_len
        elif action == _BYTES_OP:
            stack.append(KEY)
            cost = _SLOT + _BYTES + arg_len
        elif action == _BYTEARRAY_OP:
            stack.append(OTHER)
            cost = _SLOT + _BYTEARRAY + arg_len
        elif action == _INT_TEXT or action == _LONG_BIN:
            digits = arg_len if action == _LONG_BIN else arg_len / 2.41
            if digits > MAX_INT_BYTES:
                raise refuse(
                    f"{name} at byte {at} is an integer of {arg_len} "
                    f"{'bytes' if action == _LONG_BIN else 'digits'}; at most "
                    f"{MAX_INT_BYTES} bytes ({8 * MAX_INT_BYTES} bits) are allowed."
                )
            small = arg_len <= 7 if action == _LONG_BIN else arg_len <= 19
            stack.append(KEY if small else COLLIDABLE)
            cost = _SLOT + _INT + int(digits)
        elif action == _MARK:
            marks.append(len(stack))
            cost = _SLOT
        elif action == _PUT or action == _MEMOIZE:
            if not stack or (marks and marks[-1] == len(stack)):
                raise refuse(f"{name} at byte {at} has nothing to store.")
            if action == _MEMOIZE:
                index = len(memo)
            else:
                index = _index(data, arg_start, arg_len, n, name, at, refuse)
                if index > ops:
                    raise refuse(
                        f"{name} at byte {at} uses memo slot {index}; a pickle of "
                        f"{ops} opcodes so far needs at most {ops}."
                    )
            memo[index] = stack[-1]
            if index > memo_high:
                cost += 16 * (index - memo_high)
                memo_high = index
        elif action == _GET:
            index = _index(data, arg_start, arg_len, n, name, at, refuse)
            if index not in memo:
                raise refuse(f"{name} at byte {at} reads memo slot {index}, never set.")
            stack.append(memo[index])
            cost = _SLOT
        elif action == _DUP:
            if not stack:
                raise refuse(f"DUP at byte {at} on an empty stack.")
            stack.append(stack[-1])
            cost = _SLOT
        elif action == _EMPTY:
            stack.append(new_container(param, 1))
            cost = _SLOT + _EMPTY_SIZES[param]
        elif action == _FROM_MARK or action == _TUPLE_N:
            if action == _FROM_MARK:
                items = pop_mark()
            else:
                fence = marks[-1] if marks else 0
                if len(stack) - param < fence:
                    raise refuse(f"{name} at byte {at} pops below the stack's start.")
                items = stack[-param:]
                del stack[-param:]
            kind = C_TUPLE if action == _TUPLE_N else param
            depth = 1 + depth_of(items)
            if depth > MAX_DEPTH:
                raise refuse(f"containers nest deeper than {MAX_DEPTH} levels (at byte {at}).")
            token = new_container(kind, depth)
            if kind == C_DICT:
                if len(items) % 2:
                    raise refuse(f"DICT at byte {at} has an odd number of items.")
                add_keys(token, items[0::2])
            elif kind == C_FROZENSET:
                add_keys(token, items)
            stack.append(token)
            cost = _SLOT + _EMPTY_SIZES[kind] + _PER_ITEM[kind] * len(items)
        elif action in (_APPEND, _APPENDS, _SETITEM, _SETITEMS, _ADDITEMS):
            if action == _APPEND or action == _SETITEM:
                k = 1 if action == _APPEND else 2
                fence = marks[-1] if marks else 0
                if len(stack) - k - 1 < fence:
                    raise refuse(f"{name} at byte {at} pops below the stack's start.")
                items = stack[-k:]
                del stack[-k:]
            else:
                items = pop_mark()
            fence = marks[-1] if marks else 0
            if len(stack) <= fence:
                raise refuse(f"{name} at byte {at} has no container to add to.")
            target = stack[-1]
            if target >= _FIRST_CONTAINER:
                kind = kinds[target - _FIRST_CONTAINER]
                values = items[1::2] if action in (_SETITEM, _SETITEMS) else items
                if action in (_SETITEM, _SETITEMS) and len(items) % 2:
                    raise refuse(f"{name} at byte {at} has an odd number of items.")
                if kind == C_DICT and action in (_SETITEM, _SETITEMS):
                    add_keys(target, items[0::2])
                elif kind == C_SET and action == _ADDITEMS:
                    add_keys(target, items)
                depth = 1 + depth_of(values)
                if depth > depths[target - _FIRST_CONTAINER]:
                    if depth > MAX_DEPTH:
                        raise refuse(
                            f"containers nest deeper than {MAX_DEPTH} levels (at byte {at})."
                        )
                    depths[target - _FIRST_CONTAINER] = depth
                cost = _PER_ITEM[kind] * len(values)
        elif action == _POP:
            if marks and marks[-1] == len(stack):
                marks.pop()
            elif len(stack) <= (marks[-1] if marks else 0):
                raise refuse(f"POP at byte {at} on an empty stack.")
            else:
                stack.pop()
        elif action == _POP_MARK:
            pop_mark()
        elif action == _GLOBAL:
            line = data[arg_start : arg_start + arg_len]
            module, _, gname = line.decode("utf-8", "replace").partition("\n")
            if (module, gname) not in allowed_globals:
                raise refuse(
                    f"Forbidden global {module[:80]}.{gname[:80]} in pickle: only numpy "
                    f"arrays, dtypes, scalars and builtin containers may be unpickled."
                )
            stack.append(_GLOBAL + _GLOBAL_RESULTS.get(f"{module}.{gname}", OTHER))
            cost = _SLOT
        elif action == _STACK_GLOBAL:
            fence = marks[-1] if marks else 0
            if len(stack) - 2 < fence:
                raise refuse(f"STACK_GLOBAL at byte {at} pops below the stack's start.")
            del stack[-2:]
            stack.append(_GLOBAL + OTHER)
            cost = _SLOT
        elif action == _REDUCE:
            fence = marks[-1] if marks else 0
            if len(stack) - 2 < fence:
                raise refuse(f"REDUCE at byte {at} pops below the stack's start.")
            func, args = stack[-2:]
            del stack[-2:]
            result = func - _GLOBAL if _GLOBAL <= func < _FIRST_CONTAINER else OTHER
            if result >= C_LIST:
                # list(x), dict(x)...: as deep as x's items; the factory checks keys
                depth = max(depth_of((args,)) - 1, 1)
                stack.append(new_container(result, depth))
                cost = _SLOT + _EMPTY_SIZES[result]
            else:
                stack.append(result)
                cost = _SLOT + _OBJECT
        elif action == _BUILD:
            fence = marks[-1] if marks else 0
            if len(stack) - 2 < fence:
                raise refuse(f"BUILD at byte {at} pops below the stack's start.")
            stack.pop()
        elif action == _PROTO:
            if data[arg_start] > pickle.HIGHEST_PROTOCOL:
                raise refuse(f"unsupported pickle protocol {data[arg_start]}.")
        elif action == _FRAME:
            frame = int.from_bytes(data[arg_start : arg_start + 8], "little")
            if frame > size - pos:
                raise refuse(
                    f"not a valid pickle (truncated or corrupt: a frame at byte "
                    f"{at} claims {frame} bytes; {size - pos} remain)."
                )
        elif action == _STOP:
            if len(stack) <= (marks[-1] if marks else 0):
                raise refuse(f"STOP at byte {at} with nothing to return.")
            budget.charge(charged, "the objects of the pickle")
            return
        elif action == _FORBIDDEN:
            raise refuse(f"opcode {name} at byte {at} is not allowed.")
        charged += cost
        if charged > limit:
            budget.charge(charged, "the objects of the pickle")


def _index(data, start, length, n, name, at, refuse):
    """Memo index of a PUT / GET opcode."""
    raw = data[start : start + length]
    if n == -1:  # decimal text
        if not raw.isdigit() or len(raw) > 19:
            raise refuse(
                f"{name} at byte {at} has the memo index {raw[:30]!r}; expected a decimal number."
            )
        return int(raw)
    return int.from_bytes(raw, "little")


def _describe(token, kinds):
    if token >= _FIRST_CONTAINER:
        return _CONTAINER_NAMES[kinds[token - _FIRST_CONTAINER]]
    if token >= _GLOBAL:
        return "global"
    return "numpy object or other non-scalar"
