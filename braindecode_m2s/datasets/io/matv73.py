"""Reading MATLAB v7.3 files (HDF5) within a budget, touching no other file.

MATLAB's ``-v7.3`` files are HDF5 files behind a 512-byte text header
(MathWorks, "MAT-File Versions"): each variable is a dataset or a group of
the root, with a ``MATLAB_class`` attribute; cell arrays and struct arrays
hold object references into the ``#refs#`` group. HDF5 can also make a
dataset read other files (external raw storage, external links, virtual
datasets, filter plugins loaded from disk) or memory the file never holds
(an unallocated dataset reads as its fill value; a ``MATLAB_empty`` array
stores its dimensions; references can share targets, so a DAG of cells 24
levels deep is 2**24 visits). MATLAB writes none of these, so
:func:`load_v73` refuses them, before any data is read:

- the file must be whole: HDF5's end-of-file address may not exceed the
  file's size, so nothing reads past its end (where HDF5 returns zeros);
- every object's header is read from the file's bytes before HDF5 opens it
  (:func:`_check_header`): opening a dataset makes HDF5 decode its layout,
  and the layout of a damaged virtual dataset can take minutes and
  hundreds of megabytes to decode, so a virtual layout, or a header this
  check cannot walk, is refused before the open;
- only hard links are followed; a soft link is followed when its path
  leads, through hard links, to an object of the file; external links are
  refused;
- a dataset with external storage, a virtual dataset, or a filter other
  than deflate, shuffle and Fletcher-32 (any other needs a plugin library)
  is refused;
- a dataset must be backed by the file: its declared bytes (shape times
  item size) at most its allocated storage plus :data:`SLACK` bytes, or
  :data:`~.budget.DEFLATE_RATIO` times its storage when it is deflated; its storage
  within the file;
- only numeric, MATLAB complex (``real`` / ``imag``) and object-reference
  datasets are read; attributes larger than :data:`MAX_ATTRIBUTE_BYTES`
  are refused;
- a ``MATLAB_empty`` array's dimensions must describe an empty array;
- references are followed once each (a visited set: a target shared by
  several cells is converted once, and the cells share the result), a
  reference cycle is refused, and nesting is bounded by :data:`MAX_DEPTH`;
- the declared bytes of everything read are summed; above
  :data:`~.budget.MAX_READ_BYTES` the file is refused.

So memory is at most the data the file really stores (possibly deflated)
plus a small multiple of its size, and time is linear in the same.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from .budget import DEFLATE_RATIO, MAX_READ_BYTES, over_budget
from .matv5 import MatFileError

__all__ = ["load_v73", "v73_variable_names"]

#: Bytes a dataset may declare beyond its allocated storage (a small array
#: may be read from its fill value).
SLACK = 1 << 16
#: Filters that need no plugin: deflate (1), shuffle (2), Fletcher-32 (3).
ALLOWED_FILTERS = frozenset({1, 2, 3})
#: Largest attribute read (``MATLAB_class``, ``MATLAB_fields``...).
MAX_ATTRIBUTE_BYTES = 1 << 16
#: Deepest nesting of cells, structs and references.
MAX_DEPTH = 64
#: Most soft links followed to reach one object.
MAX_SOFT_HOPS = 16
#: Most dimensions of an array.
MAX_NDIM = 64


class _Refused(Exception):
    """Internal: the file asks for something refused; the message says what."""


class _Reader:
    """One pass over one open file: the budget and the visited references."""

    def __init__(self, f, where, size, raw):
        import h5py

        self.h5py = h5py
        self.f = f
        self.raw = raw  # the file's bytes (memory-mapped)
        plist = f.id.get_create_plist()
        self.base = plist.get_userblock()
        self.sizeof_addr, self.sizeof_size = plist.get_sizes()
        self.headers_ok = set()
        self.where = where
        self.size = size
        self.declared = 0
        self.done = {}  # object address -> converted value
        self.open = set()  # addresses being converted (a cycle if met again)

    # -- links -------------------------------------------------------------
    def child(self, group, name, hops=0):
        """``group[name]`` for one path component, following only links inside the file."""
        h5py = self.h5py
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.HardLink):
            self.check_header(group.id.links.get_info(name.encode()).u, name)
            return group[name]
        if isinstance(link, h5py.SoftLink):
            if hops >= MAX_SOFT_HOPS:
                raise _Refused(
                    f"soft link {name!r} starts a chain of more than {MAX_SOFT_HOPS} soft links"
                )
            target = link.path
            node = self.f if target.startswith("/") else group
            for part in target.split("/"):
                if part in ("", "."):
                    continue
                if not isinstance(node, h5py.Group):
                    raise _Refused(f"soft link {name!r} leads through a dataset")
                if part not in node:
                    raise _Refused(
                        f"soft link {name!r} points to {target!r}, which does not exist"
                    )
                node = self.child(node, part, hops + 1)
            return node
        if isinstance(link, h5py.ExternalLink):
            raise _Refused(
                f"{name!r} is an external link to {link.filename!r}; only "
                f"objects inside the file are read"
            )
        raise _Refused(f"{name!r} is a link of an unknown kind")

    # -- checks ------------------------------------------------------------
    def check_root(self):
        """Walk the root group's header (and its name heap) before HDF5 lists it."""
        self.check_header(_root_address(self.raw, self.base), "/")

    def check_header(self, addr, what):
        """Refuse the object at ``addr`` if its header holds a virtual layout."""
        if addr in self.headers_ok:
            return
        _check_header(self.raw, self.base, int(addr), self.sizeof_addr, self.sizeof_size, what)
        self.headers_ok.add(addr)

    def attr(self, obj, name):
        """Attribute ``name`` of ``obj`` (None if absent), if small enough."""
        h5py = self.h5py
        key = name.encode()
        if not h5py.h5a.exists(obj.id, key):
            return None
        aid = h5py.h5a.open(obj.id, key)
        count = int(np.prod(aid.shape, dtype=object)) if aid.shape else 1
        nbytes = count * aid.dtype.itemsize
        if nbytes > MAX_ATTRIBUTE_BYTES or aid.get_storage_size() > MAX_ATTRIBUTE_BYTES:
            raise _Refused(
                f"attribute {name!r} of {obj.name!r} has {nbytes} bytes; at most "
                f"{MAX_ATTRIBUTE_BYTES} are read"
            )
        return obj.attrs[name]

    def charge(self, nbytes, what):
        self.declared += nbytes
        if self.declared > MAX_READ_BYTES:
            raise MatFileError(str(over_budget(self.where, self.declared, MAX_READ_BYTES, what)))

    def check_dataset(self, ds):
        """Refuse a dataset that reads outside the file or that the file cannot back."""
        h5py = self.h5py
        if ds.is_virtual:
            raise _Refused(f"dataset {ds.name!r} is a virtual dataset (it reads other files)")
        plist = ds.id.get_create_plist()
        if plist.get_external_count():
            raise _Refused(f"dataset {ds.name!r} keeps its data in external files")
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        for fid in filters:
            if fid not in ALLOWED_FILTERS:
                raise _Refused(
                    f"dataset {ds.name!r} uses the filter {fid}; only deflate, "
                    f"shuffle and Fletcher-32 are read (others need a plugin)"
                )
        dtype = ds.dtype
        if not (dtype.kind in "biuf" or _is_complex(dtype) or dtype == h5py.ref_dtype):
            raise _Refused(
                f"dataset {ds.name!r} has the type {dtype}; only numeric, complex "
                f"and object-reference datasets are read"
            )
        if h5py.check_dtype(ref=dtype) is h5py.RegionReference:
            raise _Refused(f"dataset {ds.name!r} holds region references")
        shape = ds.shape
        if shape is None:  # a null dataspace
            return 0
        if len(shape) > MAX_NDIM:
            raise _Refused(f"dataset {ds.name!r} has {len(shape)} dimensions; at most {MAX_NDIM}")
        count = 1
        for d in shape:
            count *= int(d)
        declared = count * dtype.itemsize
        storage = ds.id.get_storage_size()
        if storage > self.size:
            raise _Refused(
                f"dataset {ds.name!r} claims {storage} bytes of storage in a file of {self.size}"
            )
        if plist.get_layout() == h5py.h5d.CONTIGUOUS and storage:
            offset = ds.id.get_offset()
            if offset is None or offset + storage > self.size:
                raise _Refused(f"the data of dataset {ds.name!r} lie past the end of the file")
        deflated = 1 in filters
        allowed = (DEFLATE_RATIO if deflated else 1) * storage + SLACK
        if declared > allowed:
            raise _Refused(
                f"dataset {ds.name!r} declares {declared} bytes (shape {shape[::-1]}) but "
                f"the file stores {storage} bytes of it"
                + (" (deflated)" if deflated else "")
                + "; an unallocated dataset would read as its fill value"
            )
        self.charge(declared, f"dataset {ds.name!r}")
        return count

    # -- conversion --------------------------------------------------------
    def value(self, obj, depth):
        """Convert one HDF5 object (visited once) to numpy."""
        if depth > MAX_DEPTH:
            raise _Refused(f"cells, structs and references nest deeper than {MAX_DEPTH} levels")
        addr = self.h5py.h5o.get_info(obj.id).addr
        if addr in self.done:
            return self.done[addr]
        if addr in self.open:
            raise _Refused(f"{obj.name!r} is part of a reference cycle")
        self.open.add(addr)
        if isinstance(obj, self.h5py.Group):
            out = self.struct(obj, depth)
        else:
            out = self.dataset(obj, depth)
        self.open.discard(addr)
        self.done[addr] = out
        return out

    def dataset(self, ds, depth):
        h5py = self.h5py
        cls = _decode(self.attr(ds, "MATLAB_class"))
        if self.attr(ds, "MATLAB_sparse") is not None:
            raise ValueError(f"sparse matrix {ds.name!r} is not supported")
        empty = self.attr(ds, "MATLAB_empty")
        count = self.check_dataset(ds)
        if empty is not None and np.asarray(empty).size and np.asarray(empty).ravel()[0]:
            # The data of an empty array hold its MATLAB dimensions.
            if count > MAX_NDIM or ds.dtype.kind not in "iu":
                raise _Refused(
                    f"empty array {ds.name!r} stores {count} dimensions of type "
                    f"{ds.dtype}; expected at most {MAX_NDIM} integers"
                )
            dims = tuple(int(d) for d in np.asarray(ds[()]).ravel()) or (0, 0)
            if any(d < 0 or d >= 1 << 31 for d in dims) or 0 not in dims:
                raise _Refused(
                    f"empty array {ds.name!r} has the dimensions {dims}; an empty "
                    f"array has a zero dimension"
                )
            if cls == "char":
                return ""
            if cls == "cell":
                return np.empty(dims, dtype=object)
            return np.zeros(dims)
        if ds.dtype == h5py.ref_dtype:
            self.charge(8 * count, f"the cells of {ds.name!r}")
            refs, addrs = self.targets(ds)
            cell = np.empty(refs.shape, dtype=object)
            for index in np.ndindex(refs.shape):
                cell[index] = self.value(self.deref(refs[index], addrs[index], ds), depth + 1)
            return cell.T
        data = ds[()]
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

    def targets(self, ds):
        """The references of ``ds`` and the header addresses they point to."""
        h5py = self.h5py
        refs = np.asarray(ds[()], dtype=object)
        addrs = np.zeros(refs.shape, dtype=np.uint64)
        if addrs.size:
            ds.id.read(h5py.h5s.ALL, h5py.h5s.ALL, addrs, mtype=h5py.h5t.STD_REF_OBJ)
        return refs, addrs

    def deref(self, ref, addr, ds):
        if not isinstance(ref, self.h5py.Reference) or not ref:
            raise _Refused(f"dataset {ds.name!r} holds a null or invalid reference")
        self.check_header(int(addr), f"a reference of {ds.name!r}")
        return self.f[ref]  # object references stay inside the file

    def struct(self, group, depth):
        """A MATLAB struct (HDF5 group) as a scipy-style structured array."""
        h5py = self.h5py
        names = list(group.keys())
        fields = self.attr(group, "MATLAB_fields")
        if fields is not None:
            ordered = []
            for entry in np.asarray(fields, dtype=object).ravel():
                entry = np.asarray(entry)
                name = (
                    entry.tobytes().decode("ascii")
                    if entry.dtype.kind == "S"
                    else (
                        "".join(
                            x.decode("ascii") if isinstance(x, bytes) else str(x)
                            for x in entry.ravel()
                        )
                    )
                )
                if name in names and name not in ordered:
                    ordered.append(name)
            names = ordered + [n for n in names if n not in ordered]
        # A struct array stores each field as a dataset of references (one per
        # element) without a MATLAB_class of its own; a scalar struct stores the
        # field values directly.
        children = {n: self.child(group, n) for n in names}
        is_array = bool(children) and all(
            isinstance(c, h5py.Dataset)
            and c.dtype == h5py.ref_dtype
            and self.attr(c, "MATLAB_class") is None
            for c in children.values()
        )
        dtype = [(n, object) for n in names]
        if is_array:
            shape = children[names[0]].shape[::-1]
            out = np.empty(shape, dtype=dtype)
            for n, child in children.items():
                if child.shape[::-1] != shape:
                    raise _Refused(
                        f"the fields of struct array {group.name!r} have different shapes"
                    )
                count = self.check_dataset(child)
                self.charge(8 * count, f"the elements of {child.name!r}")
                refs, addrs = self.targets(child)
                refs, addrs = refs.T, addrs.T
                for index in np.ndindex(shape):
                    out[index][n] = self.value(
                        self.deref(refs[index], addrs[index], child), depth + 1
                    )
            return out
        out = np.empty((1, 1), dtype=dtype)
        for n, child in children.items():
            out[0, 0][n] = self.value(child, depth + 1)
        return out


#: Object header message types: layout (8), continuation (16), symbol table (17).
_LAYOUT, _CONTINUATION, _SYMBOL_TABLE = 8, 16, 17
#: The local heap's "no free block" offset (``H5HL_FREE_NULL``).
_FREE_NULL = 1
_VIRTUAL = 3
#: Most header chunks and messages walked for one object.
_MAX_CHUNKS, _MAX_MESSAGES = 64, 1 << 14


def _check_header(raw, base, addr, sizeof_addr, sizeof_size, what):
    """Walk the object header at ``addr`` (HDF5 file format, "Data Object Headers").

    Version 1 headers (what MATLAB writes) and version 2 (``OHDR``) are read,
    their continuation chunks followed (at most :data:`_MAX_CHUNKS`); the
    layout message, if any, must be of version 1 to 4 and of the compact,
    contiguous or chunked class. Raises :class:`_Refused` otherwise, or when
    the header runs past the file.
    """
    size = len(raw)
    start = base + addr

    def need(offset, n):
        if offset < 0 or offset + n > size:
            raise _Refused(f"the header of {what!r} runs past the end of the file")
        return raw[offset : offset + n]

    def uint(offset, n):
        return int.from_bytes(need(offset, n), "little")

    if need(start, 4) == b"OHDR":
        version, flags = need(start + 4, 2)
        p = start + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 3)
        chunk0 = uint(p, width)
        regions = [(p + width, p + width + chunk0)]
        msg_head = 4 + (2 if flags & 0x04 else 0)
        if version != 2:
            raise _Refused(f"the header of {what!r} has the unknown version {version}")
    elif need(start, 1)[0] == 1:
        version, msg_head = 1, 8
        regions = [(start + 16, start + 16 + uint(start + 8, 4))]
    else:
        raise _Refused(f"the header of {what!r} has an unknown version")
    chunks = messages = 0
    while regions:
        begin, end = regions.pop()
        chunks += 1
        if chunks > _MAX_CHUNKS:
            raise _Refused(f"the header of {what!r} has more than {_MAX_CHUNKS} chunks")
        need(begin, end - begin)
        p = begin
        while p + msg_head <= end:
            messages += 1
            if messages > _MAX_MESSAGES:
                raise _Refused(f"the header of {what!r} has more than {_MAX_MESSAGES} messages")
            if version == 1:
                kind, length = uint(p, 2), uint(p + 2, 2)
            else:
                kind, length = raw[p], uint(p + 1, 2)
            data = p + msg_head
            if data + length > end:
                raise _Refused(f"a message of the header of {what!r} runs past its chunk")
            if kind == _CONTINUATION:
                offset = uint(data, sizeof_addr)
                extent = uint(data + sizeof_addr, sizeof_size)
                if version == 1:
                    regions.append((base + offset, base + offset + extent))
                else:
                    if need(base + offset, 4) != b"OCHK":
                        raise _Refused(
                            f"a continuation of the header of {what!r} lacks its signature"
                        )
                    regions.append((base + offset + 4, base + offset + extent - 4))
            elif kind == _LAYOUT and length >= 3:
                layout_version = raw[data]
                cls = raw[data + 1] if layout_version >= 3 else raw[data + 2]
                if layout_version not in (1, 2, 3, 4) or cls > _VIRTUAL:
                    raise _Refused(
                        f"{what!r} has a layout this reader does not know "
                        f"(version {layout_version}, class {cls})"
                    )
                if cls == _VIRTUAL:
                    raise _Refused(f"{what!r} is a virtual dataset (it reads other files)")
            elif kind == _SYMBOL_TABLE and length >= 2 * sizeof_addr:
                heap = uint(data + sizeof_addr, sizeof_addr)
                _check_local_heap(raw, base, heap, sizeof_addr, sizeof_size, what)
            p = data + length


def _check_local_heap(raw, base, addr, sizeof_addr, sizeof_size, what):
    """Walk the local heap of a group's names (HDF5 file format, "Local Heap").

    The data segment must lie inside the file, and its free list must stay
    inside the segment and visit each block once: HDF5 follows that list when
    it loads the heap, and a list that loops (one changed byte does it) makes
    it allocate without end. Raises :class:`_Refused` otherwise.
    """
    size = len(raw)
    start = base + addr
    L = sizeof_size

    def uint(offset, n):
        if offset < 0 or offset + n > size:
            raise _Refused(f"the name heap of {what!r} runs past the end of the file")
        return int.from_bytes(raw[offset : offset + n], "little")

    if raw[start : start + 4] != b"HEAP" or uint(start + 4, 1) != 0:
        raise _Refused(f"the name heap of {what!r} lacks its signature or version")
    data_size = uint(start + 8, L)
    free = uint(start + 8 + L, L)
    segment = base + uint(start + 8 + 2 * L, sizeof_addr)
    if segment < 0 or segment + data_size > size:
        raise _Refused(
            f"the name heap of {what!r} declares {data_size} bytes past the end of the file"
        )
    seen = set()
    while free != _FREE_NULL:
        if free in seen or free + 2 * L > data_size:
            raise _Refused(f"the free list of the name heap of {what!r} loops or leaves the heap")
        seen.add(free)
        nxt, block = uint(segment + free, L), uint(segment + free + L, L)
        if block < 2 * L or free + block > data_size:
            raise _Refused(f"a free block of the name heap of {what!r} leaves the heap")
        free = nxt


def _root_address(raw, base):
    """Address of the root group's object header, from the superblock at ``base``."""
    if raw[base : base + 8] != b"\x89HDF\r\n\x1a\n":
        raise _Refused("it has no HDF5 superblock where its user block ends")
    version = raw[base + 8]
    if version in (0, 1):
        sizeof_addr = raw[base + 13]
        # base, free-space, end-of-file and driver addresses, then the root's
        # symbol-table entry: link name offset, then the object header address
        entry = base + (24 if version == 0 else 28) + 4 * sizeof_addr
        field = entry + sizeof_addr
    elif version in (2, 3):
        sizeof_addr = raw[base + 9]
        field = base + 12 + 3 * sizeof_addr
    else:
        raise _Refused(f"its superblock has the unknown version {version}")
    if field + sizeof_addr > len(raw):
        raise _Refused("its superblock runs past the end of the file")
    return int.from_bytes(raw[field : field + sizeof_addr], "little")


def _is_complex(dtype):
    return (
        dtype.names is not None
        and set(dtype.names) == {"real", "imag"}
        and all(dtype[n].kind in "biuf" for n in dtype.names)
    )


def _decode(cls):
    if isinstance(cls, bytes):
        return cls.decode("ascii", "replace")
    if isinstance(cls, np.ndarray):
        return cls.tobytes().decode("ascii", "replace")
    return cls


def _open(path):
    """The open h5py file and its size, refusing a file HDF5 would read past the end of."""
    import h5py

    f = h5py.File(path, "r")
    size = os.path.getsize(path)
    declared = f.id.get_filesize()
    if declared > size:
        f.close()
        raise _Refused(
            f"its HDF5 structure spans {declared} bytes but the file has "
            f"{size} (truncated, or addresses past its end)"
        )
    return f, size


def v73_variable_names(path):
    """Names of the variables of a v7.3 file (root members but ``#refs#`` ...).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    list of str

    Raises
    ------
    MatFileError
        (a ValueError) naming the file, if its HDF5 structure spans more than
        the file.
    """
    where = f"MATLAB file {str(path)!r}"
    try:
        f, size = _open(path)
        with f, open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as raw:
            _Reader(f, where, size, raw).check_root()
            return [k for k in f if not k.startswith("#")]
    except _Refused as err:
        raise MatFileError(f"{where} is refused: {err}.") from None


def load_v73(path, keep):
    """Read the variables ``keep`` selects from a MATLAB v7.3 file.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    keep : callable
        ``keep(name)``: whether to read a variable.

    Returns
    -------
    dict of str -> object
        As :func:`~.mat.load_mat` documents.

    Raises
    ------
    MatFileError
        (a ValueError) naming the file, if it is refused: external storage or
        links, a virtual dataset, a plugin filter, declared data the file
        does not store, a cycle, over budget. h5py's own errors on corrupt
        files propagate (the caller names the file).
    """
    where = f"MATLAB file {str(path)!r}"
    try:
        f, size = _open(path)
        with f, open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as raw:
            reader = _Reader(f, where, size, raw)
            reader.check_root()
            out = {}
            for name in f:
                if name.startswith("#") or not keep(name):
                    continue
                out[name] = reader.value(reader.child(f, name), 0)
            return out
    except _Refused as err:
        raise MatFileError(f"{where} is refused: {err}.") from None
