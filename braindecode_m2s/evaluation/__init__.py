"""Evaluation of multimodal emotion models (Liu et al., AAAI 2025): trial-grouped
protocols, modality settings, runners over joblib, paper-style statistics.

Imported on first use (PEP 562): a cluster worker that runs one task imports
what the task needs, not MOABB's statistics.
"""

import lazy_loader as _lazy

_EXPORTS = {
    "transformers": ["ModalitySelect", "as_modality_dict"],
    "protocols": [
        "split_by_trial",
        "trial_groups",
        "TrialSplit",
        "TrialBlockKFold",
        "ProtocolSplitter",
        "check_trial_grouped",
        "within_session_splitter",
        "moabb_cv_kwargs",
        "WITHIN_SESSION",
        "PROTOCOLS",
    ],
    "settings": [
        "ModalitySetting",
        "ModalitySubset",
        "parse_setting",
        "check_settings",
        "apply_setting",
        "PAPER_SETTINGS",
        "SCORERS",
        "kappa_scorer",
        "balanced_accuracy_scorer",
    ],
    "evaluations": ["evaluate", "EmotionEvaluation", "RESULT_COLUMNS", "TaskWarning"],
    "data": ["EvaluationData", "check_data", "load_data"],
    "runs": ["run_and_report"],
    "statistics": ["summarize", "subject_scores", "paired_tests", "to_markdown"],
}

__getattr__, _lazy_dir, _ = _lazy.attach(__name__, [], _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]


def __dir__():
    return sorted({*globals(), *_lazy_dir()})
