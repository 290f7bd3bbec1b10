"""The names an evaluation accepts, importable at no cost.

Protocols, backends, the paper's modality settings and the datasets, as the
modules that use them define them (:mod:`.protocols`, :mod:`.backends`,
:mod:`.settings` import them from here): the command line builds its help
from this module without importing numpy, scikit-learn or torch.
"""

from __future__ import annotations

from ..datasets.names import DATASET_NAMES

__all__ = ["PROTOCOLS", "BACKENDS", "PAPER_SETTINGS", "DATASETS", "SYNTHETIC"]

#: Evaluation protocols (:class:`~braindecode_m2s.evaluation.ProtocolSplitter`).
PROTOCOLS = ("within-session", "cross-session", "loso")

#: Where the tasks run (:func:`~braindecode_m2s.evaluation.backends.get_backend`).
BACKENDS = ("local", "dask", "ray", "slurm")

#: The four modes of M2S in the paper, after the multimodal reference.
PAPER_SETTINGS = ("multimodal", "eeg2eeg", "eye2eye", "eeg2eye", "eye2eeg")

#: The built-in synthetic data (:func:`~braindecode_m2s.datasets.make_synthetic_emotion`).
SYNTHETIC = "synthetic"

#: Dataset names as the command line spells them: the classes' names in lower
#: case, then the synthetic data (any spelling of ``datasets.names`` is accepted).
DATASETS = (*(entry.class_name.lower() for entry in DATASET_NAMES), SYNTHETIC)
