# Authors: braindecode-m2s developers
#
# The training objectives of M2S (Liu, Cai, Lu & Zheng, AAAI 2025). Reference
# implementation (MIT): GitHub Arcee-LYK/Multi-to-Single, M2S_demo_code/
# pretrain.py (``train_epoch``: contrastive + CPC + reconstruction + 0.3 CLUB,
# ``mi_first_forward``: CLUB's own likelihood steps) and M2S.py (the heads);
# our own code.
#
# License: BSD (3-clause)
"""The stage-1 objective of M2S, and the joint variant built on it.

- :class:`M2SObjective`: the self-supervised objective of stage 1 as one
  module, holding every head that only stage 1 needs (emotion-irrelevant
  encoders, decoders, CLUB, M2M CPC, CLIP's temperature) and the paper's
  weights:

  .. math::

      \\mathcal L = w_{clip}\\mathcal L_{CLIP} + w_{cpc}\\mathcal L_{M2M CPC}
      + w_{rec}\\sum_m \\mathrm{MSE}(\\hat v^m, v^m)
      + w_{club}\\sum_m \\hat I_{CLUB}(\\mathrm{ER}^m; \\mathrm{EI}^m)

  with the reference's weights 1, 1, 0.1, 0.3 (:data:`REFERENCE_WEIGHTS`).
  :class:`~braindecode_m2s.M2MCPCPretrainer` trains an
  :class:`~braindecode_m2s.M2S` and this objective together (the objective
  is its skorch criterion).
- :class:`M2SJoint` and :class:`M2SJointLoss`: the joint (one-stage)
  variant under a plain ``braindecode.EEGClassifier``: cross-entropy plus
  the stage-1 terms on every training batch.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .modules.alignment import CLIPAlignment
from .modules.club import CLUB
from .modules.encoders import Decoder, EIEncoder
from .modules.m2m_cpc import M2MCPC
from .utils.check import check_int

__all__ = [
    "REFERENCE_WEIGHTS",
    "REFERENCE_CLUB_STEPS",
    "M2SObjective",
    "M2SJoint",
    "M2SJointLoss",
    "check_weights",
]

#: The stage-1 terms and the reference's weights (``pretrain.py``): the one
#: source of every default.
REFERENCE_WEIGHTS = {"clip": 1.0, "cpc": 1.0, "recon": 0.1, "club": 0.3}

#: CLUB's own optimiser steps per batch in the reference (``mi_first_forward``).
REFERENCE_CLUB_STEPS = 3


def check_weights(weights, where="M2SObjective"):
    """Validate stage-1 term weights: finite numbers >= 0, known terms only.

    Returns
    -------
    dict
        Every term of :data:`REFERENCE_WEIGHTS`, the given ones as floats.
    """
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
            or not math.isfinite(value)
        ):
            raise ValueError(
                f"{where}: {name}_weight must be a finite number >= 0; got {value!r}."
            )
    return {**REFERENCE_WEIGHTS, **{k: float(v) for k, v in weights.items()}}


class M2SObjective(nn.Module):
    """The stage-1 objective of M2S: its heads, the paper's terms and their weights.

    Reads the features of :class:`~braindecode_m2s.M2S` (``forward(...,
    return_features=True)``: per modality the standardised input windows
    :math:`v^m`, the emotion-related sequence :math:`\\mathrm{ER}^m` and
    the embedding :math:`e^m`) and returns the stage-1 loss (Liu et al.,
    2025, Sec. 3):

    - *CLIP-style alignment* (:class:`~braindecode_m2s.CLIPAlignment`) of
      the embeddings :math:`e^m` of every pair of modalities;
    - *M2M CPC* (:class:`~braindecode_m2s.M2MCPC`) on the ER sequences: the
      contexts of all modalities predict every modality's future windows;
    - *reconstruction*: per modality an emotion-irrelevant (EI) encoder
      (linear + ReLU per window) and a decoder
      :math:`\\hat v_t = W_r [W_e \\mathrm{ER}_t ; \\mathrm{EI}_t]`, mean
      squared error against :math:`v^m`;
    - *CLUB* (:class:`~braindecode_m2s.CLUB`) per modality: the upper bound
      of :math:`I(\\mathrm{ER}; \\mathrm{EI})`, minimised by the encoders
      (its gradient reaches the encoders only, :math:`q` held fixed), plus
      the likelihood fit :math:`-\\log q(\\mathrm{EI} \\mid \\mathrm{ER})` of
      the detached features (its gradient reaches :math:`q` only). Both are
      in the one loss returned, so a single backward pass trains the
      encoders and takes :math:`q`'s step; which optimiser steps :math:`q`
      is the trainer's choice (:class:`~braindecode_m2s.M2MCPCPretrainer`
      gives it an optimiser of its own, as the reference does).

    A term whose weight is 0 is not computed (the authors' ablations).

    Parameters
    ----------
    modalities : dict of str -> int
        Every modality of the model and its features per window
        (:attr:`M2S.input_sizes <braindecode_m2s.M2S.input_sizes>`: 310 for
        SEED's EEG, 31 for SEED-IV's eye features); the order fixes M2M
        CPC's concatenation of contexts.
    embed_dim : int
        Size of the ER features (``M2S.embed_dim``, 128).
    clip_weight, cpc_weight, recon_weight, club_weight : float
        Weights of the four terms (reference: 1, 1, 0.1, 0.3).
    cpc_context_dim, cpc_layers, cpc_steps, cpc_min_start : int
        M2M CPC's LSTM size (64) and layers (2), predicted steps (2) and
        smallest context end (1).
    club_hidden : int
        CLUB's hidden size parameter (64).
    init_temperature : float
        Initial CLIP temperature (0.07).

    Examples
    --------
    >>> model = M2S(n_chans=62, n_outputs=4)
    >>> objective = M2SObjective.for_model(model)
    >>> out = objective(model(x=eeg, eye=eye, return_features=True))
    >>> out["loss"].backward()
    """

    def __init__(
        self,
        modalities: dict,
        embed_dim: int = 128,
        clip_weight: float = REFERENCE_WEIGHTS["clip"],
        cpc_weight: float = REFERENCE_WEIGHTS["cpc"],
        recon_weight: float = REFERENCE_WEIGHTS["recon"],
        club_weight: float = REFERENCE_WEIGHTS["club"],
        cpc_context_dim: int = 64,
        cpc_layers: int = 2,
        cpc_steps: int = 2,
        cpc_min_start: int = 1,
        club_hidden: int = 64,
        init_temperature: float = 0.07,
    ):
        super().__init__()
        if not isinstance(modalities, dict) or not modalities:
            raise ValueError(
                f"M2SObjective: modalities must be a non-empty dict of name -> features per "
                f"window (M2S.input_sizes); got {modalities!r}."
            )
        for name, value in dict(
            embed_dim=embed_dim, club_hidden=club_hidden, **modalities
        ).items():
            check_int(name, value, 1, 2**16, where="M2SObjective")
        self.weights = check_weights(
            dict(clip=clip_weight, cpc=cpc_weight, recon=recon_weight, club=club_weight)
        )
        self.modalities = {m: int(n) for m, n in modalities.items()}
        names = list(self.modalities)
        self.ei_encoders = nn.ModuleDict(
            {m: EIEncoder(n, embed_dim) for m, n in modalities.items()}
        )
        self.decoders = nn.ModuleDict({m: Decoder(n, embed_dim) for m, n in modalities.items()})
        self.club = nn.ModuleDict({m: CLUB(embed_dim, embed_dim, club_hidden) for m in names})
        self.alignment = CLIPAlignment(init_temperature)
        self.cpc = M2MCPC(names, embed_dim, cpc_context_dim, cpc_layers, cpc_steps, cpc_min_start)

    @classmethod
    def for_model(cls, model, **kwargs):
        """The objective for ``model``'s modalities and sizes.

        Parameters
        ----------
        model : M2S
        **kwargs
            Other parameters of :class:`M2SObjective`.
        """
        return cls(dict(model.input_sizes), model.embed_dim, **kwargs)

    def club_parameters(self):
        """The parameters of CLUB's networks :math:`q` (their own optimiser's)."""
        return self.club.parameters()

    def forward(self, features=None, generator=None, club_inputs=None):
        """The stage-1 loss of one batch.

        Parameters
        ----------
        features : dict
            :class:`~braindecode_m2s.M2S`'s ``forward(...,
            return_features=True)`` output (its ``"modalities"``: two or
            more for CLIP and cross-modal CPC).
        generator : torch.Generator | None
            Source of the random draws (CPC's context end, CLUB's negative
            pairs); None: torch's global generator.
        club_inputs : dict | None
            Only CLUB's likelihood fit, on these detached ``(ER, EI)`` pairs
            (the ``"club_inputs"`` of an earlier call): one more step of
            :math:`q`, as the reference takes three per batch.

        Returns
        -------
        dict
            ``"loss"`` (scalar); ``"terms"``: detached scalars
            ``clip_loss``, ``cpc_loss``, ``recon_loss``, ``club_mi``,
            ``club_nll`` and the retrieval accuracies ``clip_acc_<a>-><b>``,
            ``cpc_acc_<a>-><b>`` of the terms computed; ``"club_inputs"``:
            the detached ``(ER, EI)`` of every modality (when CLUB is on).
            With ``club_inputs``: ``{"loss": -log q}`` only.
        """
        if club_inputs is not None:
            nll = sum(-self.club[m].log_likelihood(er, ei) for m, (er, ei) in club_inputs.items())
            return {"loss": nll}
        parts = features["modalities"]
        w = self.weights
        any_er = next(iter(parts.values()))["er"]
        loss = any_er.new_zeros(())
        terms, out = {}, {}
        if w["clip"] > 0 and len(parts) > 1:
            clip, acc = self.alignment({m: p["embedding"] for m, p in parts.items()})
            loss = loss + w["clip"] * clip
            terms["clip_loss"] = clip.detach()
            terms.update({f"clip_acc_{a}->{b}": v for (a, b), v in acc.items()})
        if w["cpc"] > 0 and any_er.shape[1] >= 2:
            cpc = self.cpc({m: p["er"] for m, p in parts.items()}, generator=generator)
            loss = loss + w["cpc"] * cpc.loss
            terms["cpc_loss"] = cpc.loss.detach()
            terms.update({f"cpc_acc_{a}->{b}": v for (a, b), v in cpc.accuracies.items()})
        if w["recon"] > 0 or w["club"] > 0:
            recon = mi = nll = any_er.new_zeros(())
            club_inputs = {}
            for m, p in parts.items():
                ei = self.ei_encoders[m](p["input"])
                if w["recon"] > 0:
                    recon = recon + F.mse_loss(self.decoders[m](p["er"], ei), p["input"])
                if w["club"] > 0:
                    permutation = torch.randperm(ei.shape[0], generator=generator).to(ei.device)
                    bound, fit = self.club[m].training_loss(p["er"], ei, permutation)
                    mi, nll = mi + bound, nll + fit
                    club_inputs[m] = (p["er"].detach(), ei.detach())
            if w["recon"] > 0:
                loss = loss + w["recon"] * recon
                terms["recon_loss"] = recon.detach()
            if w["club"] > 0:
                loss = loss + w["club"] * mi + nll
                terms["club_mi"] = mi.detach()
                terms["club_nll"] = nll.detach()
                out["club_inputs"] = club_inputs
        return {"loss": loss, "terms": terms, **out}


class M2SJoint(nn.Module):
    """An :class:`~braindecode_m2s.M2S` trained end to end with its stage-1 terms.

    The joint (one-stage) variant, for a plain ``braindecode.EEGClassifier``
    with :class:`M2SJointLoss`; not the authors' two-stage method (use
    :class:`~braindecode_m2s.M2SClassifier` for that)::

        net = EEGClassifier(M2SJoint(M2S(n_chans=62, n_outputs=4)),
                            criterion=M2SJointLoss, optimizer=torch.optim.AdamW)

    ``forward`` returns ``(logits, stage_one)``, skorch's convention for a
    module with extra outputs (predictions read the logits): ``stage_one`` is
    the stage-1 loss of :class:`M2SObjective` on a training batch with two
    or more modalities (with gradients enabled), else 0. CLUB's networks are
    fitted in the same backward pass (the objective's likelihood term).

    Parameters
    ----------
    model : M2S
        The model (its ``model.final_layer`` classifies).
    **objective_kwargs
        Parameters of :class:`M2SObjective` (weights, CPC and CLUB sizes).

    Attributes
    ----------
    model : M2S
    objective : M2SObjective
    """

    def __init__(self, model, **objective_kwargs):
        super().__init__()
        self.model = model
        self.objective = M2SObjective.for_model(model, **objective_kwargs)

    def forward(self, x=None, **modalities):
        features = self.model(x, return_features=True, **modalities)
        logits = self.model.classify(features["features"])
        if self.training and torch.is_grad_enabled() and len(features["modalities"]) > 1:
            return logits, self.objective(features)["loss"]
        return logits, logits.new_zeros(())


class M2SJointLoss(nn.CrossEntropyLoss):
    """Cross-entropy plus the stage-1 loss that :class:`M2SJoint` returns.

    :math:`\\mathrm{CE}(\\hat y, y) + \\mathcal L_{stage 1}` on a training
    batch with two or more modalities; the cross-entropy alone otherwise (or
    when the module returns plain logits). A
    :class:`torch.nn.CrossEntropyLoss` (its parameters, e.g. ``weight`` and
    ``label_smoothing``), so skorch's predictions apply the softmax.
    """

    def forward(self, y_pred, y_true):
        logits, stage_one = y_pred if isinstance(y_pred, tuple) else (y_pred, 0.0)
        return super().forward(logits, y_true) + stage_one
