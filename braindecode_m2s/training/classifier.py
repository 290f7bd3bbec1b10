"""Stage 2 of M2S (and stage 1 first when needed): the skorch classifier."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import torch
from skorch.classifier import NeuralNetClassifier
from skorch.helper import SliceDict

from .._braindecode import infer_signal_properties
from ..models.m2s import EEG_KEY, M2S
from ..objectives import REFERENCE_CLUB_STEPS, REFERENCE_WEIGHTS
from .base import M2SNetMixin
from .inputs import (
    check_multimodal,
    check_values,
    encode_labels,
    infer_module_kwargs,
    modality_keys,
    select_modalities,
)
from .pretrainer import M2MCPCPretrainer

__all__ = ["M2SClassifier"]


def _dataset_sfreq(dataset):
    """Sampling frequency of a braindecode (concat) dataset, if it has one."""
    for ds in getattr(dataset, "datasets", [dataset]):
        for attr in ("windows", "raw"):
            info = getattr(getattr(ds, attr, None), "info", None)
            if info is not None:
                return float(info["sfreq"])
    return None


def _is_dataset(X):
    return (
        not isinstance(X, Mapping)
        and not hasattr(X, "shape")
        and hasattr(X, "__getitem__")
        and hasattr(X, "__len__")
    )


class M2SClassifier(M2SNetMixin, NeuralNetClassifier):
    """M2S classifier: stage 2 on pretrained encoders (stage 1 first if needed).

    ``fit(X, y)`` with ``X`` a ``SliceDict`` of the modalities:

    1. if the module is not pretrained and ``pretrain_epochs > 0``, runs
       stage 1 (:class:`M2MCPCPretrainer`, parameters ``pretrain_*`` and the
       term weights) on *every* modality of ``X``, no labels;
    2. trains the classifier on the embedding of the modalities named by
       ``train_modalities`` (all of ``X``'s when None), the encoders frozen
       (``freeze_encoders=True``, the reference) or fine-tuned.

    ``predict`` / ``predict_proba`` / ``score`` read the modalities named by
    ``test_modalities`` (all of ``X``'s when None). The paper's modes::

        eeg2eeg  train_modalities=["x"],   test_modalities=["x"]
        eye2eye  train_modalities=["eye"], test_modalities=["eye"]
        eeg2eye  train_modalities=["x"],   test_modalities=["eye"]   (cross-modal)
        eye2eeg  train_modalities=["eye"], test_modalities=["x"]     (cross-modal)

    A skorch ``NeuralNetClassifier`` (M2S reads sequences of feature
    windows, so braindecode's cropped decoding does not apply; braindecode
    datasets of raw EEG windows are accepted, their signal properties
    inferred with braindecode's ``infer_signal_properties``). Predicting
    from a modality whose encoder was never trained warns. Labels may be any
    values (``classes_``; numeric labels travel with ``save_params``). With a
    single modality and no pretrained model, stage 1 is impossible: the
    encoders are then trained end to end with the classifier (a warning says
    so).

    Parameters
    ----------
    module : M2S | type
        An M2S instance (pretrained or not), or the class with
        ``module__*`` parameters (signal parameters inferred from ``X`` into
        ``module_kwargs_``; ``get_params()`` is never changed by ``fit``).
    train_modalities, test_modalities : sequence of str | None
        Modalities for stage 2 training and for prediction.
    pretrain_epochs : int
        Stage-1 epochs when the module is not pretrained (0: none). The
        reference pretrains 200 epochs (``docs/benchmarks.md`` gives the
        cost); the default fits a quick start.
    pretrain_lr, pretrain_batch_size : float, int
        Stage-1 learning rate and batch size.
    pretrainer__* : any
        Every other parameter of the stage-1
        :class:`~braindecode_m2s.M2MCPCPretrainer`, skorch-style:
        ``pretrainer__optimizer=torch.optim.Adam``,
        ``pretrainer__optimizer__weight_decay=1e-4``,
        ``pretrainer__callbacks=[...]`` (default: the stage-2 ``optimizer``
        class, no callbacks). :func:`~braindecode_m2s.reference_pretraining`
        gives the authors' stage 1 this way.
    clip_weight, cpc_weight, recon_weight, club_weight : float
        Stage-1 term weights (defaults: the reference's,
        :data:`~braindecode_m2s.objectives.REFERENCE_WEIGHTS`).
    club_steps : int
        Stage-1 CLUB optimiser steps per batch (see :class:`M2MCPCPretrainer`).
    freeze_encoders : bool
        Keep the pretrained encoders fixed in stage 2.
    random_state : int | None
        Seed of every ``fit`` (both stages); global generators are left as
        they were.
    mixed_precision : {"no", "bf16"}
        ``"bf16"``: both stages' forward passes and losses under
        ``torch.autocast(dtype=torch.bfloat16)`` (outputs in float32);
        ``docs/benchmarks.md`` gives its speed and accuracy effect.
    optimizer, lr, batch_size, max_epochs, train_split, callbacks, **kwargs
        Stage 2, as :class:`skorch.NeuralNetClassifier`; defaults AdamW,
        1e-3, 64, 50, None; the last, incomplete batch is kept (pass
        :class:`TrialValidSplit` and ``fit(X, y, groups=trials)`` for
        trial-wise validation and early stopping). ``verbose`` also prints
        stage 1's epoch table.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The labels seen in ``fit``.
    module_ : M2S
        The trained model.
    module_kwargs_ : dict
        Module parameters inferred from the data of the last ``fit``.
    pretrain_history_ : skorch.History
        Stage 1's history (every loss term), when stage 1 ran.
    """

    _classification = True
    #: ``pretrainer__*``: parameters of the stage-1 pretrainer
    prefixes_ = [*NeuralNetClassifier.prefixes_, "pretrainer"]

    def __init__(
        self,
        module=M2S,
        *args,
        train_modalities=None,
        test_modalities=None,
        pretrain_epochs=20,
        pretrain_lr=1e-3,
        pretrain_batch_size=128,
        clip_weight=REFERENCE_WEIGHTS["clip"],
        cpc_weight=REFERENCE_WEIGHTS["cpc"],
        recon_weight=REFERENCE_WEIGHTS["recon"],
        club_weight=REFERENCE_WEIGHTS["club"],
        club_steps=REFERENCE_CLUB_STEPS,
        freeze_encoders=True,
        random_state=None,
        mixed_precision="no",
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        batch_size=64,
        max_epochs=50,
        train_split=None,
        iterator_train__shuffle=True,
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
        self.mixed_precision = mixed_precision
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            batch_size=batch_size,
            max_epochs=max_epochs,
            train_split=train_split,
            iterator_train__shuffle=iterator_train__shuffle,
            iterator_train__drop_last=iterator_train__drop_last,
            **kwargs,
        )

    # -- labels ----------------------------------------------------------------
    @property
    def classes_(self):
        if hasattr(self, "label_encoder_"):
            return self.label_encoder_.classes_
        if (
            getattr(self, "initialized_", False)
            and self.classes is None
            and isinstance(getattr(self, "module_", None), torch.nn.Module)
            and isinstance(self.model, M2S)
        ):
            values = self.model.class_values
            if values is not None:
                return values
        return NeuralNetClassifier.classes_.fget(self)

    # -- fit -------------------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Stage 1 (when needed) then stage 2; see the class docstring.

        Parameters
        ----------
        X : SliceDict | dict | array | braindecode dataset
            The modalities (all of them: stage 1 uses every one).
        y : array-like
            Labels, any values (None for a dataset yielding ``(x, y, ...)``).
        **fit_params
            ``groups``: trial id of every sample, handed to ``train_split``
            (e.g. :class:`TrialValidSplit`) for a trial-wise validation split.

        Returns
        -------
        self
        """
        self._autocast()  # an unknown mixed_precision is refused before any work
        if y is None and _is_dataset(X):
            return self._fit_dataset(X, **fit_params)
        if y is None:
            raise ValueError("M2SClassifier.fit needs labels y.")
        check_multimodal(X, "M2SClassifier.fit", y)
        self.label_encoder_, y_enc = encode_labels(y, "M2SClassifier.fit")
        X_train = select_modalities(X, self.train_modalities, "train_modalities")
        if not isinstance(self.module, torch.nn.Module):
            self.module_kwargs_ = infer_module_kwargs(X, y_enc)
        with self._seeded():
            if not self.warm_start or not self.initialized_:
                self.initialize()
                with self._unwrapped():
                    check_values(self.model, X_train, "M2SClassifier.fit")
                    self._set_classes(len(self.label_encoder_.classes_))
                    self._stage_one(X, fit_params.get("groups"))
            else:
                check_values(self.model, X_train, "M2SClassifier.fit")
            self.model.class_values = self.label_encoder_.classes_
            if self.model.frozen:
                # frozen encoders in eval mode give fixed embeddings: compute them
                # once, then train the classifier on them (same result, faster)
                X_train = SliceDict(embedding=self._embed(X_train))
            self.partial_fit(X_train, y_enc, **fit_params)
        if not self.model.frozen:
            self.model.mark_trained(modality_keys(X_train))
        return self

    def _fit_dataset(self, dataset, **fit_params):
        """Fit on a braindecode dataset of raw EEG windows (labels inside)."""
        ys = np.asarray([dataset[i][1] for i in range(len(dataset))])
        self.label_encoder_, _ = encode_labels(ys, "M2SClassifier.fit")
        if not isinstance(self.module, torch.nn.Module):
            props = infer_signal_properties(dataset, None, "classification")
            props = {k: v for k, v in props.items() if k in ("n_chans", "n_times", "chs_info")}
            sfreq = _dataset_sfreq(dataset)
            if sfreq is not None:
                props["sfreq"] = sfreq
            self.module_kwargs_ = {
                **props,
                "modalities": {},
                "n_outputs": len(self.label_encoder_.classes_),
            }
        with self._seeded():
            if not self.warm_start or not self.initialized_:
                self.initialize()
                with self._unwrapped():
                    self._set_classes(len(self.label_encoder_.classes_))
                    self._stage_one(None, None)
            self.model.class_values = self.label_encoder_.classes_
            self.partial_fit(_EncodedTargets(dataset, self.label_encoder_), None, **fit_params)
        self.model.mark_trained([EEG_KEY])
        return self

    def _set_classes(self, n_classes):
        if self.module_.n_outputs != n_classes:
            self.module_.reset_head(n_classes)
            self.initialize_optimizer()

    def _pretrainer(self):
        """The stage-1 estimator this classifier runs (its parameters; its
        accelerator, when the classifier has one)."""
        accelerator = self._accelerator
        if accelerator is None:
            cls, extra = M2MCPCPretrainer, {}
        else:
            from .distributed import AcceleratedM2MCPCPretrainer

            cls, extra = AcceleratedM2MCPCPretrainer, {"accelerator": accelerator}
        params = {
            **self.stage_one_params(),
            "lr": self.pretrain_lr,
            "batch_size": self.pretrain_batch_size,
            "max_epochs": self.pretrain_epochs,
            "optimizer": self.optimizer,
            "verbose": self.verbose,
            "random_state": self.random_state,
            "mixed_precision": self.mixed_precision,
            "train_split": None,
            "device": self.device,
            **extra,
        }
        # pretrainer__* may set anything but what the classifier sets itself
        # (optimizer and train_split are defaults it may override)
        renamed = {"lr": "pretrain_lr", "batch_size": "pretrain_batch_size"}
        renamed["max_epochs"] = "pretrain_epochs"
        own = {"module", *params} - {"optimizer", "train_split"}
        options = self.get_params_for("pretrainer")
        for key in options:
            root = key.split("__", 1)[0]
            if root in own:
                raise ValueError(
                    f"M2SClassifier: pretrainer__{key} is the classifier's own "
                    f"{renamed.get(root, root)!r}; set that instead."
                )
        return cls(self.module_, **{**params, **options})

    def _stage_one(self, X, groups):
        """Pretrain (stage 1) when possible; freeze or unfreeze for stage 2."""
        module = self.module_
        if (
            not module.pretrained
            and self.pretrain_epochs > 0
            and X is not None
            and len(modality_keys(X)) >= 2
        ):
            pretrainer = self._pretrainer()
            if self.verbose:
                self._print(
                    f"M2S stage 1: self-supervised pretraining on {modality_keys(X)}, "
                    f"{self.pretrain_epochs} epochs"
                )
            pretrainer.fit(X)
            self.module_ = module = pretrainer.module_
            self.pretrain_history_ = pretrainer.history
            if self.verbose:
                self._print("M2S stage 2: the classifier")
        if module.pretrained and self.freeze_encoders:
            module.freeze_encoders(True)
        else:
            if not module.pretrained and self.freeze_encoders:
                warnings.warn(
                    "M2SClassifier: the model is not pretrained (pretrain_epochs=0 or a "
                    "single modality in X), so its encoders are trained end to end with "
                    "the classifier instead of being frozen.",
                    stacklevel=3,
                )
            module.freeze_encoders(False)
        self.initialize_optimizer()

    # -- prediction --------------------------------------------------------------
    def _prediction_input(self, X, where):
        if _is_dataset(X):
            return X
        check_multimodal(X, where)
        X = select_modalities(X, self.test_modalities, "test_modalities")
        check_values(self.model, X, where)
        trained = self.model.trained_modalities
        untrained = [k for k in modality_keys(X) if k not in trained]
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
        return super().predict_proba(self._prediction_input(X, "M2SClassifier.predict"))

    def predict(self, X):
        """Labels (as given to ``fit``) from the ``test_modalities`` of ``X``."""
        self.check_is_fitted()
        return np.asarray(self.classes_)[self.predict_proba(X).argmax(1)]

    def transform(self, X):
        """Embeddings ``(n, proj_dim)`` of ``X``'s ``test_modalities`` (mean if several)."""
        self.check_is_fitted()
        return self._embed(self._prediction_input(X, "M2SClassifier.transform"))


class _EncodedTargets(torch.utils.data.Dataset):
    """A dataset whose targets go through the fitted label encoder."""

    def __init__(self, dataset, encoder):
        self.dataset = dataset
        self.encoder = encoder

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        item = self.dataset[i]
        y = int(self.encoder.transform(np.asarray([item[1]]))[0])
        return item[0], y
