"""braindecode-m2s: Multi-to-Single (M2S) multimodal emotion recognition.

Implements Liu, Cai, Lu & Zheng, "Multi-to-Single: Reducing Multimodal
Dependency in Emotion Recognition Through Contrastive Learning", AAAI 2025,
as braindecode-compatible PyTorch modules, skorch estimators and MOABB-style
datasets.

The top level holds what the README and the examples import; everything else
lives in its subpackage: :mod:`braindecode_m2s.modules` (the building
blocks), :mod:`braindecode_m2s.objectives` (the stage-1 objective, the joint
variant), :mod:`braindecode_m2s.training`, :mod:`braindecode_m2s.datasets`,
:mod:`braindecode_m2s.features` (DE, PSD, LDS, moving average),
:mod:`braindecode_m2s.evaluation` (protocols, settings, the task store,
statistics), :mod:`braindecode_m2s.baselines`, :mod:`braindecode_m2s.viz`.

The names are imported on first use (PEP 562, through ``lazy_loader``, as MNE
does): ``import braindecode_m2s`` costs milliseconds, ``from braindecode_m2s
import M2S`` imports braindecode and PyTorch, and a process that needs only
the file readers (``braindecode_m2s.datasets.io``) or the command line's help
imports neither.
"""

import lazy_loader as _lazy

__version__ = "0.1.0"

#: Public names, by the submodule that defines them.
_EXPORTS = {
    "models": ["M2S"],
    "modules": ["STSAttention", "M2MCPC", "CLIPAlignment", "CLUB"],
    "training": [
        "M2SClassifier",
        "M2MCPCPretrainer",
        "AcceleratedM2SClassifier",
        "AcceleratedM2MCPCPretrainer",
        "TrialValidSplit",
        "reference_pretraining",
        "eeg_path_recipe",
    ],
    "prototypes": ["M2SPrototypeClassifier"],
    "datasets": [
        "SEED",
        "SEEDIV",
        "SEEDV",
        "SEEDVII",
        "DEAP",
        "DREAMER",
        "EmotionDataset",
        "make_synthetic_emotion",
    ],
    "paradigms": ["MultimodalEmotion"],
    "evaluation": ["evaluate", "split_by_trial"],
}

_SUBMODULES = [
    "baselines",
    "bands",
    "datasets",
    "evaluation",
    "features",
    "models",
    "modules",
    "objectives",
    "paradigms",
    "prototypes",
    "training",
    "utils",
    "viz",
]

__getattr__, _lazy_dir, _ = _lazy.attach(__name__, _SUBMODULES, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names] + ["__version__"]


def __dir__():
    return sorted({*globals(), *_lazy_dir()})
