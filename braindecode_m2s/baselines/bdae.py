"""Bimodal deep autoencoder (BDAE) for multimodal emotion recognition.

Each modality has its own hidden layer; a shared layer reads their
concatenation; the decoder mirrors the encoder and reconstructs *every*
modality from the shared code (Ngiam et al., 2011). As in Ngiam
et al.'s training of the bimodal autoencoder, inputs are augmented with
samples in which all but one modality are set to zero (their training mean,
after standardisation) while the targets stay complete, so that one
modality alone yields a usable shared code. A classifier (Liu, Lu & Lu,
2016, use an SVM; default here: logistic regression) is fitted on the shared
code of the training modalities; cross-modal prediction takes the shared
code computed from another modality alone.

References
----------
.. [1] Ngiam, J., Khosla, A., Kim, M., Nam, J., Lee, H., & Ng, A. Y. (2011).
   Multimodal deep learning. ICML, 689-696.
.. [2] Liu, W., Zheng, W.-L., & Lu, B.-L. (2016). Emotion recognition using
   multimodal deep learning. ICONIP, LNCS 9948, 521-529.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import (
    _EmbeddingBaseline,
    _fit_self_supervised,
    _to_module_dtype,
    _transform_batches,
    _window_features,
)
from .fusion import _window_feature_counts

__all__ = ["BDAE", "BDAEClassifier"]


def _modality_masks(n_samples, n_modalities, generator=None, device=None):
    """Random presence masks ``(n_samples, n_modalities)`` for BDAE training.

    Each sample keeps all modalities or exactly one, the ``n_modalities + 1``
    cases equally likely (with two modalities: one third bimodal, one third
    each modality alone, the augmentation of Ngiam et al., 2011).
    """
    case = torch.randint(0, n_modalities + 1, (n_samples,), generator=generator, device=device)
    masks = torch.nn.functional.one_hot(case, n_modalities + 1)[:, 1:].bool()
    masks[case == 0] = True
    return masks


class BDAE(nn.Module):
    """Bimodal (multimodal) deep autoencoder of Ngiam et al. (2011).

    Encoder: per modality ``in -> n_hidden`` (sigmoid), concatenation,
    ``-> n_shared`` (sigmoid); decoder: ``n_shared -> n_hidden`` per
    modality (sigmoid) ``-> in``. Inputs are the window-averaged features of
    each modality ``(batch, in_features)``.

    Parameters
    ----------
    modalities : dict of str to int
        Features of each modality, e.g. ``{"x": 310, "eye": 31}``
        (two or more modalities).
    n_hidden : int
        Units of each modality's hidden layer.
    n_shared : int
        Units of the shared layer (the representation).
    drop_prob : float
        Dropout on the inputs (denoising).

    References
    ----------
    .. [1] Ngiam et al. (2011), ICML.
    .. [2] Liu, Zheng & Lu (2016), ICONIP.
    """

    def __init__(self, modalities, n_hidden=64, n_shared=32, drop_prob=0.1):
        super().__init__()
        if len(modalities) < 2:
            raise ValueError(f"BDAE needs at least two modalities, got {dict(modalities)}.")
        self.modalities = dict(modalities)
        self.dropout = nn.Dropout(drop_prob)
        self.encoders = nn.ModuleDict(
            {k: nn.Sequential(nn.Linear(f, n_hidden), nn.Sigmoid()) for k, f in modalities.items()}
        )
        self.shared = nn.Sequential(nn.Linear(n_hidden * len(modalities), n_shared), nn.Sigmoid())
        self.decoders = nn.ModuleDict(
            {
                k: nn.Sequential(
                    nn.Linear(n_shared, n_hidden), nn.Sigmoid(), nn.Linear(n_hidden, f)
                )
                for k, f in modalities.items()
            }
        )

    def _features(self, X):
        feats = {k: _to_module_dtype(self, v) for k, v in X.items() if k in self.modalities}
        return {k: _window_features(k, v) if v.ndim > 2 else v for k, v in feats.items()}

    def encode(self, mask=None, **X):
        """Shared code ``(batch, n_shared)`` from the given modalities (others zero).

        ``mask`` ``(batch, n_modalities)`` zeroes modalities per sample.
        """
        feats = self._features(X)
        if not feats:
            raise ValueError(f"BDAE got none of its modalities {list(self.modalities)}.")
        ref = next(iter(feats.values()))
        hidden = []
        for i, (k, f) in enumerate(self.modalities.items()):
            v = feats.get(k, ref.new_zeros(ref.shape[0], f))
            if mask is not None:
                v = v * mask[:, i : i + 1]
            hidden.append(self.encoders[k](self.dropout(v)))
        return self.shared(torch.cat(hidden, dim=1))

    def forward(self, **X):
        """Shared code and reconstructions: ``(code, {modality: (batch, in)})``."""
        code = self.encode(**X)
        return code, {k: dec(code) for k, dec in self.decoders.items()}

    def loss(self, **X):
        """Mean squared reconstruction error of every modality from masked inputs.

        In training, each sample's inputs are masked by
        :func:`_modality_masks`; targets are always complete (Ngiam et al.,
        2011). Sum over modalities of per-feature mean errors.
        """
        feats = self._features(X)
        mask = None
        if self.training:
            ref = next(iter(feats.values()))
            mask = _modality_masks(ref.shape[0], len(self.modalities), device=ref.device)
        code = self.encode(mask=mask, **X)
        return sum(
            nn.functional.mse_loss(self.decoders[k](code), feats[k]) for k in self.modalities
        )


class BDAEClassifier(_EmbeddingBaseline):
    """BDAE shared code + classifier (Liu, Zheng & Lu, 2016); cross-modal capable.

    ``fit`` trains :class:`BDAE` on all modalities of X (no labels), then
    fits ``classifier`` on the shared code computed from
    ``train_modalities`` alone (the others zeroed); prediction uses the code
    from ``test_modalities``.

    Parameters
    ----------
    train_modalities, test_modalities : list of str | None
        ``None``: all modalities of X.
    n_hidden, n_shared, drop_prob :
        See :class:`BDAE`.
    classifier : estimator | None
        Fitted on the shared code (``None``: StandardScaler + logistic
        regression).
    max_epochs, batch_size, lr, weight_decay :
        skorch / AdamW training settings.
    random_state : int | None
        Seeds torch and numpy before fitting.
    device : str
        torch device.
    verbose : int
        skorch verbosity.
    """

    def __init__(
        self,
        train_modalities=None,
        test_modalities=None,
        n_hidden=64,
        n_shared=32,
        drop_prob=0.1,
        classifier=None,
        max_epochs=50,
        batch_size=64,
        lr=3e-3,
        weight_decay=1e-2,
        random_state=None,
        device="cpu",
        verbose=0,
    ):
        self.train_modalities = train_modalities
        self.test_modalities = test_modalities
        self.n_hidden = n_hidden
        self.n_shared = n_shared
        self.drop_prob = drop_prob
        self.classifier = classifier
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _fit_representation(self, Xs):
        if len(Xs) < 2:
            raise ValueError(
                f"BDAEClassifier needs X with two or more modalities, got {sorted(Xs)}."
            )
        mods = _window_feature_counts(Xs)
        self.module_ = BDAE(mods, self.n_hidden, self.n_shared, self.drop_prob)
        self.net_ = _fit_self_supervised(self, self.module_, Xs)

    def _embed(self, Xs):
        self.module_.eval()
        return _transform_batches(self.module_.encode, Xs, device=self.device)
