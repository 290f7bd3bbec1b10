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

import numpy as np
import torch
from torch import nn

from .._braindecode import EEGModuleMixin
from ..modules.alignment import CLIPAlignment
from ..modules.club import CLUB
from ..modules.encoders import Decoder, EEGEREncoder, EIEncoder, FeatureEREncoder
from ..modules.frontends import SEED_IV_BANDS, BandDifferentialEntropy
from ..modules.m2m_cpc import M2MCPC
from ..modules.normalization import FeatureStandardizer, HeadBatchNorm
from ..objectives import check_weights

__all__ = ["M2S", "DEFAULT_MODALITIES", "EEG_KEY", "MAX_ABS_INPUT"]

#: Key of the EEG modality (braindecode's convention for the main signal).
EEG_KEY = "x"
#: Extra modalities of ``M2S`` by default: SEED-IV's 31 eye-movement features.
DEFAULT_MODALITIES = {"eye": 31}
#: Inputs whose magnitude exceeds this are refused (no emotion feature is
#: that large; beyond it float32 arithmetic in the encoders overflows).
MAX_ABS_INPUT = 1e6


class M2S(EEGModuleMixin, nn.Module):
    """Multi-to-Single (M2S) multimodal emotion recognition model.

    Trained with several modalities (EEG + eye movements, EEG + peripheral
    physiology...), it classifies from **one** (Liu et al., 2025): every
    modality gets an emotion-related (ER) encoder, an emotion-irrelevant
    (EI) encoder and a decoder; self-supervised pretraining
    (:func:`~braindecode_m2s.objectives.pretraining_loss`, stage 1) aligns the ER embeddings of all
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
    - Plain ``braindecode.EEGClassifier(M2S(...))``: the whole model trained
      end to end with cross-entropy. Joint variant (not the authors'
      two-stage method): ``M2S(..., return_features=True)`` with
      ``criterion=M2SJointLoss`` (:mod:`braindecode_m2s.objectives`) adds
      the self-supervised terms (weights ``clip_weight`` ...
      ``club_weight``) to the cross-entropy of every training batch with
      two or more modalities.

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
        defaults of :func:`~braindecode_m2s.objectives.pretraining_loss`); 0
        switches a term off.
    standardize : bool
        Standardise every input feature with running statistics.
    return_features : bool
        Default of :meth:`forward`'s ``return_features``: return ``(logits,
        features)`` (for :class:`~braindecode_m2s.objectives.M2SJointLoss`).
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
    .. [m2s] Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025).
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
        return_features: bool = False,
        window_seconds: float = 1.0,
        bands: list | None = None,
        activation: type[nn.Module] = nn.ReLU,
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
        for name, value in dict(
            embed_dim=embed_dim,
            proj_dim=proj_dim,
            n_layers=n_layers,
            n_heads=n_heads,
            head_dim=head_dim,
            ff_dim=ff_dim,
            n_bands=n_bands,
            classifier_hidden=classifier_hidden,
        ).items():
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"M2S: {name} must be a positive integer; got {value!r}.")
        if embed_dim % n_heads:
            raise ValueError(
                f"M2S: n_heads={n_heads} must divide embed_dim={embed_dim} (the feature "
                f"encoders' transformer layers split embed_dim into heads)."
            )
        ssl_weights = check_weights(
            dict(clip=clip_weight, cpc=cpc_weight, recon=recon_weight, club=club_weight)
        )
        self.modalities = {name: int(n) for name, n in modalities.items()}
        self.n_bands = int(n_bands)
        self.embed_dim = int(embed_dim)
        self.proj_dim = int(proj_dim)
        self.window_seconds = window_seconds
        self.bands = bands
        self.ssl_weights = ssl_weights
        self.return_features = bool(return_features)
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
            {m: FeatureStandardizer(n) for m, n in n_in.items()} if standardize else {}
        )
        self.er_encoders = nn.ModuleDict(
            {
                EEG_KEY: EEGEREncoder(
                    self.n_chans,
                    self.n_bands,
                    embed_dim,
                    n_layers,
                    n_heads,
                    head_dim,
                    ff_dim,
                    drop_prob,
                    activation,
                ),
                **{
                    m: FeatureEREncoder(
                        n, embed_dim, n_layers, n_heads, ff_dim, drop_prob, activation
                    )
                    for m, n in self.modalities.items()
                },
            }
        )
        self.ei_encoders = nn.ModuleDict({m: EIEncoder(n, embed_dim) for m, n in n_in.items()})
        self.decoders = nn.ModuleDict({m: Decoder(n, embed_dim) for m, n in n_in.items()})
        self.club = nn.ModuleDict({m: CLUB(embed_dim, embed_dim, club_hidden) for m in names})
        self.projections = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(embed_dim, proj_dim), nn.ReLU()) for m in names}
        )
        self.alignment = CLIPAlignment(init_temperature)
        self.cpc = M2MCPC(names, embed_dim, cpc_context_dim, cpc_layers, cpc_steps, cpc_min_start)
        self.head = nn.Sequential(
            nn.Linear(proj_dim, classifier_hidden),
            nn.ReLU(),
            HeadBatchNorm(classifier_hidden),
        )
        self.final_layer = nn.Linear(classifier_hidden, self.n_outputs)
        # training status, part of the state dict (and so of save_params,
        # save_pretrained and pickles): stage 1 done, encoders trained per
        # modality, encoders frozen
        self.register_buffer("pretrained_flag", torch.zeros((), dtype=torch.bool))
        self.register_buffer("trained_mask", torch.zeros(len(names), dtype=torch.bool))
        self.register_buffer("frozen_flag", torch.zeros((), dtype=torch.bool))
        self.register_buffer(
            "class_labels", torch.full((self.n_outputs,), float("nan"), dtype=torch.float64)
        )
        self.register_load_state_dict_post_hook(_apply_loaded_status)

    # -- training status (in the state dict) ----------------------------------
    @property
    def pretrained(self):
        """Whether stage 1 (self-supervised pretraining) has run on this model."""
        return bool(self.pretrained_flag)

    @pretrained.setter
    def pretrained(self, value):
        self.pretrained_flag.fill_(bool(value))

    @property
    def trained_modalities(self):
        """Modalities whose encoders have been trained (pretrained or fine-tuned)."""
        return {m for m, t in zip(self.modality_names, self.trained_mask.tolist()) if t}

    def mark_trained(self, modalities):
        """Record that the encoders of ``modalities`` have been trained."""
        for m in modalities:
            if m in self.modality_names:
                self.trained_mask[self.modality_names.index(m)] = True
        return self

    @property
    def class_values(self):
        """The labels of the classifier's outputs, if numeric and set (else None).

        Kept in the state dict, so a classifier loaded with skorch's
        ``load_params`` predicts the labels it was trained with.
        """
        values = self.class_labels.cpu().numpy()
        if values.size == 0 or np.isnan(values).any():
            return None
        return values.astype(np.int64) if np.all(values == np.round(values)) else values

    @class_values.setter
    def class_values(self, values):
        values = np.asarray(values)
        self.class_labels.fill_(float("nan"))
        if values.dtype.kind in "biuf" and len(values) == self.class_labels.numel():
            self.class_labels.copy_(torch.as_tensor(values.astype(np.float64)))

    @property
    def frozen(self):
        """Whether everything but the classifier is frozen (stage 2)."""
        return self._frozen

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

    def get_torchinfo_statistics(
        self,
        col_names=("input_size", "output_size", "num_params"),
        row_settings=("var_names", "depth"),
    ):
        """torchinfo summary on :attr:`input_shape` (EEG only)."""
        from torchinfo import summary

        return summary(
            self,
            input_size=self.input_shape,
            col_names=col_names,
            row_settings=row_settings,
            verbose=0,
        )

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
        self.head = nn.Sequential(
            nn.Linear(self.proj_dim, hidden), nn.ReLU(), HeadBatchNorm(hidden)
        ).to(device)
        self.final_layer = nn.Linear(hidden, n_outputs).to(device)
        self.class_labels = torch.full(
            (n_outputs,), float("nan"), dtype=torch.float64, device=device
        )

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
        self.frozen_flag.fill_(self._frozen)
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
    def check_inputs(self, x=None, **modalities):
        """Validate inputs once, with one sentence naming the problem.

        What :meth:`forward` does not check per batch (it would synchronise
        with the device on every step): floating-point values that are all
        finite and of moderate magnitude (below :data:`MAX_ABS_INPUT`), on
        top of the names and shapes. The estimators call it once per
        ``fit`` / ``predict`` / ``transform``; call it yourself before
        feeding the module directly with data you do not trust.

        Parameters
        ----------
        x, **modalities : array-like | torch.Tensor
            As in :meth:`forward`.

        Raises
        ------
        ValueError
            Naming the modality and what was expected.
        """
        inputs = self._prepare(x, modalities, cast=False)
        for name, value in inputs.items():
            if not bool(torch.isfinite(value).all()):
                raise ValueError(
                    f"Modality {name!r} contains NaN or Inf values; expected finite numbers."
                )
            peak = float(value.abs().max())
            if peak > MAX_ABS_INPUT:
                raise ValueError(
                    f"Modality {name!r} has values up to {peak:.3g}; expected features of "
                    f"magnitude below {MAX_ABS_INPUT:g} (scale or log-transform them first)."
                )

    def _prepare(self, x, modalities, cast=True):
        """Check names and shapes (no values); return ``{name: tensor}``.

        EEG comes back ``(batch, n_chans, n_windows, n_bands)`` (raw windows
        through the front end), other modalities ``(batch, n_features,
        n_windows)``; in the parameters' dtype and device when ``cast``.
        Only tensor metadata is read: nothing here waits for the device.
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
            value = torch.as_tensor(value, device=device if cast else None)
            if not torch.is_floating_point(value):
                raise ValueError(
                    f"Modality {name!r} must hold floating-point numbers; got dtype {value.dtype}."
                )
            if value.dim() == 0 or value.shape[0] == 0:
                raise ValueError(
                    f"Modality {name!r} has an empty batch (shape "
                    f"{tuple(value.shape)}); expected at least one sample."
                )
            inputs[name] = value.to(dtype) if cast else value
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
        raw = EEG_KEY in inputs and inputs[EEG_KEY].dim() == 3
        n_windows = {n: v.shape[2] for n, v in inputs.items() if not (raw and n == EEG_KEY)}
        if raw:
            n_windows[EEG_KEY] = inputs[EEG_KEY].shape[-1] // self.frontend.window_samples
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
        if raw and cast:
            inputs[EEG_KEY] = self.frontend(inputs[EEG_KEY])
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
            return x
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
        """Standardised windows ``(batch, n_windows, n_in)`` and the ER encoder's input.

        EEG ``(batch, n_chans, n_windows, n_bands)`` is flattened per window
        channel-major (the reference's 310 = 62 x 5) and its ER input is the
        same tensor viewed windows first, ``(batch, n_windows, n_chans,
        n_bands)``; other modalities ``(batch, n_features, n_windows)`` are
        transposed to windows first.
        """
        if name == EEG_KEY:
            batch, n_chans, n_windows, n_bands = value.shape
            seq = value.transpose(1, 2).reshape(batch, n_windows, n_chans * n_bands)
        else:
            seq = value.transpose(1, 2)
        if name in self.standardizers:
            seq = self.standardizers[name](seq)
        if name == EEG_KEY:
            return seq, seq.view(batch, n_windows, n_chans, n_bands)
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

    def project(self, name, er):
        """Embedding :math:`e^m` of modality ``name`` from its ER sequence.

        The ER sequence's mean over windows through the projection (linear +
        ReLU; the reference's ``*_finetune_Encoder``): ``(batch, n_windows,
        embed_dim)`` -> ``(batch, proj_dim)``.
        """
        return self.projections[name](er.mean(1))

    def embed(self, x=None, **modalities):
        """Embedding :math:`e^m` (``proj_dim``) of every given modality.

        What CLIP aligns and what the classifier reads.

        Returns
        -------
        dict of str -> torch.Tensor
            ``(batch, proj_dim)`` per given modality.
        """
        return {m: self.project(m, p["er"]) for m, p in self.encode(x, **modalities).items()}

    def classify(self, embedding):
        """Classifier on an embedding ``(batch, proj_dim)`` -> logits."""
        return self.final_layer(self.head(embedding))

    def forward(self, x=None, embedding=None, return_features=None, objective=None, **modalities):
        """Logits from any non-empty subset of the modalities.

        Parameters
        ----------
        x : torch.Tensor | None
            EEG: DE features ``(batch, n_chans, n_windows, n_bands)`` or raw
            windows ``(batch, n_chans, n_times)``.
        embedding : torch.Tensor | None
            Precomputed embeddings ``(batch, proj_dim)`` (from :meth:`embed`)
            to classify instead of modalities; this is how
            :class:`~braindecode_m2s.M2SClassifier` trains the classifier on
            frozen encoders without re-running them every epoch.
        return_features : bool | None
            Also return the features, as braindecode's foundation models do
            (None: the ``return_features`` given at construction).
        objective : callable | None
            ``objective(model, parts)``, run inside the forward pass on
            :meth:`encode`'s output instead of the classifier, its result
            returned as is. This is how
            :class:`~braindecode_m2s.M2MCPCPretrainer` computes the stage-1
            loss: inside ``forward``, so that a
            :class:`~torch.nn.parallel.DistributedDataParallel` wrapper (skorch's
            ``AccelerateMixin``) sees every parameter the loss uses.
        **modalities : torch.Tensor
            Other modalities by name, ``(batch, n_features, n_windows)``.

        Returns
        -------
        logits : torch.Tensor
            ``(batch, n_outputs)``: the classifier on the mean of the given
            modalities' embeddings.
        features : dict
            Only with ``return_features``: ``"embedding"`` ``(batch,
            proj_dim)`` and, unless ``embedding`` was given, ``"parts"``
            (:meth:`encode`'s output) and, in training mode with trainable
            encoders, ``"module"`` (this model), from which
            :class:`~braindecode_m2s.objectives.M2SJointLoss` computes the
            self-supervised terms of the joint variant.
        """
        if return_features is None:
            return_features = self.return_features
        if embedding is not None:
            if x is not None or any(v is not None for v in modalities.values()):
                raise ValueError("M2S takes either modalities or `embedding`, not both.")
            embedding = torch.as_tensor(
                embedding,
                device=self.final_layer.weight.device,
                dtype=self.final_layer.weight.dtype,
            )
            if embedding.dim() != 2 or embedding.shape[1] != self.proj_dim:
                raise ValueError(
                    f"embedding has shape {tuple(embedding.shape)}; expected "
                    f"(batch, {self.proj_dim})."
                )
            logits = self.classify(embedding)
            return (logits, {"embedding": embedding}) if return_features else logits
        parts = self.encode(x, **modalities)
        if objective is not None:
            return objective(self, parts)
        embedding = torch.stack([self.project(m, p["er"]) for m, p in parts.items()]).mean(0)
        logits = self.classify(embedding)
        if not return_features:
            return logits
        features = {"embedding": embedding, "parts": parts}
        if self.training and torch.is_grad_enabled() and not self._frozen:
            features["module"] = self  # the heads, for M2SJointLoss's stage-1 terms
        return logits, features


def _apply_loaded_status(module, incompatible_keys):
    """After ``load_state_dict``: freeze as the loaded ``frozen_flag`` says."""
    module.freeze_encoders(bool(module.frozen_flag))
