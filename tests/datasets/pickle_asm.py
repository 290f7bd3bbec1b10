"""A tiny protocol-2 pickle assembler, to write hostile pickles by hand.

Each function returns the opcodes that push one value on the unpickler's
stack; concatenate them and end with :func:`done`.
"""

import struct


def proto():
    return b"\x80\x02"


def glob(module, name):
    """Push ``module.name`` (GLOBAL)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def integer(value):
    """Push an int (BININT / LONG1 / LONG4)."""
    if -(2**31) <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    if len(raw) < 256:
        return b"\x8a" + bytes([len(raw)]) + raw
    return b"\x8b" + struct.pack("<i", len(raw)) + raw


def text(value):
    """Push a str (BINUNICODE)."""
    raw = value.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def binary(value):
    """Push bytes (BINBYTES; protocol 3 opcode, accepted by every unpickler)."""
    return b"B" + struct.pack("<I", len(value)) + value


def tup(*items):
    """Push a tuple of the pushed items (MARK ... TUPLE)."""
    return b"(" + b"".join(items) + b"t"


def lst(*items):
    return b"(" + b"".join(items) + b"l"


def dct(**items):
    body = b"".join(text(k) + v for k, v in items.items())
    return b"(" + body + b"d"


def call(func, *args):
    """Push ``func(*args)`` (REDUCE)."""
    return func + tup(*args) + b"R"


def build(obj, state):
    """Push ``obj`` after BUILD with ``state``."""
    return obj + state + b"b"


def none():
    return b"N"


def boolean(value):
    return b"\x88" if value else b"\x89"


def done(body):
    return proto() + body + b"."


def dtype(spec, state=None):
    """``numpy.dtype(spec, False, True)``, optionally BUILT with ``state``."""
    obj = call(glob("numpy", "dtype"), text(spec), boolean(False), boolean(True))
    return obj if state is None else build(obj, state)


def dtype_state(order="<", elsize=-1, flags=0):
    return tup(
        integer(3),
        text(order),
        none(),
        none(),
        none(),
        integer(elsize),
        integer(-1),
        integer(flags),
    )


def reconstruct(shape, dt, data, fortran=False):
    """An array as numpy pickles it: ``_reconstruct`` then BUILD."""
    obj = call(
        glob("numpy.core.multiarray", "_reconstruct"),
        glob("numpy", "ndarray"),
        tup(integer(0)),
        binary(b"b"),
    )
    state = tup(integer(1), tup(*map(integer, shape)), dt, boolean(fortran), data)
    return build(obj, state)


def put(index):
    """Store the top of the stack in memo slot ``index`` (BINPUT)."""
    return b"q" + bytes([index])


def get(index):
    """Push memo slot ``index`` (BINGET)."""
    return b"h" + bytes([index])
