# Authors: braindecode-m2s developers
#
# M2S of Liu, Cai, Lu & Zheng (2025), "Multi-to-Single: Reducing Multimodal
# Dependency in Emotion Recognition Through Contrastive Learning", AAAI 39(2),
# 1438-1446. Reference implementation (MIT): GitHub Arcee-LYK/Multi-to-Single,
# M2S_demo_code/M2S.py (``Multi_to_Single``), written for EEG + eye; this is
# our own implementation, for any M >= 2 modalities, in braindecode's form.
#
# License: BSD (3-clause)
"""The M2S model: per modality an emotion-related encoder and a projection into
one shared embedding space, and a classifier on one modality's embedding."""

from __future__ import annotations

import numbers

import torch
from torch import nn

from .._braindecode import EEGModuleMixin, set_n_outputs
from ..modules.encoders import EEGEREncoder, FeatureEREncoder
from ..modules.frontends import SEED_IV_BANDS, BandDifferentialEntropy
from ..modules.normalization import FeatureStandardizer, HeadBatchNorm
from ..utils.check import check_float, check_int, shown
from ._config import HUB_OPTIONS, check_pretrained_config
from ._weights import load_weights, weights_file

__all__ = [
    "M2S",
    "ACTIVATIONS",
    "DEFAULT_MODALITIES",
    "EEG_KEY",
    "MAX_ABS_INPUT",
    "MAX_PARAMETERS",
    "SIZE_LIMITS",
]

#: Key of the EEG modality (braindecode's convention for the main signal).
EEG_KEY = "x"
#: Extra modalities of ``M2S`` by default: SEED-IV's 31 eye-movement features.
DEFAULT_MODALITIES = {"eye": 31}
#: Inputs whose magnitude exceeds this are refused (no emotion feature is
#: that large; beyond it float32 arithmetic in the encoders overflows).
MAX_ABS_INPUT = 1e6
#: The activations ``M2S`` accepts, by class or by name (a ``config.json``
#: names one of these; nothing else is imported or called while a model is
#: built from a file).
ACTIVATIONS = {
    cls.__name__: cls
    for cls in (
        nn.ReLU,
        nn.GELU,
        nn.ELU,
        nn.LeakyReLU,
        nn.SiLU,
        nn.Mish,
        nn.SELU,
        nn.CELU,
        nn.Tanh,
        nn.Softplus,
        nn.Hardswish,
    )
}
#: Largest value of every size parameter: beyond these no emotion dataset or
#: GPU makes sense, and a size read from a file is refused before any memory
#: is asked for.
SIZE_LIMITS = {
    "n_outputs": 100_000,
    "n_chans": 4_096,
    "n_times": 10_000_000,
    "n_bands": 256,
    "embed_dim": 8_192,
    "proj_dim": 8_192,
    "n_layers": 64,
    "n_heads": 256,
    "head_dim": 4_096,
    "ff_dim": 65_536,
    "classifier_hidden": 65_536,
    "modality_features": 65_536,
    "n_modalities": 64,
    "window_samples": 131_072,
}
#: Largest number of parameters a configuration may ask for (2**28, 1 GiB of
#: float32 weights; the reference configuration has about 3.6 M): checked on
#: the configuration, before anything is allocated.
MAX_PARAMETERS = 2**28


def _check_size(name, value, low=1):
    """An M2S size: an integer from ``low`` up to its :data:`SIZE_LIMITS` entry."""
    return check_int(name, value, low, SIZE_LIMITS.get(name), where="M2S")


def check_activation(activation):
    """The activation class for ``activation`` (a class or a name), from :data:`ACTIVATIONS`.

    A name may carry its module (``"torch.nn.ReLU"``,
    ``"torch.nn.modules.activation.ReLU"``, as braindecode writes it into a
    ``config.json``); only the classes of :data:`ACTIVATIONS` are accepted,
    so a configuration cannot import or call anything else.
    """
    if isinstance(activation, str):
        module, dot, name = activation.rpartition(".")
        cls = ACTIVATIONS.get(name)
        if cls is None or (dot and module not in ("torch.nn", cls.__module__)):
            raise ValueError(
                f"M2S: activation {activation!r} is not one of {sorted(ACTIVATIONS)} "
                f"(torch.nn classes)."
            )
        return cls
    if activation not in ACTIVATIONS.values():
        raise ValueError(
            f"M2S: activation must be one of the torch.nn classes {sorted(ACTIVATIONS)}; "
            f"got {activation!r}."
        )
    return activation


def estimate_parameters(
    n_chans, n_bands, modalities, embed_dim, proj_dim, n_layers, n_heads, head_dim, ff_dim,
    classifier_hidden, n_outputs,
):  # fmt: skip
    """Number of parameters of an M2S of these sizes (exact, from the sizes alone).

    Computed before the model is built, so that a configuration asking for
    more than :data:`MAX_PARAMETERS` is refused without allocating anything.
    """
    n_eeg = n_chans * n_bands
    inner = n_heads * head_dim
    sts = 3 * n_bands * inner + inner * n_bands + n_bands  # Q, K, V, output projection
    sts += 4 * n_eeg  # two layer norms over the flattened window
    sts += n_eeg * ff_dim + ff_dim + ff_dim * n_eeg + n_eeg  # feed-forward
    total = n_layers * sts + n_eeg * embed_dim + embed_dim  # EEG ER encoder
    layer = 3 * embed_dim * embed_dim + 3 * embed_dim + embed_dim * embed_dim + embed_dim
    layer += 4 * embed_dim + embed_dim * ff_dim + ff_dim + ff_dim * embed_dim + embed_dim
    for n_features in modalities.values():  # feature ER encoders
        total += n_features * embed_dim + embed_dim + n_layers * layer
    total += (1 + len(modalities)) * (embed_dim * proj_dim + proj_dim)  # projections
    total += proj_dim * classifier_hidden + 3 * classifier_hidden  # head (+ BatchNorm)
    total += classifier_hidden * n_outputs + n_outputs  # final layer
    return total


class M2S(EEGModuleMixin, nn.Module):
    """Multi-to-Single (M2S) multimodal emotion recognition model.

    :bdg-info:`Attention/Transformer`

    Trained with several modalities (EEG + eye movements, EEG + peripheral
    physiology...), it classifies from **one** (Liu et al., 2025). Every
    modality has an emotion-related (ER) encoder whose sequence, averaged
    over windows and projected, is the modality's embedding :math:`e^m`;
    self-supervised pretraining (stage 1,
    :class:`~braindecode_m2s.objectives.M2SObjective` through
    :class:`~braindecode_m2s.M2MCPCPretrainer`) aligns the embeddings of all
    modalities in one space, so a classifier trained on one modality's
    embedding reads any modality's (stage 2, the single-modality and
    cross-modal modes of :class:`~braindecode_m2s.M2SClassifier`).

    This module is the architecture only: the parts used at inference. The
    heads that only stage 1 needs (emotion-irrelevant encoders, decoders,
    CLUB, M2M CPC's predictors, CLIP's temperature) belong to the objective,
    and the labels, the training status and the loss weights to the
    estimators.

    .. rubric:: Inputs

    ``forward(x=None, **modalities)`` takes any non-empty subset:

    - ``x``: EEG differential-entropy features ``(batch, n_chans,
      n_windows, n_bands)`` (SEED: 62 x 5 bands), or raw windows
      ``(batch, n_chans, n_times)`` when ``sfreq`` is given (a
      differentiable FFT front end computes band DE per ``window_seconds``);
    - each other modality in ``modalities`` by keyword, ``(batch,
      n_features, n_windows)``, e.g. ``eye=`` (31 SEED-IV eye features).

    All given modalities share the batch size and the number of windows
    (any number >= 2; the reference uses 5). Inputs are cast to the model's
    dtype.

    .. rubric:: Architecture (the reference's, for M modalities)

    - *Input standardisation* (our addition; the reference standardises
      with a scaler fitted on the training data): per feature, running
      statistics.
    - *EEG ER encoder*: ``n_layers`` STS attention layers
      (:class:`~braindecode_m2s.STSAttention`), then a linear map of each
      window's ``n_chans * n_bands`` vector to ``embed_dim``.
    - *Feature ER encoders*: linear embedding, then ``n_layers`` transformer
      encoder layers across windows.
    - *Projection*: ER mean over windows -> linear ``embed_dim -> proj_dim``
      + ReLU: the embedding :math:`e^m` (:meth:`embed`); what CLIP-style
      alignment acts on in stage 1 and what the classifier reads.
    - *Classifier* (``head`` + ``final_layer``): ``proj_dim -> 128``, ReLU,
      BatchNorm, ``-> n_outputs``, on the embedding of the given modality
      (the mean of the embeddings when several are given: our option).

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
        ER feature size (128 in the reference).
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
        Dropout inside the encoder layers (0.1), in ``[0, 1)``.
    classifier_hidden : int
        Hidden size of the classifier (128).
    standardize : bool
        Standardise every input feature with running statistics.
    return_features : bool
        Default of :meth:`forward`'s ``return_features`` (braindecode's
        convention: a dict with ``"features"`` instead of logits).
    window_seconds : float
        Window length of the raw-EEG front end (s).
    bands : sequence of (float, float) | None
        Bands of the raw-EEG front end (Hz); None: SEED-IV's five.
    activation : type[nn.Module] | str
        Activation of the encoders' feed-forward layers (``nn.ReLU``); one
        of :data:`ACTIVATIONS`.

    Notes
    -----
    ``n_chans`` (or ``chs_info``) and ``n_outputs`` are required. With
    feature input ``n_times`` is the number of windows of a sample
    (optional, used by :attr:`input_shape`); with raw input it is the number
    of samples. Every size is checked (an integer within
    :data:`SIZE_LIMITS`) and the parameter count of the configuration is
    bounded by :data:`MAX_PARAMETERS` before anything is allocated, so a
    ``config.json`` from elsewhere (:meth:`from_pretrained`) cannot ask for
    unbounded memory or name code to run.

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
        classifier_hidden: int = 128,
        standardize: bool = True,
        return_features: bool = False,
        window_seconds: float = 1.0,
        bands: list | None = None,
        activation: type[nn.Module] = nn.ReLU,
    ):
        # every size is checked before braindecode's mixin or torch sees it
        n_outputs = None if n_outputs is None else _check_size("n_outputs", n_outputs)
        n_chans = None if n_chans is None else _check_size("n_chans", n_chans)
        if chs_info is not None:
            if not isinstance(chs_info, (list, tuple)) or not all(
                isinstance(ch, dict) for ch in chs_info
            ):
                raise ValueError(
                    "M2S: chs_info must be a list of channel dicts (MNE's info['chs'])."
                )
            _check_size("n_chans", len(chs_info))
        n_times = None if n_times is None else _check_size("n_times", n_times)
        if sfreq is not None:
            sfreq = check_float("sfreq", sfreq, 0, 1e6, low_open=True, where="M2S")
        if input_window_seconds is not None:
            input_window_seconds = check_float(
                "input_window_seconds",
                input_window_seconds,
                0,
                1e5,
                low_open=True,
                high_open=True,
                where="M2S",
            )
        modalities = _check_modalities(DEFAULT_MODALITIES if modalities is None else modalities)
        sizes = {
            name: _check_size(name, value)
            for name, value in dict(
                n_bands=n_bands,
                embed_dim=embed_dim,
                proj_dim=proj_dim,
                n_layers=n_layers,
                n_heads=n_heads,
                head_dim=head_dim,
                ff_dim=ff_dim,
                classifier_hidden=classifier_hidden,
            ).items()
        }
        drop_prob = check_float("drop_prob", drop_prob, 0.0, 1.0, high_open=True, where="M2S")
        window_seconds = check_float(
            "window_seconds", window_seconds, 0, 1e4, low_open=True, high_open=True, where="M2S"
        )
        band_edges = _check_bands(bands)
        activation = check_activation(activation)
        if sizes["embed_dim"] % sizes["n_heads"]:
            raise ValueError(
                f"M2S: n_heads={n_heads} must divide embed_dim={embed_dim} (the feature "
                f"encoders' transformer layers split embed_dim into heads)."
            )
        if n_chans is None and chs_info is None:
            raise ValueError(
                "M2S needs n_chans (or chs_info). Under EEGClassifier (or any skorch net), "
                "module__* parameters rebuild a given M2S instance from those parameters "
                "alone: give the class and every parameter, e.g. EEGClassifier(M2S, "
                "module__n_chans=62, module__n_outputs=4, module__embed_dim=64), or use "
                "M2SClassifier, which rebuilds an instance from its own configuration."
            )
        if n_outputs is None:
            raise ValueError(
                "M2S needs n_outputs (the number of classes); as module__n_outputs under a "
                "skorch net given the class."
            )
        raw = sfreq is not None or input_window_seconds is not None
        if raw and sfreq is not None:  # the front end's FFT and band masks: bounded
            samples = round(window_seconds * sfreq)
            if samples > SIZE_LIMITS["window_samples"]:
                raise ValueError(
                    f"M2S: window_seconds={window_seconds} at sfreq={sfreq} gives {samples} "
                    f"samples per feature window; expected at most "
                    f"{SIZE_LIMITS['window_samples']} (SIZE_LIMITS['window_samples'])."
                )
        if n_chans is not None and chs_info is not None and len(chs_info) != n_chans:
            raise ValueError(
                f"M2S: n_chans={n_chans} but chs_info describes {len(chs_info)} channels; "
                f"expected the same number."
            )
        super().__init__(
            n_outputs=n_outputs,
            n_chans=n_chans,
            chs_info=chs_info,
            n_times=n_times,
            input_window_seconds=input_window_seconds,
            sfreq=sfreq,
        )
        del n_outputs, n_chans, chs_info, input_window_seconds, sfreq
        frontend = None
        if raw:
            frontend = BandDifferentialEntropy(
                self.sfreq, window_seconds, SEED_IV_BANDS if band_edges is None else band_edges
            )
            sizes["n_bands"] = frontend.n_bands
            try:
                n_samples = self.n_times  # given, or input_window_seconds * sfreq
            except ValueError:
                n_samples = None
            if n_samples is not None and n_samples < frontend.window_samples:
                raise ValueError(
                    f"M2S: n_times={n_samples} samples is shorter than one "
                    f"{frontend.window_samples}-sample feature window (window_seconds="
                    f"{window_seconds} at sfreq={self.sfreq}); lengthen the input or "
                    f"shorten window_seconds."
                )
        n_params = estimate_parameters(
            self.n_chans, modalities=modalities, n_outputs=self.n_outputs, **sizes
        )
        if n_params > MAX_PARAMETERS:
            raise ValueError(
                f"M2S: this configuration has {n_params:,} parameters; expected at most "
                f"{MAX_PARAMETERS:,} (MAX_PARAMETERS, {MAX_PARAMETERS * 4 / 2**30:g} GiB "
                f"of float32 weights)."
            )
        self.modalities = modalities
        self.n_bands = sizes["n_bands"]
        self.embed_dim = sizes["embed_dim"]
        self.proj_dim = sizes["proj_dim"]
        # feature input: n_times is the number of windows of one sample (input_shape)
        self.n_windows = None if raw else n_times
        self.window_seconds = window_seconds
        self.bands = bands
        self.return_features = bool(return_features)
        self.frontend = frontend

        n_in = self.input_sizes
        self.standardizers = nn.ModuleDict(
            {m: FeatureStandardizer(n) for m, n in n_in.items()} if standardize else {}
        )
        self.er_encoders = nn.ModuleDict(
            {
                EEG_KEY: EEGEREncoder(
                    self.n_chans,
                    self.n_bands,
                    self.embed_dim,
                    sizes["n_layers"],
                    sizes["n_heads"],
                    sizes["head_dim"],
                    sizes["ff_dim"],
                    drop_prob,
                    activation,
                ),
                **{
                    m: FeatureEREncoder(
                        n,
                        self.embed_dim,
                        sizes["n_layers"],
                        sizes["n_heads"],
                        sizes["ff_dim"],
                        drop_prob,
                        activation,
                    )
                    for m, n in self.modalities.items()
                },
            }
        )
        self.projections = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(self.embed_dim, self.proj_dim), nn.ReLU()) for m in n_in}
        )
        self.head = nn.Sequential(
            nn.Linear(self.proj_dim, sizes["classifier_hidden"]),
            nn.ReLU(),
            HeadBatchNorm(sizes["classifier_hidden"]),
        )
        self.final_layer = nn.Linear(sizes["classifier_hidden"], self.n_outputs)

    # -- braindecode conventions -------------------------------------------
    @property
    def modality_names(self):
        """All modality keys the model accepts, EEG (``"x"``) first."""
        return [EEG_KEY, *self.modalities]

    @property
    def input_sizes(self):
        """Features per window of every modality: ``n_chans * n_bands`` for EEG."""
        return {EEG_KEY: self.n_chans * self.n_bands, **self.modalities}

    @property
    def input_shape(self):
        """One EEG input: raw ``(1, n_chans, n_times)`` with a front end
        (``n_times`` as braindecode infers it, from ``input_window_seconds *
        sfreq`` when not given; five windows when neither is), else DE
        features ``(1, n_chans, n_windows, n_bands)`` with ``n_windows =
        n_times`` (5 when not given, as in the reference)."""
        if self.frontend is not None:
            try:
                n_times = self.n_times
            except ValueError:
                n_times = 5 * self.frontend.window_samples
            return (1, self.n_chans, n_times)
        return (1, self.n_chans, self.n_windows or 5, self.n_bands)

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
        """Replace ``head`` and ``final_layer`` by fresh layers (braindecode's API).

        Parameters
        ----------
        n_outputs : int
            New number of classes.
        """
        n_outputs = _check_size("n_outputs", n_outputs)
        set_n_outputs(self, n_outputs)
        device = self.final_layer.weight.device
        dtype = self.final_layer.weight.dtype
        hidden = self.final_layer.in_features
        self.head = nn.Sequential(
            nn.Linear(self.proj_dim, hidden), nn.ReLU(), HeadBatchNorm(hidden)
        ).to(device, dtype)
        self.final_layer = nn.Linear(hidden, n_outputs).to(device, dtype)

    def load_state_dict(self, state_dict, *args, **kwargs):
        """:meth:`torch.nn.Module.load_state_dict`, the state dict's metadata kept.

        braindecode's version renames keys through ``mapping`` into a new
        dict, which drops ``state_dict._metadata`` (the modules' versions, and
        what an estimator saves beside the weights, such as its labels); M2S
        has no renamed keys. The metadata may come from a file
        (``torch.load`` gives it back as saved): it must be torch's, a dict of
        module names to dicts whose ``version`` is an integer, or this is a
        ``ValueError`` (torch's modules compare the version with a number).
        """
        check_state_metadata(getattr(state_dict, "_metadata", None))
        return nn.Module.load_state_dict(self, state_dict, *args, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """braindecode's hub loading, with ``config.json`` and the weights read as untrusted input.

        The configuration is read once, as a regular file of at most 1 MiB
        (never a device or a FIFO, even through a link); it must be a JSON
        object whose keys are :class:`M2S` parameters, and it names its
        activation from :data:`ACTIVATIONS` (nothing is imported from the
        file). The model is built from that checked content
        (:meth:`from_config`, sizes checked by the constructor before anything
        is allocated): the file is not opened again, so one swapped after the
        check is never read. The weights (``model.safetensors``, else
        ``pytorch_model.bin``) are read the same way, at most the size of
        the model's tensors in float64 plus headers, decoded from memory
        (``torch.load`` with ``weights_only=True`` for the latter) and
        checked against the model, tensor by tensor: names, shapes, kinds,
        finite values. ``strict`` defaults to True here: a file that lacks one
        of the model's tensors is refused (pass ``strict=False`` to keep the
        model's own initialisation for those). Anything else is a
        ``ValueError`` naming the file (``FileNotFoundError`` for a missing
        one).

        Parameters
        ----------
        pretrained_model_name_or_path : str | pathlib.Path
            A folder written by :meth:`save_pretrained`, or a Hub repository
            id (``"namespace/name"``).
        **kwargs
            ``huggingface_hub``'s options (``revision``, ``cache_dir``,
            ``force_download``, ``token``, ``local_files_only``...),
            ``map_location`` (default ``"cpu"``), ``strict`` (default True),
            and :class:`M2S` parameters that replace the saved ones; an
            ``n_outputs`` other than the saved one loads the saved head, then
            :meth:`reset_head` builds a new one.

        Returns
        -------
        M2S
            The model with its weights, in eval mode.
        """
        where = f"{cls.__name__}.from_pretrained"
        model_id = pretrained_model_name_or_path
        path, config = check_pretrained_config(cls, model_id, kwargs)
        options = {k: kwargs.pop(k) for k in HUB_OPTIONS if k in kwargs}
        map_location = kwargs.pop("map_location", "cpu")
        strict = kwargs.pop("strict", True)
        config.pop("braindecode_version", None)
        requested = kwargs.get("n_outputs")
        params = {**config, **kwargs}
        if requested is not None and config.get("n_outputs") not in (None, requested):
            params["n_outputs"] = config["n_outputs"]  # the saved head first, as braindecode
        try:
            model = cls.from_config(params)
        except ValueError as err:
            raise ValueError(f"{where}: {str(path)!r}: {err}") from None
        weights, fmt = weights_file(model_id, options, where)
        model = load_weights(model, weights, fmt, map_location, strict, where)
        if requested is not None and requested != model.n_outputs:
            model.reset_head(requested)
        return model

    @classmethod
    def from_config(cls, config):
        """braindecode's ``from_config``, with the activation read from :data:`ACTIVATIONS`."""
        config = dict(config)
        if isinstance(config.get("activation"), str):
            config["activation"] = check_activation(config["activation"])
        return super().from_config(config)

    # -- input handling ------------------------------------------------------
    def check_inputs(self, x=None, **modalities):
        """Validate inputs once, with one sentence naming the problem.

        What :meth:`forward` does not check per batch (it would synchronise
        with the device on every step): floating-point values that are all
        finite and of moderate magnitude (below :data:`MAX_ABS_INPUT`), on
        top of the names, ranks and shapes. The estimators call it once per
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
            check_input_values(name, value)

    def _prepare(self, x, modalities, cast=True):
        """Check names, ranks and shapes (no values); return ``{name: tensor}``.

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
                if value.dim() != 3:
                    raise ValueError(
                        f"Modality {name!r} has shape {tuple(value.shape)} ({value.dim()}-D); "
                        f"expected 3-D (batch, {expected}, n_windows)."
                    )
                if value.shape[1] != expected:
                    raise ValueError(
                        f"Modality {name!r} has {value.shape[1]} features (shape "
                        f"{tuple(value.shape)}); expected (batch, {expected}, n_windows)."
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
                    f"EEG input 'x' has shape {tuple(x.shape)} (3-D), which would be raw "
                    f"windows (batch, n_chans, n_times), but this M2S has no sfreq for its "
                    f"raw front end; pass sfreq=... or give 4-D DE features (batch, "
                    f"{self.n_chans}, n_windows, {self.n_bands})."
                )
            self._check_chans(x)
            return x
        if x.dim() != 4:
            raise ValueError(
                f"EEG input 'x' has shape {tuple(x.shape)} ({x.dim()}-D); expected 4-D "
                f"features (batch, {self.n_chans}, n_windows, {self.n_bands})"
                + (
                    f" or 3-D raw windows (batch, {self.n_chans}, n_times)."
                    if self.frontend is not None
                    else "."
                )
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

        Parameters
        ----------
        x, **modalities : torch.Tensor
            As in :meth:`forward`.

        Returns
        -------
        dict of str -> dict
            Per modality: ``"input"`` ``(batch, n_windows, n_in)`` (the
            standardised windows, what stage 1 reconstructs), ``"er"``
            ``(batch, n_windows, embed_dim)``.
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

        Returns
        -------
        dict of str -> torch.Tensor
            ``(batch, proj_dim)`` per given modality.
        """
        return {m: self.project(m, p["er"]) for m, p in self.encode(x, **modalities).items()}

    def classify(self, embedding):
        """Classifier on an embedding ``(batch, proj_dim)`` -> logits ``(batch, n_outputs)``."""
        return self.final_layer(self.head(embedding))

    def eeg_attention(self, x):
        """Spatial attention weights of every STS layer for EEG input ``x``.

        Parameters
        ----------
        x : torch.Tensor
            EEG as in :meth:`forward`.

        Returns
        -------
        list of torch.Tensor
            Per layer, ``(batch, n_windows, n_heads, n_chans, n_chans)``
            (queries x keys; rows sum to one).
        """
        windows, er_input = self._windows(EEG_KEY, self._prepare(x, {})[EEG_KEY])
        return self.er_encoders[EEG_KEY](er_input, return_attention=True)[1]

    def forward(self, x=None, embedding=None, return_features=None, **modalities):
        """Logits from any non-empty subset of the modalities.

        Parameters
        ----------
        x : torch.Tensor | None
            EEG: DE features ``(batch, n_chans, n_windows, n_bands)`` or raw
            windows ``(batch, n_chans, n_times)``.
        embedding : torch.Tensor | None
            Embeddings ``(batch, proj_dim)`` (from :meth:`embed`) to classify
            instead of modalities: the classifier alone, as stage 2 trains it
            on frozen encoders.
        return_features : bool | None
            Return the features instead of the logits, as braindecode's
            models do (None: the ``return_features`` given at construction).
        **modalities : torch.Tensor
            Other modalities by name, ``(batch, n_features, n_windows)``.

        Returns
        -------
        torch.Tensor | dict
            Logits ``(batch, n_outputs)``: the classifier on the mean of the
            given modalities' embeddings. With ``return_features``, a dict:
            ``"features"`` ``(batch, proj_dim)``, that mean embedding;
            ``"cls_token"`` None (M2S has no class token); and, unless
            ``embedding`` was given, ``"modalities"``: per given modality
            ``"input"`` (standardised windows), ``"er"`` (the ER sequence)
            and ``"embedding"``, what the stage-1 objective reads.
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
            if return_features:
                return {"features": embedding, "cls_token": None}
            return self.classify(embedding)
        parts = self.encode(x, **modalities)
        for name, part in parts.items():
            part["embedding"] = self.project(name, part["er"])
        embeddings = [part["embedding"] for part in parts.values()]
        mean = embeddings[0] if len(embeddings) == 1 else torch.stack(embeddings).mean(0)
        if return_features:
            return {"features": mean, "cls_token": None, "modalities": parts}
        return self.classify(mean)


def check_state_metadata(metadata):
    """Refuse a state dict's ``_metadata`` that is not torch's form.

    Parameters
    ----------
    metadata : object
        ``state_dict._metadata`` (None when absent): a dict of module names
        (``""`` for the root) to dicts, whose ``version`` (when present) is an
        integer.

    Raises
    ------
    ValueError
        Naming the first entry that is not of that form.
    """
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise ValueError(
            f"the state dict's metadata is a {type(metadata).__name__}; expected torch's "
            f"dict of module names to their versions."
        )
    for name, entry in metadata.items():
        version = entry.get("version") if isinstance(entry, dict) else None
        if (
            not isinstance(name, str)
            or not isinstance(entry, dict)
            or (
                version is not None
                and (isinstance(version, bool) or not isinstance(version, numbers.Integral))
            )
        ):
            raise ValueError(
                f"the state dict's metadata holds {shown(name)}: {shown(entry)}; expected "
                f"torch's module names with dicts of an integer 'version'."
            )


def check_input_values(name, value):
    """Refuse a modality whose values are not finite or exceed :data:`MAX_ABS_INPUT`.

    Parameters
    ----------
    name : str
        The modality, for the message.
    value : torch.Tensor
        Its values (floating point).
    """
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"Modality {name!r} contains NaN or Inf values; expected finite numbers.")
    peak = float(value.abs().max()) if value.numel() else 0.0
    if peak > MAX_ABS_INPUT:
        raise ValueError(
            f"Modality {name!r} has values up to {peak:.3g}; expected features of "
            f"magnitude below {MAX_ABS_INPUT:g} (scale or log-transform them first)."
        )


def _check_bands(bands):
    """``bands`` as a list of ``(low, high)`` float pairs (at most ``SIZE_LIMITS['n_bands']``)."""
    if bands is None:
        return None
    limit = SIZE_LIMITS["n_bands"]
    if (
        isinstance(bands, (str, bytes, dict))
        or not hasattr(bands, "__len__")
        or not 1 <= len(bands) <= limit
    ):
        raise ValueError(
            f"M2S: bands must be a list of 1 to {limit} (low, high) pairs in Hz; got "
            f"{shown(bands)}."
        )
    checked = []
    for band in bands:
        if (
            isinstance(band, (str, bytes, dict))
            or not hasattr(band, "__len__")
            or len(band) != 2
            or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) and abs(v) < 1e300
                for v in band
            )  # NaN fails too; a huge integer is compared exactly
        ):
            raise ValueError(
                f"M2S: every band must be a (low, high) pair of finite numbers in Hz; got "
                f"{shown(band)}."
            )
        checked.append((float(band[0]), float(band[1])))
    return checked


def _check_modalities(modalities):
    """The extra modalities as ``{name: n_features}``, every entry checked."""
    if not isinstance(modalities, dict):
        raise ValueError(
            f"M2S: modalities must be a dict of name -> feature count, e.g. {{'eye': 31}}; "
            f"got {type(modalities).__name__}."
        )
    _check_size("n_modalities", len(modalities), low=0)
    checked = {}
    for name, n_features in modalities.items():
        if not isinstance(name, str) or name == EEG_KEY or not name.isidentifier():
            raise ValueError(
                f"Modality name {name!r} is not allowed: names must be Python identifiers "
                f"other than {EEG_KEY!r} (the EEG)."
            )
        if name in ("embedding", "return_features"):
            raise ValueError(f"Modality name {name!r} is taken by M2S.forward's own arguments.")
        try:
            checked[name] = _check_size("modality_features", n_features)
        except ValueError:
            raise ValueError(
                f"Modality {name!r} needs a positive integer feature count (at most "
                f"{SIZE_LIMITS['modality_features']}); got {shown(n_features)}."
            ) from None
    return checked
