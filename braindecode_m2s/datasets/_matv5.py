"""Structural check of MATLAB v5 files before :func:`scipy.io.loadmat` reads them.

scipy's compiled v5 reader indexes a table of element types by the type code
found in the file; the reserved codes 8, 10 and 11 (and codes past 18) hit
empty entries of that table and crash the interpreter (a 232-byte file is
enough: save a 2x3 array and change the type byte after ``b"data"`` from 9 to
8). :func:`check_mat_v5` walks every data element of a file (MATLAB's
"MAT-File Format" manual, version 5: 128-byte header, then tagged elements;
``miMATRIX`` elements hold tagged sub-elements; ``miCOMPRESSED`` elements
hold a zlib stream of one ``miMATRIX``) and raises a :class:`ValueError`
naming the file when a tag has a reserved or unknown type, a length runs
past its container, a matrix lacks its array-flags / dimensions / name
sub-elements, a dimension is negative, a compressed stream is corrupt, or
containers nest deeper than :data:`MAX_DEPTH`. Each matrix must also have
the parts its class calls for (scipy reads an imaginary part whenever the
complex flag is set, and a missing one makes it read the next matrix's tag
as numbers, another crash): numeric and character data of the size the
dimensions give, exactly as many cells / struct fields as the dimensions
give. Sparse matrices (scipy does not bound-check their row indices),
function handles and opaque (classdef) objects are refused: none of the
datasets uses them.

The walk reads tags only, except that compressed elements are decompressed
once (one variable at a time), so its cost is a fraction of the load itself
(see ``benchmarks/bench_mat_check.py``).
"""

from __future__ import annotations

import mmap
import struct
import zlib

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


class MatFileError(ValueError):
    """A MATLAB file whose structure is invalid."""


class _Bad(Exception):
    """Internal: the structure is invalid at some byte offset."""


def check_mat_v5(path):
    """Raise if the MATLAB v5 file ``path`` is structurally invalid.

    Parameters
    ----------
    path : pathlib.Path
        A file whose header says MATLAB version 5 (the caller has checked
        it is not v7.3 / HDF5).

    Raises
    ------
    MatFileError
        (a ValueError) naming the file, the byte offset and what is wrong.
    """
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size < HEADER_BYTES:
            raise MatFileError(
                f"MATLAB file {str(path)!r} has {size} bytes; a version 5 file has a "
                f"{HEADER_BYTES}-byte header."
            )
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            order = _byte_order(buf, path)
            try:
                _walk_top(buf, order)
            except _Bad as err:
                raise MatFileError(
                    f"MATLAB file {str(path)!r} is truncated or corrupt: {err}; expected a "
                    f"valid MATLAB version 5 file."
                ) from None


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


def _tag(buf, pos, end, order):
    """(type, data start, byte count, next element) of the element at ``pos``."""
    if end - pos < 8:
        raise _Bad(f"a data element at byte {pos} is cut off ({end - pos} bytes left)")
    first, second = struct.unpack_from(order + "II", buf, pos)
    if first >> 16:  # small data element: type and size in one word
        mdtype, nbytes = first & 0xFFFF, first >> 16
        if nbytes > 4:
            raise _Bad(f"a small data element at byte {pos} claims {nbytes} bytes (at most 4)")
        start, following = pos + 4, pos + 8
    else:
        mdtype, nbytes = first, second
        start = pos + 8
        if nbytes > end - start:
            raise _Bad(
                f"the element at byte {pos} claims {nbytes} bytes; {end - start} remain"
            )
        following = min(end, start + nbytes + (-nbytes % 8))
    if mdtype not in VALID_TYPES:
        raise _Bad(f"the element at byte {pos} has the reserved or unknown type {mdtype}")
    return mdtype, start, nbytes, following


def _walk_top(buf, order):
    pos, end = HEADER_BYTES, len(buf)
    while pos < end:
        if end - pos < 8 and not any(buf[pos:end]):
            return  # trailing zero padding
        mdtype, start, nbytes, _ = _tag(buf, pos, end, order)
        if mdtype == MI_COMPRESSED:
            _walk_compressed(buf[start : start + nbytes], pos, order)
        elif mdtype == MI_MATRIX:
            _walk_matrix(buf, start, start + nbytes, order, 0)
        else:
            raise _Bad(f"the variable at byte {pos} has type {mdtype}; expected miMATRIX")
        pos = start + nbytes


def _walk_compressed(data, pos, order):
    try:
        raw = zlib.decompressobj().decompress(data)
    except zlib.error as err:
        raise _Bad(f"the compressed variable at byte {pos} is not valid zlib data ({err})")
    if not raw:
        raise _Bad(f"the compressed variable at byte {pos} is empty")
    mdtype, start, nbytes, _ = _tag(raw, 0, len(raw), order)
    if mdtype != MI_MATRIX:
        raise _Bad(f"the compressed variable at byte {pos} holds type {mdtype}; expected miMATRIX")
    try:
        _walk_matrix(raw, start, start + nbytes, order, 0)
    except _Bad as err:
        raise _Bad(f"in the compressed variable at byte {pos}: {err}") from None


def _walk_matrix(buf, pos, end, order, depth):
    """Check one miMATRIX payload ``buf[pos:end]`` and its nested matrices."""
    if depth > MAX_DEPTH:
        raise _Bad(f"matrices nest deeper than {MAX_DEPTH} levels")
    if pos == end:
        return  # an empty matrix ([] in a cell)
    at = pos
    elements = []
    while pos < end:
        mdtype, start, nbytes, following = _tag(buf, pos, end, order)
        elements.append(_Element(mdtype, start, nbytes, pos))
        pos = following
    mx_class, is_complex, dims = _check_matrix_header(buf, elements, order, at)
    rest = elements[3:]
    if mx_class in NUMERIC_CLASSES or mx_class == MX_CHAR:
        _check_numeric_parts(rest, mx_class, is_complex, dims, at)
        return
    if mx_class == MX_CELL:
        children = rest
    else:  # struct or object: [class name,] field-name length, field names, values
        if mx_class == MX_OBJECT:
            if not rest or rest[0].mdtype != MI_INT8:
                raise _Bad(f"the object at byte {at} lacks its class name")
            rest = rest[1:]
        children = _struct_children(buf, rest, order, dims, at)
    n_expected = _count(dims) * (1 if mx_class == MX_CELL else children[1])
    children = children if mx_class == MX_CELL else children[0]
    if len(children) != n_expected:
        raise _Bad(f"the matrix at byte {at} holds {len(children)} elements; its "
                   f"dimensions {dims} call for {n_expected}")
    for child in children:
        if child.mdtype != MI_MATRIX:
            raise _Bad(f"an element at byte {child.at} of the matrix at byte {at} has "
                       f"type {child.mdtype}; expected miMATRIX")
        _walk_matrix(buf, child.start, child.start + child.nbytes, order, depth + 1)


class _Element:
    __slots__ = ("mdtype", "start", "nbytes", "at")

    def __init__(self, mdtype, start, nbytes, at):
        self.mdtype, self.start, self.nbytes, self.at = mdtype, start, nbytes, at


def _count(dims):
    count = 1
    for d in dims:
        count *= d
    return count


def _check_matrix_header(buf, elements, order, at):
    """Array flags (miUINT32, 8 bytes), dimensions (miINT32 >= 0), name (miINT8)."""
    if len(elements) < 3:
        raise _Bad(f"the matrix at byte {at} lacks its array flags, dimensions or name")
    flags, dims_el, name = elements[:3]
    if flags.mdtype != MI_UINT32 or flags.nbytes != 8:
        raise _Bad(f"the matrix at byte {at} starts with type {flags.mdtype} of "
                   f"{flags.nbytes} bytes; expected its 8-byte miUINT32 array flags")
    word = struct.unpack_from(order + "I", buf, flags.start)[0]
    mx_class, is_complex = word & 0xFF, bool(word & 0x800)
    if not 1 <= mx_class <= 15 or mx_class == MX_SPARSE:
        raise _Bad(
            f"the matrix at byte {at} has array class {mx_class}; only cells, structs, "
            f"objects, characters and numeric arrays are read (no sparse matrices, "
            f"function handles or opaque objects)"
        )
    if dims_el.mdtype != MI_INT32 or dims_el.nbytes < 8 or dims_el.nbytes % 4:
        raise _Bad(f"the dimensions at byte {dims_el.at} have type {dims_el.mdtype} and "
                   f"{dims_el.nbytes} bytes; expected miINT32 with at least 2 dimensions")
    dims = struct.unpack_from(f"{order}{dims_el.nbytes // 4}i", buf, dims_el.start)
    if min(dims) < 0:
        raise _Bad(f"the dimensions {dims} at byte {dims_el.at} are negative")
    if name.mdtype != MI_INT8:
        raise _Bad(f"the name at byte {name.at} has type {name.mdtype}; expected miINT8")
    return mx_class, is_complex, dims


def _check_numeric_parts(parts, mx_class, is_complex, dims, at):
    """Real part, and imaginary part exactly when the complex flag is set."""
    n_parts = 2 if is_complex else 1
    if len(parts) != n_parts:
        raise _Bad(f"the {'complex' if is_complex else 'real'} matrix at byte {at} has "
                   f"{len(parts)} data parts; expected {n_parts}")
    allowed = CHAR_TYPES if mx_class == MX_CHAR else NUMERIC_TYPES
    count = _count(dims)
    for part in parts:
        if part.mdtype not in allowed:
            raise _Bad(f"the data at byte {part.at} of the matrix at byte {at} has type "
                       f"{part.mdtype}; expected a numeric type")
        size = TYPE_SIZES[part.mdtype]
        if part.mdtype != MI_UTF8 and part.nbytes != count * size:
            raise _Bad(f"the data at byte {part.at} hold {part.nbytes} bytes; the "
                       f"dimensions {dims} call for {count * size}")


def _struct_children(buf, rest, order, dims, at):
    """(value elements, number of fields) of a struct after its name."""
    if len(rest) < 2 or rest[0].mdtype != MI_INT32 or rest[0].nbytes != 4:
        raise _Bad(f"the struct at byte {at} lacks its field-name length")
    length = struct.unpack_from(order + "i", buf, rest[0].start)[0]
    names = rest[1]
    if names.mdtype != MI_INT8 or length <= 0 or names.nbytes % length:
        raise _Bad(f"the field names at byte {names.at} of the struct at byte {at} do "
                   f"not fit the field-name length {length}")
    return rest[2:], names.nbytes // length
