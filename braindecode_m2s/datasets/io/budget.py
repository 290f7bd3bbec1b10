"""The memory and time budget of every file read (pickles, MATLAB v5, v7.3).

A dataset file is untrusted input: a few kilobytes can declare gigabytes
(a pickle's memo index, a MATLAB v5 zip bomb, an unallocated HDF5 dataset).
Every reader of :mod:`braindecode_m2s.datasets` therefore works to the same
rule:

- **memory** stays within a small multiple of the file's size plus the data
  the file legitimately declares (array elements it really stores, possibly
  compressed), and never above :data:`MAX_READ_BYTES` for one read;
- **time** is roughly linear in the file's size (and in the declared data a
  compressed file inflates to); nothing is quadratic or exponential in what
  a file says;
- a file over budget is refused with a :class:`ValueError` that names it,
  before the allocation is made; a :class:`MemoryError` never escapes.

Each reader states its own terms (see ``docs/datasets.md``, "Safe
loading"); this module holds the shared cap and the helper that phrases a
refusal.
"""

from __future__ import annotations

__all__ = ["MAX_READ_BYTES", "DEFLATE_RATIO", "check_declared", "over_budget"]

#: Most bytes one read may allocate, whatever the file declares (16 GiB:
#: above the largest file of the supported corpora, about 2 GB for a SEED-VII
#: subject, and below what would take a machine down). Change it here for a
#: machine with more memory.
MAX_READ_BYTES = 16 << 30

#: Most bytes deflate (zlib, zip) can expand one compressed byte into: its
#: largest ratio is about 1032:1 (258 bytes from a 2-bit code). A compressed
#: stream that declares more than this many times its size is refused.
DEFLATE_RATIO = 1033


def over_budget(where, need, limit, what="the file"):
    """The :class:`ValueError` for a read that would allocate ``need`` > ``limit`` bytes.

    Parameters
    ----------
    where : str
        Names the file (e.g. ``"MATLAB file 'x.mat'"``).
    need, limit : int
        Bytes asked for, and bytes allowed.
    what : str
        What asks for them (e.g. ``"variable 'data'"``).

    Returns
    -------
    ValueError
    """
    return ValueError(
        f"{where}: {what} would need {need} bytes, over the budget of {limit} bytes "
        f"for a read of this file (a small multiple of its size plus the data it "
        f"stores, at most MAX_READ_BYTES = {MAX_READ_BYTES}); refusing it."
    )


def check_declared(where, need, what="the file"):
    """Raise :func:`over_budget` if ``need`` bytes exceed :data:`MAX_READ_BYTES`.

    Parameters
    ----------
    where : str
        Names the file.
    need : int
        Bytes the file declares for what is read.
    what : str
        What declares them.

    Raises
    ------
    ValueError
        If ``need > MAX_READ_BYTES``.
    """
    if need > MAX_READ_BYTES:
        raise over_budget(where, need, MAX_READ_BYTES, what)
