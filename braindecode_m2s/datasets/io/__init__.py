"""Hardened readers of the official dataset files, one concept per module.

A dataset file is untrusted input: these readers give an error naming the
file for anything hostile or corrupt (never code execution, an interpreter
crash, a read outside the file or a :class:`MemoryError`), and each read
stays within a budget stated in :mod:`.budget`.

====================  ====================================================
module                concept
====================  ====================================================
:mod:`.budget`        the memory budget shared by every read
:mod:`.pickle`        the restricted unpickler (DEAP ``.dat``, SEED eye
                      files, SEED-V ``.npz`` entries)
:mod:`.pickle_scan`   its linear pre-scan of a pickle's opcodes
:mod:`.matv5`         the structure check of MATLAB v5 files
:mod:`.matv73`        the reader of MATLAB v7.3 (HDF5) files
:mod:`.mat`           :func:`load_mat`, the front of both MATLAB readers
:mod:`.npz`           ``.npz`` entries: declared sizes, pickled entries
:mod:`.cache`         the content-keyed on-disk cache of converted arrays
====================  ====================================================

None of them imports PyTorch, braindecode, MNE or MOABB. Files are checked
to be regular files by :func:`braindecode_m2s.utils.files.check_regular_file`
and written by :func:`braindecode_m2s.utils.files.atomic_path`.
"""

from .budget import MAX_READ_BYTES
from .cache import ArrayCache, MatVariables, content_digest, mat_selection_digest
from .mat import MatFileError, load_mat, mat_variable_names
from .npz import load_npz_pickled
from .pickle import SafeUnpickler, UnsafePickleError, safe_pickle_load, safe_pickle_loads

__all__ = [
    "MAX_READ_BYTES",
    "ArrayCache",
    "MatVariables",
    "content_digest",
    "mat_selection_digest",
    "MatFileError",
    "load_mat",
    "mat_variable_names",
    "load_npz_pickled",
    "SafeUnpickler",
    "UnsafePickleError",
    "safe_pickle_load",
    "safe_pickle_loads",
]
