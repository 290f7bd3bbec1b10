"""Writers of hostile dataset files: each costs gigabytes or minutes, or
reads outside its folder, when a reader has no budget.

Every builder takes a folder and writes its file there (and, for the HDF5
files, the other files it points to: a secret file, a FIFO, another HDF5
file), then returns ``(path, call)``: ``call`` names what to do with it
(see :func:`read`). The files are built here, from the formats' documents
(the pickle opcodes, MATLAB's "MAT-File Format" manual, HDF5 through h5py),
never copied from anywhere. ``tests/datasets/test_budgets.py`` runs each in
a child process under a memory and a time limit;
``benchmarks/fuzz_campaign.py`` mutates them.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pickle_asm as A

#: Marker written in the file outside the tree; it must never be read back.
SECRET = b"SECRET-OUTSIDE-THE-DATASET-TREE-"
_M61 = (1 << 61) - 1  # hash(n) == n % _M61 for Python ints


# --------------------------------------------------------------------------
# pickles: objects built to cost memory or time when unpickled
# --------------------------------------------------------------------------


def _nest_tuple(item, levels):
    for _ in range(levels):
        item = A.tup(item)
    return item


PICKLES = {
    # 11 bytes: LONG_BINPUT with memo index 2**27 (a 2 GB memo table)
    "memo_index_2_27": lambda: b"\x80\x02N" + b"r" + (2**27).to_bytes(4, "little") + b"0N.",
    # 60,000 integers that hash alike, as a set, a dict and set() of a list
    "set_hash_collisions": lambda: (
        b"\x80\x04\x8f(" + b"".join(A.integer(k * _M61) for k in range(1, 60001)) + b"\x90."
    ),
    "dict_hash_collisions": lambda: (
        b"\x80\x04}(" + b"".join(A.integer(k * _M61) + b"N" for k in range(1, 60001)) + b"u."
    ),
    "set_call_hash_collisions": lambda: A.done(
        A.call(A.glob("builtins", "set"), A.lst(*[A.integer(k * _M61) for k in range(1, 60001)]))
    ),
    # two 3 MB integers as an array's shape
    "huge_int_shape": lambda: A.done(
        A.reconstruct(
            (2 ** (8 * 3_000_000 - 9), 2 ** (8 * 3_000_000 - 9)), A.dtype("f8"), A.binary(b"")
        )
    ),
    # an empty array with an axis of 2**31 (0 bytes of data; walking its rows, as
    # tolist() does, costs gigabytes; found by the 1 M-input campaign)
    "empty_array_huge_axis": lambda: A.done(
        A.reconstruct((2**31, 0), A.dtype("f8"), A.binary(b""))
    ),
    # 20 MB of DUP / BINGET
    "dup_binget_20mb": lambda: b"\x80\x02Nq\x00" + b"2h\x00" * 6_700_000 + b".",
    # a 2 MB nested list (MARKs then LISTs; EMPTY_LISTs then APPENDs), and
    # one of 150 levels
    "nested_list_marks": lambda: b"\x80\x02" + b"(" * 1_000_000 + b"l" * 1_000_000 + b".",
    "nested_list_appends": lambda: b"\x80\x02" + b"]" * 1_000_000 + b"a" * 999_999 + b".",
    "nested_list_150": lambda: b"\x80\x02" + b"(" * 150 + b"l" * 150 + b".",
    # placeholders (a dtype stub, a factory, an array stub) 101 tuples deep in a
    # dict key or a set member
    "placeholder_dict_key_101": lambda: A.done(
        b"}" + _nest_tuple(A.dtype("f8"), 101) + A.none() + b"s"
    ),
    "placeholder_set_member_101": lambda: A.done(
        b"\x8f(" + _nest_tuple(A.glob("numpy", "dtype"), 101) + b"\x90"
    ),
    "placeholder_key_1": lambda: A.done(
        b"}" + A.tup(A.reconstruct((1,), A.dtype("f8"), A.binary(b"x" * 8))) + A.none() + b"s"
    ),
    # a string no encoding can write (a lone surrogate, from BINUNICODE's
    # surrogatepass) and a unicode array holding one
    "lone_surrogate_str": lambda: b"\x80\x04X\x03\x00\x00\x00\xed\xa0\x80.",
    "lone_surrogate_array": lambda: A.done(
        A.reconstruct(
            (1,), A.dtype("U1", A.dtype_state("<", 4, 8)), A.binary((0xD800).to_bytes(4, "little"))
        )
    ),
}


def _tuple_dag(levels):
    """t0 = (dtype,), t(k+1) = (tk, tk) through the memo: 2**levels paths, levels + 1 tuples."""
    body = A.tup(A.dtype("f8")) + A.put(0)
    for _ in range(levels):
        body += b"0" + A.tup(A.get(0), A.get(0)) + A.put(0)
    return A.done(body)


#: Pickles that must load, and what they hold.
GOOD_PICKLES = {
    # a placeholder 98 levels deep in a value: replaced by the real dtype
    "placeholder_value_98": lambda: A.done(A.lst(_nest_tuple(A.dtype("f8"), 98))),
    # a DAG of tuples sharing a placeholder: 2**60 paths, resolved in one walk
    "placeholder_tuple_dag_60": lambda: _tuple_dag(60),
    # a list that holds itself and a placeholder
    "placeholder_list_cycle": lambda: A.done(
        b"]" + A.put(0) + b"(" + A.dtype("f8") + A.get(0) + b"e"
    ),
}


def write_pickle(name, folder):
    path = Path(folder) / f"{name}.pkl"
    table = GOOD_PICKLES if name in GOOD_PICKLES else PICKLES
    path.write_bytes(table[name]())
    return path, "pickle"


# --------------------------------------------------------------------------
# MATLAB v5: declared sizes and compressed streams beyond any budget
# --------------------------------------------------------------------------


def _v5_inner(name, array):
    """The miMATRIX element (tag included) scipy writes for ``array``."""
    import scipy.io

    buf = io.BytesIO()
    scipy.io.savemat(buf, {name: array}, do_compression=True)
    raw = buf.getvalue()
    mdtype, nbytes = struct.unpack_from("<II", raw, 128)
    assert mdtype == 15
    return zlib.decompress(raw[136 : 136 + nbytes])


def _header():
    text = b"MATLAB 5.0 MAT-file, written by the tests of braindecode-m2s"
    return text.ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM"


def _compressed(stream):
    return struct.pack("<II", 15, len(stream)) + stream


def _zero_blocks(compressor, n_mib):
    """Deflate bytes of ``n_mib`` MiB of zeros: one 1 MiB block (about 1 kB) repeated.

    After a full flush the compressor starts afresh, so each further MiB of
    zeros compresses to the same bytes.
    """
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    return block * n_mib


def _small_then_zeros(name, n_mib):
    """A valid small compressed variable whose zlib stream goes on with zeros."""
    c = zlib.compressobj(9)
    head = c.compress(_v5_inner(name, np.arange(6.0).reshape(2, 3)))
    head += c.flush(zlib.Z_FULL_FLUSH)
    return _compressed(head + _zero_blocks(c, n_mib))


def _declared_zeros(name, n_values):
    """A compressed real (1, n_values) double matrix of zeros, inflated for real."""
    dims = struct.pack("<IIii", 5, 8, 1, n_values)
    flags = struct.pack("<IIII", 6, 8, 6, 0)  # miUINT32, 8 bytes, mxDOUBLE_CLASS
    name_b = name.encode()
    name_el = struct.pack("<HH", 1, len(name_b)) + name_b.ljust(4, b"\0")
    data_tag = struct.pack("<II", 9, 8 * n_values)
    payload_len = len(flags) + len(dims) + len(name_el) + len(data_tag) + 8 * n_values
    c = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the checksum is ours
    head = struct.pack("<II", 14, payload_len) + flags + dims + name_el + data_tag
    stream = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    n_mib, rest = divmod(8 * n_values, 1 << 20)
    stream += _zero_blocks(c, n_mib) + c.compress(bytes(rest)) + c.flush()
    check, mib = zlib.adler32(head), bytes(1 << 20)
    for _ in range(n_mib):
        check = zlib.adler32(mib, check)
    check = zlib.adler32(bytes(rest), check)
    return _compressed(b"\x78\xda" + stream + struct.pack(">I", check))


def _impossible_ratio(name):
    """A 100 kB compressed variable whose header declares 4 GB."""
    dims = struct.pack("<IIii", 5, 8, 1, 499_999_000)
    flags = struct.pack("<IIII", 6, 8, 6, 0)
    name_el = struct.pack("<HH", 1, len(name)) + name.encode().ljust(4, b"\0")
    head = struct.pack("<II", 14, 4_000_000_000) + flags + dims + name_el
    stream = zlib.compress(head + os.urandom(100_000), 0)
    return _compressed(stream)


MAT_V5 = {
    # the stream of a valid variable goes on with 1 GiB of zeros (1 MB file)
    "v5_zeros_after_matrix": (lambda: _small_then_zeros("data", 1024), "mat"),
    # ... and with 6 GiB (6 MB file; ended in MemoryError)
    "v5_zeros_after_matrix_6gb": (lambda: _small_then_zeros("data", 6144), "mat"),
    # a variable not asked for is a zip bomb: never inflated
    "v5_bomb_not_asked_for": (
        lambda: _small_then_zeros("a", 0) + _declared_zeros("bomb", 256 << 20),
        "mat_a",
    ),
    "v5_bomb_names": (
        lambda: _small_then_zeros("a", 0) + _declared_zeros("bomb", 256 << 20),
        "names",
    ),
    # a header that declares more than deflate can give
    "v5_impossible_ratio": (lambda: _impossible_ratio("big"), "mat"),
    # a real zip bomb asked for, beyond the child's memory (MEMORY): ValueError,
    # never MemoryError
    "v5_bomb_beyond_memory": (lambda: _declared_zeros("bomb", 16 << 20), "mat"),
}
#: Address space a child may add for a file, where not the tests' default.
MEMORY = {"v5_bomb_beyond_memory": 96 << 20}


def write_mat_v5(name, folder):
    build, call = MAT_V5[name]
    path = Path(folder) / f"{name}.mat"
    path.write_bytes(_header() + build())
    return path, call


# --------------------------------------------------------------------------
# MATLAB v7.3 / HDF5: external storage, links and huge chunks
# --------------------------------------------------------------------------


def _mat73(path):
    import h5py

    return h5py.File(path, "w", userblock_size=512)


def _finish73(path):
    """Write MATLAB's text header into the 512-byte user block."""
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, written by the tests of braindecode-m2s".ljust(128))


def _cls(obj, name):
    obj.attrs["MATLAB_class"] = np.bytes_(name)


def _secret_file(folder):
    path = Path(folder).parent / f"{Path(folder).name}-outside" / "secret.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(SECRET * 64)
    return path


def _fifo(folder):
    path = Path(folder).parent / f"{Path(folder).name}-outside" / "fifo"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.mkfifo(path)
    return path


def _v73_external_secret(path, folder):
    secret = _secret_file(folder)
    with _mat73(path) as f:
        ds = f.create_dataset(
            "x",
            shape=(len(SECRET) * 64,),
            dtype="u1",
            external=[(str(secret), 0, len(SECRET) * 64)],
        )
        _cls(ds, "uint8")


def _v73_external_fifo(path, folder):
    with _mat73(path) as f:
        ds = f.create_dataset(
            "x", shape=(4096,), dtype="u1", external=[(str(_fifo(folder)), 0, 4096)]
        )
        _cls(ds, "uint8")


def _v73_external_zero(path, folder):
    with _mat73(path) as f:
        ds = f.create_dataset("x", shape=(2**31,), dtype="u1", external=[("/dev/zero", 0, 2**31)])
        _cls(ds, "uint8")


def _v73_external_link(path, folder):
    import h5py

    with _mat73(path) as f:
        f["x"] = h5py.ExternalLink(str(_fifo(folder)), "/data")


def _v73_soft_to_external(path, folder):
    import h5py

    with _mat73(path) as f:
        refs = f.create_group("#refs#")
        refs["ext"] = h5py.ExternalLink(str(_fifo(folder)), "/data")
        f["x"] = h5py.SoftLink("/#refs#/ext")


def _v73_virtual(path, folder):
    import h5py

    layout = h5py.VirtualLayout(shape=(4096,), dtype="u1")
    layout[:] = h5py.VirtualSource(str(_fifo(folder)), "data", shape=(4096,))
    with _mat73(path) as f:
        ds = f.create_virtual_dataset("x", layout, fillvalue=0)
        _cls(ds, "uint8")


def _v73_unallocated(path, folder, **kwargs):
    with _mat73(path) as f:
        ds = f.create_dataset("x", shape=(12000, 12000), dtype="f8", **kwargs)
        _cls(ds, "double")


def _v73_heap_free_list_loop(path, folder):
    """One byte changed: the root name heap's free block points at itself.

    HDF5 follows the free list when it loads the heap and allocated about 3 GB
    before failing (found by the 1 M-input campaign).
    """
    with _mat73(path) as f:
        _cls(f.create_dataset("x", data=np.ones((2, 3))), "double")
    raw = bytearray(Path(path).read_bytes())
    at = raw.index(b"HEAP")
    size = 8  # sizeof lengths and offsets of h5py's files
    free = int.from_bytes(raw[at + 8 + size : at + 8 + 2 * size], "little")
    segment = 512 + int.from_bytes(raw[at + 8 + 2 * size : at + 8 + 3 * size], "little")
    raw[segment + free : segment + free + size] = free.to_bytes(size, "little")
    Path(path).write_bytes(bytes(raw))


def _v73_empty_cell(path, folder):
    with _mat73(path) as f:
        ds = f.create_dataset("x", data=np.array([12000, 12000], dtype=np.uint64))
        _cls(ds, "cell")
        ds.attrs["MATLAB_empty"] = np.uint8(1)


def _v73_ref_dag(path, folder, levels=24):
    import h5py

    with _mat73(path) as f:
        refs = f.create_group("#refs#")
        node = refs.create_dataset("n0", data=np.array([[1.5]]))
        _cls(node, "double")
        for k in range(1, levels + 1):
            cells = np.array([[node.ref], [node.ref]], dtype=h5py.ref_dtype)
            node = (refs if k < levels else f).create_dataset(
                f"n{k}" if k < levels else "dag", data=cells
            )
            _cls(node, "cell")


def _v73_ref_cycle(path, folder):
    import h5py

    with _mat73(path) as f:
        refs = f.create_group("#refs#")
        loop = refs.create_dataset("loop", shape=(1, 1), dtype=h5py.ref_dtype)
        _cls(loop, "cell")
        loop[0, 0] = loop.ref
        root = f.create_dataset("x", data=np.array([[loop.ref]], dtype=h5py.ref_dtype))
        _cls(root, "cell")


def _v73_plugin_filter(path, folder):
    with _mat73(path) as f:
        ds = f.create_dataset(
            "x",
            shape=(100,),
            dtype="f8",
            chunks=(10,),
            compression=32004,
            allow_unknown_filter=True,
        )
        _cls(ds, "double")


def _v73_soft_inside(path, folder):
    import h5py

    with _mat73(path) as f:
        refs = f.create_group("#refs#")
        ds = refs.create_dataset("a", data=np.arange(6.0).reshape(3, 2))
        _cls(ds, "double")
        f["x"] = h5py.SoftLink("/#refs#/a")


MAT_V73 = {
    "v73_external_secret": (_v73_external_secret, "mat"),
    "v73_external_fifo": (_v73_external_fifo, "mat"),
    "v73_external_dev_zero": (_v73_external_zero, "mat"),
    "v73_external_link": (_v73_external_link, "mat"),
    "v73_soft_link_to_external": (_v73_soft_to_external, "mat"),
    "v73_virtual_dataset": (_v73_virtual, "mat"),
    "v73_unallocated_chunked": (lambda p, d: _v73_unallocated(p, d, chunks=(1000, 1000)), "mat"),
    "v73_unallocated_deflated": (
        lambda p, d: _v73_unallocated(p, d, chunks=(1000, 1000), compression="gzip"),
        "mat",
    ),
    "v73_unallocated_contiguous": (_v73_unallocated, "mat"),
    "v73_empty_cell_huge_dims": (_v73_empty_cell, "mat"),
    "v73_heap_free_list_loop": (_v73_heap_free_list_loop, "mat"),
    "v73_reference_cycle": (_v73_ref_cycle, "mat"),
    "v73_plugin_filter": (_v73_plugin_filter, "mat"),
}

#: v7.3 files that must load (quickly), and how to check what they hold.
GOOD_MAT_V73 = {
    "v73_reference_dag_24": (_v73_ref_dag, "mat"),
    "v73_soft_link_inside": (_v73_soft_inside, "mat"),
}


def write_mat_v73(name, folder):
    build, call = {**MAT_V73, **GOOD_MAT_V73}[name]
    path = Path(folder) / f"{name}.mat"
    build(path, folder)
    _finish73(path)
    return path, call


# --------------------------------------------------------------------------
# .npz archives (SEED-V)
# --------------------------------------------------------------------------


def _npz_declared_shape(path):
    """A 1 kB archive whose entry's header declares a 10000 x 10000 float64 array."""
    import zipfile

    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        npy, {"descr": "<f8", "fortran_order": False, "shape": (10000, 10000)}
    )
    npy.write(bytes(8))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.npy", npy.getvalue())


NPZ = {"npz_declared_shape": _npz_declared_shape}


def cache_entry_declaring(path, shape=(1 << 40,), member="__pack_0__.npy"):
    """An ``ArrayCache`` entry (a stored zip) whose one array declares ``shape`` of float64.

    The default declares 8 TiB in a file of about 300 bytes: the member
    holds the ``.npy`` header and no data, as a damaged or planted cache
    entry could.
    """
    import zipfile

    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        npy, {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)}
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(member, npy.getvalue())
    return path


def write_npz(name, folder):
    path = Path(folder) / f"{name}.npz"
    NPZ[name](path)
    return path, "npz"


# --------------------------------------------------------------------------
# all of them
# --------------------------------------------------------------------------


def _dag_depth(cell):
    depth = 0
    while isinstance(cell, np.ndarray) and cell.dtype == object:
        assert cell.shape == (1, 2) and cell[0, 0] is cell[0, 1]
        cell, depth = cell[0, 0], depth + 1
    assert cell.tolist() == [[1.5]], cell
    return depth


def _deep_dtype(out):
    item = out[0]
    for _ in range(98):
        item = item[0]
    return item


def _tuple_dag_depth(out):
    depth = 0
    while len(out) == 2:
        assert out[0] is out[1]
        out, depth = out[0], depth + 1
    assert out == (np.dtype("f8"),) and type(out[0]) is np.dtypes.Float64DType
    return depth


#: Files that must load, and a check of what they hold (returns True).
CHECKS = {
    "placeholder_value_98": lambda out: _deep_dtype(out) == np.dtype("f8"),
    "placeholder_tuple_dag_60": lambda out: _tuple_dag_depth(out) == 60,
    "placeholder_list_cycle": lambda out: out[0] == np.dtype("f8") and out[1] is out,
    "v73_reference_dag_24": lambda out: _dag_depth(out["dag"]) == 24,
    "v73_soft_link_inside": lambda out: out["x"].tolist() == [[0, 2, 4], [1, 3, 5]],
    # a variable not asked for is never inflated
    "v5_bomb_not_asked_for": lambda out: list(out) == ["a"] and out["a"].shape == (2, 3),
    "v5_bomb_names": lambda out: out == ["a", "bomb"],
}
_WRITERS = {
    **dict.fromkeys(PICKLES, write_pickle),
    **dict.fromkeys(GOOD_PICKLES, write_pickle),
    **dict.fromkeys(MAT_V5, write_mat_v5),
    **dict.fromkeys(MAT_V73, write_mat_v73),
    **dict.fromkeys(GOOD_MAT_V73, write_mat_v73),
    **dict.fromkeys(NPZ, write_npz),
}
#: Every hostile file that must be refused with a ValueError naming it.
REFUSED = sorted(set(_WRITERS) - set(CHECKS))
#: Every hostile file that must load (its junk never read).
LOADED = sorted(CHECKS)


def write(name, folder):
    """Write the hostile file ``name`` in ``folder``: ``(path, call)``."""
    return _WRITERS[name](name, folder)


def read(path, call):
    """Read ``path`` the way ``call`` says, through the package's readers."""
    from braindecode_m2s.datasets.io import (
        load_mat,
        load_npz_pickled,
        mat_variable_names,
        safe_pickle_load,
    )

    if call == "pickle":
        return safe_pickle_load(path)
    if call == "mat":
        return load_mat(path)
    if call == "mat_a":
        return load_mat(path, ["a"])
    if call == "names":
        return mat_variable_names(path)
    if call == "npz":
        return load_npz_pickled(path, "data")
    raise ValueError(f"unknown call {call!r}")
