"""Unimodal encoder and feature-level fusion baselines.

- :class:`UnimodalNet` / :class:`UnimodalClassifier`: one modality, a small
  window encoder (per-window MLP + one transformer layer across windows),
  mean pooling and a linear head.
- :class:`FusionNet` / :class:`FusionClassifier`: one such encoder per
  modality; the pooled encodings are concatenated (feature-level fusion,
  as in the multimodal baselines of Liu, Qiu, Zheng & Lu, 2021) and one head
  classifies them.

References
----------
.. [1] Liu, W., Qiu, J.-L., Zheng, W.-L., & Lu, B.-L. (2021). Comparing
   recognition performance and robustness of multimodal deep learning
   models for multimodal emotion recognition. IEEE Transactions on
   Cognitive and Developmental Systems, 14(2), 715-729.
.. [2] Vaswani, A. et al. (2017). Attention is all you need. NeurIPS.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import (
    EEG_KEY,
    _BaselineEstimator,
    _fit_supervised,
    _to_module_dtype,
    _window_tokens,
)

__all__ = ["UnimodalNet", "FusionNet", "UnimodalClassifier", "FusionClassifier"]


class _WindowEncoder(nn.Module):
    """Encode a sequence of feature windows into one vector per window.

    A per-window MLP (linear, GELU, dropout) followed by ``n_layers`` post-norm
    transformer encoder layers across windows (Vaswani et al., 2017, Eq. 1
    attention; full attention over the windows of a sample).

    Input ``(batch, n_windows, in_features)``; output
    ``(batch, n_windows, n_hidden)``.
    """

    def __init__(self, in_features, n_hidden=64, n_layers=1, n_heads=2, drop_prob=0.1):
        super().__init__()
        self.embed = nn.Sequential(
            nn.Linear(in_features, n_hidden), nn.GELU(), nn.Dropout(drop_prob)
        )
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                n_hidden,
                n_heads,
                dim_feedforward=2 * n_hidden,
                dropout=drop_prob,
                batch_first=True,
            )
            for _ in range(n_layers)
        )

    def forward(self, tokens):
        h = self.embed(tokens)
        for layer in self.layers:
            h = layer(h)
        return h


def _n_window_features(key, shape):
    """Features per window of a modality from its per-sample shape."""
    if key == EEG_KEY and len(shape) == 3:  # (n_chans, n_windows, n_bands)
        return int(shape[0] * shape[2])
    return int(shape[0])


def _window_feature_counts(Xs):
    """Features per window of every modality of ``Xs``, after checking each one.

    ``_window_tokens`` on one sample refuses raw EEG and malformed arrays with a
    clear message before any network is built.
    """
    for key, arr in Xs.items():
        _window_tokens(key, arr[:1])
    return {k: _n_window_features(k, v.shape[1:]) for k, v in Xs.items()}


class FusionNet(nn.Module):
    """Feature-level fusion: per-modality window encoders, concatenation, one head.

    Each modality's window sequence is encoded by its own
    :class:`_WindowEncoder` and mean-pooled over windows; the pooled vectors
    of all modalities are concatenated and a linear ``final_layer`` gives the
    logits. A modality missing from ``forward``'s arguments counts as zeros
    (its training mean after standardisation).

    Parameters
    ----------
    n_outputs : int
        Number of classes.
    modalities : dict of str to int
        Features per window of each modality, e.g. ``{"x": 310, "eye": 31}``
        (EEG DE features ``(n_chans, n_windows, n_bands)`` give
        ``n_chans * n_bands``).
    n_hidden : int
        Encoding size per modality.
    n_layers : int
        Transformer layers across windows (0: MLP only).
    n_heads : int
        Attention heads.
    drop_prob : float
        Dropout probability.

    References
    ----------
    .. [1] Liu, Qiu, Zheng & Lu (2021), IEEE TCDS 14(2), 715-729.
    """

    def __init__(self, n_outputs, modalities, n_hidden=64, n_layers=1, n_heads=2, drop_prob=0.1):
        super().__init__()
        self.modalities = dict(modalities)
        self.n_hidden = n_hidden
        self.encoders = nn.ModuleDict(
            {
                k: _WindowEncoder(f, n_hidden, n_layers, n_heads, drop_prob)
                for k, f in self.modalities.items()
            }
        )
        self.final_layer = nn.Linear(n_hidden * len(self.modalities), n_outputs)

    def encode(self, **X):
        """Pooled encoding per given modality: dict name -> ``(batch, n_hidden)``."""
        return {
            k: self.encoders[k](_window_tokens(k, _to_module_dtype(self, v))).mean(dim=1)
            for k, v in X.items()
            if k in self.encoders
        }

    def forward(self, **X):
        """Logits ``(batch, n_outputs)`` from any non-empty subset of modalities."""
        codes = self.encode(**X)
        if not codes:
            raise ValueError(f"FusionNet got none of its modalities {list(self.modalities)}.")
        ref = next(iter(codes.values()))
        feats = [codes.get(k, ref.new_zeros(ref.shape)) for k in self.modalities]
        return self.final_layer(torch.cat(feats, dim=1))


class UnimodalNet(FusionNet):
    """Unimodal encoder: one modality's window encoder, mean pooling, linear head.

    Parameters are those of :class:`FusionNet` with ``modalities`` holding
    one modality.
    """

    def __init__(self, n_outputs, modalities, n_hidden=64, n_layers=1, n_heads=2, drop_prob=0.1):
        if len(modalities) != 1:
            raise ValueError(
                f"UnimodalNet reads one modality, got `modalities`={dict(modalities)}."
            )
        super().__init__(n_outputs, modalities, n_hidden, n_layers, n_heads, drop_prob)


class FusionClassifier(_BaselineEstimator):
    """Feature-level fusion classifier (scikit-learn API, trained with skorch).

    Trains :class:`FusionNet` with cross-entropy and AdamW on the
    ``train_modalities`` of X (standardised per feature on the training
    data). Predicting from a subset of them fills the others with their
    training mean; cross-modal prediction is refused.

    Parameters
    ----------
    train_modalities, test_modalities : list of str | None
        ``None``: all modalities of X (test: all that were trained on).
    n_hidden, n_layers, n_heads, drop_prob :
        See :class:`FusionNet`.
    max_epochs, batch_size, lr, weight_decay :
        skorch / AdamW training settings.
    random_state : int | None
        Seeds torch and numpy before fitting.
    device : str
        torch device.
    verbose : int
        skorch verbosity.

    Attributes
    ----------
    classes_ : ndarray
        Labels seen in ``fit``.
    module_ : FusionNet
        The trained network.
    net_ : skorch.NeuralNetClassifier
        The skorch net (``net_.history`` holds the losses).
    """

    _net_class = FusionNet

    def __init__(
        self,
        train_modalities=None,
        test_modalities=None,
        n_hidden=64,
        n_layers=1,
        n_heads=2,
        drop_prob=0.1,
        max_epochs=30,
        batch_size=64,
        lr=1e-3,
        weight_decay=1e-2,
        random_state=None,
        device="cpu",
        verbose=0,
    ):
        self.train_modalities = train_modalities
        self.test_modalities = test_modalities
        self.n_hidden = n_hidden
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.drop_prob = drop_prob
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _fit(self, Xs, y):
        train = {k: Xs[k] for k in self.train_modalities_}
        mods = _window_feature_counts(train)
        self.module_ = self._net_class(
            len(self.classes_), mods, self.n_hidden, self.n_layers, self.n_heads, self.drop_prob
        )
        self.net_ = _fit_supervised(self, self.module_, train, y)

    def _predict_proba(self, Xs):
        return self.net_.predict_proba(dict(Xs))


class UnimodalClassifier(FusionClassifier):
    """Unimodal encoder classifier: :class:`UnimodalNet` on one modality.

    ``train_modalities=None`` means ``["x"]`` when X holds EEG, else X's only
    modality; ``test_modalities`` must be that same modality.
    Other parameters: see :class:`FusionClassifier`.
    """

    _net_class = UnimodalNet

    def _train_keys(self, Xd):
        keys = self.train_modalities
        if keys is None:
            if EEG_KEY not in Xd and len(Xd) > 1:
                raise ValueError(
                    f"UnimodalClassifier reads one modality; X holds {sorted(Xd)}: "
                    "pass train_modalities=[name]."
                )
            return [EEG_KEY] if EEG_KEY in Xd else list(Xd)
        if isinstance(keys, str) or len(keys) != 1:
            raise ValueError(
                f"UnimodalClassifier reads one modality, got train_modalities={keys!r}."
            )
        return keys
