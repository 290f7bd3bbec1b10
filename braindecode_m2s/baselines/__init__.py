"""Baselines of the M2S paper's comparisons, all with the same estimator API.

Every baseline is a scikit-learn classifier that takes the paradigm's
multimodal ``X`` (:class:`skorch.helper.SliceDict`) and has
``train_modalities`` / ``test_modalities`` parameters (``None``: all
modalities of X), like :class:`~braindecode_m2s.M2SClassifier`.
"""

from .feature_pipelines import FeatureClassifier, de_logreg, de_svm
from .fusion import FusionClassifier, FusionNet, UnimodalClassifier, UnimodalNet

__all__ = [
    "FeatureClassifier",
    "de_svm",
    "de_logreg",
    "FusionNet",
    "UnimodalNet",
    "FusionClassifier",
    "UnimodalClassifier",
]
