"""The pipelines of the paper's comparison, built by name.

- ``"DE+SVM"`` / ``"DE+LR"``: the classic SEED baselines (Zheng & Lu, 2015):
  window-averaged DE features (and eye features, in the multimodal setting:
  feature-level fusion) standardized, then a linear SVM / logistic
  regression.
- ``"M2S"``: :class:`~braindecode_m2s.training.M2SClassifier` (Liu et al.,
  AAAI 2025), evaluated in its four modes ``eeg2eeg``, ``eye2eye``,
  ``eeg2eye``, ``eye2eeg``.
- every baseline of :mod:`braindecode_m2s.baselines` that the package
  exposes (DCCA, BDAE, Cross-CPC, ...), found at run time.

:func:`paper_pipelines` returns the pipelines and, for each, the modality
settings that make sense for it: every paper setting for estimators with
``train_modalities`` / ``test_modalities`` parameters (they can predict
from a modality they were not trained on), the multimodal and the two
unimodal settings for the others.
"""

from __future__ import annotations

import importlib
import inspect
import warnings

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from .settings import PAPER_SETTINGS
from .transformers import ModalitySelect

__all__ = ["paper_pipelines", "sklearn_baselines", "package_baselines", "make_m2s",
           "M2S_SETTINGS", "UNIMODAL_SETTINGS", "SMALL_M2S"]

#: The four modes of M2S in the paper.
M2S_SETTINGS = ("eeg2eeg", "eye2eye", "eeg2eye", "eye2eeg")
#: A small M2S (about 1/10 of the reference sizes) for smoke runs and tests.
SMALL_M2S = dict(
    module__embed_dim=16, module__proj_dim=8, module__n_layers=1, module__n_heads=2,
    module__head_dim=8, module__ff_dim=32, module__cpc_context_dim=8, module__cpc_layers=1,
    module__club_hidden=16, module__classifier_hidden=16, batch_size=8,
    pretrain_batch_size=8,
)
#: Settings of estimators that cannot predict from an unseen modality.
UNIMODAL_SETTINGS = ("multimodal", "eeg2eeg", "eye2eye")


def sklearn_baselines(random_state=None):
    """DE + SVM and DE + logistic regression (Zheng & Lu, 2015) as pipelines."""
    return {
        "DE+SVM": make_pipeline(ModalitySelect(None, average_windows=True), StandardScaler(),
                                SVC(kernel="linear", C=0.1, random_state=random_state)),
        "DE+LR": make_pipeline(ModalitySelect(None, average_windows=True), StandardScaler(),
                               LogisticRegression(C=0.1, max_iter=500,
                                                  random_state=random_state)),
    }


def _accepts(callable_, name):
    try:
        params = inspect.signature(callable_).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _call(factory, **kwargs):
    return factory(**{k: v for k, v in kwargs.items() if _accepts(factory, k)})


def package_baselines(max_epochs=None, random_state=None):
    """The baselines that :mod:`braindecode_m2s.baselines` exposes, built by default.

    Looks for, in order: a function ``make_baselines(**kw)`` returning a dict
    name -> estimator; a dict ``BASELINES`` name -> estimator class or
    factory; else every estimator class in the module's ``__all__``.
    ``max_epochs`` and ``random_state`` are passed where accepted. A
    baseline that cannot be built with these arguments is skipped with a
    warning.

    Returns
    -------
    dict of str -> estimator
        Empty when the module does not exist.
    """
    try:
        module = importlib.import_module("braindecode_m2s.baselines")
    except ImportError:
        return {}
    kwargs = dict(max_epochs=max_epochs, random_state=random_state)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if hasattr(module, "make_baselines"):
        return dict(_call(module.make_baselines, **kwargs))
    if isinstance(getattr(module, "BASELINES", None), dict):
        factories = dict(module.BASELINES)
    else:
        factories = {
            name: getattr(module, name) for name in getattr(module, "__all__", [])
            if inspect.isclass(getattr(module, name))
            and hasattr(getattr(module, name), "fit")
            and hasattr(getattr(module, name), "predict")
        }
    out = {}
    for name, factory in factories.items():
        try:
            out[name] = _call(factory, **kwargs) if callable(factory) else factory
        except Exception as err:  # a baseline needing more arguments is skipped
            warnings.warn(f"Baseline {name!r} skipped: {err}", UserWarning, stacklevel=2)
    return out


def make_m2s(max_epochs=20, pretrain_epochs=None, batch_size=32, random_state=None,
             **kwargs):
    """An :class:`~braindecode_m2s.training.M2SClassifier` on the ``M2S`` class.

    Parameters
    ----------
    max_epochs : int
        Epochs of the classifier stage.
    pretrain_epochs : int | None
        Epochs of the self-supervised stage (``None``: ``max_epochs``).
    batch_size : int
        Mini-batch size of both stages (32: a SEED-IV session gives few
        10-window training samples per subject).
    random_state : int | None
        Seed.
    **kwargs
        More :class:`~braindecode_m2s.training.M2SClassifier` parameters.

    Returns
    -------
    M2SClassifier | None
        ``None`` (with a warning) when the installed M2SClassifier has no
        ``train_modalities`` / ``test_modalities`` (it cannot run the
        cross-modal modes).
    """
    from ..models import M2S
    from ..training import M2SClassifier

    if "train_modalities" not in inspect.signature(M2SClassifier).parameters:
        warnings.warn("M2S skipped: this M2SClassifier has no `train_modalities` / "
                      "`test_modalities` parameters.", UserWarning, stacklevel=2)
        return None
    params = dict(max_epochs=max_epochs, batch_size=batch_size, random_state=random_state,
                  train_split=None, verbose=0)
    signature = inspect.signature(M2SClassifier).parameters
    if "pretrain_epochs" in signature:
        params["pretrain_epochs"] = max_epochs if pretrain_epochs is None else pretrain_epochs
    if "pretrain_batch_size" in signature:
        params["pretrain_batch_size"] = batch_size
    params.update(kwargs)
    return M2SClassifier(M2S, **params)


def _has_modality_params(estimator):
    params = estimator.get_params(deep=False)
    return "train_modalities" in params and "test_modalities" in params


def paper_pipelines(max_epochs=20, random_state=None, include=None, m2s_kwargs=None):
    """M2S and every available baseline, with the settings each is evaluated in.

    Parameters
    ----------
    max_epochs : int
        Training epochs of the neural models.
    random_state : int | None
        Seed (the runner overrides it per seed).
    include : sequence of str | None
        Pipeline names to keep (``None``: all available).
    m2s_kwargs : dict | None
        More :class:`~braindecode_m2s.training.M2SClassifier` parameters.

    Returns
    -------
    pipelines : dict of str -> estimator
    settings : dict of str -> tuple of str
    """
    pipelines = {}
    m2s = make_m2s(max_epochs=max_epochs, random_state=random_state, **(m2s_kwargs or {}))
    if m2s is not None:
        pipelines["M2S"] = m2s
    pipelines.update(sklearn_baselines(random_state))
    for name, est in package_baselines(max_epochs, random_state).items():
        pipelines.setdefault(name, est)
    if include is not None:
        unknown = [n for n in include if n not in pipelines]
        if unknown:
            raise ValueError(
                f"Pipelines {unknown} are not available; expected some of "
                f"{sorted(pipelines)}."
            )
        pipelines = {n: pipelines[n] for n in include}
    settings = {}
    for name, est in pipelines.items():
        if name == "M2S":
            settings[name] = M2S_SETTINGS
        elif _has_modality_params(est):
            settings[name] = PAPER_SETTINGS
        else:
            settings[name] = UNIMODAL_SETTINGS
    return pipelines, settings
