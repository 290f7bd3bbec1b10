"""Evaluation of multimodal emotion models (Liu et al., AAAI 2025): trial-grouped
protocols, modality settings, runners over joblib, paper-style statistics."""

from .evaluations import RESULT_COLUMNS, EmotionEvaluation, evaluate
from .protocols import (
    PROTOCOLS,
    WITHIN_SESSION,
    ProtocolSplitter,
    TrialBlockKFold,
    TrialSplit,
    check_trial_grouped,
    moabb_cv_kwargs,
    within_session_splitter,
)
from .settings import (
    PAPER_SETTINGS,
    SCORERS,
    ModalitySetting,
    ModalitySubset,
    apply_setting,
    balanced_accuracy_scorer,
    kappa_scorer,
    parse_setting,
)
from .statistics import paired_tests, subject_scores, summarize, to_markdown
from .transformers import ModalitySelect, as_modality_dict

__all__ = [
    "ModalitySelect", "as_modality_dict",
    "TrialSplit", "TrialBlockKFold", "ProtocolSplitter", "check_trial_grouped",
    "within_session_splitter", "moabb_cv_kwargs", "WITHIN_SESSION", "PROTOCOLS",
    "ModalitySetting", "ModalitySubset", "parse_setting", "apply_setting",
    "PAPER_SETTINGS", "SCORERS", "kappa_scorer", "balanced_accuracy_scorer",
    "evaluate", "EmotionEvaluation", "RESULT_COLUMNS",
    "summarize", "subject_scores", "paired_tests", "to_markdown",
]  # fmt: skip
