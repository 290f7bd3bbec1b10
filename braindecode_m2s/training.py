"""skorch estimators for the two training stages of M2S (Liu et al., 2025).

- :class:`M2MCPCPretrainer` (stage 1): self-supervised pretraining of the
  M2S encoders on unlabelled multimodal data (CLIP-style alignment + M2M CPC
  + reconstruction + CLUB); ``transform`` gives embeddings, so it slots into
  scikit-learn pipelines; ``to_classifier`` starts stage 2.
- :class:`M2SClassifier` (stage 2, and stage 1 first when the model is not
  pretrained): a classifier on the frozen pretrained encoders, trained on
  the modalities named by ``train_modalities`` and predicting from those
  named by ``test_modalities``: the paper's single-modality (eeg2eeg,
  eye2eye) and cross-modal (eeg2eye, eye2eeg) modes.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from braindecode import EEGClassifier
from braindecode.util import set_random_seeds
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.classifier import NeuralNetClassifier
from skorch.dataset import unpack_data
from skorch.helper import SliceDict
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder

from .models.m2s import EEG_KEY, M2S

__all__ = ["M2SClassifier", "M2MCPCPretrainer", "AuxiliaryLogger", "TrialValidSplit"]

_LOGGED = ("clip", "cpc", "recon", "club")


class _ModalityLoader:
    """Wrap a DataLoader: float32 for every modality, int64 targets.

    braindecode's ``ThrowAwayIndexLoader`` casts ``x["x"]`` only and fails
    with ``KeyError: 'x'`` for a dict without EEG; this loader accepts any
    subset of modalities (and drops braindecode's window indices).
    """

    def __init__(self, loader, classification):
        self.loader = loader
        self.classification = classification

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):
        if name == "loader":
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __iter__(self):
        for batch in self.loader:
            X, y = batch[0], batch[1]
            if isinstance(X, Mapping):
                X = {k: _as_float32(v) for k, v in X.items()}
            else:
                X = _as_float32(X)
            if isinstance(y, torch.Tensor) and self.classification:
                y = y.long()
            yield X, y


def _as_float32(value):
    if isinstance(value, torch.Tensor) and torch.is_floating_point(value):
        return value.float()
    return value


def _pair_name(pair):
    return f"{pair[0]}->{pair[1]}"


def _record(history, prefix, record):
    """Write a module's loss record into the current batch of history."""
    for key, value in record.items():
        if key.endswith("_acc"):
            for pair, acc in value.items():
                history.record_batch(f"{prefix}_{key}_{_pair_name(pair)}", acc)
        elif key != "total":
            history.record_batch(f"{prefix}_{key}", value)


class AuxiliaryLogger(Callback):
    """Average the logged loss terms and accuracies of each epoch.

    Every batch key ``train_<term>...`` / ``valid_<term>...`` with
    ``<term>`` one of ``clip``, ``cpc``, ``recon``, ``club`` is averaged over
    the epoch's batches (weighted by batch size) into the epoch row of
    ``net.history`` under the same name.
    """

    def on_epoch_end(self, net, **kwargs):
        sums, weights = {}, {}
        for batch in net.history[-1, "batches"]:
            for key, value in batch.items():
                prefix, _, rest = key.partition("_")
                if prefix in ("train", "valid") and rest.startswith(_LOGGED):
                    size = batch.get(f"{prefix}_batch_size", 1)
                    sums[key] = sums.get(key, 0.0) + value * size
                    weights[key] = weights.get(key, 0) + size
        for key in sorted(sums):
            net.history.record(key, sums[key] / weights[key])


class TrialValidSplit:
    """Validation split of whole trials (or other groups) of the training data.

    For skorch's ``train_split``: holds out a ``fraction`` of the groups
    (``fit(X, y, groups=...)``; a trial id per sample) so no window of a
    validation trial is trained on; model selection (early stopping,
    checkpoints) then never sees test data nor training trials. Without
    groups it falls back to a stratified split of samples and warns that
    windows of one trial may fall on both sides.

    Parameters
    ----------
    fraction : float
        Share of groups (or samples) held out, in (0, 1).
    random_state : int | None
        Seed of the split.
    """

    def __init__(self, fraction=0.2, random_state=None):
        if not 0 < fraction < 1:
            raise ValueError(f"TrialValidSplit: fraction must be in (0, 1); got {fraction!r}.")
        self.fraction = fraction
        self.random_state = random_state

    def __repr__(self):
        return f"TrialValidSplit(fraction={self.fraction}, random_state={self.random_state})"

    def __call__(self, dataset, y=None, groups=None):
        n = len(dataset)
        index = np.arange(n)
        if groups is not None:
            groups = np.asarray(groups)
            if len(groups) != n:
                raise ValueError(f"groups has {len(groups)} entries for {n} samples.")
            if len(np.unique(groups)) < 2:
                raise ValueError("TrialValidSplit needs at least two groups (trials).")
            splitter = GroupShuffleSplit(1, test_size=self.fraction,
                                         random_state=self.random_state)
            train, valid = next(splitter.split(index, groups=groups))
        else:
            warnings.warn(
                "TrialValidSplit got no groups: the validation windows are drawn at random "
                "and may share trials with the training windows; pass fit(X, y, "
                "groups=trial_ids) for a trial-wise split.", stacklevel=3,
            )
            splitter = StratifiedShuffleSplit(1, test_size=self.fraction,
                                              random_state=self.random_state)
            train, valid = next(splitter.split(index, None if y is None else np.asarray(y)))
        subset = torch.utils.data.Subset
        return subset(dataset, train), subset(dataset, valid)


def _infer_module_kwargs(X, y=None):
    """Signal parameters of M2S from multimodal data.

    EEG features ``(n, n_chans, n_windows, n_bands)`` give ``n_chans``,
    ``n_times`` (= n_windows) and ``n_bands``; raw EEG ``(n, n_chans,
    n_times)`` gives ``n_chans`` and ``n_times``; other modalities ``(n,
    n_features, n_windows)`` give ``modalities``; ``y`` gives ``n_outputs``.
    """
    kwargs = {}
    if isinstance(X, Mapping):
        eeg = X.get(EEG_KEY)
        others = {k: v for k, v in X.items() if k != EEG_KEY}
    else:
        eeg, others = X, {}
    if eeg is not None and hasattr(eeg, "shape"):
        if len(eeg.shape) == 4:
            kwargs.update(n_chans=eeg.shape[1], n_times=eeg.shape[2], n_bands=eeg.shape[3])
        elif len(eeg.shape) == 3:
            kwargs.update(n_chans=eeg.shape[1], n_times=eeg.shape[2])
    if others:
        kwargs["modalities"] = {
            k: int(v.shape[1]) for k, v in others.items() if len(getattr(v, "shape", ())) == 3
        }
    if y is not None:
        kwargs["n_outputs"] = len(np.unique(np.asarray(y)))
    return kwargs


def _dataset_sfreq(dataset):
    """Sampling frequency of a braindecode (concat) dataset, if it has one."""
    for ds in getattr(dataset, "datasets", [dataset]):
        for attr in ("windows", "raw"):
            info = getattr(getattr(ds, attr, None), "info", None)
            if info is not None:
                return float(info["sfreq"])
    return None


def _keys(X):
    return list(X.keys()) if isinstance(X, Mapping) else [EEG_KEY]


def _select(X, keys, argument):
    """The modalities ``keys`` of ``X`` (all of them when ``keys`` is None)."""
    if keys is None:
        return X
    if isinstance(keys, str):
        keys = [keys]
    missing = [k for k in keys if k not in _keys(X)]
    if missing:
        raise ValueError(
            f"{argument}={list(keys)!r} names modality {missing[0]!r}, which X does not "
            f"hold; X has {_keys(X)}."
        )
    if not isinstance(X, Mapping):
        return X
    return SliceDict(**{k: X[k] for k in keys})


def _check_X(X, where):
    if isinstance(X, Mapping):
        if len(X.keys()) == 0:
            raise ValueError(f"{where}: X holds no modality; expected a SliceDict of arrays.")
        sizes = {k: len(v) for k, v in X.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"{where}: modalities of X have different lengths {sizes}.")
        for k, v in X.items():
            _check_array(v, f"{where}: X[{k!r}]")
    elif hasattr(X, "shape"):
        _check_array(X, f"{where}: X")


def _check_array(value, name):
    array = np.asarray(value) if not isinstance(value, torch.Tensor) else value.numpy()
    if array.dtype.kind not in "fc":
        raise ValueError(f"{name} has dtype {array.dtype}; expected floating-point features.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or Inf values; expected finite numbers.")


def _fresh_module(net, module):
    """The module to train, seeded: an unpretrained instance is rebuilt.

    skorch keeps a module instance as it is, so a second ``fit`` would
    continue from trained weights and the initial weights would depend on
    the global RNG state at construction time. An instance that is not
    pretrained is rebuilt here from its recorded constructor arguments
    (after seeding), so ``random_state`` repeats a fit whether the module
    was given as a class or an instance. A pretrained instance is copied.
    """
    if isinstance(module, torch.nn.Module):
        if getattr(module, "pretrained_", False):
            return copy.deepcopy(module)
        init_kwargs = getattr(module, "_braindecode_init_kwargs", None)
        if init_kwargs is not None:
            return type(module)(**{**init_kwargs, **net.get_params_for("module")})
        return copy.deepcopy(module)
    return module(**net.get_params_for("module"))


class _SeededNetMixin:
    """Seeding and module (re)building shared by both estimators."""

    def initialize(self):
        """Seed (``random_state``), then initialise as skorch does."""
        if self.random_state is not None:
            set_random_seeds(self.random_state, cuda=torch.cuda.is_available())
        return super().initialize()

    def initialize_module(self):
        """Build the module (see :func:`_fresh_module`) and move it to ``device``."""
        if getattr(self, "_reuse_module", False):
            self.module_ = self.module.to(self.device)
        else:
            self.module_ = _fresh_module(self, self.module).to(self.device)
        return self

    @property
    def _default_callbacks(self):
        return [*super()._default_callbacks, ("auxiliary_logger", AuxiliaryLogger())]


class M2MCPCPretrainer(_SeededNetMixin, NeuralNet):
    """Stage 1 of M2S: self-supervised pretraining of the encoders, no labels.

    ``fit(X)`` with ``X`` a ``SliceDict`` of two or more modalities trains an
    :class:`~braindecode_m2s.M2S` on

    .. math::

        \\mathcal L = w_{clip}\\mathcal L_{CLIP} + w_{cpc}\\mathcal L_{M2M CPC}
        + w_{rec}\\mathcal L_{rec} + w_{club}\\hat I_{CLUB}

    (Liu et al., 2025; see :meth:`M2S.self_supervised_loss`). Before each
    training step, the CLUB networks :math:`q(\mathrm{EI} \mid \mathrm{ER})`
    take ``club_steps`` steps of their own optimiser on the batch's detached
    features (the reference's three), so the bound the encoders minimise
    stays a bound; ``club_steps=0`` fits them in the main step instead
    (:meth:`CLUB.training_loss`, single-step scheme; measured less stable:
    ``docs/results.md``). A weight of 0 switches a term off, which gives the
    authors' ablations.

    ``history`` logs ``train_loss`` and every term (``train_clip_loss``,
    ``train_cpc_loss``, ``train_recon_loss``, ``train_club_mi``,
    ``train_club_nll``) and the retrieval accuracies of CLIP
    (``train_clip_acc_x->eye``) and CPC (``train_cpc_acc_eye->x``: the eye
    predictor scored on EEG's future), and ``valid_*`` with a
    ``train_split``. ::

        pretrainer = M2MCPCPretrainer(M2S(n_chans=62, n_outputs=4), max_epochs=50)
        pretrainer.fit(SliceDict(x=eeg, eye=eye))
        Z = pretrainer.transform(SliceDict(eye=eye))     # (n, 32) embeddings
        clf = pretrainer.to_classifier(train_modalities=["x"],
                                       test_modalities=["eye"])  # eeg2eye

    Parameters
    ----------
    module : M2S | type
        The model (instance, or the class with ``module__*`` parameters; then
        ``n_chans``, ``n_times``, ``n_bands`` and ``modalities`` are inferred
        from ``X``).
    clip_weight, cpc_weight, recon_weight, club_weight : float
        Term weights (reference: 1, 1, 0.1, 0.3).
    club_steps : int
        Separate optimiser steps of the CLUB networks per batch (3).
    random_state : int | None
        Seed applied when the net is initialised (every ``fit``).
    optimizer, lr, batch_size, max_epochs, train_split, **kwargs
        As :class:`skorch.NeuralNet`; defaults AdamW, 1e-3, 128, 50, None.
    """

    _classification = False

    def __init__(
        self,
        module=M2S,
        *args,
        clip_weight=1.0,
        cpc_weight=1.0,
        recon_weight=0.1,
        club_weight=0.3,
        club_steps=3,
        random_state=None,
        criterion=torch.nn.Identity,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        batch_size=128,
        max_epochs=50,
        train_split=None,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        self.clip_weight = clip_weight
        self.cpc_weight = cpc_weight
        self.recon_weight = recon_weight
        self.club_weight = club_weight
        self.club_steps = club_steps
        self.random_state = random_state
        super().__init__(
            module, *args, criterion=criterion, optimizer=optimizer, lr=lr,
            batch_size=batch_size, max_epochs=max_epochs, train_split=train_split,
            iterator_train__shuffle=iterator_train__shuffle, **kwargs,
        )

    @property
    def weights(self):
        """The term weights as a dict (``clip``, ``cpc``, ``recon``, ``club``)."""
        return {"clip": self.clip_weight, "cpc": self.cpc_weight,
                "recon": self.recon_weight, "club": self.club_weight}

    def fit(self, X, y=None, **fit_params):
        """Pretrain on unlabelled multimodal data.

        Parameters
        ----------
        X : dict | skorch.helper.SliceDict
            Two or more modalities in M2S's layout.
        y : None
            Ignored (self-supervised).

        Returns
        -------
        self
        """
        if not isinstance(X, Mapping) or len(X.keys()) < 2:
            keys = sorted(X) if isinstance(X, Mapping) else type(X).__name__
            raise ValueError(
                f"M2S pretraining needs a SliceDict of at least two modalities; got {keys}."
            )
        for name, value in self.weights.items():
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"{name}_weight must be a finite number >= 0; got {value!r}.")
        _check_X(X, "M2MCPCPretrainer.fit")
        if not isinstance(self.module, torch.nn.Module):
            inferred = _infer_module_kwargs(X)
            inferred.setdefault("n_outputs", 2)
            user = self.get_params_for("module")
            self.set_params(**{f"module__{k}": v for k, v in inferred.items() if k not in user})
        if not self.warm_start or not self.initialized_:
            self.initialize()
        self.partial_fit(X, None, **fit_params)
        self.module_.pretrained_ = True
        self.module_.trained_modalities_ = set(self.module_.trained_modalities_) | set(X.keys())
        return self

    def get_iterator(self, dataset, training=False):
        return _ModalityLoader(super().get_iterator(dataset, training=training), False)

    def initialize_optimizer(self, *args, **kwargs):
        """The main optimiser, and one for the CLUB networks (``club_steps``)."""
        super().initialize_optimizer(*args, **kwargs)
        params = list(self.module_.club.parameters())
        self.optimizer_club_ = self.optimizer(params, **self.get_params_for("optimizer"))
        return self

    def _fit_club(self, parts):
        """``club_steps`` likelihood steps of the CLUB networks on detached features.

        The features come from the batch's forward pass (the reference runs
        the encoders again; their weights have not changed in between).
        """
        if self.club_steps <= 0 or self.club_weight <= 0:
            return
        with torch.no_grad():
            parts = {m: {"er": p["er"].detach(),
                         "ei": self.module_.ei_encoders[m](p["input"])}
                     for m, p in parts.items()}
        for _ in range(self.club_steps):
            self.optimizer_club_.zero_grad()
            nll = sum(-self.module_.club[m].log_likelihood(p["er"], p["ei"])
                      for m, p in parts.items())
            nll.backward()
            self.optimizer_club_.step()
        self.optimizer_club_.zero_grad()

    def _step(self, batch, training):
        Xi, _ = unpack_data(batch)
        parts = self.module_.encode(**_to_inputs(self, Xi))
        if training:
            self._fit_club(parts)
        loss, record = self.module_.self_supervised_loss(
            weights=self.weights, parts=parts, fit_club=self.club_steps <= 0)
        _record(self.history, "train" if training else "valid", record)
        return loss

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        loss = self._step(batch, True)
        loss.backward()
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            loss = self._step(batch, False)
        return {"loss": loss, "y_pred": None}

    def transform(self, X):
        """Embeddings of the modality (or modalities) that ``X`` holds.

        Parameters
        ----------
        X : dict | SliceDict | array
            One or more modalities; a plain array is EEG.

        Returns
        -------
        numpy.ndarray
            ``(n, proj_dim)``: the modality's embedding, or the mean of the
            embeddings of the given modalities.
        """
        self.check_is_fitted()
        return _embed(self, X)

    def to_classifier(self, n_outputs=None, **kwargs):
        """An :class:`M2SClassifier` (stage 2) on the pretrained encoders.

        Parameters
        ----------
        n_outputs : int | None
            Number of classes; the classifier is rebuilt if it differs.
        **kwargs
            Passed to :class:`M2SClassifier` (``train_modalities``,
            ``test_modalities``, ``max_epochs``, ``lr``...).

        Returns
        -------
        M2SClassifier
            Unfitted; its ``fit`` skips stage 1.
        """
        self.check_is_fitted()
        module = copy.deepcopy(self.module_).cpu()
        if n_outputs is not None and n_outputs != module.n_outputs:
            module.reset_head(n_outputs)
        module.pretrained_ = True
        kwargs.setdefault("random_state", self.random_state)
        return M2SClassifier(module, **kwargs)


def _to_inputs(net, Xi):
    """Batch -> keyword arguments of the module, on the net's device."""
    from skorch.utils import to_tensor

    Xi = to_tensor(Xi, device=net.device)
    return dict(Xi) if isinstance(Xi, Mapping) else {EEG_KEY: Xi}


def _embed(net, X):
    """Embeddings (mean over the given modalities) in eval mode, batched."""
    dataset = net.get_dataset(X)
    loader = net.get_iterator(dataset, training=False)
    module = net.module_
    was_training = module.training
    module.eval()
    out = []
    with torch.no_grad():
        for batch in loader:
            Xi = _to_inputs(net, batch[0])
            emb = module.embed(**Xi)
            out.append(torch.stack(list(emb.values())).mean(0).cpu())
    module.train(was_training)
    return torch.cat(out).numpy()


class M2SClassifier(_SeededNetMixin, EEGClassifier):
    """M2S classifier: stage 2 on pretrained encoders (stage 1 first if needed).

    ``fit(X, y)`` with ``X`` a ``SliceDict`` of the modalities:

    1. if the module is not pretrained and ``pretrain_epochs > 0``, runs
       stage 1 (:class:`M2MCPCPretrainer`, parameters ``pretrain_*``) on
       *every* modality of ``X``, no labels;
    2. trains the classifier on the embedding of the modalities named by
       ``train_modalities`` (all of ``X``'s when None), the encoders frozen
       (``freeze_encoders=True``, the reference) or fine-tuned.

    ``predict`` / ``predict_proba`` / ``score`` read the modalities named by
    ``test_modalities`` (all of ``X``'s when None). The paper's modes::

        eeg2eeg  train_modalities=["x"],   test_modalities=["x"]
        eye2eye  train_modalities=["eye"], test_modalities=["eye"]
        eeg2eye  train_modalities=["x"],   test_modalities=["eye"]   (cross-modal)
        eye2eeg  train_modalities=["eye"], test_modalities=["x"]     (cross-modal)

    Predicting from a modality whose encoder was never trained (neither
    pretrained nor fine-tuned) warns. Labels may be any values
    (``classes_``), as in scikit-learn. With a single modality and no
    pretrained model, stage 1 is impossible: the encoders are then trained
    end to end with the classifier (a warning says so).

    Parameters
    ----------
    module : M2S | type
        An M2S instance (pretrained or not), or the class with
        ``module__*`` parameters (signal parameters inferred from ``X``).
    train_modalities, test_modalities : sequence of str | None
        Modalities for stage 2 training and for prediction.
    pretrain_epochs : int
        Stage-1 epochs when the module is not pretrained (0: none).
    pretrain_lr, pretrain_batch_size : float, int
        Stage-1 optimiser settings.
    clip_weight, cpc_weight, recon_weight, club_weight : float
        Stage-1 term weights.
    club_steps : int
        Stage-1 CLUB optimiser steps per batch (see :class:`M2MCPCPretrainer`).
    freeze_encoders : bool
        Keep the pretrained encoders fixed in stage 2.
    random_state : int | None
        Seed of every ``fit`` (module initialisation, both stages).
    optimizer, lr, batch_size, max_epochs, train_split, callbacks, **kwargs
        Stage 2, as :class:`braindecode.EEGClassifier`; defaults AdamW,
        1e-3, 64, 50, None; the last, incomplete batch is kept
        (``iterator_train__drop_last=False``: a training set smaller than a
        batch still trains) (pass :class:`TrialValidSplit` and
        ``fit(X, y, groups=trials)`` for trial-wise validation and early
        stopping).
    """

    _classification = True

    def __init__(
        self,
        module=M2S,
        *args,
        train_modalities=None,
        test_modalities=None,
        pretrain_epochs=50,
        pretrain_lr=1e-3,
        pretrain_batch_size=128,
        clip_weight=1.0,
        cpc_weight=1.0,
        recon_weight=0.1,
        club_weight=0.3,
        club_steps=3,
        freeze_encoders=True,
        random_state=None,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        batch_size=64,
        max_epochs=50,
        train_split=None,
        iterator_train__drop_last=False,
        **kwargs,
    ):
        self.train_modalities = train_modalities
        self.test_modalities = test_modalities
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_batch_size = pretrain_batch_size
        self.clip_weight = clip_weight
        self.cpc_weight = cpc_weight
        self.recon_weight = recon_weight
        self.club_weight = club_weight
        self.club_steps = club_steps
        self.freeze_encoders = freeze_encoders
        self.random_state = random_state
        super().__init__(
            module, *args, optimizer=optimizer, lr=lr, batch_size=batch_size,
            max_epochs=max_epochs, train_split=train_split,
            iterator_train__drop_last=iterator_train__drop_last, **kwargs,
        )

    # -- labels ----------------------------------------------------------------
    @property
    def classes_(self):
        if hasattr(self, "label_encoder_"):
            return self.label_encoder_.classes_
        return NeuralNetClassifier.classes_.fget(self)

    def _encode_labels(self, y):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one label per sample (1-D); got shape {y.shape}.")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y contains NaN or Inf; expected class labels.")
        if y.dtype.kind not in "biufUSO":
            raise ValueError(f"y has dtype {y.dtype}; expected class labels.")
        if y.dtype.kind == "O" and len({type(v) for v in y}) > 1:
            raise ValueError("y mixes label types; expected labels of one type.")
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(f"y holds a single class {encoder.classes_.tolist()}; expected "
                             f"at least two.")
        return encoder, encoder.transform(y)

    # -- fit -------------------------------------------------------------------
    def fit(self, X, y=None, groups=None, **fit_params):
        """Stage 1 (when needed) then stage 2; see the class docstring.

        Parameters
        ----------
        X : SliceDict | dict | array | braindecode dataset
            The modalities (all of them: stage 1 uses every one).
        y : array-like
            Labels, any values.
        groups : array-like | None
            Trial id of every sample, for a :class:`TrialValidSplit`.

        Returns
        -------
        self
        """
        if y is None and hasattr(X, "__getitem__") and not isinstance(X, Mapping) \
                and not hasattr(X, "shape"):
            # a braindecode / torch dataset yielding (x, y, ...)
            return self._fit_dataset(X, groups, **fit_params)
        if y is None:
            raise ValueError("M2SClassifier.fit needs labels y.")
        _check_X(X, "M2SClassifier.fit")
        if len(y) != (len(next(iter(X.values()))) if isinstance(X, Mapping) else len(X)):
            raise ValueError("M2SClassifier.fit: X and y have different numbers of samples.")
        self.label_encoder_, y_enc = self._encode_labels(y)
        X_train = _select(X, self.train_modalities, "train_modalities")
        self._set_signal_args(X, y_enc, None)
        self._fit_groups = groups
        if not self.warm_start or not self.initialized_:
            self.initialize()
            if self.module_.n_outputs != len(self.label_encoder_.classes_):
                self.module_.reset_head(len(self.label_encoder_.classes_))
                self.initialize_optimizer()
            self._stage_one(X)
        if self.module_._frozen and (isinstance(X_train, Mapping) or hasattr(X_train, "shape")):
            # frozen encoders in eval mode give fixed embeddings: compute them
            # once, then train the classifier on them (same result, much faster)
            X_train = SliceDict(embedding=_embed(self, X_train))
        self.partial_fit(X_train, y_enc, **fit_params)
        if not self.module_._frozen:
            self.module_.trained_modalities_ = (
                set(self.module_.trained_modalities_) | set(_keys(X_train)))
            self.module_.trained_modalities_.discard("embedding")
        return self

    def _fit_dataset(self, dataset, groups, **fit_params):
        """Fit on a braindecode dataset (EEG only, labels inside)."""
        self._set_signal_args(dataset, None, None)
        self._fit_groups = groups
        ys = np.asarray([dataset[i][1] for i in range(len(dataset))])
        self.label_encoder_, _ = self._encode_labels(ys)
        if not self.warm_start or not self.initialized_:
            self.initialize()
            self._stage_one(None)
        self.partial_fit(dataset, None, **fit_params)
        self.module_.trained_modalities_ = set(self.module_.trained_modalities_) | {EEG_KEY}
        return self

    def _set_signal_args(self, X, y, classes):
        if isinstance(self.module, torch.nn.Module):
            return
        if isinstance(X, Mapping) or hasattr(X, "shape"):
            inferred = _infer_module_kwargs(X, y)
            user = self.get_params_for("module")
            self.set_params(**{f"module__{k}": v for k, v in inferred.items() if k not in user})
            return
        super()._set_signal_args(X, y, classes)
        sfreq = _dataset_sfreq(X)
        if sfreq is not None and "sfreq" not in self.get_params_for("module"):
            self.set_params(module__sfreq=sfreq)

    def _stage_one(self, X):
        """Pretrain (stage 1) when possible; freeze or unfreeze for stage 2."""
        module = self.module_
        if not module.pretrained_ and self.pretrain_epochs > 0:
            known = [k for k in _keys(X)] if X is not None else [EEG_KEY]
            if len(known) >= 2:
                pretrainer = M2MCPCPretrainer(
                    module, clip_weight=self.clip_weight, cpc_weight=self.cpc_weight,
                    recon_weight=self.recon_weight, club_weight=self.club_weight,
                    club_steps=self.club_steps, lr=self.pretrain_lr, batch_size=self.pretrain_batch_size,
                    max_epochs=self.pretrain_epochs, device=self.device, verbose=0,
                )
                pretrainer._reuse_module = True  # train this very instance
                pretrainer.initialize()
                pretrainer.partial_fit(X, None)
                module.pretrained_ = True
                module.trained_modalities_ = set(module.trained_modalities_) | set(known)
                self.pretrain_history_ = pretrainer.history
        if module.pretrained_ and self.freeze_encoders:
            module.freeze_encoders(True)
        else:
            if not module.pretrained_ and self.freeze_encoders:
                warnings.warn(
                    "M2SClassifier: the model is not pretrained (pretrain_epochs=0 or a "
                    "single modality in X), so its encoders are trained end to end with "
                    "the classifier instead of being frozen.", stacklevel=3,
                )
            module.freeze_encoders(False)
        self.initialize_optimizer()

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split with the ``groups`` given to :meth:`fit` (trial-wise)."""
        groups = getattr(self, "_fit_groups", None)
        if groups is not None and isinstance(self.train_split, TrialValidSplit):
            dataset = self.get_dataset(X, y)
            return self.train_split(dataset, y, groups=groups)
        return super().get_split_datasets(X, y, **fit_params)

    def get_iterator(self, dataset, training=False, drop_index=True):
        iterator = NeuralNet.get_iterator(self, dataset, training=training)
        return _ModalityLoader(iterator, True) if drop_index else iterator

    # -- logging of the joint variant's terms ------------------------------------
    def train_step_single(self, batch, **fit_params):
        step = super().train_step_single(batch, **fit_params)
        if self.module_.training and self.module_.last_auxiliary_:
            _record(self.history, "train", self.module_.last_auxiliary_)
            self.module_.last_auxiliary_ = {}
        return step

    # -- prediction --------------------------------------------------------------
    def _prediction_input(self, X):
        if isinstance(X, Mapping) or hasattr(X, "shape"):
            _check_X(X, "M2SClassifier.predict")
            X = _select(X, self.test_modalities, "test_modalities")
            trained = set(self.module_.trained_modalities_)
            untrained = [k for k in _keys(X) if k not in trained]
            if untrained:
                warnings.warn(
                    f"Predicting from modality {untrained[0]!r}, whose encoder was never "
                    f"trained (trained: {sorted(trained)}); its embedding is random.",
                    stacklevel=3,
                )
        return X

    def predict_proba(self, X):
        """Class probabilities from the ``test_modalities`` of ``X``.

        Returns
        -------
        numpy.ndarray
            ``(n, n_classes)``, columns in the order of ``classes_``.
        """
        self.check_is_fitted()
        X = self._prediction_input(X)
        return NeuralNetClassifier.predict_proba(self, X)

    def predict(self, X):
        """Labels (as given to ``fit``) from the ``test_modalities`` of ``X``."""
        self.check_is_fitted()
        return self.classes_[self.predict_proba(X).argmax(1)]

    def transform(self, X):
        """Embeddings ``(n, proj_dim)`` of ``X``'s ``test_modalities`` (mean if several)."""
        self.check_is_fitted()
        return _embed(self, self._prediction_input(X))
