# Authors: braindecode-m2s developers
#
# Global cross-modal contrast of Liu, Cai, Lu & Zheng (2025), AAAI 39(2),
# after CLIP (Radford et al., 2021). Reference implementation (MIT): GitHub
# Arcee-LYK/Multi-to-Single, M2S_demo_code/M2S.py (``logit_scale`` and the
# symmetric cross-entropy in pretrain.py); our own code, all pairs of M >= 2.
#
# License: BSD (3-clause)
"""CLIP-style alignment of the modalities' pooled embeddings."""

from __future__ import annotations

import math
from itertools import combinations

import torch
from torch import nn
from torch.nn import functional as F

from .contrastive import info_nce

__all__ = ["CLIPAlignment"]


class CLIPAlignment(nn.Module):
    """Symmetric InfoNCE between the normalised embeddings of every modality pair.

    For two modalities :math:`a, b` with L2-normalised embeddings
    :math:`u_i, v_j` of the samples of a batch, the logits are
    :math:`\\ell_{ij} = e^{\\tau} u_i^\\top v_j` with a learnable log scale
    :math:`\\tau` (initialised at :math:`\\log(1/0.07)`), and

    .. math::

        \\mathcal{L}_{ab} = \\tfrac12 \\big(\\mathrm{CE}(\\ell, I) +
        \\mathrm{CE}(\\ell^\\top, I)\\big),

    the matching sample being the positive. With M modalities the loss is
    the mean of :math:`\\mathcal{L}_{ab}` over all pairs (the reference has
    one pair). The scale :math:`e^{\\tau}` is clipped at ``max_scale`` (100, as
    CLIP does; the reference does not clip).

    Parameters
    ----------
    init_temperature : float
        Initial temperature, :math:`e^{-\\tau}` (0.07).
    max_scale : float
        Upper bound of :math:`e^{\\tau}`.

    References
    ----------
    .. [clip] Radford, A. et al. (2021). Learning transferable visual models
       from natural language supervision. ICML.
    .. [m2s] Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025).
       Multi-to-Single. AAAI 39(2), 1438-1446.
    """

    def __init__(self, init_temperature: float = 0.07, max_scale: float = 100.0):
        super().__init__()
        if not init_temperature > 0:
            raise ValueError(f"init_temperature must be positive; got {init_temperature!r}.")
        self.max_scale = float(max_scale)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))

    def logits(self, u, v):
        """Scaled cosine similarities ``(batch_u, batch_v)`` of raw embeddings."""
        scale = self.logit_scale.exp().clamp(max=self.max_scale)
        return scale * F.normalize(u, dim=-1) @ F.normalize(v, dim=-1).transpose(0, 1)

    def forward(self, embeddings):
        """Mean symmetric InfoNCE over all modality pairs.

        Parameters
        ----------
        embeddings : dict of str -> torch.Tensor
            ``(batch, dim)`` per modality (two or more), not yet normalised.

        Returns
        -------
        loss : torch.Tensor
            Scalar loss (zero when fewer than two modalities are given).
        accuracies : dict of (str, str) -> torch.Tensor
            Retrieval accuracy of each ordered pair: share of samples of the
            first modality whose most similar sample of the second is their
            own.
        """
        names = list(embeddings)
        any_value = next(iter(embeddings.values()))
        loss = any_value.new_zeros(())
        accuracies = {}
        pairs = list(combinations(names, 2))
        for a, b in pairs:
            logits = self.logits(embeddings[a], embeddings[b])
            log_ab, hit_ab = info_nce(logits)
            log_ba, hit_ba = info_nce(logits.transpose(0, 1))
            loss = loss - (log_ab.mean() + log_ba.mean()) / 2
            accuracies[(a, b)] = hit_ab.float().mean().detach()
            accuracies[(b, a)] = hit_ba.float().mean().detach()
        if pairs:
            loss = loss / len(pairs)
        return loss, accuracies
