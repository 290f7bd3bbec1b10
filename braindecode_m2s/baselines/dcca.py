"""Deep canonical correlation analysis (DCCA) for multimodal emotion recognition.

Two modality networks are trained to maximise the total canonical
correlation of their outputs (Andrew et al., 2013); linear CCA on the
trained outputs then gives projections into one canonical space, where a
classifier is fitted on the projection of the training modalities (their
mean when there are two, the fusion of Liu et al., 2021, with equal
weights) and applied to that of the test modalities — the same one
(single-modality), both (multimodal), or the other (cross-modal).

References
----------
.. [1] Andrew, G., Arora, R., Bilmes, J., & Livescu, K. (2013). Deep
   canonical correlation analysis. ICML, PMLR 28(3), 1247-1255.
.. [2] Liu, W., Qiu, J.-L., Zheng, W.-L., & Lu, B.-L. (2021). Comparing
   recognition performance and robustness of multimodal deep learning
   models for multimodal emotion recognition. IEEE Transactions on
   Cognitive and Developmental Systems, 14(2), 715-729.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._base import (
    _EmbeddingBaseline,
    _fit_self_supervised,
    _to_module_dtype,
    _transform_batches,
    _window_tokens,
)
from .fusion import _window_feature_counts

__all__ = ["cca_loss", "DCCA", "DCCAClassifier"]


def _inv_sqrtm(mat, eps=1e-9):
    """Inverse square root of a symmetric positive (semi-)definite matrix (eigh)."""
    evals, evecs = torch.linalg.eigh(mat)
    evals = evals.clamp_min(eps)
    return evecs @ torch.diag(evals.rsqrt()) @ evecs.T


def _cca_matrices(h1, h2, reg):
    """Centred, regularised covariances and the matrix T of Andrew et al. (2013).

    The quantities of the DCCA objective of Andrew et al. (2013):
    :math:`\\hat\\Sigma_{11} = \\frac{1}{m-1}\\bar H_1 \\bar H_1^\\top + r_1 I`,
    likewise :math:`\\hat\\Sigma_{22}`, :math:`\\hat\\Sigma_{12} =
    \\frac{1}{m-1}\\bar H_1 \\bar H_2^\\top` and :math:`T = \\hat\\Sigma_{11}^{-1/2}
    \\hat\\Sigma_{12} \\hat\\Sigma_{22}^{-1/2}`; here samples are rows,
    ``h1`` ``(m, o1)``, ``h2`` ``(m, o2)``.
    """
    m = h1.shape[0]
    if m < 2:
        raise ValueError(f"CCA needs at least 2 samples per batch, got {m}.")
    h1 = h1 - h1.mean(dim=0, keepdim=True)
    h2 = h2 - h2.mean(dim=0, keepdim=True)
    eye1 = torch.eye(h1.shape[1], dtype=h1.dtype, device=h1.device)
    eye2 = torch.eye(h2.shape[1], dtype=h2.dtype, device=h2.device)
    s11 = h1.T @ h1 / (m - 1) + reg * eye1
    s22 = h2.T @ h2 / (m - 1) + reg * eye2
    s12 = h1.T @ h2 / (m - 1)
    s11_is, s22_is = _inv_sqrtm(s11), _inv_sqrtm(s22)
    return s11_is, s22_is, s11_is @ s12 @ s22_is


def cca_loss(h1, h2, n_components=None, reg=1e-3):
    """Negative total canonical correlation of two views (DCCA loss).

    The DCCA objective of Andrew et al. (2013): the total correlation of the
    top ``k`` canonical components is the sum of the ``k`` largest singular
    values of :math:`T` (for ``k = o``, the trace norm
    :math:`\\operatorname{corr}(H_1, H_2) = \\|T\\|_{tr} =
    \\operatorname{tr}((T^\\top T)^{1/2})`); its negative is minimised. The
    singular values are computed with ``torch.linalg.svdvals``, whose
    gradient autograd provides.

    Parameters
    ----------
    h1 : torch.Tensor, shape (m, o1)
        Outputs of the first view network for a batch of ``m`` samples.
    h2 : torch.Tensor, shape (m, o2)
        Outputs of the second view network.
    n_components : int | None
        Number ``k`` of canonical correlations summed (``None``: all,
        ``min(o1, o2)``).
    reg : float
        Ridge ``r1 = r2`` added to the covariances (keeps them invertible).

    Returns
    -------
    loss : torch.Tensor, scalar
        Minus the sum of the canonical correlations.
    """
    if h1.ndim != 2 or h2.ndim != 2 or h1.shape[0] != h2.shape[0]:
        raise ValueError(
            f"cca_loss needs two (m, o) matrices with the same m, got {tuple(h1.shape)} "
            f"and {tuple(h2.shape)}."
        )
    _, _, t = _cca_matrices(h1, h2, reg)
    corr = torch.linalg.svdvals(t)
    if n_components is not None:
        corr = corr[:n_components]
    return -corr.sum()


def _linear_cca(h1, h2, n_components, reg):
    """Linear CCA on trained outputs: means and projection matrices of both views.

    The canonical weights are :math:`A_1 = \\hat\\Sigma_{11}^{-1/2} U_k`,
    :math:`A_2 = \\hat\\Sigma_{22}^{-1/2} V_k` with :math:`T = U S V^\\top`
    (the linear CCA solution, as in Andrew et al., 2013): projected views have unit variance
    and pairwise correlations equal to the top singular values.
    """
    h1 = torch.as_tensor(h1, dtype=torch.float64)
    h2 = torch.as_tensor(h2, dtype=torch.float64)
    s11_is, s22_is, t = _cca_matrices(h1, h2, reg)
    u, s, vh = torch.linalg.svd(t)
    k = min(h1.shape[1], h2.shape[1]) if n_components is None else n_components
    a1 = (s11_is @ u[:, :k]).numpy()
    a2 = (s22_is @ vh.T[:, :k]).numpy()
    return (h1.mean(0).numpy(), a1), (h2.mean(0).numpy(), a2), s[:k].numpy()


class _ViewNetwork(nn.Module):
    """One DCCA view: per-window MLP (two layers, sigmoid as in Andrew et al.), window mean.

    Input ``(batch, n_windows, in_features)``; output ``(batch, n_latent)``.
    """

    def __init__(self, in_features, n_hidden, n_latent, drop_prob):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, n_hidden),
            nn.Sigmoid(),
            nn.Dropout(drop_prob),
            nn.Linear(n_hidden, n_hidden),
            nn.Sigmoid(),
            nn.Linear(n_hidden, n_latent),
        )

    def forward(self, tokens):
        return self.net(tokens).mean(dim=1)


class DCCA(nn.Module):
    """Deep CCA: one network per modality, trained on the CCA loss (Andrew et al., 2013).

    Parameters
    ----------
    modalities : dict of str to int
        The two modalities and their features per window, e.g.
        ``{"x": 310, "eye": 31}``.
    n_latent : int
        Output size ``o`` of each view network.
    n_hidden : int
        Hidden units of each view network.
    n_components : int | None
        Canonical correlations maximised (``None``: all ``n_latent``).
    reg : float
        Covariance ridge of the CCA loss.
    drop_prob : float
        Dropout probability.

    References
    ----------
    .. [1] Andrew, Arora, Bilmes & Livescu (2013), ICML.
    .. [2] Liu, Qiu, Zheng & Lu (2021), IEEE TCDS 14(2), 715-729.
    """

    def __init__(
        self, modalities, n_latent=16, n_hidden=64, n_components=None, reg=1e-3, drop_prob=0.1
    ):
        super().__init__()
        if len(modalities) != 2:
            raise ValueError(
                f"DCCA relates exactly two modalities, got `modalities`={dict(modalities)}."
            )
        self.modalities = dict(modalities)
        self.n_components = n_components
        self.reg = reg
        self.views = nn.ModuleDict(
            {k: _ViewNetwork(f, n_hidden, n_latent, drop_prob) for k, f in self.modalities.items()}
        )

    def forward(self, **X):
        """View outputs: dict modality -> ``(batch, n_latent)`` for the modalities given."""
        return {
            k: self.views[k](_window_tokens(k, _to_module_dtype(self, v)))
            for k, v in X.items()
            if k in self.views
        }

    def loss(self, **X):
        """DCCA loss (:func:`cca_loss`) of a batch holding both modalities."""
        h1, h2 = (self.forward(**X)[k] for k in self.modalities)
        return cca_loss(h1, h2, self.n_components, self.reg)


class DCCAClassifier(_EmbeddingBaseline):
    """DCCA + classifier on the canonical projections (Liu, Qiu, Zheng & Lu, 2021).

    ``fit`` trains :class:`DCCA` on the two modalities of X (no labels),
    computes linear CCA on the training outputs, then fits ``classifier``
    on the projection of ``train_modalities`` (mean of the two projections
    when both are given). Prediction uses the projection of
    ``test_modalities``: train on ``["x"]`` and test on ``["eye"]`` for the
    cross-modal setting.

    Parameters
    ----------
    train_modalities, test_modalities : list of str | None
        ``None``: all modalities of X.
    n_latent, n_hidden, n_components, reg, drop_prob :
        See :class:`DCCA`.
    classifier : estimator | None
        Fitted on the projections (``None``: StandardScaler + logistic
        regression).
    max_epochs, batch_size, lr, weight_decay :
        skorch / AdamW training settings (batches must be larger than
        ``n_latent``; the last incomplete batch of an epoch is dropped).
    random_state : int | None
        Seeds torch and numpy before fitting.
    device : str
        torch device.
    verbose : int
        skorch verbosity.

    Attributes
    ----------
    module_ : DCCA
    correlations_ : ndarray
        Canonical correlations of the training outputs.
    """

    def __init__(
        self,
        train_modalities=None,
        test_modalities=None,
        n_latent=16,
        n_hidden=64,
        n_components=None,
        reg=1e-3,
        drop_prob=0.1,
        classifier=None,
        max_epochs=30,
        batch_size=128,
        lr=1e-3,
        weight_decay=1e-2,
        random_state=None,
        device="cpu",
        verbose=0,
    ):
        self.train_modalities = train_modalities
        self.test_modalities = test_modalities
        self.n_latent = n_latent
        self.n_hidden = n_hidden
        self.n_components = n_components
        self.reg = reg
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
        if len(Xs) != 2:
            raise ValueError(
                f"DCCAClassifier needs X with exactly two modalities, got {sorted(Xs)}."
            )
        mods = _window_feature_counts(Xs)
        self.module_ = DCCA(
            mods, self.n_latent, self.n_hidden, self.n_components, self.reg, self.drop_prob
        )
        self.net_ = _fit_self_supervised(self, self.module_, Xs, iterator_train__drop_last=True)
        (k1, k2) = list(mods)
        h = {k: self._outputs(k, Xs[k]) for k in mods}
        (m1, a1), (m2, a2), self.correlations_ = _linear_cca(
            h[k1], h[k2], self.n_components, self.reg
        )
        self.projections_ = {k1: (m1, a1), k2: (m2, a2)}

    def _outputs(self, key, arr):
        self.module_.eval()
        return _transform_batches(
            lambda **b: self.module_(**b)[key], {key: arr}, device=self.device
        )

    def _embed(self, Xs):
        Z = [
            (self._outputs(k, v) - self.projections_[k][0]) @ self.projections_[k][1]
            for k, v in Xs.items()
        ]
        return np.mean(Z, axis=0)
