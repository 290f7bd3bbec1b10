"""scikit-learn steps that read the paradigm's multimodal ``X``.

:class:`~braindecode_m2s.paradigms.MultimodalEmotion` returns ``X`` as a
:class:`skorch.helper.SliceDict` of modalities (``"x"`` EEG features
``(n, n_chans, n_windows, n_bands)``, ``"eye"`` ``(n, n_features,
n_windows)``, ...). scikit-learn's own steps want a 2-D array;
:class:`ModalitySelect` is the bridge, so that the classic baselines of the
SEED literature (DE features + SVM / logistic regression, Zheng & Lu 2015)
are ordinary pipelines::

    make_pipeline(ModalitySelect("x"), StandardScaler(), SVC())
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["ModalitySelect", "as_modality_dict"]


def as_modality_dict(X, where="X"):
    """View ``X`` as a mapping of modality -> array.

    Parameters
    ----------
    X : Mapping | numpy.ndarray
        A ``SliceDict`` / dict of modalities, or a plain array (taken as EEG,
        key ``"x"``, as in the package's API).
    where : str
        Name of the argument, for the error message.

    Returns
    -------
    dict of str -> numpy.ndarray
    """
    if hasattr(X, "keys") and hasattr(X, "__getitem__"):
        return {key: X[key] for key in X.keys()}
    if isinstance(X, np.ndarray) or hasattr(X, "__array__"):
        return {"x": np.asarray(X)}
    raise ValueError(
        f"`{where}` is a {type(X).__name__}; expected a SliceDict / dict of modality "
        f"arrays or a numpy array (EEG)."
    )


class ModalitySelect(TransformerMixin, BaseEstimator):
    """Select modalities of a multimodal ``X`` and flatten them to 2-D.

    Each selected modality ``(n, ...)`` is reshaped to ``(n, -1)`` (after an
    optional average over its window axis) and the blocks are concatenated
    in the order given: one modality gives a unimodal feature vector, several
    give feature-level fusion (the concatenation baseline of Zheng et al.,
    2019).

    Parameters
    ----------
    modalities : str | sequence of str | None
        Keys of ``X`` to keep (``"x"``, ``"eye"``, ...); ``None`` keeps every
        key of the ``X`` seen at ``fit``, in its order.
    average_windows : bool
        Average each modality over its window axis (axis 2) before
        flattening, as the classic DE + SVM baselines classify one feature
        vector per window (default False: keep the sequence, flattened).

    Attributes
    ----------
    modalities_ : list of str
        The keys used.
    widths_ : list of int
        Columns contributed by each modality.
    n_features_in_ : int
        Columns of the output.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.svm import SVC
    >>> clf = make_pipeline(ModalitySelect("x"), StandardScaler(), SVC())
    """

    def __init__(self, modalities="x", average_windows=False):
        self.modalities = modalities
        self.average_windows = average_windows

    def _keys(self, data, keys):
        from ..training.inputs import selected_keys  # torch: only once a step fits

        return selected_keys(data, keys, "modalities")

    def _block(self, data, key):
        arr = np.asarray(data[key], dtype=np.float64)
        if self.average_windows and arr.ndim >= 3:
            arr = arr.mean(axis=2)
        return arr.reshape(len(arr), -1)

    def fit(self, X, y=None):
        """Record the selected keys and the output width; returns ``self``."""
        data = as_modality_dict(X)
        self.modalities_ = self._keys(data, self.modalities)
        self.widths_ = [self._block(data, k).shape[1] for k in self.modalities_]
        self.n_features_in_ = sum(self.widths_)
        return self

    def transform(self, X):
        """The selected modalities flattened and concatenated, ``(n, n_features)``."""
        check_is_fitted(self, "modalities_")
        data = as_modality_dict(X)
        keys = self._keys(data, self.modalities_)
        out = np.concatenate([self._block(data, k) for k in keys], axis=1)
        if out.shape[1] != self.n_features_in_:
            raise ValueError(
                f"ModalitySelect: X gives {out.shape[1]} features for {self.modalities_}; "
                f"expected {self.n_features_in_} as at fit."
            )
        return out

    def get_feature_names_out(self, input_features=None):
        """``<modality>_<index>`` for every output column."""
        check_is_fitted(self, "modalities_")
        names = [f"{k}_{i}" for k, w in zip(self.modalities_, self.widths_) for i in range(w)]
        return np.asarray(names, dtype=object)
