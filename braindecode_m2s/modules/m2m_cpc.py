"""Multi-to-multi contrastive predictive coding (M2M CPC) of M2S.

Implements the second module of Liu, Cai, Lu & Zheng (AAAI 2025): every
modality's context predicts the future latents of every modality, and a
context of the fused modalities does too, with the InfoNCE loss of CPC
(van den Oord et al., 2018). With two modalities and no fused source it is
the Cross-CPC of Xia et al. (NeurIPS 2023).

For modalities :math:`\\mathcal{M}` present in a batch, latents
:math:`z^m_t \\in \\mathbb{R}^d` (one per window :math:`t`), an autoregressive
context per source :math:`s \\in \\mathcal{M} \\cup \\{F\\}`

.. math::

    c^s_t = \\mathrm{GRU}_s(z^s_{\\le t}), \\qquad
    z^F_t = \\frac{1}{|\\mathcal{M}|} \\sum_{m \\in \\mathcal{M}} z^m_t,

and for every target :math:`m \\in \\mathcal{M}` and step
:math:`k = 1..K` a linear predictor :math:`W^{s \\to m}_k`, the InfoNCE term
with the other samples of the batch as negatives (CPC, Eq. 4)

.. math::

    \\mathcal{L}^{s \\to m} = -\\frac{1}{K}\\sum_{k=1}^{K}
        \\frac{1}{T-k}\\sum_{t=1}^{T-k}
        \\log \\frac{\\exp\\big(z^{m\\top}_{b,t+k} W^{s\\to m}_k c^s_{b,t}\\big)}
        {\\sum_{j=1}^{B} \\exp\\big(z^{m\\top}_{j,t+k} W^{s\\to m}_k c^s_{b,t}\\big)}

(averaged over the batch samples :math:`b`), and the total

.. math::

    \\mathcal{L}_{M2M} = \\sum_{s \\ne m} \\lambda_{cross} \\mathcal{L}^{s\\to m}
        + \\sum_{m} \\lambda_{intra} \\mathcal{L}^{m\\to m}
        + \\sum_{m} \\lambda_{fused} \\mathcal{L}^{F\\to m}.

Every :math:`t` with a valid future is used (Cross-CPC samples one random
:math:`t`); this is our design choice, it lowers the variance of the loss and
keeps the module deterministic.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["M2MCPC", "M2MCPCOutput", "info_nce"]

FUSED = "fused"


class M2MCPCOutput(NamedTuple):
    """What :class:`M2MCPC` returns.

    Attributes
    ----------
    loss : torch.Tensor
        Scalar weighted total :math:`\\mathcal{L}_{M2M}`.
    losses : dict of (str, str) -> torch.Tensor
        InfoNCE of every (source, target) pair computed; the fused source is
        named ``"fused"``.
    accuracies : dict of (str, str) -> torch.Tensor
        Fraction of predictions whose highest score is the true future latent
        (chance is ``1 / batch_size``), per pair.
    contexts : dict of str -> torch.Tensor
        Context sequences ``(batch, n_windows, context_dim)`` per source.
    """

    loss: torch.Tensor
    losses: dict
    accuracies: dict
    contexts: dict


def info_nce(predictions, targets, temperature=None):
    """InfoNCE with in-batch negatives at each time step.

    Parameters
    ----------
    predictions : torch.Tensor
        ``(batch, n_steps, dim)``: predicted latents.
    targets : torch.Tensor
        ``(batch, n_steps, dim)``: true latents; for sample ``b`` at step
        ``t`` the positive is ``targets[b, t]`` and the negatives are
        ``targets[j, t]``, ``j != b``.
    temperature : float | None
        None: scores are dot products (CPC's bilinear score). A number
        :math:`\\tau`: scores are cosine similarities divided by
        :math:`\\tau` (as in SimCLR), which bounds them.

    Returns
    -------
    loss : torch.Tensor
        Mean cross-entropy over samples and steps.
    accuracy : torch.Tensor
        Fraction of (sample, step) whose best-scoring candidate is the
        positive.
    """
    batch, n_steps, _ = predictions.shape
    if temperature is not None:
        predictions = F.normalize(predictions, dim=-1) / temperature
        targets = F.normalize(targets, dim=-1)
    scores = torch.einsum("btd,jtd->tbj", predictions, targets)
    labels = torch.arange(batch, device=scores.device).expand(n_steps, batch)
    loss = F.cross_entropy(scores.reshape(-1, batch), labels.reshape(-1))
    accuracy = (scores.argmax(-1) == labels).float().mean()
    return loss, accuracy


class M2MCPC(nn.Module):
    """Multi-to-multi contrastive predictive coding over M >= 2 modalities.

    Implements M2M CPC of Liu et al. (AAAI 2025) as formulated in the module
    docstring: one GRU context per modality (and one for the fused latent),
    linear predictors :math:`W^{s\\to m}_k` from every source to every
    target and step, and InfoNCE with in-batch negatives.

    Parameters
    ----------
    modalities : sequence of str
        Names of the modalities (at least two, unique, not ``"fused"``).
    latent_dim : int
        Size :math:`d` of the latents of every modality.
    context_dim : int | None
        Size of the GRU contexts; None uses ``latent_dim``.
    n_steps : int
        Number :math:`K` of future windows predicted. Sequences shorter than
        ``n_steps + 1`` windows use the steps they have.
    cross_weight : float
        :math:`\\lambda_{cross}`, weight of cross-modal terms (s != m).
    intra_weight : float
        :math:`\\lambda_{intra}`, weight of intra-modal terms (s == m).
    fused_weight : float
        :math:`\\lambda_{fused}`, weight of the terms whose source is the
        fused context; 0 builds no fused context (then, with two modalities,
        this is Cross-CPC).
    temperature : float | None
        None: the score of a prediction and a candidate latent is their dot
        product, as in CPC. A number :math:`\\tau`: their cosine similarity
        divided by :math:`\\tau` (bounded scores; our option).

    Notes
    -----
    ``forward`` accepts any non-empty subset of the modalities: with one
    modality only its intra-modal term exists; the fused source is used when
    at least two are present.

    References
    ----------
    .. [cpc] van den Oord, A., Li, Y., & Vinyals, O. (2018). Representation
       learning with contrastive predictive coding. arXiv:1807.03748.
    .. [ccpc] Xia, Y., Huang, H., Zhu, J., & Zhao, Z. (2023). Achieving cross
       modal generalization with multimodal unified representation. NeurIPS.
    .. [m2s] Liu, Y., Cai, Z., Lu, B.-L., & Zheng, W.-L. (2025).
       Multi-to-Single: Reducing Multimodal Dependency in Emotion Recognition
       Through Contrastive Learning. AAAI 39(2), 1438-1446.
    """

    def __init__(
        self,
        modalities,
        latent_dim,
        context_dim=None,
        n_steps=3,
        cross_weight=1.0,
        intra_weight=0.1,
        fused_weight=1.0,
        temperature=None,
    ):
        super().__init__()
        modalities = list(modalities)
        if len(modalities) < 2 or len(set(modalities)) != len(modalities):
            raise ValueError(
                f"modalities must name at least two distinct modalities; got {modalities}."
            )
        if FUSED in modalities:
            raise ValueError(f"{FUSED!r} is reserved for the fused source; rename it.")
        if int(n_steps) < 1:
            raise ValueError(f"n_steps must be a positive integer; got {n_steps!r}.")
        for name, w in dict(
            cross_weight=cross_weight, intra_weight=intra_weight, fused_weight=fused_weight
        ).items():
            if not w >= 0:
                raise ValueError(f"{name} must be a non-negative number; got {w!r}.")
        self.modalities = modalities
        self.latent_dim = latent_dim
        self.context_dim = context_dim or latent_dim
        self.n_steps = int(n_steps)
        self.cross_weight = float(cross_weight)
        self.intra_weight = float(intra_weight)
        self.fused_weight = float(fused_weight)
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be None or positive; got {temperature!r}.")
        self.temperature = temperature
        sources = modalities + ([FUSED] if self.fused_weight > 0 else [])
        self.contexts = nn.ModuleDict(
            {s: nn.GRU(latent_dim, self.context_dim, batch_first=True) for s in sources}
        )
        self.predictors = nn.ModuleDict(
            {
                self._key(s, m): nn.Linear(
                    self.context_dim, self.n_steps * latent_dim, bias=False
                )
                for s in sources
                for m in modalities
            }
        )

    @staticmethod
    def _key(source, target):
        return f"{source}__to__{target}"

    def _weight(self, source, target):
        if source == FUSED:
            return self.fused_weight
        return self.intra_weight if source == target else self.cross_weight

    def _check(self, latents):
        if not latents:
            raise ValueError(
                f"M2MCPC needs at least one modality among {self.modalities}; got none."
            )
        unknown = sorted(set(latents) - set(self.modalities))
        if unknown:
            raise ValueError(
                f"Unknown modalities {unknown}; M2MCPC was built for {self.modalities}."
            )
        shapes = {m: tuple(z.shape) for m, z in latents.items()}
        for m, shape in shapes.items():
            if len(shape) != 3 or shape[-1] != self.latent_dim:
                raise ValueError(
                    f"Latents of {m!r} have shape {shape}; expected (batch, n_windows, "
                    f"{self.latent_dim})."
                )
        if len({s[:2] for s in shapes.values()}) != 1:
            raise ValueError(
                f"All modalities must share batch size and window count; got {shapes}."
            )
        n_windows = next(iter(shapes.values()))[1]
        if n_windows < 2:
            raise ValueError(
                f"M2MCPC predicts future windows, so sequences need at least 2 "
                f"windows; got {n_windows}."
            )

    def forward(self, latents):
        """Compute the M2M CPC loss.

        Parameters
        ----------
        latents : dict of str -> torch.Tensor
            ``(batch, n_windows, latent_dim)`` per present modality.

        Returns
        -------
        M2MCPCOutput
        """
        self._check(latents)
        present = [m for m in self.modalities if m in latents]
        sequences = {m: latents[m] for m in present}
        if len(present) >= 2 and FUSED in self.contexts:
            sequences[FUSED] = torch.stack([latents[m] for m in present]).mean(0)
        contexts = {s: self.contexts[s](z)[0] for s, z in sequences.items()}
        n_windows = next(iter(latents.values())).shape[1]
        n_steps = min(self.n_steps, n_windows - 1)
        d = self.latent_dim
        total = next(iter(latents.values())).new_zeros(())
        losses, accuracies = {}, {}
        for source, context in contexts.items():
            for target in present:
                weight = self._weight(source, target)
                if weight == 0:
                    continue
                preds = self.predictors[self._key(source, target)](context)
                loss_k, acc_k = [], []
                for k in range(1, n_steps + 1):
                    pred = preds[:, : n_windows - k, (k - 1) * d : k * d]
                    loss, acc = info_nce(pred, latents[target][:, k:], self.temperature)
                    loss_k.append(loss)
                    acc_k.append(acc)
                losses[(source, target)] = torch.stack(loss_k).mean()
                accuracies[(source, target)] = torch.stack(acc_k).mean().detach()
                total = total + weight * losses[(source, target)]
        return M2MCPCOutput(total, losses, accuracies, contexts)
