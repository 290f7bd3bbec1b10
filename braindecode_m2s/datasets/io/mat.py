"""The front of the MATLAB readers: :func:`load_mat` for version 5 and 7.3 files.

The emotion corpora are distributed as MATLAB files of version 5 (read with
:func:`scipy.io.loadmat`) and sometimes of version 7.3 (HDF5). The version
is read from the file's bytes; a version 5 file is checked by
:func:`~.matv5.check_mat_v5` before scipy reads it, a version 7.3 file is
read by :func:`~.matv73.load_v73`, so a hostile or corrupt file gives an
error naming it instead of crashing the interpreter or reading outside
itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import scipy.io

from ...utils.files import check_regular_file
from .matv5 import MatFileError, check_mat_v5
from .matv73 import load_v73, v73_variable_names

__all__ = ["load_mat", "mat_variable_names", "MatFileError"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_mat_file(path):
    """``path`` as a :class:`~pathlib.Path` if it is a regular file, else an error naming it."""
    return check_regular_file(path, "MATLAB file")


#: Files checked by :func:`check_mat_v5` in this process, keyed by their
#: identity (path, size, times, inode): (variable names, names whose
#: variables were checked in full, the variables' byte spans), so a file read
#: twice in a row (names or digest, then values) is walked once.
_CHECKED_V5 = {}


def _file_identity(path):
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _check_v5_once(path, keep=None):
    """Names of a v5 file, after :func:`check_mat_v5` of the variables ``keep`` selects.

    A variable checked once for this version of the file is not checked
    again; the headers of all variables are checked on the first call.
    """
    return v5_layout(path, keep)[0]


def v5_layout(path, keep=None):
    """(names, spans) of a v5 file, after checking the variables ``keep`` selects."""
    identity = _file_identity(path)
    names, checked, spans = _CHECKED_V5.get(identity, (None, set(), None))
    want = keep or (lambda name: True)
    if names is not None and all(n in checked for n in names if want(n)):
        return names, spans
    new_spans = []
    names = check_mat_v5(path, keep=lambda n: want(n) and n not in checked, spans=new_spans)
    if len(_CHECKED_V5) > 1024:
        _CHECKED_V5.clear()
    _CHECKED_V5[identity] = (names, checked | {n for n in names if want(n)}, new_spans)
    return names, new_spans


def is_v73(path):
    """True if ``path`` is a MATLAB v7.3 (HDF5) file, read from its bytes."""
    with open(path, "rb") as f:
        head = f.read(520)
    if head[:4] == b"\x89HDF":
        return True
    # MATLAB writes a 512-byte text header, then the HDF5 superblock.
    return head[512:520] == _HDF5_SIGNATURE


def name_filter(variables):
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
        Variable names in file order (read from the variables' headers for
        v5, which are all checked; the HDF5 root keys without
        ``#refs#``/``#subsystem#`` for v7.3).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    OSError
        If the path is a folder, FIFO or device, or cannot be read.
    ValueError
        If the file is truncated, structurally corrupt (checked before scipy
        reads it, see :func:`~.matv5.check_mat_v5`)
        or is not a MATLAB file.
    """
    path = check_mat_file(path)
    if not is_v73(path):
        return _check_v5_once(path, keep=lambda name: False)
    try:
        return v73_variable_names(path)
    except MatFileError:
        raise
    except Exception as err:  # h5py raises many different types
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
    become ``str`` and logical arrays ``bool``; cells that reference the
    same HDF5 object share one converted value.

    Every read is within the budget of :mod:`~.budget`:
    a v5 file's structure is checked first, only the variables asked for are
    inflated, as a stream, up to the size their headers declare
    (:mod:`~.matv5`); a v7.3 file reads nothing
    outside itself and no data it does not store
    (:mod:`~.matv73`).

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
    OSError
        If the path is a folder, FIFO or device, or cannot be read.
    ValueError
        If the file is truncated, corrupt (a version 5 file's structure is
        checked before scipy reads it, so a corrupt file cannot crash the
        interpreter), not a MATLAB file, over its budget (never a
        :class:`MemoryError`), or if ``variables`` is not a valid selection.
    """
    path = check_mat_file(path)
    keep = name_filter(variables)
    v73 = is_v73(path)
    if not v73:
        wanted = list(dict.fromkeys(n for n in _check_v5_once(path, keep) if keep(n)))
        if not wanted:
            return {}
    try:
        if v73:
            return load_v73(path, keep)
        data = scipy.io.loadmat(str(path), variable_names=wanted)
    except MatFileError:
        raise
    except MemoryError:
        raise ValueError(
            f"Cannot read MATLAB file {str(path)!r}: its variables need more memory "
            f"than is available."
        ) from None
    except Exception as err:
        raise ValueError(
            f"Cannot read MATLAB file {str(path)!r}: the file is truncated, corrupt "
            f"or not a MATLAB file ({type(err).__name__}: {err})."
        ) from err
    return {k: v for k, v in data.items() if not k.startswith("__")}
