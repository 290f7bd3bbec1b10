"""Entries of ``.npz`` archives: their declared size checked, their pickles restricted.

SEED-V stores dictionaries as pickles inside 0-d bytes arrays of ``.npz``
archives, and the package's array cache (:mod:`~.cache`) stores its entries
as ``.npz`` archives too. numpy allocates the array that an entry's ``.npy``
header declares before it reads a byte of it, so without a check a 1 kB
archive could ask for any amount of memory: :func:`check_npz_member`
compares that declaration with what the zip member can hold, before
anything is read.
"""

from __future__ import annotations

import zipfile

import numpy as np

from ...utils.files import check_regular_file
from .budget import DEFLATE_RATIO, MAX_READ_BYTES, over_budget
from .pickle import safe_pickle_loads

__all__ = ["load_npz_pickled", "check_npz_member"]


def load_npz_pickled(path, key):
    """Read one entry of an ``.npz`` archive, unpickling it safely if needed.

    SEED-V stores dictionaries as pickles inside 0-d bytes arrays of an
    ``.npz`` archive. The archive is opened with ``allow_pickle=False``; an
    entry that is a 0-d bytes or str array is unpickled with
    :class:`~.pickle.SafeUnpickler`, any other entry is returned as it is.

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
        (the message lists the keys present), the entry declares more than
        it holds (:func:`check_npz_member`), or the entry holds a pickled
        object array that cannot be read without pickle.
    pickle.UnpicklingError
        If the pickled entry names a forbidden global.

    Notes
    -----
    Budget: the entry's ``.npy`` header is checked by
    :func:`check_npz_member` before numpy allocates the array it declares.
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
        check_npz_member(archive.zip, key, f"Entry {key!r} of NPZ file {str(path)!r}")
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


def check_npz_member(zf, key, where, deflated=True):
    """Refuse an ``.npz`` entry that declares more than its zip member can hold.

    Reads the member's zip directory entry and its ``.npy`` header only. The
    array the header declares must fit in the bytes the member declares,
    which must be at most its compressed size (stored) or
    :data:`~.budget.DEFLATE_RATIO` times it (deflated); other compressions are
    refused, and so is an array of more than
    :data:`~.budget.MAX_READ_BYTES`.

    Parameters
    ----------
    zf : zipfile.ZipFile
        The open archive (``numpy.lib.npyio.NpzFile.zip``).
    key : str
        The entry as :class:`numpy.lib.npyio.NpzFile` names it (the member
        ``key`` or ``key + ".npy"``).
    where : str
        Names the entry and its file in messages.
    deflated : bool
        Accept a deflated member (``numpy.savez_compressed``); False accepts
        stored members only (``numpy.savez``).

    Raises
    ------
    ValueError
        If the member is missing, compressed by another method, declares
        more than its compression or its bytes can hold or more than the
        budget, or has no readable ``.npy`` header.
    """
    name = key if key in zf.namelist() else f"{key}.npy"
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ValueError(f"{where} is not a member of the archive.") from None
    if info.compress_type == zipfile.ZIP_STORED:
        most = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED and deflated:
        most = DEFLATE_RATIO * info.compress_size + (1 << 16)
    else:
        raise ValueError(
            f"{where} is compressed with method {info.compress_type}; only "
            f"{'stored and deflated' if deflated else 'stored'} entries are read."
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
