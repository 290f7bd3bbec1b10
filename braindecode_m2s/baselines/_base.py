"""What every baseline shares: input checks, modality selection, scaling, seeding.

Data layout (see ``docs``/``specs/api.md``): a multimodal ``X`` is a
:class:`skorch.helper.SliceDict` (or dict) of

- ``x``: EEG differential-entropy features ``(n, n_chans, n_windows, n_bands)``
  (or raw EEG ``(n, n_chans, n_times)``, for models that read raw windows);
- any other modality ``(n, n_features, n_windows)``.

A plain array stands for EEG (``x``). Every baseline takes
``train_modalities`` / ``test_modalities`` (``None``: all modalities of ``X``),
the convention of :class:`~braindecode_m2s.M2SClassifier`.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet, NeuralNetClassifier
from torch import nn

from ..models.m2s import EEG_KEY
from ..training.base import global_rng_lock
from ..training.inputs import selected_keys

__all__ = ["EEG_KEY"]


def _as_modality_dict(X, name="X"):
    """A dict ``{modality: float32 array}`` from a SliceDict, dict or EEG array.

    Raises
    ------
    ValueError
        If ``X`` is empty, its modalities disagree on the number of samples
        or windows, a modality has the wrong number of dimensions, or holds
        NaN or infinite values.
    """
    if isinstance(X, Mapping):
        items = dict(X.items())
    elif hasattr(X, "shape") or isinstance(X, (list, tuple)):
        items = {EEG_KEY: X}
    else:
        raise ValueError(
            f"`{name}` must be a SliceDict/dict of modality arrays or an EEG "
            f"array, got {type(X).__name__}."
        )
    if not items:
        raise ValueError(
            f"`{name}` holds no modality; expected at least one key such as 'x' or 'eye'."
        )
    out = {}
    for key, value in items.items():
        arr = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value)
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{name}[{key!r}] must be numeric, got dtype {arr.dtype}.")
        arr = arr.astype(np.float32, copy=False)
        expected = (3, 4) if key == EEG_KEY else (3,)
        if arr.ndim not in expected:
            layout = (
                "(n, n_chans, n_windows, n_bands) or (n, n_chans, n_times)"
                if key == EEG_KEY
                else "(n, n_features, n_windows)"
            )
            raise ValueError(f"{name}[{key!r}] has shape {arr.shape}; expected {layout}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}[{key!r}] contains NaN or infinite values.")
        out[key] = arr
    n = {k: v.shape[0] for k, v in out.items()}
    if len(set(n.values())) > 1:
        raise ValueError(f"The modalities of `{name}` have different numbers of samples: {n}.")
    windows = {k: v.shape[2] for k, v in out.items() if not (k == EEG_KEY and v.ndim == 3)}
    if len(set(windows.values())) > 1:
        raise ValueError(
            f"The modalities of `{name}` have different numbers of windows: {windows}."
        )
    return out


def _select_modalities(X, keys, argument="modalities"):
    """The modalities ``keys`` of a modality dict ``X``, in the order given (``None``:
    all), checked by :func:`~braindecode_m2s.training.inputs.selected_keys`."""
    return {k: X[k] for k in selected_keys(X, keys, argument)}


def _window_tokens(key, arr):
    """Per-window feature vectors ``(n, n_windows, n_features)`` of one modality.

    EEG DE features ``(n, C, W, B)`` become ``(n, W, C * B)`` (channel-major,
    as the M2S authors flatten 62 x 5 to 310); other modalities
    ``(n, F, W)`` become ``(n, W, F)``. Works on numpy arrays and tensors.
    """
    is_numpy = isinstance(arr, np.ndarray)
    if arr.ndim == 4:
        n, c, w, b = arr.shape
        swapped = arr.transpose(0, 2, 1, 3) if is_numpy else arr.permute(0, 2, 1, 3)
        return swapped.reshape(n, w, c * b)
    if key == EEG_KEY and arr.ndim == 3:
        raise ValueError(
            "X['x'] looks like raw EEG (n, n_chans, n_times); this baseline reads "
            "DE features (n, n_chans, n_windows, n_bands)."
        )
    return arr.transpose(0, 2, 1) if is_numpy else arr.transpose(1, 2)


def _to_module_dtype(module, tensor):
    """Cast an input tensor to the floating dtype of ``module``'s parameters."""
    return tensor.to(next(module.parameters()).dtype)


def _window_features(key, arr, window_reduce="mean"):
    """One feature vector per sample: window mean (or all windows flattened)."""
    tokens = _window_tokens(key, arr)
    if window_reduce == "mean":
        return tokens.mean(axis=1)
    if window_reduce == "flatten":
        return tokens.reshape(tokens.shape[0], -1)
    raise ValueError(f"`window_reduce` must be 'mean' or 'flatten', got {window_reduce!r}.")


class _Standardizer:
    """Per-feature standardisation of each modality, fitted on training data.

    scikit-learn's :class:`~sklearn.preprocessing.StandardScaler` per
    modality, its statistics taken over samples and windows (axis 2: windows
    of DE features and other modalities, time of raw EEG), so every window of
    a feature is scaled alike; a modality absent at test time is later filled
    with zeros, i.e. with its training mean. (The M2S network standardises
    inside the model instead: :class:`~braindecode_m2s.modules.normalization.FeatureStandardizer`.)
    """

    def fit(self, X):
        self.scalers_ = {key: StandardScaler().fit(_rows(arr)) for key, arr in X.items()}
        return self

    def transform(self, X):
        out = {}
        for key, arr in X.items():
            rows = self.scalers_[key].transform(_rows(arr))
            out[key] = _unrows(rows, arr.shape).astype(np.float32)
        return out


def _rows(arr):
    """``(n, a, w, ...)`` -> ``(n * w, a * ...)``: one row per sample and window."""
    arr = np.moveaxis(np.asarray(arr), 2, 1)
    return arr.reshape(arr.shape[0] * arr.shape[1], -1)


def _unrows(rows, shape):
    moved = (shape[0], shape[2], shape[1], *shape[3:])
    return np.moveaxis(rows.reshape(moved), 1, 2)


@contextlib.contextmanager
def _seeded(random_state):
    """Run a fit with torch's generator seeded from ``random_state``, then restored.

    Weight initialisation, dropout and batch order draw from torch's global
    generator; it is forked (:func:`torch.random.fork_rng`) and seeded, so fits
    repeat and the caller's generators (torch, numpy, python) are left as they
    were. Seeded fits in threads of one process take turns (one lock).
    """
    if random_state is None:
        yield
        return
    if isinstance(random_state, numbers.Integral):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(2**31 - 1))
    with global_rng_lock, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class _ModalityClassifierMixin(ClassifierMixin):
    """The shared door of the baselines: checks, label encoding, modalities.

    Subclasses implement ``_fit(Xs, y)`` (``Xs``: all modalities of X,
    standardised, ``y`` encoded 0..n_classes-1) and
    ``_predict_proba(Xs)`` (``Xs``: the test modalities, standardised).
    """

    #: whether ``test_modalities`` may differ from ``train_modalities``
    supports_cross_modal = False

    def fit(self, X, y):
        """Fit on a multimodal ``X`` (SliceDict) and labels ``y`` (any labels).

        Parameters
        ----------
        X : SliceDict | dict | array
            All modalities; models with a self-supervised stage use all of
            them there, the classifier uses ``train_modalities``.
        y : array-like, shape (n,)
            Labels, encoded like scikit-learn does (``classes_``).

        Returns
        -------
        self
        """
        Xd = _as_modality_dict(X)
        y = np.asarray(y)
        check_classification_targets(y)
        if y.ndim != 1 or len(y) != next(iter(Xd.values())).shape[0]:
            raise ValueError(
                f"`y` must be 1-D with one label per sample of X "
                f"({next(iter(Xd.values())).shape[0]}), got shape {y.shape}."
            )
        train = _select_modalities(Xd, self._train_keys(Xd), "train_modalities")
        self._label_encoder_ = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder_.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"`y` must hold at least two classes, got {list(self.classes_)}.")
        self.modalities_ = list(Xd)
        self.train_modalities_ = list(train)
        self.input_shapes_ = {k: v.shape[1:] for k, v in Xd.items()}
        self.scaler_ = _Standardizer().fit(Xd)
        with _seeded(self.random_state):
            self._fit(self.scaler_.transform(Xd), self._label_encoder_.transform(y))
        return self

    def _train_keys(self, Xd):
        """The training modalities (``None``: all of X); subclasses restrict it."""
        return self.train_modalities

    def _test_inputs(self, X):
        check_is_fitted(self, "classes_")
        Xd = _as_modality_dict(X)
        if self.test_modalities is not None:
            test = _select_modalities(Xd, self.test_modalities, "test_modalities")
        else:  # all modalities of X that this model can read
            usable = self.modalities_ if self.supports_cross_modal else self.train_modalities_
            test = {k: v for k, v in Xd.items() if k in usable}
            if not test:
                raise ValueError(
                    f"X holds none of the modalities {usable} this model reads "
                    f"(it holds {sorted(Xd)})."
                )
        for key, arr in test.items():
            if key not in self.input_shapes_:
                raise ValueError(
                    f"X[{key!r}] is a modality this model was not fitted on "
                    f"(fitted on {self.modalities_})."
                )
            if arr.shape[1:] != self.input_shapes_[key]:
                raise ValueError(
                    f"X[{key!r}] has per-sample shape {arr.shape[1:]}, expected "
                    f"{self.input_shapes_[key]} as in fit."
                )
        keys = list(test)
        if not self.supports_cross_modal and not set(keys) <= set(self.train_modalities_):
            raise ValueError(
                f"{type(self).__name__} was trained on {self.train_modalities_} and cannot "
                f"predict from test_modalities={keys}: it has no shared space across "
                "modalities (cross-modal baselines: DCCA, BDAE, Cross-CPC)."
            )
        return self.scaler_.transform(test)

    def predict_proba(self, X):
        """Class probabilities from the ``test_modalities`` of ``X``.

        Returns
        -------
        proba : ndarray, shape (n, n_classes)
        """
        return self._predict_proba(self._test_inputs(X))

    def predict(self, X):
        """Labels (in the original encoding) from the ``test_modalities`` of ``X``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class _BaselineEstimator(_ModalityClassifierMixin, BaseEstimator):
    """scikit-learn estimator base of the baselines (see the mixin)."""


class _LossModule(nn.Module):
    """Wrap a model so that its forward returns ``model.loss(**X)``.

    skorch then trains any self-supervised objective through
    :class:`_SelfSupervisedNet`.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, **X):
        return self.model.loss(**X)


class _SelfSupervisedNet(NeuralNet):
    """skorch net whose module returns its own loss (no labels, no criterion)."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return y_pred


def _net_kwargs(est, **overrides):
    """skorch training arguments shared by the torch baselines (AdamW)."""
    kwargs = dict(
        optimizer=torch.optim.AdamW,
        lr=est.lr,
        optimizer__weight_decay=est.weight_decay,
        max_epochs=est.max_epochs,
        batch_size=est.batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        device=est.device,
        verbose=est.verbose,
    )
    kwargs.update(overrides)
    return kwargs


def _fit_self_supervised(est, model, Xs, **overrides):
    """Train ``model.loss`` on the modality dict ``Xs`` with skorch; return the net.

    With ``iterator_train__drop_last=True`` the batch size is capped at the
    number of samples, so that a small training set still gives one batch.
    """
    if overrides.get("iterator_train__drop_last"):
        n = next(iter(Xs.values())).shape[0]
        overrides.setdefault("batch_size", min(est.batch_size, n))
    net = _SelfSupervisedNet(
        _LossModule(model), criterion=nn.Identity, **_net_kwargs(est, **overrides)
    )
    net.fit(dict(Xs), None)
    model.eval()
    return net


def _fit_supervised(est, model, Xs, y):
    """Train ``model`` with cross-entropy on ``(Xs, y)``; return the skorch net."""
    net = NeuralNetClassifier(model, criterion=nn.CrossEntropyLoss, **_net_kwargs(est))
    net.fit(dict(Xs), y.astype(np.int64))
    return net


@torch.no_grad()
def _transform_batches(fn, Xs, batch_size=512, device="cpu"):
    """Apply ``fn(**tensors)`` (returning a tensor) to ``Xs`` in batches; numpy out."""
    n = next(iter(Xs.values())).shape[0]
    out = []
    for start in range(0, n, batch_size):
        batch = {
            k: torch.as_tensor(v[start : start + batch_size], device=device) for k, v in Xs.items()
        }
        out.append(fn(**batch).detach().cpu().numpy())
    return np.concatenate(out, axis=0)


def _default_embedding_classifier():
    """Standardised logistic regression on learned embeddings."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


class _EmbeddingBaseline(_BaselineEstimator):
    """Two stages: a representation learned on all modalities, then a classifier.

    Subclasses implement ``_fit_representation(Xs)`` (all modalities of X,
    standardised, no labels) and ``_embed(Xs) -> (n, n_features)`` for any
    non-empty subset of modalities. The classifier (``classifier``, default:
    standardised logistic regression) is fitted on the embedding of the
    ``train_modalities`` and predicts from that of the ``test_modalities``;
    the two may differ (cross-modal) because the embeddings of all
    modalities live in one space.
    """

    supports_cross_modal = True

    def _fit(self, Xs, y):
        self._fit_representation(Xs)
        Z = self._embed({k: Xs[k] for k in self.train_modalities_})
        est = (
            _default_embedding_classifier() if self.classifier is None else clone(self.classifier)
        )
        self.classifier_ = est.fit(Z, y)

    def _predict_proba(self, Xs):
        return self.classifier_.predict_proba(self._embed(Xs))

    def transform(self, X):
        """Embedding ``(n, n_features)`` of the ``test_modalities`` of X."""
        return self._embed(self._test_inputs(X))
