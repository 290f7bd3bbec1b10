# Authors: braindecode-m2s developers
#
# The training objectives of M2S (Liu, Cai, Lu & Zheng, AAAI 2025). Reference
# implementation (MIT): GitHub Arcee-LYK/Multi-to-Single, M2S_demo_code/
# pretrain.py (``train_epoch``: contrastive + CPC + reconstruction + 0.3 CLUB)
# and M2S.py; our own code.
#
# License: BSD (3-clause)
"""The stage-1 objective of M2S and the joint variant's criterion.

- :func:`pretraining_loss`: the self-supervised objective of stage 1,
  :math:`w_{clip}\\mathcal L_{CLIP} + w_{cpc}\\mathcal L_{M2M CPC} +
  w_{rec}\\sum_m \\mathrm{MSE}(\\hat v^m, v^m) + w_{club}\\sum_m \\hat
  I_{CLUB}(\\mathrm{ER}^m; \\mathrm{EI}^m)` with the reference's weights
  1, 1, 0.1, 0.3 (:data:`REFERENCE_WEIGHTS`);
- :func:`club_likelihood_loss`: what CLUB's own optimiser minimises;
- :class:`M2SJointLoss`: cross-entropy plus the stage-1 terms, the criterion
  of the joint (one-stage) variant under a plain ``braindecode.EEGClassifier``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "REFERENCE_WEIGHTS",
    "REFERENCE_CLUB_STEPS",
    "pretraining_loss",
    "club_likelihood_loss",
    "M2SJointLoss",
    "check_weights",
]

#: The stage-1 terms and the reference's weights (``pretrain.py``): the one
#: source of both estimators' defaults.
REFERENCE_WEIGHTS = {"clip": 1.0, "cpc": 1.0, "recon": 0.1, "club": 0.3}

#: CLUB's own optimiser steps per batch in the reference (``mi_first_forward``).
REFERENCE_CLUB_STEPS = 3


def check_weights(weights, where="M2S"):
    """Validate stage-1 term weights: finite numbers >= 0, known terms only."""
    unknown = sorted(set(weights) - set(REFERENCE_WEIGHTS))
    if unknown:
        raise ValueError(
            f"{where}: unknown loss term {unknown[0]!r}; the terms are {list(REFERENCE_WEIGHTS)}."
        )
    for name, value in weights.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not value >= 0
            or value == float("inf")
        ):
            raise ValueError(
                f"{where}: {name}_weight must be a finite number >= 0; got {value!r}."
            )
    return {**REFERENCE_WEIGHTS, **{k: float(v) for k, v in weights.items()}}


def pretraining_loss(model, parts, weights=None, fit_club=True, generator=None):
    """Stage-1 objective of M2S on one batch (no labels).

    :math:`w_{clip}\\mathcal L_{CLIP} + w_{cpc}\\mathcal L_{M2M CPC} +
    w_{rec}\\sum_m \\mathrm{MSE}(\\hat v^m, v^m) + w_{club}\\sum_m \\hat
    I_{CLUB}(\\mathrm{ER}^m; \\mathrm{EI}^m)`, plus, with ``fit_club``,
    CLUB's own likelihood fit :math:`-\\sum_m \\log q^m` (its gradient
    reaches only the CLUB networks; :meth:`CLUB.training_loss`). Terms
    whose weight is 0 are not computed.

    Parameters
    ----------
    model : M2S
        The model whose heads (projections, CLIP alignment, M2M CPC, EI
        encoders, decoders, CLUB) compute the terms.
    parts : dict
        :meth:`M2S.encode`'s output for the batch (two or more modalities
        for CLIP and cross-modal CPC).
    weights : dict | None
        ``{"clip", "cpc", "recon", "club"}``; None: the model's
        ``ssl_weights``.
    fit_club : bool
        Add CLUB's likelihood fit (single-step scheme); False when the CLUB
        networks take their own optimiser steps
        (:class:`~braindecode_m2s.M2MCPCPretrainer`'s ``club_steps``).
    generator : torch.Generator | None
        Source of the random draws (CPC's context end, CLUB's negative
        pairs); None: torch's global generator.

    Returns
    -------
    loss : torch.Tensor
        Scalar objective.
    record : dict of str -> torch.Tensor
        Detached scalars: ``clip_loss``, ``cpc_loss``, ``recon_loss``,
        ``club_mi``, ``club_nll``, and ``clip_acc_<a>-><b>`` /
        ``cpc_acc_<a>-><b>`` retrieval accuracies, for the terms computed.
    """
    w = dict(model.ssl_weights if weights is None else {**model.ssl_weights, **weights})
    any_er = next(iter(parts.values()))["er"]
    loss = any_er.new_zeros(())
    record = {}
    if w["clip"] > 0 and len(parts) > 1:
        clip, acc = model.alignment({m: model.project(m, p["er"]) for m, p in parts.items()})
        loss = loss + w["clip"] * clip
        record["clip_loss"] = clip.detach()
        record.update({f"clip_acc_{a}->{b}": v for (a, b), v in acc.items()})
    if w["cpc"] > 0 and any_er.shape[1] >= 2:
        cpc = model.cpc({m: p["er"] for m, p in parts.items()}, generator=generator)
        loss = loss + w["cpc"] * cpc.loss
        record["cpc_loss"] = cpc.loss.detach()
        record.update({f"cpc_acc_{a}->{b}": v for (a, b), v in cpc.accuracies.items()})
    if w["recon"] > 0 or w["club"] > 0:
        recon = mi = nll = any_er.new_zeros(())
        for m, p in parts.items():
            ei = model.ei_encoders[m](p["input"])
            if w["recon"] > 0:
                recon = recon + F.mse_loss(model.decoders[m](p["er"], ei), p["input"])
            if w["club"] > 0:
                permutation = torch.randperm(ei.shape[0], generator=generator).to(ei.device)
                bound, fit = model.club[m].training_loss(p["er"], ei, permutation)
                mi, nll = mi + bound, nll + fit
        if w["recon"] > 0:
            loss = loss + w["recon"] * recon
            record["recon_loss"] = recon.detach()
        if w["club"] > 0:
            loss = loss + w["club"] * mi + (nll if fit_club else 0.0)
            record["club_mi"] = mi.detach()
            record["club_nll"] = nll.detach()
    return loss, record


def club_likelihood_loss(model, features):
    """Minus CLUB's log-likelihood of detached ER / EI features, summed over modalities.

    What the reference's separate CLUB optimiser minimises
    (``mi_first_forward`` in ``pretrain.py``, three steps per batch).

    Parameters
    ----------
    model : M2S
        Its ``club`` networks.
    features : dict of str -> (torch.Tensor, torch.Tensor)
        Detached ``(er, ei)`` per modality.
    """
    return sum(-model.club[m].log_likelihood(er, ei) for m, (er, ei) in features.items())


class M2SJointLoss(nn.Module):
    """Cross-entropy plus the stage-1 terms: the joint variant's criterion.

    The one-stage alternative to the authors' two stages, for a plain
    ``braindecode.EEGClassifier``: the module must return its features
    (``M2S(..., return_features=True)``); then, on a training batch with two
    or more modalities, the loss is

    .. math::

        \\mathrm{CE}(\\hat y, y) + \\mathcal L_{stage 1},

    the stage-1 terms (:func:`pretraining_loss`, the module's
    ``clip_weight`` ... ``club_weight``) computed from the features the
    forward pass returned. A plain logits tensor (or a batch with one
    modality, or eval mode) gives the cross-entropy alone. ::

        net = EEGClassifier(M2S(n_chans=62, n_outputs=4, return_features=True),
                            criterion=M2SJointLoss, optimizer=torch.optim.AdamW)

    Parameters
    ----------
    reduction : str
        Of the cross-entropy, as :class:`torch.nn.CrossEntropyLoss`
        (``"mean"``); the stage-1 terms are batch means.

    Notes
    -----
    The criterion reaches the module's heads through the features (the
    module returns a reference to itself under ``"module"`` only when asked
    for features in training mode), so no state is written anywhere.
    """

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, y_pred, y_true):
        logits, features = y_pred if isinstance(y_pred, tuple) else (y_pred, {})
        loss = F.cross_entropy(logits, y_true, reduction=self.reduction)
        module = features.get("module")
        parts = features.get("parts")
        if module is not None and parts is not None and len(parts) > 1:
            loss = loss + pretraining_loss(module, parts)[0]
        return loss
