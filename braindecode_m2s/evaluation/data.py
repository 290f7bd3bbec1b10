"""The data of an evaluation: a dataset by name, some of its subjects, as samples.

What ``m2s train``, ``m2s evaluate`` and ``m2s reproduce`` read, usable from
Python: :func:`check_data` checks a dataset name, folder and subjects
without reading a file; :func:`load_data` reads the subjects through the
:class:`~braindecode_m2s.paradigms.MultimodalEmotion` paradigm (files →
dataset class → paradigm → ``X, y, metadata``), or draws the synthetic data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .choices import DATASETS, SYNTHETIC

__all__ = [
    "EvaluationData",
    "PAPER_SEQUENCE_LENGTH",
    "QUICK_SUBJECTS",
    "dataset_key",
    "modality_keys",
    "check_data",
    "check_path",
    "check_subjects",
    "load_data",
]

#: Feature windows per sample in the authors' code of Liu et al. (AAAI 2025):
#: ``time_window = 5`` consecutive windows.
PAPER_SEQUENCE_LENGTH = 5

#: Subjects read by a quick (smoke) run.
QUICK_SUBJECTS = 2


def _synthetic_size(quick):
    """Subjects, sessions and windows per trial of the synthetic data."""
    return (2, 1, (10, 14)) if quick else (3, 3, (20, 40))


@dataclass
class EvaluationData:
    """Samples of some subjects of a dataset, and what the reports need to know of it.

    Attributes
    ----------
    X : SliceDict
        ``"x"`` (EEG) and the second modality, as the paradigm gives them.
    y : numpy.ndarray
        Labels.
    metadata : pandas.DataFrame
        ``subject``, ``session``, ``trial``...
    code : str
        The dataset's code (``"SEED-IV"``; ``"SEED-IV"`` for the synthetic
        data, whose split it follows).
    info : mne.Info
        The EEG channels with positions (for topomaps).
    notes : list of str
        What a user should know about the choices made (shorter samples
        than the paper's, absent subjects skipped).
    class_names : dict of int -> str | None
        The name of every label (for the figures), as the dataset gives them.
    """

    X: object
    y: object
    metadata: object
    code: str
    info: object
    notes: list = field(default_factory=list)
    class_names: dict | None = None


def dataset_key(name):
    """The command line's name of a dataset (:data:`~.choices.DATASETS`), in any spelling.

    Parameters
    ----------
    name : str
        ``"seediv"``, ``"SEED-IV"``, ``"seed4"``, ``"synthetic"``...

    Returns
    -------
    str
        One of :data:`~braindecode_m2s.evaluation.choices.DATASETS`.
    """
    from ..datasets.names import lookup

    if isinstance(name, str) and name.lower() == SYNTHETIC:
        return SYNTHETIC
    try:
        return lookup(name).class_name.lower()
    except ValueError:
        raise ValueError(
            f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}"
        ) from None


def modality_keys(name):
    """The modality keys of a dataset's ``X`` (``("x", "eye")``...), read from its class."""
    key = dataset_key(name)
    if key == SYNTHETIC:
        return ("x", "eye")
    from ..datasets.names import dataset_class

    return tuple(dataset_class(key).MODALITIES)


def _subject_list(key, quick):
    if key == SYNTHETIC:
        return list(range(1, _synthetic_size(quick)[0] + 1))
    from ..datasets.names import dataset_class

    return list(dataset_class(key)().subject_list)


def check_data(name, path=None, subjects=None, quick=False):
    """Check a dataset name, its folder and subjects, reading no file.

    Parameters
    ----------
    name, path, subjects, quick
        As :func:`load_data` (``quick``: the synthetic data have fewer subjects).

    Returns
    -------
    str
        The dataset's key.

    Raises
    ------
    ValueError
        Naming what is wrong and what is expected.
    """
    check_path(name, path)
    check_subjects(name, subjects, quick)
    return dataset_key(name)


def check_path(name, path):
    """Check the folder of a dataset (none for the synthetic data); see :func:`check_data`."""
    if dataset_key(name) == SYNTHETIC:
        return
    if path is None:
        raise ValueError(f"a data path is required for dataset {name!r}")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ValueError(f"data path {str(folder)!r} does not exist or is not a folder")


def check_subjects(name, subjects, quick=False):
    """Check subjects of a dataset (by its class's subject list); see :func:`check_data`."""
    known = _subject_list(dataset_key(name), quick)
    unknown = [s for s in subjects or () if s not in known]
    if unknown:
        raise ValueError(
            f"subject {unknown[0]} is not a subject of {name}; expected subjects "
            f"{known[0]} to {known[-1]}"
        )


def load_data(
    name, path=None, subjects=None, quick=False, sequence_length=None, seed=0, progress=False
):
    """Read subjects of a dataset (or draw the synthetic data) as samples.

    Parameters
    ----------
    name : str
        A dataset name (:func:`dataset_key`).
    path : str | Path | None
        The folder of the official distribution (not for the synthetic data).
    subjects : list of int | None
        Subjects to read (``None``: every subject found; absent ones are
        skipped with a note).
    quick : bool
        A smoke run: at most :data:`QUICK_SUBJECTS` subjects when
        ``subjects`` is None, and the smaller synthetic data.
    sequence_length : int | None
        Feature windows per sample (``None``: the paper's
        :data:`PAPER_SEQUENCE_LENGTH`, or the shortest trial's window count
        when trials are shorter).
    seed : int
        Seed of the synthetic data.
    progress : bool
        A progress bar over the subjects while they are read (removed once
        they are).

    Returns
    -------
    EvaluationData

    Raises
    ------
    ValueError
        A bad name or subject (:func:`check_data`), or a file that cannot be
        read (corrupt, hostile: the reader names it).
    FileNotFoundError
        A file of an asked subject is missing, or no subject is found.
    """
    from ..datasets import get_info

    key = check_data(name, path, subjects, quick)
    if key == SYNTHETIC:
        from ..datasets import make_synthetic_emotion

        n_subjects, n_sessions, n_windows = _synthetic_size(quick)
        X, y, meta = make_synthetic_emotion(
            n_subjects=n_subjects,
            n_sessions=n_sessions,
            n_windows=n_windows,
            sequence_length=sequence_length or PAPER_SEQUENCE_LENGTH,
            seed=seed,
        )
        if subjects:
            keep = meta["subject"].isin(subjects).to_numpy()
            X, y, meta = X[keep], y[keep], meta[keep].reset_index(drop=True)
        from ..datasets import SEEDIV

        names = dict(SEEDIV.CLASS_NAMES)
        return EvaluationData(X, y, meta, "SEED-IV", get_info("SEED-IV"), class_names=names)
    from ..datasets.names import dataset_class

    dataset = dataset_class(key)(path=Path(path).expanduser())
    trials, notes = _read_trials(dataset, subjects, quick, progress)
    X, y, meta, note = _samples(dataset.code, trials, sequence_length)
    names = getattr(dataset, "class_names", None) or getattr(dataset, "CLASS_NAMES", None)
    return EvaluationData(
        X, y, meta, dataset.code, get_info(dataset), [*note, *notes], dict(names or {}) or None
    )


def _read_trials(dataset, subjects, quick, progress):
    """The trials of the subjects asked (or found), and notes on absent ones."""
    from tqdm.auto import tqdm

    from ..paradigms import MultimodalEmotion

    reader = MultimodalEmotion()
    limit = QUICK_SUBJECTS if quick and not subjects else None
    trials, read, missing = [], [], []
    bar = tqdm(
        subjects or dataset.subject_list,
        desc=f"reading {dataset.code}",
        unit="subject",
        disable=not progress,
        leave=False,
    )
    for subject in bar:
        if limit is not None and len(read) >= limit:
            break
        try:
            trials += reader.get_trials(dataset, [subject])
        except FileNotFoundError:
            if subjects:
                raise
            missing.append(subject)
            continue
        read.append(subject)
    bar.close()
    if not read:
        raise FileNotFoundError(
            f"no subject of {dataset.code} was found under {str(dataset.path)!r}; expected "
            f"the layout of the official distribution (`m2s fixture` writes one)"
        )
    notes = [f"{dataset.code}: {len(missing)} absent subject(s) skipped"] if missing else []
    return trials, notes


def _samples(code, trials, sequence_length):
    """Samples of ``sequence_length`` windows (default: the paper's, or the shortest trial's)."""
    from ..paradigms import MultimodalEmotion

    notes = []
    if sequence_length is None:
        shortest = min(t.n_windows for t in trials)
        sequence_length = min(PAPER_SEQUENCE_LENGTH, shortest)
        if sequence_length < PAPER_SEQUENCE_LENGTH:
            notes.append(
                f"trials of {code} have as few as {shortest} windows; samples of "
                f"{sequence_length} windows (the paper uses {PAPER_SEQUENCE_LENGTH}; "
                f"--sequence-length sets it)"
            )
    paradigm = MultimodalEmotion(sequence_length=sequence_length)
    X, y, meta = paradigm.trials_to_samples(trials, where=code)
    return X, y, meta, notes
