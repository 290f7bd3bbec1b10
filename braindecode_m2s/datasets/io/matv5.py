"""Structural check of MATLAB v5 files before :func:`scipy.io.loadmat` reads them.

scipy's compiled v5 reader indexes a table of element types by the type code
found in the file; the reserved codes 8, 10 and 11 (and codes past 18) hit
empty entries of that table and crash the interpreter (a 232-byte file is
enough: save a 2x3 array and change the type byte after ``b"data"`` from 9 to
8). :func:`check_mat_v5` walks the data elements of a file (MATLAB's
"MAT-File Format" manual, version 5: 128-byte header, then tagged elements;
``miMATRIX`` elements hold tagged sub-elements; ``miCOMPRESSED`` elements
hold a zlib stream of one ``miMATRIX``) and raises a :class:`ValueError`
naming the file when a tag has a reserved or unknown type, a length runs
past its container, a matrix lacks its array-flags / dimensions / name
sub-elements, a dimension is negative, a compressed stream is corrupt or
ends before the size its header declares, or containers nest deeper than
:data:`MAX_DEPTH`. Each matrix must also have the parts its class calls for
(scipy reads an imaginary part whenever the complex flag is set, and a
missing one makes it read the next matrix's tag as numbers, another crash):
numeric and character data of the size the dimensions give, exactly as many
cells / struct fields as the dimensions give. Sparse matrices (scipy does
not bound-check their row indices), function handles and opaque (classdef)
objects are refused: none of the datasets uses them.

Budget (see :mod:`~.budget`): the header of every variable (the part scipy
reads for every variable, asked for or not: flags, dimensions, name) is
checked; the body only of the variables asked for. The walk reads tags and
skips data, and a compressed variable is inflated as a stream, in chunks of
:data:`CHUNK` bytes, never past the ``8 + n`` bytes its ``miMATRIX`` tag
declares (bytes after the matrix, and the bodies of the variables not asked
for, are never inflated). So the check's memory is a few chunks whatever
the file holds, its time linear in the file's size plus the declared size of
the compressed variables asked for, and the declared size of what scipy
will read is known before it reads it: above
:data:`~.budget.MAX_READ_BYTES` the file is refused. A
:class:`MemoryError` becomes a :class:`MatFileError`.
"""

from __future__ import annotations

import mmap
import struct
import zlib

from .budget import DEFLATE_RATIO, check_declared

__all__ = ["check_mat_v5", "MatFileError"]

#: Element types of the MAT v5 format: miINT8 (1) .. miDOUBLE (9),
#: miINT64 (12), miUINT64 (13), miMATRIX (14), miCOMPRESSED (15), miUTF8..32
#: (16..18). 8, 10 and 11 are reserved.
VALID_TYPES = frozenset({1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15, 16, 17, 18})
MI_INT8, MI_INT32, MI_UINT32, MI_MATRIX, MI_COMPRESSED = 1, 5, 6, 14, 15
#: Array classes: mxCELL (1) .. mxUINT64 (15), mxFUNCTION (16), mxOPAQUE (17).
MX_CELL, MX_STRUCT, MX_OBJECT, MX_CHAR, MX_SPARSE = 1, 2, 3, 4, 5
#: mxDOUBLE (6) .. mxUINT64 (15).
NUMERIC_CLASSES = frozenset(range(6, 16))
MI_UTF8 = 16
#: Bytes per element of each data type.
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
NUMERIC_TYPES = frozenset({1, 2, 3, 4, 5, 6, 7, 9, 12, 13})
CHAR_TYPES = NUMERIC_TYPES | {16, 17, 18}
#: Deepest nesting of matrices (cells / structs in cells ...).
MAX_DEPTH = 64
HEADER_BYTES = 128
#: Most dimensions of a matrix (numpy's limit).
MAX_NDIM = 64
#: Longest name (of a variable, an object's class) and longest run of struct
#: field names, in bytes (MATLAB's names have at most 63 characters).
MAX_NAME_BYTES = 1 << 12
MAX_FIELD_NAMES_BYTES = 1 << 20
#: Bytes inflated at a time from a compressed variable.
CHUNK = 1 << 20
_IN_CHUNK = 1 << 16


class MatFileError(ValueError):
    """A MATLAB file whose structure is invalid."""


class _Bad(Exception):
    """Internal: the structure is invalid at some byte offset."""


def check_mat_v5(path, keep=None, *, spans=None):
    """Raise if the MATLAB v5 file ``path`` is structurally invalid; return its names.

    Parameters
    ----------
    path : pathlib.Path
        A file whose header says MATLAB version 5 (the caller has checked
        it is not v7.3 / HDF5).
    keep : callable or None
        ``keep(name)`` says whether a variable will be read: only those
        variables are checked in full (and inflated); the headers of all are
        checked. ``None`` checks every variable.
    spans : list or None
        If a list, ``(name, start, end)`` is appended to it for each variable:
        the byte offsets of its top-level element in the file (tag included;
        for a compressed variable, its compressed bytes), so a caller can
        read or hash exactly the bytes of the variables it loads.

    Returns
    -------
    list of str
        The variable names in file order (decoded as latin-1, as scipy does).

    Raises
    ------
    MatFileError
        (a ValueError) naming the file, the byte offset and what is wrong,
        or that the variables asked for declare more than
        :data:`~.budget.MAX_READ_BYTES`.
    """
    keep = keep or (lambda name: True)
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size < HEADER_BYTES:
            raise MatFileError(
                f"MATLAB file {str(path)!r} has {size} bytes; a version 5 file has a "
                f"{HEADER_BYTES}-byte header."
            )
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            order = _byte_order(buf, path)
            error = None
            try:
                names = _walk_top(buf, order, keep, f"MATLAB file {str(path)!r}", spans)
            except _Bad as err:
                error = (
                    f"MATLAB file {str(path)!r} is truncated or corrupt: {err}; expected "
                    f"a valid MATLAB version 5 file."
                )
            except MemoryError:
                error = f"MATLAB file {str(path)!r} cannot be checked: not enough memory."
            except ValueError as err:  # over budget
                error = str(err)
    if error is not None:
        raise MatFileError(error)
    return names


def _byte_order(buf, path):
    mark = bytes(buf[126:128])
    if mark == b"IM":
        return "<"
    if mark == b"MI":
        return ">"
    raise MatFileError(
        f"MATLAB file {str(path)!r} has the endian mark {mark!r} at byte 126; "
        f"expected b'IM' or b'MI' (MATLAB version 5)."
    )


# --------------------------------------------------------------------------
# Sequential sources: the file itself, or one inflated variable
# --------------------------------------------------------------------------


class _Plain:
    """Reads a memory-mapped file in order; ``pos`` is a byte offset of the file."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos

    def read(self, n):
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def skip(self, n):
        self.pos += n


class _Inflated:
    """Inflates one compressed variable in order, a chunk at a time.

    ``pos`` counts inflated bytes. Input is fed :data:`_IN_CHUNK` bytes at a
    time and output asked for at most :data:`CHUNK` bytes at a time, so
    neither the compressed nor the inflated variable is ever held whole, and
    nothing past what the walk asks for is inflated.
    """

    def __init__(self, buf, start, end, at):
        self.buf, self.end, self.at, self.pos = buf, end, at, 0
        self._in = start
        self._tail = b""
        self._out = b""
        self._z = zlib.decompressobj()

    def _more(self, want, end_ok=False):
        while True:
            if self._tail:
                chunk = self._tail
            else:
                chunk = self.buf[self._in : min(self._in + _IN_CHUNK, self.end)]
                self._in += len(chunk)
            try:
                out = self._z.decompress(chunk, want)
            except zlib.error as err:
                raise _Bad(
                    f"the compressed variable at byte {self.at} is not valid zlib data ({err})"
                ) from None
            self._tail = self._z.unconsumed_tail
            if out:
                return out
            if self._z.eof or not len(chunk):
                if end_ok:
                    return b""
                raise _Bad(
                    f"the compressed variable at byte {self.at} ends after "
                    f"{self.pos + len(self._out)} bytes, before the size its "
                    f"header declares"
                )

    def read(self, n):
        parts, have = [self._out], len(self._out)
        while have < n:
            piece = self._more(min(CHUNK, n - have))
            parts.append(piece)
            have += len(piece)
        data = b"".join(parts)
        self._out = data[n:]
        self.pos += n
        return data[:n]

    def check_end(self):
        """Refuse bytes after the matrix: scipy inflates them all before refusing."""
        if self._out or self._more(1, end_ok=True):
            raise _Bad(
                f"the compressed variable at byte {self.at} holds data after its "
                f"matrix (scipy would inflate it all)"
            )
        if self._z.unused_data or self._tail or self._in < self.end:
            raise _Bad(
                f"the compressed variable at byte {self.at} has bytes after its zlib stream"
            )

    def skip(self, n):
        self.pos += n
        if n <= len(self._out):
            self._out = self._out[n:]
            return
        n -= len(self._out)
        self._out = b""
        while n:
            n -= len(self._more(min(CHUNK, n)))


# --------------------------------------------------------------------------
# The walk
# --------------------------------------------------------------------------


def _tag(src, end, order):
    """(type, byte count, small-element data or None, tag offset) of the next element."""
    pos = src.pos
    if end - pos < 8:
        raise _Bad(f"a data element at byte {pos} is cut off ({end - pos} bytes left)")
    raw = src.read(8)
    first, second = struct.unpack(order + "II", raw)
    if first >> 16:  # small data element: type and size in one word
        mdtype, nbytes = first & 0xFFFF, first >> 16
        if nbytes > 4:
            raise _Bad(f"a small data element at byte {pos} claims {nbytes} bytes (at most 4)")
        small = raw[4 : 4 + nbytes]
    else:
        mdtype, nbytes, small = first, second, None
        if nbytes > end - src.pos:
            raise _Bad(f"the element at byte {pos} claims {nbytes} bytes; {end - src.pos} remain")
    if mdtype not in VALID_TYPES:
        raise _Bad(f"the element at byte {pos} has the reserved or unknown type {mdtype}")
    return mdtype, nbytes, small, pos


def _data(src, end, nbytes, small, limit, what, at):
    """The bytes of an element whose tag was just read (at most ``limit``)."""
    if small is not None:
        return small
    if nbytes > limit:
        raise _Bad(f"the {what} at byte {at} has {nbytes} bytes; at most {limit} are allowed")
    out = src.read(nbytes)
    _pad(src, end, nbytes)
    return out


def _skip(src, end, nbytes, small):
    if small is None:
        src.skip(nbytes)
        _pad(src, end, nbytes)


def _pad(src, end, nbytes):
    src.skip(min(-nbytes % 8, end - src.pos))


def _walk_top(buf, order, keep, where, spans=None):
    """Names of all variables; checks the kept ones within the budget."""
    pos, end = HEADER_BYTES, len(buf)
    names, declared = [], [0]
    top = _Plain(buf, pos)
    while pos < end:
        if end - pos < 8 and not any(buf[pos:end]):
            break  # trailing zero padding
        top.pos = pos
        mdtype, nbytes, small, _ = _tag(top, end, order)
        if small is not None or mdtype not in (MI_COMPRESSED, MI_MATRIX):
            raise _Bad(f"the variable at byte {pos} has type {mdtype}; expected miMATRIX")
        start = top.pos
        if mdtype == MI_COMPRESSED:
            src = _Inflated(buf, start, start + nbytes, pos)
            try:
                inner, inner_bytes, inner_small, _ = _tag(src, 8 + (1 << 32), order)
                if inner_small is not None or inner != MI_MATRIX:
                    raise _Bad(
                        f"the compressed variable at byte {pos} holds type {inner}; "
                        f"expected miMATRIX"
                    )
                if inner_bytes > DEFLATE_RATIO * nbytes + 64:
                    raise _Bad(
                        f"the compressed variable at byte {pos} declares {inner_bytes} "
                        f"bytes; zlib cannot inflate {nbytes} bytes to more than "
                        f"{DEFLATE_RATIO * nbytes + 64}"
                    )
                names.append(
                    _walk_variable(src, 8 + inner_bytes, order, keep, pos, where, declared)
                )
            except _Bad as err:
                if str(err).startswith("the compressed variable"):
                    raise
                raise _Bad(f"in the compressed variable at byte {pos}: {err}") from None
        else:
            names.append(_walk_variable(top, start + nbytes, order, keep, pos, where, declared))
        if spans is not None:
            spans.append((names[-1], pos, start + nbytes))
        pos = start + nbytes
    return names


def _walk_variable(src, end, order, keep, at, where, declared):
    """Header of a top-level matrix, and its body if ``keep(name)``.

    ``declared[0]`` sums the bytes of the kept variables: over
    :data:`~.budget.MAX_READ_BYTES`, the file is refused before the body
    is walked (or inflated).
    """
    if src.pos == end:
        raise _Bad(f"the variable at byte {at} is empty (no flags, dimensions or name)")
    header = _read_header(src, end, order)
    name = header[3]
    if not keep(name):
        return name
    declared[0] += end - src.pos
    check_declared(where, declared[0], f"the variables asked for (up to {name!r})")
    _walk_body(src, end, order, header, 0)
    if isinstance(src, _Inflated):
        src.check_end()
    return name


def _read_header(src, end, order):
    """(class, complex flag, dimensions, name, offset) of a matrix: its first three elements."""
    at = src.pos
    mdtype, nbytes, small, _ = _tag(src, end, order)
    if mdtype != MI_UINT32 or nbytes != 8 or small is not None:
        raise _Bad(
            f"the matrix at byte {at} starts with type {mdtype} of {nbytes} bytes; "
            f"expected its 8-byte miUINT32 array flags"
        )
    word = struct.unpack(order + "I", _data(src, end, nbytes, small, 8, "flags", at)[:4])[0]
    mx_class, is_complex = word & 0xFF, bool(word & 0x800)
    if not 1 <= mx_class <= 15 or mx_class == MX_SPARSE:
        raise _Bad(
            f"the matrix at byte {at} has array class {mx_class}; only cells, structs, "
            f"objects, characters and numeric arrays are read (no sparse matrices, "
            f"function handles or opaque objects)"
        )
    dims_at = src.pos
    mdtype, nbytes, small, _ = _tag(src, end, order)
    if mdtype != MI_INT32 or nbytes < 8 or nbytes % 4 or small is not None:
        raise _Bad(
            f"the dimensions at byte {dims_at} have type {mdtype} and {nbytes} "
            f"bytes; expected miINT32 with at least 2 dimensions"
        )
    raw = _data(src, end, nbytes, small, 4 * MAX_NDIM, "dimensions", dims_at)
    dims = struct.unpack(f"{order}{nbytes // 4}i", raw)
    if min(dims) < 0:
        raise _Bad(f"the dimensions {dims} at byte {dims_at} are negative")
    if src.pos >= end:
        raise _Bad(f"the matrix at byte {at} lacks its array flags, dimensions or name")
    name_at = src.pos
    mdtype, nbytes, small, _ = _tag(src, end, order)
    if mdtype != MI_INT8:
        raise _Bad(f"the name at byte {name_at} has type {mdtype}; expected miINT8")
    name = _data(src, end, nbytes, small, MAX_NAME_BYTES, "name", name_at)
    return mx_class, is_complex, dims, name.decode("latin-1"), at


def _walk_body(src, end, order, header, depth):
    """Check the elements of a matrix after its header, up to ``end``."""
    mx_class, is_complex, dims, _, at = header
    count = 1
    for d in dims:
        count *= d
    if mx_class in NUMERIC_CLASSES or mx_class == MX_CHAR:
        _check_numeric_parts(src, end, order, mx_class, is_complex, dims, count, at)
        return
    if mx_class == MX_CELL:
        expected = count
    else:  # struct or object: [class name,] field-name length, field names, values
        if mx_class == MX_OBJECT:
            name_at = src.pos
            if src.pos >= end:
                raise _Bad(f"the object at byte {at} lacks its class name")
            mdtype, nbytes, small, _ = _tag(src, end, order)
            if mdtype != MI_INT8:
                raise _Bad(f"the object at byte {at} lacks its class name")
            _data(src, end, nbytes, small, MAX_NAME_BYTES, "class name", name_at)
        expected = count * _struct_fields(src, end, order, at)
    children = 0
    while src.pos < end:
        child_at = src.pos
        mdtype, nbytes, small, _ = _tag(src, end, order)
        if mdtype != MI_MATRIX or small is not None:
            raise _Bad(
                f"an element at byte {child_at} of the matrix at byte {at} has "
                f"type {mdtype}; expected miMATRIX"
            )
        children += 1
        if children > expected:
            raise _Bad(
                f"the matrix at byte {at} holds more elements than its dimensions "
                f"{dims} call for ({expected})"
            )
        _walk_child(src, src.pos + nbytes, order, depth + 1)
        _pad(src, end, nbytes)
    if children != expected:
        raise _Bad(
            f"the matrix at byte {at} holds {children} elements; its "
            f"dimensions {dims} call for {expected}"
        )


def _walk_child(src, end, order, depth):
    if depth > MAX_DEPTH:
        raise _Bad(f"matrices nest deeper than {MAX_DEPTH} levels")
    if src.pos == end:
        return  # an empty matrix ([] in a cell)
    header = _read_header(src, end, order)
    _walk_body(src, end, order, header, depth)
    if src.pos != end:
        raise _Bad(f"the matrix at byte {header[4]} has bytes after its last element")


def _check_numeric_parts(src, end, order, mx_class, is_complex, dims, count, at):
    """Real part, and imaginary part exactly when the complex flag is set."""
    n_parts = 2 if is_complex else 1
    allowed = CHAR_TYPES if mx_class == MX_CHAR else NUMERIC_TYPES
    parts = 0
    while src.pos < end:
        part_at = src.pos
        mdtype, nbytes, small, _ = _tag(src, end, order)
        parts += 1
        if parts > n_parts:
            raise _Bad(
                f"the {'complex' if is_complex else 'real'} matrix at byte {at} has "
                f"more than {n_parts} data parts"
            )
        if mdtype not in allowed:
            raise _Bad(
                f"the data at byte {part_at} of the matrix at byte {at} has type "
                f"{mdtype}; expected a numeric type"
            )
        size = TYPE_SIZES[mdtype]
        if mdtype != MI_UTF8 and nbytes != count * size:
            raise _Bad(
                f"the data at byte {part_at} hold {nbytes} bytes; the "
                f"dimensions {dims} call for {count * size}"
            )
        _skip(src, end, nbytes, small)
    if parts != n_parts:
        raise _Bad(
            f"the {'complex' if is_complex else 'real'} matrix at byte {at} has "
            f"{parts} data parts; expected {n_parts}"
        )


def _struct_fields(src, end, order, at):
    """Number of fields of a struct, from its field-name length and names."""
    if src.pos >= end:
        raise _Bad(f"the struct at byte {at} lacks its field-name length")
    mdtype, nbytes, small, _ = _tag(src, end, order)
    if mdtype != MI_INT32 or nbytes != 4:
        raise _Bad(f"the struct at byte {at} lacks its field-name length")
    length = struct.unpack(order + "i", _data(src, end, nbytes, small, 4, "length", at))[0]
    if src.pos >= end:
        raise _Bad(f"the struct at byte {at} lacks its field names")
    names_at = src.pos
    mdtype, nbytes, small, _ = _tag(src, end, order)
    if mdtype != MI_INT8 or length <= 0 or nbytes % length:
        raise _Bad(
            f"the field names at byte {names_at} of the struct at byte {at} do "
            f"not fit the field-name length {length}"
        )
    if nbytes > MAX_FIELD_NAMES_BYTES:
        raise _Bad(
            f"the field names at byte {names_at} have {nbytes} bytes; at most "
            f"{MAX_FIELD_NAMES_BYTES} are allowed"
        )
    _skip(src, end, nbytes, small)
    return nbytes // length
