# Authors: braindecode-m2s developers
#
# Architecture after Liu, Cai, Lu & Zheng (2025), "Multi-to-Single: Reducing
# Multimodal Dependency in Emotion Recognition Through Contrastive Learning",
# AAAI 39(2), 1438-1446. No official code was published; where the paper's
# abstract is silent, the choices below are ours and are marked as such.
#
# License: BSD (3-clause)
"""The M2S model: modality encoders with STS attention, M2M CPC, one head."""

from __future__ import annotations

import math
import warnings

import torch
from braindecode.models.base import EEGModuleMixin
from torch import nn

from ..modules.frontends import SEED_IV_BANDS, BandDifferentialEntropy
from ..modules.m2m_cpc import M2MCPC
from ..modules.sts_attention import STSAttention

__all__ = ["M2S", "DEFAULT_MODALITIES", "EEG_KEY"]

#: Key of the EEG modality (braindecode's convention for the main signal).
EEG_KEY = "x"
#: Extra modalities of ``M2S`` by default: SEED-IV's 31 eye-movement features.
DEFAULT_MODALITIES = {"eye": 31}


def _sinusoidal_positions(n_windows, dim, device, dtype):
    """Sinusoidal position code (Vaswani et al., 2017), ``(n_windows, dim)``."""
    position = torch.arange(n_windows, device=device, dtype=dtype)[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=dtype) * (-math.log(1e4) / dim)
    )
    table = torch.zeros(n_windows, dim, device=device, dtype=dtype)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table


class _AuxiliaryLoss(torch.autograd.Function):
    """Attach an auxiliary loss to a network output.

    Forward returns ``output`` unchanged; backward passes the output gradient
    through and gives the auxiliary loss a gradient of one, so that any
    criterion applied to the output is trained as ``criterion + aux``. This is
    how the M2M CPC term reaches the weights under a plain
    ``EEGClassifier``, whose loss only sees the logits.
    """

    @staticmethod
    def forward(ctx, output, aux_loss):
        ctx.save_for_backward(aux_loss)
        return output.clone()

    @staticmethod
    def backward(ctx, grad_output):
        (aux_loss,) = ctx.saved_tensors
        return grad_output, torch.ones_like(aux_loss)


class _EEGEncoder(nn.Module):
    """EEG encoder: band embedding, STS attention, electrode pooling.

    ``(batch, n_chans, n_windows, n_bands)`` -> ``(batch, n_windows,
    latent_dim)``. Band features of each (electrode, window) are
    standardised (batch norm), embedded, given an electrode embedding and a
    window position code, passed through ``n_layers`` :class:`STSAttention`
    blocks (spatial + causal temporal-sparse attention: the STS attention
    module of Liu et al., 2025) and pooled over electrodes by a linear map to the
    shared latent space :math:`z_t` (our design).
    """

    def __init__(
        self, n_chans, n_bands, embed_dim, latent_dim, n_heads, top_k, n_layers,
        drop_prob, activation,
    ):
        super().__init__()
        self.norm_in = nn.BatchNorm1d(n_chans * n_bands)
        self.band_embedding = nn.Linear(n_bands, embed_dim)
        self.electrode_embedding = nn.Parameter(torch.zeros(n_chans, embed_dim))
        nn.init.normal_(self.electrode_embedding, std=0.02)
        self.blocks = nn.ModuleList(
            STSAttention(
                embed_dim, n_heads, top_k, spatial=True, causal=True,
                drop_prob=0.0, activation=activation,
            )
            for _ in range(n_layers)
        )
        self.pool = nn.Sequential(
            nn.LayerNorm(n_chans * embed_dim),
            nn.Dropout(drop_prob),
            nn.Linear(n_chans * embed_dim, latent_dim),
        )

    def forward(self, x, return_attention=False):
        batch, n_chans, n_windows, n_bands = x.shape
        h = self.norm_in(x.permute(0, 1, 3, 2).reshape(batch, n_chans * n_bands, n_windows))
        h = h.reshape(batch, n_chans, n_bands, n_windows).permute(0, 1, 3, 2)
        h = self.band_embedding(h) + self.electrode_embedding[:, None, :]
        h = h + _sinusoidal_positions(n_windows, h.shape[-1], h.device, h.dtype)
        attention = []
        for block in self.blocks:
            h, weights = block(h, return_attention=True)
            attention.append(weights)
        z = self.pool(h.permute(0, 2, 1, 3).reshape(batch, n_windows, -1))
        return (z, attention) if return_attention else z


class _SequenceEncoder(nn.Module):
    """Encoder of a non-spatial feature sequence (eye movements, peripheral).

    ``(batch, n_features, n_windows)`` -> ``(batch, n_windows, latent_dim)``:
    batch norm, a linear embedding, a window position code, ``n_layers``
    :class:`STSAttention` blocks with the spatial part off (temporal-sparse
    attention only, as the method prescribes for non-spatial modalities) and
    a linear map to the shared latent space.
    """

    def __init__(
        self, n_features, embed_dim, latent_dim, n_heads, top_k, n_layers,
        drop_prob, activation,
    ):
        super().__init__()
        self.norm_in = nn.BatchNorm1d(n_features)
        self.embedding = nn.Linear(n_features, embed_dim)
        self.blocks = nn.ModuleList(
            STSAttention(
                embed_dim, n_heads, top_k, spatial=False, causal=True,
                drop_prob=0.0, activation=activation,
            )
            for _ in range(n_layers)
        )
        self.pool = nn.Sequential(
            nn.LayerNorm(embed_dim), nn.Dropout(drop_prob), nn.Linear(embed_dim, latent_dim)
        )

    def forward(self, x, return_attention=False):
        h = self.embedding(self.norm_in(x).transpose(1, 2))
        h = h + _sinusoidal_positions(h.shape[1], h.shape[-1], h.device, h.dtype)
        h = h[:, None]
        attention = []
        for block in self.blocks:
            h, weights = block(h, return_attention=True)
            attention.append(weights)
        z = self.pool(h[:, 0])
        return (z, attention) if return_attention else z


class M2S(EEGModuleMixin, nn.Module):
    """Multi-to-Single (M2S) multimodal emotion recognition model.

    Trains with several modalities and predicts from any subset of them,
    a single one included, as Liu, Cai, Lu & Zheng (2025) propose: one
    encoder per modality with STS attention maps every window into one
    shared latent space; Multi-to-Multi CPC (:class:`~braindecode_m2s.M2MCPC`)
    aligns and fuses the modalities there; one classifier head reads the
    (fused or single-modality) pooled latent.

    .. rubric:: Inputs

    ``forward(x=None, **modalities)`` takes any non-empty subset of the
    modalities, as keyword arguments (skorch calls ``module(**X)`` for a
    ``SliceDict`` ``X``) or ``x`` positionally (a plain EEG array):

    - ``x``: EEG, either differential-entropy (or other band) feature
      sequences ``(batch, n_chans, n_windows, n_bands)``, as SEED distributes
      them (62 x n x 5), or braindecode's raw windows ``(batch, n_chans,
      n_times)``, turned into DE sequences by
      :class:`~braindecode_m2s.modules.BandDifferentialEntropy` (needs
      ``sfreq``; one feature window per ``window_seconds``).
    - every other modality named in ``modalities``: feature sequences
      ``(batch, n_features, n_windows)``, e.g. ``eye=`` SEED-IV eye-movement
      features (31 per window).

    All given modalities must share the batch size and the number of
    windows. At test time EEG alone, another modality alone (no ``x`` at
    all) or any combination is fine.

    .. rubric:: Architecture

    - *EEG encoder*: per-window band embedding + electrode embedding,
      ``n_layers`` STS attention blocks (spatial attention across
      electrodes, causal top-k temporal attention across windows), a linear
      pooling over electrodes to latents :math:`z^{x}_t \\in \\mathbb{R}^d`.
    - *Other encoders*: the temporal-sparse part only, to :math:`z^m_t`.
    - *Fusion* (our design): the mean of the present modalities' latents,
      :math:`z^F_t = \\frac{1}{|M|}\\sum_m z^m_t`, which stays in the shared
      space, so a single modality's latent is read by the same head.
    - *Head*: mean over windows, dropout, ``final_layer`` (linear).
    - *Training objective* (with two or more modalities in a batch, in
      training mode): the criterion on the output (cross-entropy under
      ``EEGClassifier``) plus ``cpc_weight`` times the M2M CPC loss of the
      present modalities, plus ``distill_weight`` times a self-distillation
      term, :math:`\\sum_m \\mathrm{KL}(p_F \\Vert p_m)` between the
      (stopped-gradient) prediction of the fusion and of each single
      modality. The auxiliary terms reach the weights through the output
      (an autograd hook), so a plain ``EEGClassifier`` trains the full
      objective; its logged ``train_loss`` shows the criterion only, while
      :class:`~braindecode_m2s.M2SClassifier` logs the full objective and
      the CPC accuracies.
    - *Modality dropout* (our design): in training, each sample keeps only
      one of its modalities with probability ``modality_dropout``, so the
      head learns to read single-modality latents too.

    Parameters
    ----------
    n_bands : int
        Band features per electrode and window of DE input (5 for SEED).
        For raw input it is set by ``bands``.
    modalities : dict of str -> int | None
        Extra (non-EEG) modalities and their feature counts; default
        ``{"eye": 31}`` (SEED-IV eye movements). Use e.g. ``{"eye": 33}``
        for SEED-V, ``{"peripheral": n}`` for DEAP, ``{"ecg": n}`` for
        DREAMER.
    embed_dim : int
        Token size inside the encoders.
    latent_dim : int
        Size :math:`d` of the shared latent space.
    n_heads : int
        Attention heads; must divide ``embed_dim``.
    top_k : int
        Windows each query keeps in the temporal-sparse attention.
    n_layers : int
        STS attention blocks per encoder.
    cpc_steps : int
        Future windows :math:`K` predicted by M2M CPC.
    cpc_weight : float
        :math:`\\lambda_{cpc}`, weight of M2M CPC in the training objective
        (0 disables it).
    cross_weight, intra_weight, fused_weight : float
        Weights of cross-modal, intra-modal and fused-source terms inside
        M2M CPC (see :class:`~braindecode_m2s.M2MCPC`).
    cpc_temperature : float | None
        Score of M2M CPC: None, dot product (CPC); a number, cosine
        similarity over this temperature.
    cpc_projection : bool
        If True, M2M CPC reads the latents through a shared two-layer
        projection (as SimCLR's projection head) instead of directly.
    distill_weight : float
        Weight of the fusion-to-single-modality self-distillation term.
    modality_dropout : float
        Probability that a training sample keeps only one random modality.
    window_seconds : float
        Length of one feature window of the raw-EEG front end (s).
    bands : sequence of (float, float) | None
        Bands of the raw-EEG front end (Hz); None: SEED-IV's five bands.
    drop_prob : float
        Dropout probability before the encoders' pooling and the head (the
        attention blocks run without dropout: on the CPU, dropout over every
        electrode-window token costs more than the attention itself).
    activation : type[nn.Module]
        Activation of the attention blocks' feed-forward layers.

    Notes
    -----
    Signal parameters follow braindecode: ``n_chans`` (or ``chs_info``) and
    ``n_outputs`` are required. ``n_times``: with DE-feature input it is the
    number of windows of a sample (optional; only used for
    :attr:`input_shape`); with raw input (``sfreq`` given) it is the number
    of samples of a window. Causal temporal attention keeps each latent
    :math:`z_t` free of later windows, which M2M CPC predicts.

    References
    ----------
    .. [m2s] Liu, Y., Cai, Z., Lu, B.-L., & Zheng, W.-L. (2025).
       Multi-to-Single: Reducing Multimodal Dependency in Emotion Recognition
       Through Contrastive Learning. AAAI 39(2), 1438-1446.
       https://doi.org/10.1609/aaai.v39i2.32134
    .. [cpc] van den Oord, A., Li, Y., & Vinyals, O. (2018). Representation
       learning with contrastive predictive coding. arXiv:1807.03748.
    """

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        n_bands=5,
        modalities=None,
        embed_dim=16,
        latent_dim=32,
        n_heads=2,
        top_k=5,
        n_layers=1,
        cpc_steps=3,
        cpc_weight=0.1,
        cross_weight=1.0,
        intra_weight=0.1,
        fused_weight=1.0,
        cpc_temperature=None,
        cpc_projection=True,
        distill_weight=0.0,
        modality_dropout=0.5,
        window_seconds=1.0,
        bands=None,
        drop_prob=0.25,
        activation=nn.GELU,
    ):
        super().__init__(
            n_outputs=n_outputs,
            n_chans=n_chans,
            chs_info=chs_info,
            n_times=n_times,
            input_window_seconds=input_window_seconds,
            sfreq=sfreq,
        )
        del n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq
        modalities = dict(DEFAULT_MODALITIES if modalities is None else modalities)
        for name, n_features in modalities.items():
            if name == EEG_KEY or not str(name).isidentifier() or name == "fused":
                raise ValueError(
                    f"Modality name {name!r} is not allowed: names must be Python "
                    f"identifiers other than {EEG_KEY!r} (the EEG) and 'fused'."
                )
            if int(n_features) < 1:
                raise ValueError(
                    f"Modality {name!r} needs a positive feature count; got {n_features!r}."
                )
        if not 0 <= modality_dropout <= 1:
            raise ValueError(f"modality_dropout must be in [0, 1]; got {modality_dropout!r}.")
        for name, weight in dict(cpc_weight=cpc_weight, distill_weight=distill_weight).items():
            if not weight >= 0:
                raise ValueError(f"{name} must be a non-negative number; got {weight!r}.")
        self.modalities = {name: int(n) for name, n in modalities.items()}
        self.n_bands = int(n_bands)
        self.embed_dim = embed_dim
        self.latent_dim = latent_dim
        self.n_heads = n_heads
        self.top_k = top_k
        self.n_layers = n_layers
        self.cpc_steps = cpc_steps
        self.cpc_weight = float(cpc_weight)
        self.distill_weight = float(distill_weight)
        self.modality_dropout = float(modality_dropout)
        self.window_seconds = window_seconds
        self.bands = bands
        self.drop_prob = drop_prob
        self.last_auxiliary_ = {}
        self._warned_short_ = False

        self.frontend = None
        if self._sfreq is not None or self._input_window_seconds is not None:
            self.frontend = BandDifferentialEntropy(
                self.sfreq, window_seconds, SEED_IV_BANDS if bands is None else bands
            )
            self.n_bands = self.frontend.n_bands

        encoder_args = (embed_dim, latent_dim, n_heads, top_k, n_layers, drop_prob, activation)
        self.encoders = nn.ModuleDict(
            {EEG_KEY: _EEGEncoder(self.n_chans, self.n_bands, *encoder_args)}
        )
        for name, n_features in self.modalities.items():
            self.encoders[name] = _SequenceEncoder(n_features, *encoder_args)
        # M2M CPC needs two modalities; a unimodal M2S (modalities={}) has none.
        self.cpc = None if len(self.encoders) < 2 else M2MCPC(
            list(self.encoders),
            latent_dim,
            n_steps=cpc_steps,
            cross_weight=cross_weight,
            intra_weight=intra_weight,
            fused_weight=fused_weight,
            temperature=cpc_temperature,
        )
        # our option: CPC on a projection of the latents (as SimCLR's head), so
        # the contrastive task does not reshape the space the classifier reads
        self.cpc_projection = (
            nn.Sequential(nn.Linear(latent_dim, latent_dim), nn.GELU(),
                          nn.Linear(latent_dim, latent_dim))
            if cpc_projection and self.cpc is not None else None
        )
        self.head_dropout = nn.Dropout(drop_prob)
        self.final_layer = nn.Linear(latent_dim, self.n_outputs)

    # -- braindecode conventions -------------------------------------------
    @property
    def modality_names(self):
        """All modality keys the model accepts, EEG (``"x"``) first."""
        return [EEG_KEY, *self.modalities]

    @property
    def input_shape(self):
        """Shape of one EEG input: raw ``(1, n_chans, n_times)`` when the
        model has a raw front end, else DE features ``(1, n_chans, n_windows,
        n_bands)`` with ``n_windows = n_times`` (10 when not given)."""
        if self.frontend is not None:
            return (1, self.n_chans, self.n_times)
        n_windows = self._n_times if self._n_times is not None else 10
        return (1, self.n_chans, n_windows, self.n_bands)

    def get_torchinfo_statistics(self, col_names=("input_size", "output_size", "num_params"),
                                 row_settings=("var_names", "depth")):
        """torchinfo summary on :attr:`input_shape` (EEG only)."""
        from torchinfo import summary

        return summary(
            self, input_size=self.input_shape, col_names=col_names,
            row_settings=row_settings, verbose=0,
        )

    def reset_head(self, n_outputs):
        """Replace ``final_layer`` by a fresh head with ``n_outputs`` outputs.

        Parameters
        ----------
        n_outputs : int
            New number of classes.
        """
        self._set_n_outputs(n_outputs)
        self.final_layer = nn.Linear(self.latent_dim, n_outputs).to(
            self.final_layer.weight.device
        )

    # -- input handling ------------------------------------------------------
    def _prepare(self, x, modalities):
        """Validate the inputs and bring them to feature sequences.

        Returns ``{name: tensor}`` with EEG ``(batch, n_chans, n_windows,
        n_bands)`` and other modalities ``(batch, n_features, n_windows)``,
        in the parameters' dtype.
        """
        unknown = sorted(set(modalities) - set(self.modalities))
        if unknown:
            raise ValueError(
                f"Unknown modality {unknown[0]!r}; this M2S accepts "
                f"{self.modality_names} (set them with the `modalities` argument)."
            )
        given = {EEG_KEY: x} if x is not None else {}
        given.update({k: v for k, v in modalities.items() if v is not None})
        if not given:
            raise ValueError(
                f"M2S got no modality; pass at least one of {self.modality_names}."
            )
        dtype = self.final_layer.weight.dtype
        device = self.final_layer.weight.device
        inputs = {}
        for name, value in given.items():
            value = torch.as_tensor(value, device=device)
            if not torch.is_floating_point(value):
                raise ValueError(
                    f"Modality {name!r} must hold floating-point numbers; got dtype "
                    f"{value.dtype}."
                )
            inputs[name] = value.to(dtype)
        if EEG_KEY in inputs:
            inputs[EEG_KEY] = self._prepare_eeg(inputs[EEG_KEY])
        for name in self.modalities:
            if name in inputs:
                value = inputs[name]
                expected = self.modalities[name]
                if value.dim() != 3 or value.shape[1] != expected:
                    raise ValueError(
                        f"Modality {name!r} has shape {tuple(value.shape)}; expected "
                        f"(batch, {expected}, n_windows)."
                    )
        n_windows = {
            name: (v.shape[2] if name == EEG_KEY else v.shape[-1])
            for name, v in inputs.items()
        }
        n_samples = {name: v.shape[0] for name, v in inputs.items()}
        if len(set(n_samples.values())) > 1:
            raise ValueError(
                f"Modalities have different numbers of samples {n_samples}; expected "
                f"the same batch size for all."
            )
        if len(set(n_windows.values())) > 1:
            raise ValueError(
                f"Modalities have different numbers of windows {n_windows}; expected "
                f"the same for all (raw EEG counts windows of {self.window_seconds} s)."
            )
        if not torch.compiler.is_compiling():
            for name, value in inputs.items():
                if not bool(torch.isfinite(value).all()):
                    raise ValueError(
                        f"Modality {name!r} contains NaN or Inf values; expected finite "
                        f"numbers."
                    )
        return inputs

    def _prepare_eeg(self, x):
        if x.dim() == 3:
            if self.frontend is None:
                raise ValueError(
                    f"EEG input of shape {tuple(x.shape)} looks like raw windows "
                    f"(batch, n_chans, n_times), but this M2S has no sfreq for its raw "
                    f"front end; pass sfreq=... or give DE features (batch, n_chans, "
                    f"n_windows, n_bands)."
                )
            self._check_chans(x)
            return self.frontend(x)
        if x.dim() != 4:
            raise ValueError(
                f"EEG input 'x' has shape {tuple(x.shape)}; expected (batch, "
                f"{self.n_chans}, n_windows, {self.n_bands}) features or (batch, "
                f"{self.n_chans}, n_times) raw windows."
            )
        self._check_chans(x)
        if x.shape[-1] != self.n_bands:
            raise ValueError(
                f"EEG input 'x' has {x.shape[-1]} band features per window (shape "
                f"{tuple(x.shape)}); expected n_bands={self.n_bands}."
            )
        return x

    def _check_chans(self, x):
        if x.shape[1] != self.n_chans:
            raise ValueError(
                f"EEG input 'x' has {x.shape[1]} channels (shape {tuple(x.shape)}); "
                f"this M2S was built for n_chans={self.n_chans}."
            )

    # -- model ---------------------------------------------------------------
    def encode(self, x=None, **modalities):
        """Latent sequences of every given modality.

        Parameters
        ----------
        x, **modalities
            As in :meth:`forward`.

        Returns
        -------
        dict of str -> torch.Tensor
            ``(batch, n_windows, latent_dim)`` per given modality.
        """
        inputs = self._prepare(x, modalities)
        return {name: self.encoders[name](value) for name, value in inputs.items()}

    def _fuse(self, latents):
        """Mean of the present latents; in training, modality dropout."""
        stacked = torch.stack(list(latents.values()), dim=1)  # (B, M, T, d)
        batch, n_mod = stacked.shape[:2]
        keep = stacked.new_ones(batch, n_mod)
        if self.training and n_mod > 1 and self.modality_dropout > 0:
            single = torch.rand(batch, device=stacked.device) < self.modality_dropout
            chosen = torch.randint(n_mod, (batch,), device=stacked.device)
            one_hot = nn.functional.one_hot(chosen, n_mod).to(stacked.dtype)
            keep = torch.where(single[:, None], one_hot, keep)
        weights = (keep / keep.sum(1, keepdim=True))[:, :, None, None]
        return (weights * stacked).sum(1)

    def classify(self, latent):
        """Head: mean over windows, dropout, ``final_layer``.

        Parameters
        ----------
        latent : torch.Tensor
            ``(batch, n_windows, latent_dim)``.

        Returns
        -------
        torch.Tensor
            ``(batch, n_outputs)`` logits.
        """
        return self.final_layer(self.head_dropout(latent.mean(1)))

    def auxiliary_loss(self, latents):
        """Auxiliary training terms of the given latents (M2M CPC, distillation).

        Parameters
        ----------
        latents : dict of str -> torch.Tensor
            ``(batch, n_windows, latent_dim)`` per modality (two or more).

        Returns
        -------
        loss : torch.Tensor
            ``cpc_weight * M2M CPC + distill_weight * distillation``, where
            distillation is the mean over modalities of
            :math:`\\mathrm{KL}(p_F \\Vert p_m)` with :math:`p_F` the
            (stopped-gradient) prediction of the mean of all given latents.
        record : dict
            Detached values for logging: ``total`` (the returned loss),
            ``cpc_loss``, ``distill_loss`` and ``cpc_acc`` (dict (source,
            target) -> accuracy).
        """
        any_latent = next(iter(latents.values()))
        loss = any_latent.new_zeros(())
        record = {}
        if self.cpc_weight > 0 and self.cpc is not None:
            if any_latent.shape[1] >= 2:
                cpc = self.cpc(
                    latents if self.cpc_projection is None
                    else {m: self.cpc_projection(z) for m, z in latents.items()}
                )
                loss = loss + self.cpc_weight * cpc.loss
                record["cpc_loss"] = float(cpc.loss.detach())
                record["cpc_acc"] = {k: float(v) for k, v in cpc.accuracies.items()}
            elif not self._warned_short_:
                self._warned_short_ = True
                warnings.warn(
                    "M2M CPC needs sequences of at least 2 windows; with 1 window per "
                    "sample the CPC term is skipped (use sequence_length > 1).",
                    stacklevel=3,
                )
        if self.distill_weight > 0 and len(latents) > 1:
            teacher = self.classify(torch.stack(list(latents.values())).mean(0))
            target = torch.log_softmax(teacher.detach(), -1)
            distill = sum(
                nn.functional.kl_div(
                    torch.log_softmax(self.classify(z), -1), target,
                    log_target=True, reduction="batchmean",
                )
                for z in latents.values()
            ) / len(latents)
            loss = loss + self.distill_weight * distill
            record["distill_loss"] = float(distill.detach())
        record["total"] = float(loss.detach())
        return loss, record

    def forward(self, x=None, return_features=False, **modalities):
        """Predict from any non-empty subset of the modalities.

        Parameters
        ----------
        x : torch.Tensor | None
            EEG: DE features ``(batch, n_chans, n_windows, n_bands)`` or raw
            windows ``(batch, n_chans, n_times)``.
        return_features : bool
            If True, return ``{"features": pooled fused latent (batch,
            latent_dim), "latents": {name: (batch, n_windows, latent_dim)},
            "logits": (batch, n_outputs)}``.
        **modalities : torch.Tensor
            Other modalities by name, ``(batch, n_features, n_windows)``.

        Returns
        -------
        torch.Tensor
            ``(batch, n_outputs)`` logits.
        """
        latents = self.encode(x, **modalities)
        fused = self._fuse(latents)
        logits = self.classify(fused)
        if return_features:
            return {"features": fused.mean(1), "latents": latents, "logits": logits}
        if self.training and torch.is_grad_enabled():
            self.last_auxiliary_ = {}
            if len(latents) > 1:
                aux, self.last_auxiliary_ = self.auxiliary_loss(latents)
                if aux.requires_grad:
                    logits = _AuxiliaryLoss.apply(logits, aux)
        return logits
