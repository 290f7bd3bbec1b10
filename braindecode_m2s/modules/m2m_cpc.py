# Authors: braindecode-m2s developers
#
# Multi-to-Multi Contrastive Predictive Coding (M2M CPC) of Liu, Cai, Lu &
# Zheng (2025), AAAI 39(2). Reference implementation (MIT): GitHub
# Arcee-LYK/Multi-to-Single, M2S_demo_code/M2MCPC.py, written for two
# modalities; this is our own implementation, generalised to M >= 2.
#
# License: BSD (3-clause)
"""M2M CPC: the contexts of all modalities predict every modality's future."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .contrastive import info_nce

__all__ = ["M2MCPC", "M2MCPCOutput"]


@dataclass
class M2MCPCOutput:
    """What :class:`M2MCPC` returns.

    Attributes
    ----------
    loss : torch.Tensor
        Scalar M2M CPC loss (weighted InfoNCE, Eq. of M2M CPC in Liu et al.).
    pair_losses : dict of (str, str) -> torch.Tensor
        InfoNCE of every (predictor modality, target modality) pair, averaged
        over prediction steps, unweighted.
    accuracies : dict of (str, str) -> torch.Tensor
        Share of targets whose own prediction scores highest in the batch.
    contexts : dict of str -> torch.Tensor
        Context :math:`c_t` of every present modality, ``(batch,
        context_dim)``.
    t : int
        The sampled last context window.
    """

    loss: torch.Tensor
    pair_losses: dict = field(default_factory=dict)
    accuracies: dict = field(default_factory=dict)
    contexts: dict = field(default_factory=dict)
    t: int = 0


class M2MCPC(nn.Module):
    """Multi-to-Multi Contrastive Predictive Coding over M >= 2 modalities.

    Implements M2M CPC of Liu et al. (2025), generalised from two to any
    number of modalities:

    - a random last context window :math:`t` is drawn,
      :math:`t \\in [\\min(s, T-1-K), T-1-K]` with :math:`s` = ``min_start``
      and :math:`K` = ``n_steps`` (clipped to :math:`T-1`), so with
      :math:`T = 5, K = 2, s = 1` as in the reference, :math:`t \\in \\{1, 2\\}`;
    - every modality :math:`m` runs an autoregressive LSTM over its latents
      :math:`z^m_{0..t}`, giving a context :math:`c^m_t`;
    - for every modality :math:`n` and step :math:`k`, a linear predictor
      reads the concatenation of *all* contexts (its own first, then the
      others in a fixed order; a modality missing from the batch contributes
      zeros): :math:`\\hat z^n_{t+k} = W^n_k [c^n_t; c^{m \\ne n}_t]`;
    - every target :math:`z^m_{t+k}` is scored against every prediction
      :math:`\\hat z^n_{t+k}` of the batch (InfoNCE with the softmax over the
      batch's predictions, as in the reference):

    .. math::

        \\mathcal{L} = -\\frac{1}{BK}\\sum_{k=1}^{K}\\sum_{m,n}
        w_{mn}\\sum_{i=1}^{B}\\log
        \\frac{\\exp(z^{m\\top}_{i,t+k}\\hat z^n_{i,t+k})}
        {\\sum_j \\exp(z^{m\\top}_{i,t+k}\\hat z^n_{j,t+k})},
        \\qquad w_{mn} = 1 \\;(m \\ne n),\\; 0.1 \\;(m = n).

    With two modalities this is exactly the reference's loss. A batch with
    only some of the modalities uses the present ones (with one modality,
    only the intra-modal term remains).

    Parameters
    ----------
    modalities : sequence of str
        Names of all modalities, in the order used for concatenation.
    embedding_dim : int
        Size of the latents :math:`z` (128 in the reference).
    context_dim : int
        LSTM hidden size (64 in the reference).
    n_layers : int
        LSTM layers (2 in the reference).
    n_steps : int
        Future windows predicted, :math:`K` (2 in the reference).
    min_start : int
        Smallest last context window, :math:`s` (1 in the reference).
    cross_weight, intra_weight : float
        :math:`w_{mn}` for :math:`m \\ne n` and :math:`m = n`.

    References
    ----------
    .. [m2s] Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025).
       Multi-to-Single. AAAI 39(2), 1438-1446.
    .. [cpc] van den Oord, A., Li, Y., & Vinyals, O. (2018). Representation
       learning with contrastive predictive coding. arXiv:1807.03748.
    """

    def __init__(
        self,
        modalities,
        embedding_dim: int = 128,
        context_dim: int = 64,
        n_layers: int = 2,
        n_steps: int = 2,
        min_start: int = 1,
        cross_weight: float = 1.0,
        intra_weight: float = 0.1,
    ):
        super().__init__()
        modalities = list(modalities)
        if len(modalities) < 1 or len(set(modalities)) != len(modalities):
            raise ValueError(f"M2MCPC needs distinct modality names; got {modalities!r}.")
        for name, value in dict(
            embedding_dim=embedding_dim,
            context_dim=context_dim,
            n_layers=n_layers,
            n_steps=n_steps,
        ).items():
            if int(value) != value or value < 1:
                raise ValueError(f"M2MCPC: {name} must be a positive integer; got {value!r}.")
        if int(min_start) != min_start or min_start < 0:
            raise ValueError(
                f"M2MCPC: min_start must be a non-negative integer; got {min_start!r}."
            )
        self.modalities = modalities
        self.embedding_dim = int(embedding_dim)
        self.context_dim = int(context_dim)
        self.n_steps = int(n_steps)
        self.min_start = int(min_start)
        self.cross_weight = float(cross_weight)
        self.intra_weight = float(intra_weight)
        self.contexts = nn.ModuleDict(
            {
                m: nn.LSTM(embedding_dim, context_dim, num_layers=n_layers, batch_first=True)
                for m in modalities
            }
        )
        self.predictors = nn.ModuleDict(
            {
                m: nn.ModuleList(
                    nn.Linear(context_dim * len(modalities), embedding_dim)
                    for _ in range(self.n_steps)
                )
                for m in modalities
            }
        )

    def sample_t(self, n_windows, generator=None):
        """Draw the last context window (see the class docstring).

        Parameters
        ----------
        n_windows : int
            :math:`T`, at least 2.
        generator : torch.Generator | None
            Source of randomness (None: torch's global generator).

        Returns
        -------
        t : int
        n_steps : int
            Steps actually predicted, :math:`\\min(K, T-1)`.
        """
        if n_windows < 2:
            raise ValueError(f"M2M CPC needs sequences of at least 2 windows; got {n_windows}.")
        steps = min(self.n_steps, n_windows - 1)
        high = n_windows - 1 - steps
        low = min(self.min_start, high)
        t = int(torch.randint(low, high + 1, (1,), generator=generator))
        return t, steps

    def forward(self, latents, t=None, generator=None):
        """M2M CPC loss of the given latent sequences.

        Parameters
        ----------
        latents : dict of str -> torch.Tensor
            ``(batch, n_windows, embedding_dim)`` per present modality (a
            subset of ``modalities``).
        t : int | None
            Last context window; None draws it.
        generator : torch.Generator | None
            Randomness for drawing ``t``.

        Returns
        -------
        M2MCPCOutput
        """
        if not latents:
            raise ValueError("M2MCPC got no modality.")
        unknown = sorted(set(latents) - set(self.modalities))
        if unknown:
            raise ValueError(f"M2MCPC: unknown modality {unknown[0]!r}; known: {self.modalities}.")
        shapes = {m: tuple(z.shape) for m, z in latents.items()}
        first = next(iter(latents.values()))
        if any(
            len(s) != 3
            or s[0] != first.shape[0]
            or s[1] != first.shape[1]
            or s[2] != self.embedding_dim
            for s in shapes.values()
        ):
            raise ValueError(
                f"M2MCPC expects (batch, n_windows, {self.embedding_dim}) latents with one "
                f"batch size and window count; got {shapes}."
            )
        batch, n_windows = first.shape[:2]
        if t is None:
            t, steps = self.sample_t(n_windows, generator)
        else:
            steps = min(self.n_steps, n_windows - 1 - t)
            if not 0 <= t or steps < 1:
                raise ValueError(f"M2MCPC: t={t} leaves no future window in {n_windows}.")
        present = [m for m in self.modalities if m in latents]
        contexts = {m: self.contexts[m](latents[m][:, : t + 1])[0][:, t] for m in present}
        zeros = first.new_zeros(batch, self.context_dim)
        loss = first.new_zeros(())
        pair_losses, accuracies = {}, {}
        for n in present:
            order = [n, *(m for m in self.modalities if m != n)]
            joint = torch.cat([contexts.get(m, zeros) for m in order], dim=1)
            for m in present:
                weight = self.intra_weight if m == n else self.cross_weight
                log_probs, hits = [], []
                for k in range(steps):
                    prediction = self.predictors[n][k](joint)
                    # target i against the batch's predictions (the reference's softmax)
                    scores = latents[m][:, t + 1 + k] @ prediction.transpose(0, 1)
                    log_prob, correct = info_nce(scores)
                    log_probs.append(log_prob)
                    hits.append(correct)
                pair = torch.stack(log_probs).mean()
                pair_losses[(n, m)] = -pair
                accuracies[(n, m)] = torch.stack(hits).float().mean().detach()
                loss = loss - weight * pair
        return M2MCPCOutput(loss, pair_losses, accuracies, contexts, t)
