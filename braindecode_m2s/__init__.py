"""braindecode-m2s: Multi-to-Single (M2S) multimodal emotion recognition.

Implements Liu, Cai, Lu & Zheng, "Multi-to-Single: Reducing Multimodal
Dependency in Emotion Recognition Through Contrastive Learning", AAAI 2025,
as braindecode-compatible PyTorch modules, skorch estimators and MOABB-style
datasets.
"""

__version__ = "0.1.0"

import warnings as _warnings  # noqa: E402

with _warnings.catch_warnings():
    # braindecode 1.8 builds MNE's deprecated "standard_1020" montage when its
    # models are imported; keep that upstream FutureWarning off users' screens.
    _warnings.filterwarnings(
        "ignore", message="Montage name 'standard_1020'", category=FutureWarning
    )
    import braindecode.models  # noqa: E402,F401

from .datasets import *  # noqa: E402,F401,F403
from .datasets import __all__ as _datasets_all  # noqa: E402
from .evaluation import (  # noqa: E402
    EmotionEvaluation,
    ModalitySelect,
    ProtocolSplitter,
    TrialBlockKFold,
    TrialSplit,
    evaluate,
    paired_tests,
    summarize,
)
from .evaluation.protocols import protocol_splits, split_by_trial, trial_groups  # noqa: E402
from .features import (  # noqa: E402,E501
    DifferentialEntropy,
    LinearDynamicalSystem,
    MovingAverage,
    PowerSpectralDensity,
)
from .models import M2S  # noqa: E402
from .modules import CLUB, M2MCPC, BandDifferentialEntropy, CLIPAlignment, STSAttention  # noqa: E402
from .paradigms import MultimodalEmotion  # noqa: E402
from .prototypes import M2SPrototypeClassifier  # noqa: E402
from .training import (  # noqa: E402
    AcceleratedM2MCPCPretrainer,
    AcceleratedM2SClassifier,
    M2MCPCPretrainer,
    M2SClassifier,
    TrialValidSplit,
    eeg_path_recipe,
    reference_pretraining,
)

__all__ = [
    *_datasets_all,
    "DifferentialEntropy",
    "PowerSpectralDensity",
    "LinearDynamicalSystem",
    "MovingAverage",
    "M2S",
    "M2MCPC",
    "BandDifferentialEntropy",
    "STSAttention",
    "CLIPAlignment",
    "CLUB",
    "M2SClassifier",
    "M2MCPCPretrainer",
    "M2SPrototypeClassifier",
    "TrialValidSplit",
    "AcceleratedM2MCPCPretrainer",
    "AcceleratedM2SClassifier",
    "reference_pretraining",
    "eeg_path_recipe",
    "MultimodalEmotion",
    "trial_groups",
    "split_by_trial",
    "protocol_splits",
    "ModalitySelect",
    "TrialSplit",
    "TrialBlockKFold",
    "ProtocolSplitter",
    "evaluate",
    "EmotionEvaluation",
    "summarize",
    "paired_tests",
    "__version__",
]

from .baselines import (  # noqa: E402
    BASELINES,
    BDAEClassifier,
    CrossCPCClassifier,
    DCCAClassifier,
    FusionClassifier,
    UnimodalClassifier,
    de_logreg,
    de_svm,
)

__all__ += [
    "BASELINES",
    "de_svm",
    "de_logreg",
    "UnimodalClassifier",
    "FusionClassifier",
    "DCCAClassifier",
    "BDAEClassifier",
    "CrossCPCClassifier",
]
