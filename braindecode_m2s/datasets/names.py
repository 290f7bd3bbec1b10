"""The datasets of the package by name: codes, accepted spellings, classes.

The one table that turns what a user types (``"seediv"``, ``"SEED_IV"``,
``"seed4"``, a class name) into a dataset's MOABB code and class, for the
command line, the evaluation protocols and :func:`~.channels.get_info`.
It imports no dataset class (they are imported by :func:`dataset_class`
only), so reading it costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DatasetName", "DATASET_NAMES", "dataset_code", "dataset_class", "lookup"]


@dataclass(frozen=True)
class DatasetName:
    """How one dataset is named.

    Attributes
    ----------
    code : str
        The MOABB code (``dataset.code``), e.g. ``"SEED-IV"``.
    class_name : str
        Its class in :mod:`braindecode_m2s.datasets`, e.g. ``"SEEDIV"``.
    aliases : tuple of str
        Further accepted spellings, besides the code and the class name.
    """

    code: str
    class_name: str
    aliases: tuple = ()


#: Every dataset of the package. A name matches when it equals the code, the
#: class name or an alias with case, ``-`` and ``_`` ignored.
DATASET_NAMES = (
    DatasetName("SEED", "SEED"),
    DatasetName("SEED-IV", "SEEDIV", ("seed4",)),
    DatasetName("SEED-V", "SEEDV", ("seed5",)),
    DatasetName("SEED-VII", "SEEDVII", ("seed7",)),
    DatasetName("DEAP", "DEAP"),
    DatasetName("DREAMER", "DREAMER"),
)


def _key(name):
    return name.lower().replace("-", "").replace("_", "")


_BY_KEY = {
    _key(spelling): entry
    for entry in DATASET_NAMES
    for spelling in (entry.code, entry.class_name, *entry.aliases)
}


def lookup(name):
    """The :class:`DatasetName` of a dataset name in any accepted spelling.

    Parameters
    ----------
    name : str
        A code, class name or alias; case, ``-`` and ``_`` are ignored
        (``"SEED-IV"``, ``"seediv"``, ``"seed_iv"``, ``"seed4"``).

    Returns
    -------
    DatasetName

    Raises
    ------
    ValueError
        If ``name`` is not a string naming a dataset of the package.
    """
    entry = _BY_KEY.get(_key(name)) if isinstance(name, str) else None
    if entry is None:
        raise ValueError(
            f"Dataset {name!r} is not a dataset of this package; expected one of "
            f"{[e.code for e in DATASET_NAMES]} (case, '-' and '_' ignored)."
        )
    return entry


def dataset_code(name):
    """The MOABB code of a dataset name in any accepted spelling (see :func:`lookup`).

    Parameters
    ----------
    name : str

    Returns
    -------
    str
        ``"SEED"``, ``"SEED-IV"``, ``"SEED-V"``, ``"SEED-VII"``, ``"DEAP"`` or
        ``"DREAMER"``.
    """
    return lookup(name).code


def dataset_class(name):
    """The class of a dataset name in any accepted spelling (see :func:`lookup`).

    Parameters
    ----------
    name : str

    Returns
    -------
    type
        A subclass of :class:`~braindecode_m2s.datasets.base.EmotionDataset`
        (importing it imports MNE and MOABB).
    """
    from .. import datasets

    return getattr(datasets, lookup(name).class_name)
