# Authors: braindecode-m2s developers
#
# M2S of Liu, Cai, Lu & Zheng (2025), "Multi-to-Single: Reducing Multimodal
# Dependency in Emotion Recognition Through Contrastive Learning", AAAI 39(2),
# 1438-1446. Reference implementation (MIT): GitHub Arcee-LYK/Multi-to-Single,
# M2S_demo_code/M2S.py (``Multi_to_Single``), written for EEG + eye; this is
# our own implementation, for any M >= 2 modalities, in braindecode's form.
#
# License: BSD (3-clause)
"""The M2S model: emotion-related / irrelevant encoders, decoders, CLUB,
CLIP-style alignment, M2M CPC and a classifier on one modality's embedding."""

from __future__ import annotations

import math

import torch
from braindecode.models.base import EEGModuleMixin
from torch import nn
from torch.nn import functional as F

from ..modules.alignment import CLIPAlignment
from ..modules.club import CLUB
from ..modules.frontends import SEED_IV_BANDS, BandDifferentialEntropy
from ..modules.m2m_cpc import M2MCPC
from ..modules.sts_attention import STSAttention

__all__ = ["M2S", "DEFAULT_MODALITIES", "EEG_KEY", "SSL_TERMS"]

#: Key of the EEG modality (braindecode's convention for the main signal).
EEG_KEY = "x"
#: Extra modalities of ``M2S`` by default: SEED-IV's 31 eye-movement features.
DEFAULT_MODALITIES = {"eye": 31}
#: The self-supervised loss terms of stage 1 and their reference weights.
SSL_TERMS = {"clip": 1.0, "cpc": 1.0, "recon": 0.1, "club": 0.3}
#: Inputs whose magnitude exceeds this are refused (no emotion feature is
#: that large; beyond it float32 arithmetic in the encoders overflows).
MAX_ABS_INPUT = 1e6


class _AuxiliaryLoss(torch.autograd.Function):
    """Attach an auxiliary loss to a network output.

    Forward returns ``output`` unchanged; backward passes the output gradient
    through and gives the auxiliary loss a gradient of one, so any criterion
    applied to the output is trained as ``criterion + aux``. This is how the
    self-supervised terms reach the weights under a plain ``EEGClassifier``
    (the joint variant), whose loss only sees the logits.
    """

    @staticmethod
    def forward(ctx, output, aux_loss):
        return output.clone()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output.new_ones(())


class _FeatureStandardizer(nn.Module):
    """Per-feature standardisation with running statistics (no affine part).

    Stands in for the reference's scaler fitted on the training data: in
    training mode the statistics of the batch (over samples and windows)
    standardise it and update the running mean and variance; in eval mode
    the running statistics are used. Statistics are computed in float64 and
    a non-finite value is refused before it can reach the running buffers,
    so one bad batch cannot poison every later prediction.

    ``(batch, n_features, n_windows)`` -> same shape.
    """

    def __init__(self, n_features, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(n_features))
        self.register_buffer("running_var", torch.ones(n_features))

    def forward(self, x):
        if self.training:
            x64 = x.double()
            mean = x64.mean((0, 2))
            var = x64.var((0, 2), unbiased=False)
            if not torch.compiler.is_compiling() and not bool(
                torch.isfinite(mean).all() and torch.isfinite(var).all()
            ):
                raise ValueError(
                    "Input features have non-finite mean or variance in float64; "
                    "expected finite values of moderate size."
                )
            with torch.no_grad():
                n = x.shape[0] * x.shape[2]
                unbiased = var * n / max(n - 1, 1)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), self.momentum)
            return ((x64 - mean[:, None]) / (var[:, None] + self.eps).sqrt()).to(x.dtype)
        return (x - self.running_mean[:, None]) / (self.running_var[:, None] + self.eps).sqrt()


class _HeadBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d that falls back to running statistics for a batch of one."""

    def forward(self, x):
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                self.bias, False, 0.0, self.eps)
        return super().forward(x)


class _EEGEREncoder(nn.Module):
    """EEG emotion-related encoder: STS attention layers, then a linear map.

    ``(batch, n_chans, n_windows, n_bands)`` -> ``(batch, n_windows,
    embed_dim)``: ``n_layers`` :class:`~braindecode_m2s.STSAttention` layers
    on electrode tokens (features = bands), then each window's flattened
    channel-major ``n_chans * n_bands`` vector (310 for SEED) is mapped
    linearly to ``embed_dim`` (the ``EEG_ER_Encoder`` of the reference).
    """

    def __init__(self, n_chans, n_bands, embed_dim, n_layers, n_heads, head_dim, ff_dim,
                 drop_prob, activation):
        super().__init__()
        self.layers = nn.ModuleList(
            STSAttention(n_bands, n_heads, head_dim, n_chans=n_chans, ff_dim=ff_dim,
                         drop_prob=drop_prob, activation=activation)
            for _ in range(n_layers)
        )
        self.affine = nn.Linear(n_chans * n_bands, embed_dim)

    def forward(self, x, return_attention=False):
        attention = []
        for layer in self.layers:
            x, weights = layer(x, return_attention=True) if return_attention else (layer(x), None)
            attention.append(weights)
        z = self.affine(x.transpose(1, 2).flatten(2))
        return (z, attention) if return_attention else z


class _FeatureEREncoder(nn.Module):
    """Emotion-related encoder of a feature modality (eye, peripheral, ECG).

    ``(batch, n_windows, n_features)`` -> ``(batch, n_windows, embed_dim)``:
    a linear embedding per window, then ``n_layers`` post-norm transformer
    encoder layers with full attention across the windows (the
    ``Eye_ER_Encoder`` of the reference).
    """

    def __init__(self, n_features, embed_dim, n_layers, n_heads, ff_dim, drop_prob, activation):
        super().__init__()
        self.affine = nn.Linear(n_features, embed_dim)
        layer = nn.TransformerEncoderLayer(
            embed_dim, n_heads, dim_feedforward=ff_dim, dropout=drop_prob,
            activation=activation(), batch_first=True, norm_first=False,
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(self.affine(x))


class _EIEncoder(nn.Sequential):
    """Emotion-irrelevant encoder: a linear layer and ReLU per window."""

    def __init__(self, n_in, embed_dim):
        super().__init__(nn.Linear(n_in, embed_dim), nn.ReLU())


class _Decoder(nn.Module):
    """Reconstruct a modality's windows from its ER and EI features.

    :math:`\\hat v_t = W_r [W_e z^{ER}_t ; z^{EI}_t] + b` (the reference's
    decoders); ``(batch, n_windows, embed_dim)`` x 2 -> ``(batch,
    n_windows, n_in)``.
    """

    def __init__(self, n_in, embed_dim):
        super().__init__()
        self.er_map = nn.Linear(embed_dim, embed_dim)
        self.reconstruct = nn.Linear(2 * embed_dim, n_in)

    def forward(self, er, ei):
        return self.reconstruct(torch.cat([self.er_map(er), ei], dim=-1))


class M2S(EEGModuleMixin, nn.Module):
    """Multi-to-Single (M2S) multimodal emotion recognition model.

    Trained with several modalities (EEG + eye movements, EEG + peripheral
    physiology...), it classifies from **one** (Liu et al., 2025): every
    modality gets an emotion-related (ER) encoder, an emotion-irrelevant
    (EI) encoder and a decoder; self-supervised pretraining
    (:meth:`self_supervised_loss`, stage 1) aligns the ER embeddings of all
    modalities in one space, so a classifier trained on one modality's
    32-d embedding reads any modality's (stage 2; single-modality and
    cross-modal modes).

    .. rubric:: Inputs

    ``forward(x=None, **modalities)`` takes any non-empty subset:

    - ``x``: EEG differential-entropy features ``(batch, n_chans,
      n_windows, n_bands)`` (SEED: 62 x 5 bands), or raw windows
      ``(batch, n_chans, n_times)`` when ``sfreq`` is given (a
      differentiable FFT front end computes band DE per ``window_seconds``);
    - each other modality in ``modalities`` by keyword, ``(batch,
      n_features, n_windows)``, e.g. ``eye=`` (31 SEED-IV eye features).

    All given modalities share the batch size and the number of windows
    (any number >= 2; the reference uses 5).

    .. rubric:: Architecture (the reference's, for M modalities)

    - *Input standardisation* (our addition; the reference standardises
      with a scaler fitted on the training data): per feature, running
      statistics.
    - *EEG ER encoder*: ``n_layers`` STS attention layers
      (:class:`~braindecode_m2s.STSAttention`), then a linear map of each
      window's ``n_chans * n_bands`` vector to ``embed_dim``.
    - *Feature ER encoders*: linear embedding, then ``n_layers`` transformer
      encoder layers across windows.
    - *EI encoders*: linear + ReLU per window; *decoders*: reconstruct each
      window from ER and EI (mean squared error).
    - *CLUB* per modality (:class:`~braindecode_m2s.CLUB`): upper bound of
      :math:`I(\\mathrm{ER}; \\mathrm{EI})`, minimised to disentangle them.
    - *Projection*: ER mean over windows -> linear ``embed_dim -> proj_dim``
      + ReLU: the embedding :math:`e^m` (:meth:`embed`).
    - *CLIP-style alignment* (:class:`~braindecode_m2s.CLIPAlignment`) of
      the normalised embeddings, all pairs.
    - *M2M CPC* (:class:`~braindecode_m2s.M2MCPC`) on the ER sequences.
    - *Classifier* (``head`` + ``final_layer``): ``proj_dim -> 128``, ReLU,
      BatchNorm, ``-> n_outputs``, on the embedding of the given modality
      (the mean of the embeddings when several are given: our option).

    .. rubric:: Training

    - Stage 1 (:class:`~braindecode_m2s.M2MCPCPretrainer`): no labels;
      :math:`\\mathcal L = w_{clip}\\mathcal L_{CLIP} + w_{cpc}\\mathcal
      L_{CPC} + w_{rec}\\mathcal L_{rec} + w_{club}\\hat I_{CLUB}` with the
      reference's weights 1, 1, 0.1, 0.3.
    - Stage 2 (:class:`~braindecode_m2s.M2SClassifier`): encoders frozen, the
      classifier trained on one modality (or several).
    - Joint variant: under a plain ``braindecode.EEGClassifier``, a training
      forward with two or more modalities and trainable encoders adds the
      self-supervised terms (weights ``clip_weight`` ... ``club_weight``) to
      the criterion through an autograd hook on the output. This is not the
      authors' two-stage method; it is there so that the braindecode call
      trains a sensible model.

    Parameters
    ----------
    n_bands : int
        Band features per electrode and window (5 for SEED); set by
        ``bands`` for raw input.
    modalities : dict of str -> int | None
        Non-EEG modalities and their feature counts; default ``{"eye":
        31}``. E.g. ``{"eye": 33}`` (SEED, SEED-V), ``{"peripheral": 40}``
        (DEAP), ``{"ecg": 10}`` (DREAMER). ``{}`` gives an EEG-only model.
    embed_dim : int
        ER / EI feature size (128 in the reference).
    proj_dim : int
        Embedding size read by CLIP and the classifier (32).
    n_layers : int
        Layers of every ER encoder (4).
    n_heads : int
        Attention heads (4); must divide ``embed_dim``.
    head_dim : int
        Head size of STS attention (64).
    ff_dim : int
        Feed-forward size of the encoder layers (1024).
    drop_prob : float
        Dropout inside the encoder layers (0.1).
    cpc_context_dim, cpc_layers, cpc_steps, cpc_min_start : int
        M2M CPC's LSTM size (64) and layers (2), predicted steps (2) and
        smallest context end (1).
    club_hidden : int
        CLUB's hidden size parameter (64).
    init_temperature : float
        Initial CLIP temperature (0.07).
    classifier_hidden : int
        Hidden size of the classifier (128).
    clip_weight, cpc_weight, recon_weight, club_weight : float
        Weights of the self-supervised terms in the joint variant (and the
        defaults of :meth:`self_supervised_loss`); 0 switches a term off.
    standardize : bool
        Standardise every input feature with running statistics.
    window_seconds : float
        Window length of the raw-EEG front end (s).
    bands : sequence of (float, float) | None
        Bands of the raw-EEG front end (Hz); None: SEED-IV's five.
    activation : type[nn.Module]
        Activation of the encoders' feed-forward layers (ReLU).

    Notes
    -----
    ``n_chans`` (or ``chs_info``) and ``n_outputs`` are required. With
    feature input ``n_times`` is the number of windows of a sample
    (optional, used by :attr:`input_shape`); with raw input it is the number
    of samples.

    References
    ----------
    .. [m2s] Liu, Y., Cai, Z., Lu, B.-L., & Zheng, W.-L. (2025).
       Multi-to-Single: Reducing Multimodal Dependency in Emotion Recognition
       Through Contrastive Learning. AAAI 39(2), 1438-1446.
       https://doi.org/10.1609/aaai.v39i2.32134
    """

    def __init__(
        self,
        n_outputs: int | None = None,
        n_chans: int | None = None,
        chs_info: list | None = None,
        n_times: int | None = None,
        input_window_seconds: float | None = None,
        sfreq: float | None = None,
        n_bands: int = 5,
        modalities: dict | None = None,
        embed_dim: int = 128,
        proj_dim: int = 32,
        n_layers: int = 4,
        n_heads: int = 4,
        head_dim: int = 64,
        ff_dim: int = 1024,
        drop_prob: float = 0.1,
        cpc_context_dim: int = 64,
        cpc_layers: int = 2,
        cpc_steps: int = 2,
        cpc_min_start: int = 1,
        club_hidden: int = 64,
        init_temperature: float = 0.07,
        classifier_hidden: int = 128,
        clip_weight: float = 1.0,
        cpc_weight: float = 1.0,
        recon_weight: float = 0.1,
        club_weight: float = 0.3,
        standardize: bool = True,
        window_seconds: float = 1.0,
        bands: list | None = None,
        activation: type[nn.Module] = nn.ReLU,
    ):
        super().__init__(
            n_outputs=n_outputs, n_chans=n_chans, chs_info=chs_info, n_times=n_times,
            input_window_seconds=input_window_seconds, sfreq=sfreq,
        )
        del n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq
        modalities = dict(DEFAULT_MODALITIES if modalities is None else modalities)
        for name, n_features in modalities.items():
            if name == EEG_KEY or not str(name).isidentifier():
                raise ValueError(
                    f"Modality name {name!r} is not allowed: names must be Python "
                    f"identifiers other than {EEG_KEY!r} (the EEG)."
                )
            if isinstance(n_features, bool) or int(n_features) != n_features or n_features < 1:
                raise ValueError(
                    f"Modality {name!r} needs a positive integer feature count; got "
                    f"{n_features!r}."
                )
        for name, value in dict(embed_dim=embed_dim, proj_dim=proj_dim, n_layers=n_layers,
                                n_heads=n_heads, head_dim=head_dim, ff_dim=ff_dim,
                                n_bands=n_bands, classifier_hidden=classifier_hidden).items():
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"M2S: {name} must be a positive integer; got {value!r}.")
        if embed_dim % n_heads:
            raise ValueError(
                f"M2S: n_heads={n_heads} must divide embed_dim={embed_dim} (the feature "
                f"encoders' transformer layers split embed_dim into heads)."
            )
        weights = dict(clip_weight=clip_weight, cpc_weight=cpc_weight,
                       recon_weight=recon_weight, club_weight=club_weight)
        for name, weight in weights.items():
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
                raise ValueError(f"M2S: {name} must be a finite number >= 0; got {weight!r}.")
        self.modalities = {name: int(n) for name, n in modalities.items()}
        self.n_bands = int(n_bands)
        self.embed_dim = int(embed_dim)
        self.proj_dim = int(proj_dim)
        self.window_seconds = window_seconds
        self.bands = bands
        self.ssl_weights = {"clip": float(clip_weight), "cpc": float(cpc_weight),
                            "recon": float(recon_weight), "club": float(club_weight)}
        self.last_auxiliary_ = {}
        #: modalities whose encoders have been trained (set by the estimators)
        self.trained_modalities_ = set()
        self.pretrained_ = False
        self._frozen = False

        self.frontend = None
        if self._sfreq is not None or self._input_window_seconds is not None:
            self.frontend = BandDifferentialEntropy(
                self.sfreq, window_seconds, SEED_IV_BANDS if bands is None else bands
            )
            self.n_bands = self.frontend.n_bands

        n_in = {EEG_KEY: self.n_chans * self.n_bands, **self.modalities}
        names = list(n_in)
        self.standardizers = nn.ModuleDict(
            {m: _FeatureStandardizer(n) for m, n in n_in.items()} if standardize else {}
        )
        self.er_encoders = nn.ModuleDict({
            EEG_KEY: _EEGEREncoder(self.n_chans, self.n_bands, embed_dim, n_layers, n_heads,
                                   head_dim, ff_dim, drop_prob, activation),
            **{m: _FeatureEREncoder(n, embed_dim, n_layers, n_heads, ff_dim, drop_prob,
                                    activation) for m, n in self.modalities.items()},
        })
        self.ei_encoders = nn.ModuleDict({m: _EIEncoder(n, embed_dim) for m, n in n_in.items()})
        self.decoders = nn.ModuleDict({m: _Decoder(n, embed_dim) for m, n in n_in.items()})
        self.club = nn.ModuleDict({m: CLUB(embed_dim, embed_dim, club_hidden) for m in names})
        self.projections = nn.ModuleDict({
            m: nn.Sequential(nn.Linear(embed_dim, proj_dim), nn.ReLU()) for m in names
        })
        self.alignment = CLIPAlignment(init_temperature)
        self.cpc = M2MCPC(names, embed_dim, cpc_context_dim, cpc_layers, cpc_steps,
                          cpc_min_start)
        self.head = nn.Sequential(
            nn.Linear(proj_dim, classifier_hidden), nn.ReLU(),
            _HeadBatchNorm(classifier_hidden),
        )
        self.final_layer = nn.Linear(classifier_hidden, self.n_outputs)

    # -- braindecode conventions -------------------------------------------
    @property
    def modality_names(self):
        """All modality keys the model accepts, EEG (``"x"``) first."""
        return [EEG_KEY, *self.modalities]

    @property
    def input_shape(self):
        """One EEG input: raw ``(1, n_chans, n_times)`` with a front end
        (``n_times`` defaults to five windows), else DE features ``(1,
        n_chans, n_windows, n_bands)`` with ``n_windows = n_times`` (5 when
        not given, as in the reference)."""
        if self.frontend is not None:
            n_times = self._n_times
            if n_times is None:
                n_times = 5 * round(self.window_seconds * self.sfreq)
            return (1, self.n_chans, n_times)
        n_windows = self._n_times if self._n_times is not None else 5
        return (1, self.n_chans, n_windows, self.n_bands)

    def get_torchinfo_statistics(self, col_names=("input_size", "output_size", "num_params"),
                                 row_settings=("var_names", "depth")):
        """torchinfo summary on :attr:`input_shape` (EEG only)."""
        from torchinfo import summary

        return summary(self, input_size=self.input_shape, col_names=col_names,
                       row_settings=row_settings, verbose=0)

    def reset_head(self, n_outputs):
        """Replace ``head`` and ``final_layer`` by fresh layers.

        Parameters
        ----------
        n_outputs : int
            New number of classes.
        """
        self._set_n_outputs(n_outputs)
        device = self.final_layer.weight.device
        hidden = self.final_layer.in_features
        self.head = nn.Sequential(nn.Linear(self.proj_dim, hidden), nn.ReLU(),
                                  _HeadBatchNorm(hidden)).to(device)
        self.final_layer = nn.Linear(hidden, n_outputs).to(device)

    # -- stages ----------------------------------------------------------------
    def classifier_parameters(self):
        """Parameters of the classifier (``head`` and ``final_layer``)."""
        return [*self.head.parameters(), *self.final_layer.parameters()]

    def freeze_encoders(self, frozen=True):
        """Freeze (or unfreeze) everything but the classifier (stage 2).

        Frozen parts get ``requires_grad=False`` and stay in eval mode
        (dropout off, standardisation statistics fixed) when the model is put
        in training mode.
        """
        self._frozen = bool(frozen)
        head = {id(p) for p in self.classifier_parameters()}
        for p in self.parameters():
            if id(p) not in head:
                p.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode=True):
        """As :meth:`torch.nn.Module.train`; frozen encoders stay in eval mode."""
        super().train(mode)
        if mode and self._frozen:
            for name, child in self.named_children():
                if name not in ("head", "final_layer"):
                    child.eval()
        return self

    # -- input handling ------------------------------------------------------
    def _prepare(self, x, modalities):
        """Validate the inputs; return ``{name: tensor}`` of feature sequences.

        EEG comes back ``(batch, n_chans, n_windows, n_bands)``, other
        modalities ``(batch, n_features, n_windows)``, in the parameters'
        dtype and device.
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
            raise ValueError(f"M2S got no modality; pass at least one of {self.modality_names}.")
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
            if value.dim() == 0 or value.shape[0] == 0:
                raise ValueError(f"Modality {name!r} has an empty batch (shape "
                                 f"{tuple(value.shape)}); expected at least one sample.")
            if not torch.compiler.is_compiling():
                if not bool(torch.isfinite(value).all()):
                    raise ValueError(
                        f"Modality {name!r} contains NaN or Inf values; expected finite "
                        f"numbers."
                    )
                if bool((value.abs() > MAX_ABS_INPUT).any()):
                    raise ValueError(
                        f"Modality {name!r} has values up to {float(value.abs().max()):.3g}; "
                        f"expected features of magnitude below {MAX_ABS_INPUT:g} (scale or "
                        f"log-transform them first)."
                    )
            inputs[name] = value.to(dtype)
        if EEG_KEY in inputs:
            inputs[EEG_KEY] = self._prepare_eeg(inputs[EEG_KEY])
        for name in self.modalities:
            if name in inputs:
                value, expected = inputs[name], self.modalities[name]
                if value.dim() != 3 or value.shape[1] != expected:
                    raise ValueError(
                        f"Modality {name!r} has shape {tuple(value.shape)}; expected "
                        f"(batch, {expected}, n_windows)."
                    )
        n_windows = {n: (v.shape[2] if n == EEG_KEY else v.shape[-1]) for n, v in inputs.items()}
        n_samples = {n: v.shape[0] for n, v in inputs.items()}
        if len(set(n_samples.values())) > 1:
            raise ValueError(
                f"Modalities have different numbers of samples {n_samples}; expected the "
                f"same batch size for all."
            )
        if len(set(n_windows.values())) > 1:
            raise ValueError(
                f"Modalities have different numbers of windows {n_windows}; expected the "
                f"same for all."
            )
        if min(n_windows.values()) < 1:
            raise ValueError(f"Inputs have zero windows {n_windows}; expected at least one.")
        return inputs

    def _prepare_eeg(self, x):
        if x.dim() == 3:
            if self.frontend is None:
                raise ValueError(
                    f"EEG input of shape {tuple(x.shape)} looks like raw windows (batch, "
                    f"n_chans, n_times), but this M2S has no sfreq for its raw front end; "
                    f"pass sfreq=... or give DE features (batch, n_chans, n_windows, "
                    f"n_bands)."
                )
            self._check_chans(x)
            return self.frontend(x)
        if x.dim() != 4:
            raise ValueError(
                f"EEG input 'x' has shape {tuple(x.shape)}; expected (batch, {self.n_chans}, "
                f"n_windows, {self.n_bands}) features or (batch, {self.n_chans}, n_times) raw "
                f"windows."
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
                f"EEG input 'x' has {x.shape[1]} channels (shape {tuple(x.shape)}); this M2S "
                f"was built for n_chans={self.n_chans}."
            )

    def _windows(self, name, value):
        """Standardised input as ``(batch, n_windows, n_in)`` and the ER input."""
        if name == EEG_KEY:
            batch, n_chans, n_windows, n_bands = value.shape
            flat = value.permute(0, 1, 3, 2).reshape(batch, n_chans * n_bands, n_windows)
            if name in self.standardizers:
                flat = self.standardizers[name](flat)
            er_input = flat.reshape(batch, n_chans, n_bands, n_windows).permute(0, 1, 3, 2)
            # channel-major per window, as the reference's 310 = 62 x 5
            return er_input.transpose(1, 2).flatten(2), er_input
        if name in self.standardizers:
            value = self.standardizers[name](value)
        seq = value.transpose(1, 2)
        return seq, seq

    # -- model ---------------------------------------------------------------
    def encode(self, x=None, **modalities):
        """ER sequences and standardised inputs of every given modality.

        Returns
        -------
        dict of str -> dict
            Per modality: ``"input"`` ``(batch, n_windows, n_in)`` (the
            standardised windows), ``"er"`` ``(batch, n_windows,
            embed_dim)``.
        """
        inputs = self._prepare(x, modalities)
        parts = {}
        for name, value in inputs.items():
            windows, er_input = self._windows(name, value)
            parts[name] = {"input": windows, "er": self.er_encoders[name](er_input)}
        return parts

    def _embedding(self, name, er):
        return self.projections[name](er.mean(1))

    def embed(self, x=None, **modalities):
        """Embedding :math:`e^m` (``proj_dim``) of every given modality.

        The ER sequence's mean over windows through the projection (the
        reference's ``*_finetune_Encoder``); what CLIP aligns and what the
        classifier reads.

        Returns
        -------
        dict of str -> torch.Tensor
            ``(batch, proj_dim)`` per given modality.
        """
        return {m: self._embedding(m, p["er"]) for m, p in self.encode(x, **modalities).items()}

    def classify(self, embedding):
        """Classifier on an embedding ``(batch, proj_dim)`` -> logits."""
        return self.final_layer(self.head(embedding))

    def self_supervised_loss(self, x=None, weights=None, parts=None, **modalities):
        """Stage-1 objective of the given modalities (no labels).

        :math:`w_{clip}\\mathcal L_{CLIP} + w_{cpc}\\mathcal L_{M2M CPC} +
        w_{rec}\\sum_m \\mathrm{MSE}(\\hat v^m, v^m) + w_{club}\\sum_m
        \\hat I_{CLUB}(\\mathrm{ER}^m; \\mathrm{EI}^m)`, plus CLUB's own
        likelihood fit :math:`-\\sum_m \\log q^m` (its gradient reaches only
        the CLUB networks; see :meth:`CLUB.training_loss`). Terms whose
        weight is 0 are not computed.

        Parameters
        ----------
        x, **modalities
            As in :meth:`forward`; CLIP and cross-modal CPC need two or more.
        weights : dict | None
            ``{"clip", "cpc", "recon", "club"}`` weights; None: the model's.
        parts : dict | None
            Output of :meth:`encode`, to reuse.

        Returns
        -------
        loss : torch.Tensor
            Scalar objective.
        record : dict
            Detached floats: ``total``, ``clip_loss``, ``cpc_loss``,
            ``recon_loss``, ``club_mi``, ``club_nll``, and ``clip_acc`` /
            ``cpc_acc`` dicts (pair -> accuracy).
        """
        w = dict(self.ssl_weights if weights is None else {**self.ssl_weights, **weights})
        if parts is None:
            parts = self.encode(x, **modalities)
        any_er = next(iter(parts.values()))["er"]
        loss = any_er.new_zeros(())
        record = {}
        if w["clip"] > 0 and len(parts) > 1:
            clip, acc = self.alignment({m: self._embedding(m, p["er"]) for m, p in parts.items()})
            loss = loss + w["clip"] * clip
            record["clip_loss"] = float(clip.detach())
            record["clip_acc"] = {k: float(v) for k, v in acc.items()}
        if w["cpc"] > 0 and any_er.shape[1] >= 2:
            cpc = self.cpc({m: p["er"] for m, p in parts.items()})
            loss = loss + w["cpc"] * cpc.loss
            record["cpc_loss"] = float(cpc.loss.detach())
            record["cpc_acc"] = {k: float(v) for k, v in cpc.accuracies.items()}
        if w["recon"] > 0 or w["club"] > 0:
            recon = any_er.new_zeros(())
            mi = any_er.new_zeros(())
            nll = any_er.new_zeros(())
            for m, p in parts.items():
                ei = self.ei_encoders[m](p["input"])
                if w["recon"] > 0:
                    recon = recon + F.mse_loss(self.decoders[m](p["er"], ei), p["input"])
                if w["club"] > 0:
                    bound, fit = self.club[m].training_loss(p["er"], ei)
                    mi, nll = mi + bound, nll + fit
            if w["recon"] > 0:
                loss = loss + w["recon"] * recon
                record["recon_loss"] = float(recon.detach())
            if w["club"] > 0:
                loss = loss + w["club"] * mi + nll
                record["club_mi"] = float(mi.detach())
                record["club_nll"] = float(nll.detach())
        record["total"] = float(loss.detach())
        return loss, record

    def forward(self, x=None, **modalities):
        """Logits from any non-empty subset of the modalities.

        Parameters
        ----------
        x : torch.Tensor | None
            EEG: DE features ``(batch, n_chans, n_windows, n_bands)`` or raw
            windows ``(batch, n_chans, n_times)``.
        **modalities : torch.Tensor
            Other modalities by name, ``(batch, n_features, n_windows)``.

        Returns
        -------
        torch.Tensor
            ``(batch, n_outputs)`` logits of the classifier on the mean of
            the given modalities' embeddings.
        """
        parts = self.encode(x, **modalities)
        embedding = torch.stack([self._embedding(m, p["er"]) for m, p in parts.items()]).mean(0)
        logits = self.classify(embedding)
        if (self.training and torch.is_grad_enabled() and len(parts) > 1
                and not self._frozen and any(w > 0 for w in self.ssl_weights.values())):
            aux, self.last_auxiliary_ = self.self_supervised_loss(parts=parts)
            if aux.requires_grad:
                logits = _AuxiliaryLoss.apply(logits, aux)
        if not torch.compiler.is_compiling() and not bool(torch.isfinite(logits).all()):
            raise ValueError(
                "M2S produced non-finite logits; the inputs are finite but too large for "
                "float32 arithmetic (or the weights diverged): check the input scale."
            )
        return logits
