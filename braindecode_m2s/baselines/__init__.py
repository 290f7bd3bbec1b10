"""Baselines of the M2S paper's comparisons, all with the same estimator API.

Every baseline is a scikit-learn classifier that takes the paradigm's
multimodal ``X`` (:class:`skorch.helper.SliceDict`) and has
``train_modalities`` / ``test_modalities`` parameters (``None``: all
modalities of X), like :class:`~braindecode_m2s.M2SClassifier`.
:data:`BASELINES` maps each name to a factory (see :mod:`.registry`).
"""

from .bdae import BDAE, BDAEClassifier
from .braindecode_models import dgcnn, eegnet
from .clip_only import clip_only
from .cross_cpc import CrossCPC, CrossCPCClassifier, cross_cpc_loss
from .dcca import DCCA, DCCAClassifier, cca_loss
from .feature_pipelines import FeatureClassifier, de_logreg, de_svm
from .fusion import FusionClassifier, FusionNet, UnimodalClassifier, UnimodalNet
from .registry import (
    BASELINES,
    CROSS_MODAL_BASELINES,
    EEG_ONLY_BASELINES,
    ONE_MODALITY_BASELINES,
)

__all__ = [
    "BASELINES",
    "CROSS_MODAL_BASELINES",
    "EEG_ONLY_BASELINES",
    "ONE_MODALITY_BASELINES",
    "FeatureClassifier",
    "de_svm",
    "de_logreg",
    "FusionNet",
    "UnimodalNet",
    "FusionClassifier",
    "UnimodalClassifier",
    "DCCA",
    "DCCAClassifier",
    "cca_loss",
    "BDAE",
    "BDAEClassifier",
    "CrossCPC",
    "CrossCPCClassifier",
    "cross_cpc_loss",
    "dgcnn",
    "eegnet",
    "clip_only",
]
