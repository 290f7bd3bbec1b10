"""Cross-modal contrastive predictive coding (Cross-CPC) baseline.

Per modality, an encoder maps each window to a latent :math:`z_t` and an
autoregressive GRU summarises :math:`z_{\\le t}` into a context :math:`c_t`.
Each modality's context predicts, through one linear map per step
:math:`k`, the future latents :math:`z_{t+k}` of the *other* modality
(weight 1) and of its own (weight 0.1), scored with InfoNCE over the batch
(Xia et al., 2023, Cross-CPC; van den Oord et al., 2018, Eq. 4). A classifier
is then fitted on the window-mean latents of the training modalities and
applied to those of the test modalities (cross-modal: another modality).

Unlike Xia et al., who sample one time step per batch, every valid time step
of a sample is used (the loss is averaged over them), and the unified
codebook of their full model is not part of this baseline.

References
----------
.. [1] Xia, Y., Huang, H., Zhu, J., & Zhao, Z. (2023). Achieving cross modal
   generalization with multimodal unified representation. NeurIPS 36.
.. [2] van den Oord, A., Li, Y., & Vinyals, O. (2018). Representation
   learning with contrastive predictive coding. arXiv:1807.03748.
"""

from __future__ import annotations

import torch
from torch import nn

from ..modules.contrastive import info_nce
from ._base import (
    _EmbeddingBaseline,
    _fit_self_supervised,
    _to_module_dtype,
    _transform_batches,
    _window_tokens,
)
from .fusion import _window_feature_counts

__all__ = ["cross_cpc_loss", "CrossCPC", "CrossCPCClassifier"]


def cross_cpc_loss(latents, contexts, predictors, n_steps, self_weight=0.1):
    """Cross-CPC loss of Xia et al. (2023): every context predicts every modality's future.

    .. math::

        \\mathcal{L} = \\sum_{s}\\sum_{m} w_{sm}\\,
        \\frac{1}{|\\mathcal{K}|}\\sum_{(k, t)\\in\\mathcal{K}}
        \\mathrm{InfoNCE}\\big(z^{m}_{t+k},\\, W^{s\\to m}_k c^{s}_t\\big),
        \\qquad w_{sm} = 1 \\ (s \\ne m),\\ w_{ss} = \\text{self\\_weight},

    with :math:`\\mathcal{K} = \\{(k, t): 1 \\le k \\le K, 0 \\le t < T - k\\}`.

    Parameters
    ----------
    latents : dict of str to torch.Tensor
        Per modality ``(n, T, d)`` window latents.
    contexts : dict of str to torch.Tensor
        Per modality ``(n, T, h)`` GRU contexts.
    predictors : mapping
        ``predictors[f"{source}->{target}"][k - 1]`` maps ``(..., h) -> (..., d)``.
    n_steps : int
        Steps ``K`` ahead.
    self_weight : float
        Weight of a modality predicting its own future.

    Returns
    -------
    loss : torch.Tensor, scalar
    """
    total = 0.0
    for source, context in contexts.items():
        for target, latent in latents.items():
            weight = self_weight if source == target else 1.0
            if weight == 0:
                continue
            heads = predictors[f"{source}->{target}"]
            # per step k, all start times at once: (T - k, n, d) against (T - k, n, d)
            # InfoNCE of each prediction against the batch's targets (van den Oord et
            # al., 2018, Eqs. 3-4), all start times of step k at once: (T - k, n, n)
            terms = torch.stack(
                [
                    -info_nce(
                        heads[k - 1](context[:, :-k]).transpose(0, 1)
                        @ latent[:, k:].permute(1, 2, 0)
                    )[0].mean()
                    for k in range(1, n_steps + 1)
                ]
            )
            weights = torch.tensor(
                [latent.shape[1] - k for k in range(1, n_steps + 1)],
                dtype=terms.dtype,
                device=terms.device,
            )
            total = total + weight * (terms * weights).sum() / weights.sum()
    return total


class CrossCPC(nn.Module):
    """Cross-CPC network: per-modality window encoder + GRU context + cross predictors.

    Parameters
    ----------
    modalities : dict of str to int
        Features per window of each modality (two or more), e.g.
        ``{"x": 310, "eye": 31}``.
    n_latent : int
        Latent size ``d`` per window.
    n_context : int
        GRU context size ``h``.
    n_hidden : int
        Hidden units of the window encoder.
    n_steps : int
        Future steps predicted (``K``); samples need more than ``K`` windows.
    self_weight : float
        Weight of the own-modality prediction terms (0.1 in Xia et al.).
    drop_prob : float
        Dropout probability in the encoders.

    References
    ----------
    .. [1] Xia, Huang, Zhu & Zhao (2023), NeurIPS 36.
    .. [2] van den Oord, Li & Vinyals (2018), arXiv:1807.03748.
    """

    def __init__(
        self,
        modalities,
        n_latent=32,
        n_context=32,
        n_hidden=64,
        n_steps=2,
        self_weight=0.1,
        drop_prob=0.1,
    ):
        super().__init__()
        if len(modalities) < 2:
            raise ValueError(f"CrossCPC needs at least two modalities, got {dict(modalities)}.")
        self.modalities = dict(modalities)
        self.n_steps = n_steps
        self.self_weight = self_weight
        self.encoders = nn.ModuleDict(
            {
                k: nn.Sequential(
                    nn.Linear(f, n_hidden),
                    nn.GELU(),
                    nn.Dropout(drop_prob),
                    nn.Linear(n_hidden, n_latent),
                )
                for k, f in self.modalities.items()
            }
        )
        self.contexts = nn.ModuleDict(
            {k: nn.GRU(n_latent, n_context, batch_first=True) for k in self.modalities}
        )
        self.predictors = nn.ModuleDict(
            {
                f"{s}->{t}": nn.ModuleList(nn.Linear(n_context, n_latent) for _ in range(n_steps))
                for s in self.modalities
                for t in self.modalities
            }
        )

    def latents_and_contexts(self, **X):
        """Window latents ``(n, T, d)`` and contexts ``(n, T, h)`` per given modality."""
        z = {
            k: self.encoders[k](_window_tokens(k, _to_module_dtype(self, v)))
            for k, v in X.items()
            if k in self.encoders
        }
        c = {k: self.contexts[k](v)[0] for k, v in z.items()}
        return z, c

    def forward(self, **X):
        """Window-mean latents: dict modality -> ``(n, d)``."""
        z, _ = self.latents_and_contexts(**X)
        return {k: v.mean(dim=1) for k, v in z.items()}

    def loss(self, **X):
        """:func:`cross_cpc_loss` of a batch holding all modalities."""
        z, c = self.latents_and_contexts(**X)
        n_windows = next(iter(z.values())).shape[1]
        if n_windows <= self.n_steps:
            raise ValueError(
                f"Cross-CPC predicts {self.n_steps} windows ahead; samples need more "
                f"windows, got {n_windows}."
            )
        return cross_cpc_loss(z, c, self.predictors, self.n_steps, self.self_weight)


class CrossCPCClassifier(_EmbeddingBaseline):
    """Cross-CPC pretraining + classifier on pooled latents; cross-modal capable.

    ``fit`` trains :class:`CrossCPC` on all modalities of X (no labels), then
    fits ``classifier`` on the window-mean latents of ``train_modalities``
    (their mean over modalities when several); prediction uses the latents
    of ``test_modalities``.

    Parameters
    ----------
    train_modalities, test_modalities : list of str | None
        ``None``: all modalities of X.
    n_latent, n_context, n_hidden, n_steps, self_weight, drop_prob :
        See :class:`CrossCPC`.
    classifier : estimator | None
        Fitted on the pooled latents (``None``: StandardScaler + logistic
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
        n_latent=32,
        n_context=32,
        n_hidden=64,
        n_steps=2,
        self_weight=0.1,
        drop_prob=0.1,
        classifier=None,
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
        self.n_latent = n_latent
        self.n_context = n_context
        self.n_hidden = n_hidden
        self.n_steps = n_steps
        self.self_weight = self_weight
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
                f"CrossCPCClassifier needs X with two or more modalities, got {sorted(Xs)}."
            )
        mods = _window_feature_counts(Xs)
        self.module_ = CrossCPC(
            mods,
            self.n_latent,
            self.n_context,
            self.n_hidden,
            self.n_steps,
            self.self_weight,
            self.drop_prob,
        )
        self.net_ = _fit_self_supervised(self, self.module_, Xs, iterator_train__drop_last=True)

    def _embed(self, Xs):
        self.module_.eval()
        return _transform_batches(
            lambda **b: torch.stack(list(self.module_(**b).values())).mean(dim=0),
            Xs,
            device=self.device,
        )
