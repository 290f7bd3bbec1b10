"""DE + SVM and DE + logistic regression, and the wrapper that feeds X to any estimator.

The classic SEED-family baselines: differential-entropy features of each
window, averaged over the windows of a sample (or all windows flattened),
standardised, then a linear SVM (Zheng & Lu, 2015; Duan, Zhu & Lu, 2013) or a
logistic regression.

References
----------
.. [1] Duan, R.-N., Zhu, J.-Y., & Lu, B.-L. (2013). Differential entropy
   feature for EEG-based emotion classification. IEEE/EMBS NER, 81-84.
.. [2] Zheng, W.-L., & Lu, B.-L. (2015). Investigating critical frequency
   bands and channels for EEG-based emotion recognition with deep neural
   networks. IEEE TAMD, 7(3), 162-175.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ._base import EEG_KEY, _ModalityClassifierMixin, _window_features

__all__ = ["FeatureClassifier", "de_svm", "de_logreg"]

_LAYOUTS = ("flat", "channels", "raw")


class FeatureClassifier(_ModalityClassifierMixin, BaseEstimator):
    """Run any scikit-learn classifier on the modalities of a multimodal X.

    Each modality is standardised per feature on the training data (over
    samples and windows), then turned into the array ``estimator`` reads
    (``layout``). Labels of any type are encoded as scikit-learn does.

    Parameters
    ----------
    estimator : estimator
        Classifier (or pipeline) fitted on the selected features; cloned.
    train_modalities : list of str | None
        Modalities whose features are concatenated for training (``None``:
        all of X, i.e. feature-level fusion).
    test_modalities : list of str | None
        Modalities read at prediction (``None``: all of X that were trained
        on). A subset of ``train_modalities`` is allowed: the absent ones are
        filled with their training mean (zeros after standardisation).
        Cross-modal prediction is refused (no shared feature space).
    window_reduce : {"mean", "flatten"}
        ``layout="flat"`` only: average the windows of a sample or
        concatenate them.
    layout : {"flat", "channels", "raw"}
        ``"flat"``: one vector per sample ``(n, n_features)``;
        ``"channels"``: EEG DE features averaged over windows,
        ``(n, n_chans, n_bands)`` (braindecode's DGCNN input);
        ``"raw"``: raw EEG windows ``(n, n_chans, n_times)`` as given.
    random_state : int | None
        Set on every ``random_state`` parameter of ``estimator`` and used to
        seed torch and numpy before fitting.
    """

    def __init__(
        self,
        estimator,
        train_modalities=None,
        test_modalities=None,
        window_reduce="mean",
        layout="flat",
        random_state=None,
    ):
        self.estimator = estimator
        self.train_modalities = train_modalities
        self.test_modalities = test_modalities
        self.window_reduce = window_reduce
        self.layout = layout
        self.random_state = random_state

    def _features(self, Xs):
        if self.layout not in _LAYOUTS:
            raise ValueError(f"`layout` must be one of {_LAYOUTS}, got {self.layout!r}.")
        if self.layout == "flat":
            n = next(iter(Xs.values())).shape[0]
            blocks = []
            for key in self.train_modalities_:
                if key in Xs:
                    blocks.append(_window_features(key, Xs[key], self.window_reduce))
                else:  # absent at test time: training mean
                    blocks.append(np.zeros((n, self.n_features_[key]), dtype=np.float32))
            return np.concatenate(blocks, axis=1)
        if self.train_modalities_ != [EEG_KEY] or EEG_KEY not in Xs:
            raise ValueError(
                f"layout={self.layout!r} reads EEG only: train_modalities and "
                f"test_modalities must be ['x'], got {self.train_modalities_} / {sorted(Xs)}."
            )
        x = Xs[EEG_KEY]
        if self.layout == "channels":
            if x.ndim != 4:
                raise ValueError(
                    f"layout='channels' needs X['x'] as DE features (n, n_chans, "
                    f"n_windows, n_bands), got shape {x.shape}."
                )
            return np.ascontiguousarray(x.mean(axis=2))
        if x.ndim != 3:
            raise ValueError(
                f"layout='raw' needs X['x'] as raw EEG (n, n_chans, n_times), got shape {x.shape}."
            )
        return x

    def _fit(self, Xs, y):
        train = {k: Xs[k] for k in self.train_modalities_}
        if self.layout == "flat":
            self.n_features_ = {
                k: _window_features(k, v[:1], self.window_reduce).shape[1]
                for k, v in train.items()
            }
        est = clone(self.estimator)
        if self.random_state is not None:
            est.set_params(
                **{
                    name: self.random_state
                    for name in est.get_params()
                    if name == "random_state" or name.endswith("__random_state")
                }
            )
        self.estimator_ = est.fit(self._features(train), y)

    def _predict_proba(self, Xs):
        return self.estimator_.predict_proba(self._features(Xs))

    def predict(self, X):
        """Labels from the ``test_modalities`` of ``X``."""
        features = self._features(self._test_inputs(X))
        pred = self.estimator_.predict(features)
        return self.classes_[np.asarray(pred, dtype=int)]

    def decision_function(self, X):
        """The fitted estimator's decision function on the test modalities."""
        features = self._features(self._test_inputs(X))
        return self.estimator_.decision_function(features)


def _modality_list(modality):
    if modality is None:
        return None
    return [modality] if isinstance(modality, str) else list(modality)


def de_svm(modality="x", C=1.0, kernel="linear", window_reduce="mean", random_state=None):
    """DE features of one modality + StandardScaler + SVM (Zheng & Lu, 2015).

    Parameters
    ----------
    modality : str | list of str | None
        Modality (or modalities, concatenated) to classify; becomes
        ``train_modalities`` and ``test_modalities`` of the returned
        estimator (change them with ``set_params``).
    C : float
        SVM regularisation. The default, 1.0, is scikit-learn's: Zheng & Lu
        (2015) tuned ``C`` on a grid and the M2S reference code names no
        value, so none is taken from the paper. This is the one DE+SVM of
        the package (``"DE+SVM"`` in the evaluation's tables).
    kernel : str
        SVM kernel (linear, as in the SEED papers). ``predict_proba`` comes
        from scikit-learn's Platt scaling (``probability=True``);
        ``predict`` from the SVM's decision.
    window_reduce : {"mean", "flatten"}
        Average the windows of a sample or concatenate them.
    random_state : int | None
        Seed.

    Returns
    -------
    FeatureClassifier
    """
    mods = _modality_list(modality)
    return FeatureClassifier(
        make_pipeline(StandardScaler(), SVC(C=C, kernel=kernel, probability=True)),
        train_modalities=mods,
        test_modalities=mods,
        window_reduce=window_reduce,
        random_state=random_state,
    )


def de_logreg(modality="x", C=1.0, window_reduce="mean", random_state=None):
    """DE features of one modality + StandardScaler + logistic regression.

    Parameters are those of :func:`de_svm` (``C``: inverse L2 strength,
    default 1.0 as there). This is the one DE+LR of the package (``"DE+LR"``
    in the evaluation's tables).

    Returns
    -------
    FeatureClassifier
    """
    mods = _modality_list(modality)
    return FeatureClassifier(
        make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000)),
        train_modalities=mods,
        test_modalities=mods,
        window_reduce=window_reduce,
        random_state=random_state,
    )
