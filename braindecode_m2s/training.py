"""skorch estimators that train M2S: classifier and M2M CPC pretrainer.

- :class:`M2SClassifier`: an :class:`braindecode.EEGClassifier` that trains
  M2S on cross-entropy + M2M CPC (Liu et al., 2025), logs the auxiliary terms
  and the CPC prediction accuracies in ``net.history``, and predicts from
  any single modality, ``x`` absent included.
- :class:`M2MCPCPretrainer`: self-supervised M2M CPC on unlabelled
  multimodal data; :meth:`M2MCPCPretrainer.to_classifier` starts a
  classifier from the pretrained encoders.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import torch
from braindecode import EEGClassifier
from braindecode.util import set_random_seeds
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from .models.m2s import EEG_KEY, M2S

__all__ = ["M2SClassifier", "M2MCPCPretrainer", "AuxiliaryLogger"]


class _ModalityLoader:
    """Wrap a DataLoader: float32 for every modality, int64 targets.

    braindecode's ``ThrowAwayIndexLoader`` casts ``x["x"]`` only and fails
    with ``KeyError: 'x'`` for a dict without EEG; this loader accepts any
    subset of modalities.
    """

    def __init__(self, net, loader):
        self.net = net
        self.loader = loader

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):
        if name == "loader":
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __iter__(self):
        for batch in self.loader:
            if len(batch) == 3:  # braindecode datasets also yield window indices
                X, y, i = batch
                self.net._last_window_inds_ = i
            else:
                X, y = batch
            if isinstance(X, Mapping):
                X = {k: _as_float32(v) for k, v in X.items()}
            else:
                X = _as_float32(X)
            if isinstance(y, torch.Tensor) and not self.net._regression:
                y = y.long()
            yield X, y


def _as_float32(value):
    if isinstance(value, torch.Tensor) and torch.is_floating_point(value):
        return value.float()
    return value


def _pair_name(pair):
    source, target = pair
    return f"{source}->{target}"


def _record_auxiliary(history, prefix, record):
    """Write a module's auxiliary record into the current batch of history."""
    for key, value in record.items():
        if key == "cpc_acc":
            for pair, acc in value.items():
                history.record_batch(f"{prefix}_cpc_acc_{_pair_name(pair)}", acc)
        elif key != "total":
            history.record_batch(f"{prefix}_{key}", value)


class AuxiliaryLogger(Callback):
    """Average the auxiliary batch values (CPC loss, accuracies) per epoch.

    Every batch key starting with ``train_`` or ``valid_`` followed by
    ``cpc``, ``distill`` or ``aux`` is averaged over the epoch's batches
    (weighted by batch size) and written into the epoch row of
    ``net.history`` under the same name.
    """

    prefixes = ("train_cpc", "valid_cpc", "train_distill", "valid_distill",
                "train_aux", "valid_aux")

    def on_epoch_end(self, net, **kwargs):
        batches = net.history[-1, "batches"]
        sums, weights = {}, {}
        for batch in batches:
            for key, value in batch.items():
                if key.startswith(self.prefixes):
                    size = batch.get(
                        key.split("_", 1)[0] + "_batch_size", 1
                    )
                    sums[key] = sums.get(key, 0.0) + value * size
                    weights[key] = weights.get(key, 0) + size
        for key in sorted(sums):
            net.history.record(key, sums[key] / weights[key])


def _infer_module_kwargs(X, y=None):
    """Signal parameters of M2S from multimodal data.

    ``X`` is a dict/SliceDict of modalities or a plain EEG array. EEG
    features ``(n, n_chans, n_windows, n_bands)`` give ``n_chans``,
    ``n_times`` (= n_windows) and ``n_bands``; raw EEG ``(n, n_chans,
    n_times)`` gives ``n_chans`` and ``n_times``; other modalities
    ``(n, n_features, n_windows)`` give ``modalities``; ``y`` gives
    ``n_outputs``.
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


class _M2SNetMixin:
    """What both estimators share: seeding, re-initialisation, logging."""

    def initialize(self):
        """Seed (``random_state``), then initialise as skorch does."""
        if self.random_state is not None:
            set_random_seeds(self.random_state, cuda=torch.cuda.is_available())
        return super().initialize()

    def initialized_instance(self, instance_or_cls, kwargs):
        """Re-create a module instance with changed ``module__*`` parameters.

        skorch rebuilds an instance from the changed parameters alone
        (``type(instance)(**kwargs)``), losing its other constructor
        arguments (``n_chans``...); here the instance's recorded
        constructor arguments are kept and only the changed ones replaced,
        so ``set_params(module__cpc_weight=...)`` and grid searches work on
        ``M2SClassifier(M2S(...))``.
        """
        init_kwargs = getattr(instance_or_cls, "_braindecode_init_kwargs", None)
        if isinstance(instance_or_cls, torch.nn.Module) and kwargs and init_kwargs:
            return type(instance_or_cls)(**{**init_kwargs, **kwargs})
        return super().initialized_instance(instance_or_cls, kwargs)

    @property
    def _default_callbacks(self):
        return [*super()._default_callbacks, ("auxiliary_logger", AuxiliaryLogger())]


class M2SClassifier(_M2SNetMixin, EEGClassifier):
    """skorch/braindecode classifier that trains M2S.

    The same training as ``EEGClassifier(M2S(...))`` (cross-entropy +
    ``cpc_weight`` * M2M CPC + ``distill_weight`` * self-distillation, the
    auxiliary terms coming from the module; see :class:`~braindecode_m2s.M2S`)
    plus:

    - ``train_loss`` / ``valid_loss`` in ``net.history`` are the full
      objective; ``train_cpc_loss``, ``valid_cpc_loss``,
      ``train_distill_loss`` and the CPC prediction accuracy of every
      (source, target) pair, ``train_cpc_acc_<source>-><target>`` (and
      ``valid_...``), are logged per batch and per epoch;
    - ``predict`` / ``predict_proba`` accept any subset of the modalities,
      e.g. ``predict(SliceDict(eye=eye))`` (a plain ``EEGClassifier`` fails
      there with ``KeyError: 'x'``, because braindecode's prediction loader
      requires an ``"x"`` key);
    - given the *class* ``M2S``, the signal parameters (``n_chans``,
      ``n_times``, ``n_bands``, ``modalities``, ``n_outputs``) are inferred
      from a ``SliceDict`` (braindecode's own inference misreads 4-D
      feature arrays and ignores dicts);
    - ``random_state`` seeds Python, NumPy and torch at initialisation so
      that runs repeat.

    Parameters
    ----------
    module : M2S | type
        An M2S instance, or the class with ``module__*`` parameters.
    random_state : int | None
        Seed applied when the net is initialised (``fit`` does that).
    *args, **kwargs
        As :class:`braindecode.EEGClassifier`.
    """

    def __init__(self, module=M2S, *args, random_state=None, **kwargs):
        self.random_state = random_state
        super().__init__(module, *args, **kwargs)

    _regression = False
    # auxiliary values of the last training / validation batch (see infer)
    _auxiliary_record_: dict = {}
    _valid_record_: dict = {}

    def _set_signal_args(self, X, y, classes):
        if isinstance(self.module, torch.nn.Module):
            return
        inferred = _infer_module_kwargs(X, y)
        user = self.get_params_for("module")
        self.set_params(
            **{f"module__{k}": v for k, v in inferred.items() if k not in user}
        )

    def get_iterator(self, dataset, training=False, drop_index=True):
        iterator = NeuralNet.get_iterator(self, dataset, training=training)
        if training and not self._warned_drop_last_:
            self._warn_if_training_batches_dropped(iterator)
        return _ModalityLoader(self, iterator) if drop_index else iterator

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Criterion of the output plus the module's auxiliary terms.

        The auxiliary terms already reach the weights through the output
        (see :class:`~braindecode_m2s.M2S`); their value is added here so
        that the logged loss is the full objective.
        """
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        record = self._auxiliary_record_ if training else self._valid_record_
        return loss + record.get("total", 0.0)

    def infer(self, x, **fit_params):
        y_pred = super().infer(x, **fit_params)
        self._auxiliary_record_ = (
            dict(getattr(self.module_, "last_auxiliary_", {})) if self.module_.training else {}
        )
        return y_pred

    def train_step_single(self, batch, **fit_params):
        step = super().train_step_single(batch, **fit_params)
        _record_auxiliary(self.history, "train", self._auxiliary_record_)
        return step

    def validation_step(self, batch, **fit_params):
        """Forward in eval mode; also the auxiliary terms of the batch."""
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        self._valid_record_ = {}
        with torch.no_grad():
            Xt = _to_inputs(self, Xi)
            out = self.module_(**Xt, return_features=True, **fit_params)
            if len(out["latents"]) > 1:
                self._valid_record_ = self.module_.auxiliary_loss(out["latents"])[1]
            loss = self.get_loss(out["logits"], yi, X=Xi, training=False)
        _record_auxiliary(self.history, "valid", self._valid_record_)
        return {"loss": loss, "y_pred": out["logits"]}


def _to_inputs(net, Xi):
    """Batch -> keyword arguments of the module, on the net's device."""
    from skorch.utils import to_tensor

    Xi = to_tensor(Xi, device=net.device)
    return dict(Xi) if isinstance(Xi, Mapping) else {EEG_KEY: Xi}


class M2MCPCPretrainer(_M2SNetMixin, NeuralNet):
    """Self-supervised M2M CPC pretraining of the M2S encoders.

    Trains the modality encoders (and the CPC contexts and predictors) of an
    :class:`~braindecode_m2s.M2S` on the M2M CPC loss alone (the M2M CPC
    module of Liu et al., 2025), from unlabelled multimodal data: ``fit(X)`` with
    ``X`` a ``SliceDict`` of two or more modalities and no ``y``. Then one
    call starts a classifier from the pretrained encoders::

        pretrainer = M2MCPCPretrainer(M2S(n_chans=62, n_outputs=4), max_epochs=20)
        pretrainer.fit(SliceDict(x=eeg, eye=eye))
        clf = pretrainer.to_classifier(max_epochs=10)  # M2SClassifier
        clf.fit(SliceDict(x=eeg_lab, eye=eye_lab), y)

    ``history`` holds ``train_loss`` / ``valid_loss`` (M2M CPC) and the
    prediction accuracy of every (source, target) pair.

    Parameters
    ----------
    module : M2S | type
        The model whose encoders are pretrained (instance, or the class
        with ``module__*`` parameters; then ``n_chans``, ``n_times`` and
        ``modalities`` are inferred from ``X``; ``n_outputs`` defaults to 2
        since the head is not trained here).
    random_state : int | None
        Seed applied when the net is initialised.
    criterion : type
        Unused placeholder for skorch (the loss is M2M CPC).
    *args, **kwargs
        As :class:`skorch.NeuralNet` (``max_epochs``, ``lr``,
        ``optimizer``, ``batch_size``, ``train_split``...).
    """

    _regression = True

    def __init__(
        self,
        module=M2S,
        *args,
        criterion=torch.nn.Identity,
        random_state=None,
        optimizer=torch.optim.AdamW,
        iterator_train__shuffle=True,
        iterator_train__drop_last=True,
        **kwargs,
    ):
        self.random_state = random_state
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            iterator_train__shuffle=iterator_train__shuffle,
            iterator_train__drop_last=iterator_train__drop_last,
            **kwargs,
        )

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
                f"M2M CPC pretraining needs a SliceDict of at least two modalities; "
                f"got {keys}."
            )
        if not isinstance(self.module, torch.nn.Module):
            inferred = _infer_module_kwargs(X)
            inferred.setdefault("n_outputs", 2)
            user = self.get_params_for("module")
            self.set_params(
                **{f"module__{k}": v for k, v in inferred.items() if k not in user}
            )
        return super().fit(X, None, **fit_params)

    def get_iterator(self, dataset, training=False):
        return _ModalityLoader(self, super().get_iterator(dataset, training=training))

    def infer(self, x, **fit_params):
        return self.module_(**_to_inputs(self, x), return_features=True, **fit_params)

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        """M2M CPC loss of the batch's latents (records pair accuracies)."""
        out = self.module_.cpc(y_pred["latents"])
        prefix = "train" if training else "valid"
        for pair, acc in out.accuracies.items():
            self.history.record_batch(f"{prefix}_cpc_acc_{_pair_name(pair)}", float(acc))
        return out.loss

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, _ = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, None, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred["features"]}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, _ = unpack_data(batch)
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, None, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred["features"]}

    def to_classifier(self, n_outputs=None, **kwargs):
        """An :class:`M2SClassifier` that starts from the pretrained encoders.

        Parameters
        ----------
        n_outputs : int | None
            Number of classes; a fresh head is built if it differs from the
            pretrained module's.
        **kwargs
            Passed to :class:`M2SClassifier` (``max_epochs``, ``lr``...).

        Returns
        -------
        M2SClassifier
            Unfitted classifier whose module is a copy of the pretrained M2S.
        """
        self.check_is_fitted()
        module = copy.deepcopy(self.module_)
        if n_outputs is not None and n_outputs != module.n_outputs:
            module.reset_head(n_outputs)
        return M2SClassifier(module, **kwargs)
