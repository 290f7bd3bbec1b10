# Authors: braindecode-m2s developers
#
# License: BSD (3-clause)
"""InfoNCE, the contrastive term shared by CLIP-style alignment and M2M CPC."""

from __future__ import annotations

import torch

__all__ = ["info_nce"]


def info_nce(scores):
    """Log-probability of the matching column of every row of a score matrix.

    The one InfoNCE of the package: CLIP-style alignment, M2M CPC and the
    Cross-CPC baseline all call it (each builds its own scores).

    InfoNCE (van den Oord et al., 2018) with in-batch negatives: row
    :math:`i` of ``scores`` holds :math:`s_{ij}`, the similarity of anchor
    :math:`i` to candidate :math:`j`, and the positive of row :math:`i` is
    column :math:`i`:

    .. math::

        \\log p_i = s_{ii} - \\log \\sum_j \\exp s_{ij}.

    CLIP-style alignment (:class:`~braindecode_m2s.CLIPAlignment`) averages
    it over both directions of a pair; M2M CPC
    (:class:`~braindecode_m2s.M2MCPC`) scores every target against the
    batch's predictions (the reference's softmax over predictions); the
    Cross-CPC baseline every prediction against the batch's targets.

    Parameters
    ----------
    scores : torch.Tensor
        ``(..., batch, batch)`` similarities, anchors on rows; leading
        dimensions are independent score matrices.

    Returns
    -------
    log_prob : torch.Tensor
        ``(..., batch)`` log-probability of the matching candidate; minus
        its mean is the InfoNCE loss.
    correct : torch.Tensor
        ``(..., batch)`` bool: the matching candidate scores highest
        (retrieval accuracy).
    """
    log_prob = torch.log_softmax(scores, dim=-1).diagonal(dim1=-2, dim2=-1)
    index = torch.arange(scores.shape[-1], device=scores.device)
    return log_prob, scores.argmax(-1) == index
