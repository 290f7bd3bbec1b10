"""braindecode-m2s: Multi-to-Single (M2S) multimodal emotion recognition.

Implements Liu, Cai, Lu & Zheng, "Multi-to-Single: Reducing Multimodal
Dependency in Emotion Recognition Through Contrastive Learning", AAAI 2025,
as braindecode-compatible PyTorch modules, skorch estimators and MOABB-style
datasets.

The public names below are imported on first use (PEP 562, through
``lazy_loader``, as MNE does): ``import braindecode_m2s`` costs milliseconds,
``from braindecode_m2s import M2S`` imports braindecode and PyTorch, and a
process that needs only the file readers (``braindecode_m2s.datasets.io``)
or the command line's help imports neither.
"""

import lazy_loader as _lazy

from .datasets import __all__ as _datasets_all
from .training import __all__ as _training_all

__version__ = "0.1.0"

#: Public names, by the submodule that defines them.
_EXPORTS = {
    # lazy subpackages too: reading their lists imports nothing heavy
    "datasets": _datasets_all,
    "features": [
        "DifferentialEntropy",
        "PowerSpectralDensity",
        "LinearDynamicalSystem",
        "MovingAverage",
    ],
    "models": ["M2S"],
    "modules": ["M2MCPC", "BandDifferentialEntropy", "STSAttention", "CLIPAlignment", "CLUB"],
    "training": _training_all,
    "prototypes": ["M2SPrototypeClassifier"],
    "paradigms": ["MultimodalEmotion"],
    "evaluation.protocols": ["trial_groups", "split_by_trial", "protocol_splits"],
    "evaluation": [
        "ModalitySelect",
        "TrialSplit",
        "TrialBlockKFold",
        "ProtocolSplitter",
        "evaluate",
        "EmotionEvaluation",
        "summarize",
        "paired_tests",
    ],
    "baselines": [
        "BASELINES",
        "de_svm",
        "de_logreg",
        "UnimodalClassifier",
        "FusionClassifier",
        "DCCAClassifier",
        "BDAEClassifier",
        "CrossCPCClassifier",
    ],
}

_SUBMODULES = [
    "baselines",
    "cli",
    "datasets",
    "demo",
    "evaluation",
    "features",
    "models",
    "modules",
    "objectives",
    "paradigms",
    "prototypes",
    "training",
    "viz",
]

__getattr__, _lazy_dir, _ = _lazy.attach(__name__, _SUBMODULES, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names] + ["__version__"]


def __dir__():
    return sorted({*globals(), *_lazy_dir()})
