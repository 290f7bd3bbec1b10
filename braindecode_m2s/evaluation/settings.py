"""Modality settings of the M2S evaluation, and MOABB-usable scorers.

Liu et al. (AAAI 2025) evaluate four modes of M2S:
``eeg2eeg`` and ``eye2eye`` (the classifier is trained and tested on one
modality, after multimodal pretraining) and the cross-modal ``eeg2eye`` and
``eye2eeg`` (trained on modality A's embedding, tested on B's), against
multimodal models. A setting here is a pair of modality sets:

====================  ======================  =====================
name                  train_modalities        test_modalities
====================  ======================  =====================
``multimodal``        all of X                all of X
``eeg2eeg``           ``("x",)``              ``("x",)``
``eye2eye``           ``("eye",)``            ``("eye",)``
``eeg2eye``           ``("x",)``              ``("eye",)``
``eye2eeg``           ``("eye",)``            ``("x",)``
``all2eeg``           all of X                ``("x",)``
====================  ======================  =====================

Any ``<a>2<b>`` with ``a``, ``b`` a modality name (``eeg`` is the key
``x``; ``eye``, ``peripheral``, ``ecg``... are keys) or ``all`` is accepted.

An estimator with ``train_modalities`` / ``test_modalities`` parameters
(:class:`~braindecode_m2s.training.M2SClassifier`,
:class:`~braindecode_m2s.prototypes.M2SPrototypeClassifier`, where
``train_modalities`` are the modalities of the class references, the
baselines) gets the
setting by ``set_params``; any other estimator is wrapped in
:class:`ModalitySubset`, which hands it only the modalities of the setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score, make_scorer
from sklearn.utils.validation import check_is_fitted

from .choices import PAPER_SETTINGS
from .transformers import as_modality_dict

__all__ = [
    "ModalitySetting",
    "ModalitySubset",
    "parse_setting",
    "check_settings",
    "apply_setting",
    "PAPER_SETTINGS",
    "SCORERS",
    "kappa_scorer",
    "balanced_accuracy_scorer",
]


_KEY_NAMES = {"eeg": "x", "x": "x"}
_SETTING = re.compile(r"^([a-z0-9_]+)2([a-z0-9_]+)$")

#: Cohen's kappa as a scikit-learn / MOABB scorer.
kappa_scorer = make_scorer(cohen_kappa_score)
#: Balanced accuracy as a scikit-learn / MOABB scorer.
balanced_accuracy_scorer = make_scorer(balanced_accuracy_score)
#: The scores of every result row: accuracy (``score``), balanced accuracy, kappa.
SCORERS = {
    "accuracy": "accuracy",
    "balanced_accuracy": balanced_accuracy_scorer,
    "kappa": kappa_scorer,
}


def _key(name):
    return _KEY_NAMES.get(name, name)


def _label(key):
    return "eeg" if key == "x" else key


@dataclass(frozen=True)
class ModalitySetting:
    """Which modalities train and which test.

    Attributes
    ----------
    name : str
        ``"multimodal"``, ``"eeg2eye"``...
    train_modalities, test_modalities : tuple of str | None
        Keys of ``X``; ``None`` means every key of the ``X`` given.
    """

    name: str
    train_modalities: tuple | None
    test_modalities: tuple | None

    def resolve(self, keys):
        """Train and test keys for an ``X`` with ``keys``; checks they exist."""
        keys = list(keys)
        out = []
        for mods in (self.train_modalities, self.test_modalities):
            mods = tuple(keys) if mods is None else mods
            missing = [m for m in mods if m not in keys]
            if missing:
                raise ValueError(
                    f"Setting {self.name!r} needs modalities {missing}, which X lacks "
                    f"(keys: {keys}); expected a setting over {keys}."
                )
            out.append(mods)
        return tuple(out)

    @property
    def kind(self):
        """``"multimodal"``, ``"single"`` (same one modality), ``"cross"`` or ``"missing"``."""
        tr, te = self.train_modalities, self.test_modalities
        if tr is None and te is None:
            return "multimodal"
        if tr == te:
            return "single"
        if tr is None or (te is not None and set(te) < set(tr)):
            return "missing"
        return "cross"


def parse_setting(setting):
    """A :class:`ModalitySetting` from a name like ``"eeg2eye"``.

    Parameters
    ----------
    setting : str | ModalitySetting | tuple
        ``"multimodal"`` (= ``"all2all"``), ``"<a>2<b>"`` with ``a``/``b`` a
        modality name or ``all``, a :class:`ModalitySetting`, or a tuple
        ``(train_modalities, test_modalities)``.

    Returns
    -------
    ModalitySetting
    """
    if isinstance(setting, ModalitySetting):
        return setting
    if isinstance(setting, tuple) and len(setting) == 2:
        tr, te = (
            None if m is None else ((m,) if isinstance(m, str) else tuple(m)) for m in setting
        )
        name = (
            f"{'all' if tr is None else '+'.join(map(_label, tr))}2"
            f"{'all' if te is None else '+'.join(map(_label, te))}"
        )
        return ModalitySetting("multimodal" if name == "all2all" else name, tr, te)
    if not isinstance(setting, str):
        raise ValueError(
            f"Modality setting {setting!r} is a {type(setting).__name__}; expected a "
            f"name such as 'multimodal' or 'eeg2eye'."
        )
    name = setting.lower()
    if name in ("multimodal", "all2all"):
        return ModalitySetting("multimodal", None, None)
    match = _SETTING.match(name)
    if not match:
        raise ValueError(
            f"Modality setting {setting!r} is not understood; expected 'multimodal' or "
            f"'<train>2<test>' such as 'eeg2eye' or 'all2eye'."
        )
    tr, te = ((None if m == "all" else (_key(m),)) for m in match.groups())
    return ModalitySetting(name, tr, te)


def check_settings(settings, keys):
    """Parse settings and check them against the modalities of the data.

    Parameters
    ----------
    settings : sequence of str | ModalitySetting
        Setting names (:func:`parse_setting`).
    keys : sequence of str
        The modality keys of ``X`` (``("x", "eye")``).

    Returns
    -------
    list of ModalitySetting

    Raises
    ------
    ValueError
        In one sentence naming the setting and the valid ones for ``keys``.
    """
    labels = [_label(k) for k in keys]
    other = labels[1] if len(labels) > 1 else labels[0]
    paper = ", ".join(
        s.replace("eye", other) for s in PAPER_SETTINGS if other != "eeg" or "eye" not in s
    )
    checked = []
    for setting in settings:
        try:
            parsed = parse_setting(setting)
            parsed.resolve(keys)
        except ValueError:
            raise ValueError(
                f"setting {setting!r} is not a setting of these data; expected multimodal or "
                f"<a>2<b> with a and b among {', '.join([*labels, 'all'])} (the paper's: "
                f"{paper})"
            ) from None
        checked.append(parsed)
    return checked


class ModalitySubset(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Give an estimator only some modalities of ``X`` at fit and at predict.

    For estimators without ``train_modalities`` / ``test_modalities``
    parameters (e.g. a scikit-learn pipeline starting with
    :class:`~braindecode_m2s.evaluation.ModalitySelect` ``(None)``), this
    applies a modality setting from outside.

    Parameters
    ----------
    estimator : estimator
        Cloned at ``fit``.
    train_modalities, test_modalities : sequence of str | None
        Keys of ``X`` passed at ``fit`` / at ``predict``; ``None``: all.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone.
    classes_ : numpy.ndarray
        The classes of the fitted clone.
    """

    def __init__(self, estimator, train_modalities=None, test_modalities=None):
        self.estimator = estimator
        self.train_modalities = train_modalities
        self.test_modalities = test_modalities

    def _subset(self, X, which):
        """``X``'s modalities named by the parameter ``which`` (``None``: all), as a SliceDict."""
        from ..training.inputs import select_modalities  # torch: only when a setting applies

        data = as_modality_dict(X)
        keys = getattr(self, which)
        return select_modalities(data, list(data) if keys is None else keys, which)

    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on ``X[train_modalities]``; returns ``self``."""
        self.estimator_ = clone(self.estimator).fit(
            self._subset(X, "train_modalities"), y, **fit_params
        )
        self.classes_ = getattr(self.estimator_, "classes_", np.unique(y))
        return self

    def _test_X(self, X):
        check_is_fitted(self, "estimator_")
        return self._subset(X, "test_modalities")

    def predict(self, X):
        """Predictions from ``X[test_modalities]``."""
        return self.estimator_.predict(self._test_X(X))

    def predict_proba(self, X):
        """Class probabilities from ``X[test_modalities]``."""
        return self.estimator_.predict_proba(self._test_X(X))

    def decision_function(self, X):
        """Decision values from ``X[test_modalities]``."""
        return self.estimator_.decision_function(self._test_X(X))


def _has_modality_params(estimator):
    params = estimator.get_params(deep=False)
    return "train_modalities" in params and "test_modalities" in params


def apply_setting(estimator, setting, keys=None):
    """An unfitted copy of ``estimator`` that follows a modality setting.

    Parameters
    ----------
    estimator : estimator
        A scikit-learn compatible classifier taking the paradigm's ``X``.
    setting : str | ModalitySetting
        See :func:`parse_setting`.
    keys : sequence of str | None
        The keys of the ``X`` it will see (``None``: leave ``None`` = all).

    Returns
    -------
    estimator
        ``clone(estimator).set_params(train_modalities=...,
        test_modalities=...)`` when it has those parameters, else
        :class:`ModalitySubset` around a clone.
    """
    setting = parse_setting(setting)
    if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
        raise ValueError(
            f"`estimator` is {estimator!r}; expected a scikit-learn compatible estimator."
        )
    if keys is not None:
        tr, te = setting.resolve(keys)
    else:
        tr, te = setting.train_modalities, setting.test_modalities
    tr = None if tr is None else list(tr)
    te = None if te is None else list(te)
    if _has_modality_params(estimator):
        return clone(estimator).set_params(train_modalities=tr, test_modalities=te)
    return ModalitySubset(clone(estimator), train_modalities=tr, test_modalities=te)
