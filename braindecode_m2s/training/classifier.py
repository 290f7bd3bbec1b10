"""Stage 2 of M2S (and stage 1 first when asked): the skorch classifier."""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import LabelEncoder
from skorch.classifier import NeuralNetClassifier
from skorch.helper import SliceDict

from .._braindecode import infer_signal_properties
from ..models.m2s import EEG_KEY, M2S
from ..objectives import REFERENCE_CLUB_STEPS, REFERENCE_WEIGHTS
from .base import M2SNetMixin, is_m2s
from .inputs import (
    check_multimodal,
    check_n_features,
    check_values,
    describe_state_dict_mismatch,
    encode_labels,
    infer_module_kwargs,
    modality_keys,
    one_window,
    select_modalities,
)
from .pretrainer import M2MCPCPretrainer

__all__ = ["M2SClassifier"]

#: Where ``save_params`` writes the labels in the state dict's metadata (not a tensor).
_LABELS_KEY = "braindecode_m2s.classes"


def _dataset_sfreq(dataset):
    """Sampling frequency of a braindecode (concat) dataset, if it has one."""
    for ds in getattr(dataset, "datasets", [dataset]):
        for attr in ("windows", "raw"):
            info = getattr(getattr(ds, attr, None), "info", None)
            if info is not None:
                return float(info["sfreq"])
    return None


def _is_dataset(X):
    """A torch dataset, or an object that indexes samples like one (not an
    array-like: lists, tuples and anything with ``__array__`` are data)."""
    return isinstance(X, torch.utils.data.Dataset) or (
        not isinstance(X, (Mapping, list, tuple))
        and not hasattr(X, "shape")
        and not hasattr(X, "__array__")
        and hasattr(X, "__getitem__")
        and hasattr(X, "__len__")
    )


def _labels_record(classes):
    """The labels as plain Python values and their dtype (what a state dict's
    metadata may hold: ``torch.load(weights_only=True)`` reads it back exactly)."""
    classes = np.asarray(classes)
    return {"dtype": classes.dtype.str, "values": classes.tolist()}


def _labels_from_record(record):
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("dtype"), str)
        or not isinstance(record.get("values"), list)
    ):
        raise ValueError(f"the labels saved in the file are malformed ({record!r:.80}).")
    dtype = np.dtype(record["dtype"])
    values = record["values"]
    if dtype.kind == "O":
        return np.array(values, dtype=object)
    return np.asarray(values, dtype=dtype)


class M2SClassifier(M2SNetMixin, NeuralNetClassifier):
    """M2S classifier: stage 2 on pretrained encoders (stage 1 first when asked).

    ``fit(X, y)`` with ``X`` a ``SliceDict`` of the modalities:

    1. stage 1 (:meth:`pretrain`, an :class:`M2MCPCPretrainer` with the
       parameters ``pretrain_*``, ``pretrainer__*`` and the term weights),
       self-supervised on *every* modality of ``X``, when
       ``pretrain_epochs > 0`` and ``X`` holds two or more modalities;
    2. the classifier on the embedding of the modalities named by
       ``train_modalities`` (all of ``X``'s when None), the encoders frozen
       (``freeze_encoders=True``, the reference) or fine-tuned.

    ``predict`` / ``predict_proba`` / ``score`` read the modalities named by
    ``test_modalities`` (all of ``X``'s when None). The paper's modes::

        eeg2eeg  train_modalities=["x"],   test_modalities=["x"]
        eye2eye  train_modalities=["eye"], test_modalities=["eye"]
        eeg2eye  train_modalities=["x"],   test_modalities=["eye"]   (cross-modal)
        eye2eeg  train_modalities=["eye"], test_modalities=["x"]     (cross-modal)

    The module is trained from the weights it has: an initialised M2S keeps
    them (``fit`` works on a copy), and stage 1 runs on it only when
    ``pretrain_epochs > 0``. To classify with a pretrained model (from
    :meth:`M2MCPCPretrainer.to_classifier` or ``M2S.from_pretrained``), pass
    it with ``pretrain_epochs=0``: its encoders are then frozen (or
    fine-tuned with ``freeze_encoders=False``).

    A skorch ``NeuralNetClassifier`` (M2S reads sequences of feature
    windows, so braindecode's cropped decoding does not apply; braindecode
    datasets of raw EEG windows are accepted, their signal properties
    inferred with braindecode's ``infer_signal_properties``). Predicting
    from a modality whose encoder this estimator never trained warns.
    Labels may be any values scikit-learn accepts (``classes_``); they travel
    with pickle and with ``save_params`` (in the metadata of the ``f_params``
    file, not as a tensor; a safetensors file cannot hold them: pass
    ``classes=`` to the estimator that loads it). ``score`` is the balanced
    accuracy, the metric of the paper and of every report of this package.

    Parameters
    ----------
    module : M2S | type
        An M2S instance, or the class with ``module__*`` parameters (signal
        parameters inferred from ``X`` into ``module_kwargs_``;
        ``get_params()`` is never changed by ``fit``).
    train_modalities, test_modalities : sequence of str | None
        Modalities for stage 2 training and for prediction.
    pretrain_epochs : int
        Stage-1 epochs (0: no stage 1, the module is used as given). The
        reference pretrains 200 epochs (``docs/benchmarks.md`` gives the
        cost); the default fits a quick start.
    pretrain_lr, pretrain_batch_size : float, int
        Stage-1 learning rate and batch size.
    pretrainer__* : any
        Every other parameter of the stage-1
        :class:`~braindecode_m2s.M2MCPCPretrainer`, skorch-style:
        ``pretrainer__optimizer=torch.optim.Adam``,
        ``pretrainer__optimizer__weight_decay=1e-4``,
        ``pretrainer__callbacks=[...]``, ``pretrainer__criterion__cpc_steps=2``
        (default: the stage-2 ``optimizer`` class, no callbacks).
        :func:`~braindecode_m2s.reference_pretraining` gives the authors'
        stage 1 this way.
    clip_weight, cpc_weight, recon_weight, club_weight : float
        Stage-1 term weights (defaults: the reference's,
        :data:`~braindecode_m2s.objectives.REFERENCE_WEIGHTS`).
    club_steps : int
        Stage-1 CLUB optimiser steps per batch (see :class:`M2MCPCPretrainer`).
    freeze_encoders : bool
        Keep the pretrained encoders fixed in stage 2.
    random_state : int | None
        Seed of every ``fit``; stage 1 and stage 2 are each seeded with it,
        so a fit equals :meth:`pretrain` followed by a fit of the pretrained
        model with ``pretrain_epochs=0``. Global generators are left as they
        were.
    mixed_precision : {"no", "bf16"}
        ``"bf16"``: both stages' forward passes and losses under
        ``torch.autocast(dtype=torch.bfloat16)`` (outputs in float32);
        ``docs/benchmarks.md`` gives its speed and accuracy effect.
    classes : array-like | None
        The labels of the outputs, for an estimator that loads parameters
        without fitting (skorch's parameter); ``fit`` uses the labels of
        ``y``.
    optimizer, lr, batch_size, max_epochs, train_split, callbacks, **kwargs
        Stage 2, as :class:`skorch.NeuralNetClassifier`; defaults AdamW,
        1e-3, 64, 50, None; the last, incomplete batch is kept (pass
        :class:`TrialValidSplit` and ``fit(X, y, groups=trials)`` for
        trial-wise validation and early stopping). ``verbose`` also prints
        stage 1's epoch table.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The labels of the outputs.
    module_ : M2S
        The trained model.
    module_kwargs_ : dict
        Module parameters inferred from the data of the last ``fit``.
    pretrainer_ : M2MCPCPretrainer | None
        The fitted stage-1 estimator, when stage 1 ran in the last ``fit``.
    pretrain_history_ : skorch.History
        Stage 1's history (every loss term), when stage 1 ran.
    trained_modalities_ : set of str
        Modalities whose encoders this estimator trained (or was given
        trained).
    """

    #: ``pretrainer__*``: parameters of the stage-1 pretrainer
    prefixes_ = [*NeuralNetClassifier.prefixes_, "pretrainer"]
    #: The stage-1 estimator (:meth:`make_pretrainer`).
    _pretrainer_class = M2MCPCPretrainer

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

    def __sklearn_tags__(self):
        """scikit-learn's tags (:class:`M2SNetMixin`'s), a classifier's; with an M2S
        module, ``poor_score``.

        M2S normalises each window's feature vector (the post-norm layers of
        the reference's encoders), which removes its mean and scale: a window
        of two features keeps little more than their order, so scikit-learn's
        test problem (``make_blobs``, 2 features, accuracy > 0.83) is out of
        its reach (0.64, whatever the epochs).
        """
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = is_m2s(self.module)
        return tags

    # -- labels ----------------------------------------------------------------
    @property
    def classes_(self):
        """The labels of the outputs: those of the last ``fit``, else the ``classes``
        parameter (or the labels loaded with ``load_params``)."""
        if hasattr(self, "label_encoder_"):
            return self.label_encoder_.classes_
        if self.classes is not None:
            return np.asarray(self.classes)
        raise AttributeError(
            f"{type(self).__name__} knows no labels yet: fit it, pass classes=..., or load "
            f"parameters saved with save_params."
        )

    def _set_labels(self, classes):
        self.label_encoder_ = LabelEncoder()
        self.label_encoder_.classes_ = np.asarray(classes)

    # -- stage 1 ---------------------------------------------------------------
    def _stage_one_applies(self, X):
        return self.pretrain_epochs > 0 and isinstance(X, Mapping) and len(X.keys()) >= 2

    def make_pretrainer(self, n_outputs=None):
        """The stage-1 estimator this classifier runs, unfitted.

        An :class:`M2MCPCPretrainer` on this classifier's ``module`` /
        ``module__*`` (``n_outputs`` classes when the module is given as a
        class), with ``pretrain_epochs``, ``pretrain_lr``,
        ``pretrain_batch_size``, the term weights, ``club_steps``, the
        ``optimizer`` class, ``random_state``, ``mixed_precision``,
        ``device``, ``verbose`` and every ``pretrainer__*`` parameter; under
        an accelerator, the accelerated pretrainer on the same accelerator.

        Raises
        ------
        ValueError
            If a ``pretrainer__*`` parameter repeats one the classifier sets
            itself.
        """
        accelerator = self._accelerator
        extra = {} if accelerator is None else {"accelerator": accelerator}
        module_params = {f"module__{k}": v for k, v in self.get_params_for("module").items()}
        if n_outputs is not None and not isinstance(self.module, torch.nn.Module):
            module_params.setdefault("module__n_outputs", n_outputs)
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
        return self._pretrainer_class(self.module, **module_params, **{**params, **options})

    def pretrain(self, X, y=None, **fit_params):
        """Stage 1 exactly as :meth:`fit` runs it (the one stage-1 path).

        Parameters
        ----------
        X : SliceDict
            Every modality (stage 1 is self-supervised on all of them).
        y : array-like | None
            Labels; only their number of classes is read (the head's size).
        **fit_params
            ``groups`` for a ``pretrainer__train_split``.

        Returns
        -------
        M2MCPCPretrainer | None
            The fitted stage-1 estimator (its ``module_`` is the pretrained
            model), or None when stage 1 does not apply
            (``pretrain_epochs=0``, or fewer than two modalities in ``X``).
        """
        if not self._stage_one_applies(X):
            return None
        n_outputs = None if y is None else len(np.unique(np.asarray(y)))
        pretrainer = self.make_pretrainer(n_outputs)
        if self.verbose:
            self._print(
                f"M2S stage 1: self-supervised pretraining on {modality_keys(X)}, "
                f"{self.pretrain_epochs} epochs"
            )
        pretrainer.fit(X, **fit_params)
        if self.verbose:
            self._print("M2S stage 2: the classifier")
        return pretrainer

    @property
    def pretrain_history_(self):
        """Stage 1's history (every loss term), when stage 1 ran in the last ``fit``."""
        pretrainer = self.__dict__.get("pretrainer_")
        if pretrainer is None:
            raise AttributeError("pretrain_history_: stage 1 did not run in the last fit.")
        return pretrainer.history

    def on_pretrained(self, module):
        """This estimator, unfitted, on an already pretrained ``module`` (no stage 1).

        What :meth:`fit` trains after :meth:`pretrain`: ``fit(X, y)`` equals
        ``on_pretrained(pretrain(X, y).module_).fit(X, y)``, prediction for
        prediction (stage 2 is seeded on its own), so a stage 1 can be shared
        by several stage-2 fits (the modes of the paper, an evaluation grid).

        Parameters
        ----------
        module : M2S
            The pretrained model (copied by ``fit``).

        Returns
        -------
        M2SClassifier
            With every parameter of this one but ``module=module``,
            ``pretrain_epochs=0`` and no ``module__*`` (the model is built).
        """
        params = {
            k: v for k, v in self.get_params(deep=False).items() if not k.startswith("module__")
        }
        return type(self)(**{**params, "module": module, "pretrain_epochs": 0})

    # -- module ----------------------------------------------------------------
    def initialize_module(self):
        """The model for stage 2: the stage-1 model of this ``fit`` (copied) when
        stage 1 ran, else the module built from ``module`` / ``module__*`` and the
        inferred sizes; its head resized to the labels; encoders frozen as asked."""
        pretrainer = getattr(self, "pretrainer_", None)
        module = self._build_module() if pretrainer is None else copy.deepcopy(pretrainer.model)
        n_classes = self._n_classes()
        if n_classes is not None and module.n_outputs != n_classes:
            module.reset_head(n_classes)
        frozen = self._frozen_encoders(pretrainer is not None)
        for name, param in module.named_parameters():
            param.requires_grad_(not frozen or name.startswith(("head.", "final_layer.")))
        self.module_ = module.to(self.device)
        return self

    def _n_classes(self):
        with contextlib.suppress(AttributeError):
            return len(self.classes_)
        return None

    def _frozen_encoders(self, pretrained, warn=False):
        """Whether stage 2 keeps the encoders fixed (with ``warn``, say when it cannot)."""
        if not self.freeze_encoders:
            return False
        given = isinstance(self.module, torch.nn.Module) and self.pretrain_epochs == 0
        if pretrained or given:
            return True
        if not warn:
            return False
        reason = (
            "pretrain_epochs=0 and the module was given as a class (fresh encoders)"
            if self.pretrain_epochs == 0
            else "stage 1 needs two or more modalities in X"
        )
        warnings.warn(
            f"M2SClassifier: no pretrained encoders ({reason}), so they are trained end to "
            f"end with the classifier instead of being frozen.",
            UserWarning,
            stacklevel=3,
        )
        return False

    @property
    def encoders_frozen_(self):
        """Whether the last ``fit`` kept the encoders fixed."""
        self.check_is_fitted()
        return not any(
            p.requires_grad
            for name, p in self.model.named_parameters()
            if not name.startswith(("head.", "final_layer."))
        )

    # -- fit -------------------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Stage 1 (when asked) then stage 2; see the class docstring.

        Parameters
        ----------
        X : SliceDict | dict | array | torch Dataset
            The modalities (all of them: stage 1 uses every one), or a
            dataset yielding ``(x, y[, ...])`` (braindecode's windows). A
            plain array is EEG; a 2-D one, ``(n, n_chans * n_bands)``, is
            one window of features per sample (``module__n_bands``; every
            feature a channel of its own when the class is given without).
        y : array-like | None
            Labels, any values (None for a dataset that holds them).
        **fit_params
            ``groups``: trial id of every sample, handed to ``train_split``
            (e.g. :class:`TrialValidSplit`) for a trial-wise validation split.

        Returns
        -------
        self
        """
        reset = not self.warm_start or not self.initialized_
        return self._fit(X, y, reset, "M2SClassifier.fit", **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """More epochs of stage 2; on an estimator not initialised yet, :meth:`fit`.

        As scikit-learn's ``partial_fit``: the first call does what
        :meth:`fit` does (stage 1 when it applies, the module built from
        ``X``); later calls continue training the classifier, on labels
        among ``classes_`` (some of them suffice).

        Parameters
        ----------
        X, y, **fit_params
            As :meth:`fit`.
        classes : array-like | None
            Every label, when the first call's ``y`` holds only some of them.

        Returns
        -------
        self
        """
        reset = not self.initialized_
        return self._fit(X, y, reset, "M2SClassifier.partial_fit", classes, **fit_params)

    def _fit(self, X, y, reset, where, classes=None, **fit_params):
        """:meth:`fit` (``reset``: from scratch) and :meth:`partial_fit`."""
        self._autocast()  # an unknown mixed_precision is refused before any work
        if _is_dataset(X):
            return self._fit_dataset(X, y, reset, where, classes, **fit_params)
        X = check_multimodal(X, where, y)
        check_n_features(self, X, reset, where)
        X = one_window(X, self._window_bands(fitted=not reset), where)
        encoder, y_enc = self._labels(y, reset, where, classes)
        X_train = select_modalities(X, self.train_modalities, "train_modalities")
        if reset:
            given = self.module if isinstance(self.module, torch.nn.Module) else None
            if given is None:
                self.module_kwargs_ = {
                    **infer_module_kwargs(X),
                    "n_outputs": len(encoder.classes_),
                }
            if self._stage_one_applies(X):  # stage 1 reads every modality: check them here
                check_values(given, X, where)
            self.label_encoder_ = encoder
            groups = {"groups": fit_params["groups"]} if "groups" in fit_params else {}
            self.pretrainer_ = self.pretrain(X, y_enc, **groups)
            self._frozen_encoders(self.pretrainer_ is not None, warn=True)
            with self._seeded():
                self.initialize()
        self._check_distributed()
        check_values(self.model, X_train, where)
        with self._seeded():
            if self.encoders_frozen_:
                # frozen encoders in eval mode give fixed embeddings: compute them
                # once, then train the classifier on them (same result, faster)
                X_train = SliceDict(embedding=self._embed(X_train))
            with self._encoded_predictions():
                super().partial_fit(X_train, y_enc, **fit_params)
        self._record_trained(X, X_train)
        return self

    def _labels(self, y, reset, where, classes=None):
        """The label encoder and ``y`` encoded: from ``classes`` or ``y`` when
        ``reset``; else ``classes_`` (a ``warm_start`` fit needs all of them, as
        scikit-learn's warm starts do; ``partial_fit`` some)."""
        if reset:
            return encode_labels(y, where, classes)
        try:
            known = self.classes_
        except AttributeError:  # initialised, not fitted, no classes: y's labels
            self.label_encoder_, y_enc = encode_labels(y, where, classes)
            return self.label_encoder_, y_enc
        encoder, y_enc = encode_labels(y, where, known)
        held = np.unique(y_enc)
        if where.endswith(".fit") and len(held) != len(known):
            raise ValueError(
                f"{where}: warm_start continues a fit on the labels {known.tolist()}; y holds "
                f"{encoder.classes_[held].tolist()}."
            )
        if "label_encoder_" not in vars(self):
            self.label_encoder_ = encoder
        return encoder, y_enc

    def _record_trained(self, X, X_train):
        trained = set(getattr(self, "trained_modalities_", ()))
        if vars(self).get("pretrainer_") is not None:
            trained |= set(modality_keys(X))
        elif isinstance(self.module, torch.nn.Module) and self.pretrain_epochs == 0:
            trained |= set(self.model.modality_names)  # given trained, taken as given
        if not self.encoders_frozen_ and "embedding" not in modality_keys(X_train):
            trained |= set(modality_keys(X_train))
        self.trained_modalities_ = trained

    def _fit_dataset(self, dataset, y, reset, where, classes=None, **fit_params):
        """Fit on a dataset yielding ``(x, y[, ...])``: braindecode's windows of raw
        EEG ``(n_chans, n_times)``, feature windows ``(n_chans, n_windows,
        n_bands)`` or one window of features ``(n_chans * n_bands,)``, as arrays
        are read. Without ``y``, the labels are read from the items (and
        ``train_split`` gets none)."""
        first = dataset[0]
        if not isinstance(first, (tuple, list)) or len(first) < 2:
            n_values = len(first) if isinstance(first, (tuple, list)) else 1
            raise ValueError(
                f"{where}: the dataset's items hold {n_values} value(s); expected (x, y[, "
                f"...]), a sample and its label."
            )
        given = y is not None
        if y is None:
            y = np.asarray([dataset[i][1] for i in range(len(dataset))])
        elif len(y) != len(dataset):
            raise ValueError(
                f"{where}: the dataset has {len(dataset)} samples but y has "
                f"{len(y)}; expected one label per sample."
            )
        encoder, y_enc = self._labels(y, reset, where, classes)
        vars(self).pop("n_features_in_", None)
        if reset:
            if not isinstance(self.module, torch.nn.Module):
                self.module_kwargs_ = {
                    **self._dataset_sizes(dataset, first[0], where),
                    "n_outputs": len(encoder.classes_),
                }
            self.label_encoder_ = encoder
            self.pretrainer_ = None
            self._frozen_encoders(False, warn=True)
            with self._seeded():
                self.initialize()
        with self._seeded(), self._encoded_predictions():
            targets = _EncodedTargets(dataset, y_enc)
            super().partial_fit(targets, y_enc if given else None, **fit_params)
        self.trained_modalities_ = {EEG_KEY}
        return self

    def _dataset_sizes(self, dataset, x, where):
        """The module's sizes read from a dataset's first sample ``x``."""
        shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
        if len(shape) == 2:  # raw EEG windows: braindecode's inference
            props = infer_signal_properties(dataset, None, "classification")
            props = {k: v for k, v in props.items() if k in ("n_chans", "n_times", "chs_info")}
            sfreq = _dataset_sfreq(dataset)
            if sfreq is not None:
                props["sfreq"] = sfreq
            return {**props, "modalities": {}}
        if len(shape) not in (1, 3):
            raise ValueError(
                f"{where}: the dataset's samples have shape {shape}; expected EEG: one "
                f"window of features (n_chans * n_bands,), raw windows (n_chans, n_times) "
                f"or feature windows (n_chans, n_windows, n_bands)."
            )
        batch = np.zeros((1, *shape), dtype=np.float32)  # the sizes only
        return infer_module_kwargs(one_window(batch, self._window_bands(fitted=False), where))

    # -- prediction --------------------------------------------------------------
    def _prediction_input(self, X, where):
        if _is_dataset(X):
            return X
        X = check_multimodal(X, where)
        check_n_features(self, X, False, where)
        X = one_window(X, self._window_bands(fitted=True), where)
        X = select_modalities(X, self.test_modalities, "test_modalities")
        check_values(self.model, X, where)
        trained = getattr(self, "trained_modalities_", None)
        untrained = [k for k in modality_keys(X) if trained is not None and k not in trained]
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
        X = self._prediction_input(X, "M2SClassifier.predict")
        with self._rng_untouched():
            return super().predict_proba(X)

    def predict(self, X):
        """Labels (as given to ``fit``) from the ``test_modalities`` of ``X``.

        Inside ``fit`` (skorch's callbacks, e.g. ``EpochScoring``, score the
        validation data against the targets skorch trains on), the labels'
        indices ``0..n_classes-1``, as those targets are.
        """
        self.check_is_fitted()
        if vars(self).get("_predict_encoded"):
            return self.predict_proba(X).argmax(1)
        classes = self.classes_
        return np.asarray(classes)[self.predict_proba(X).argmax(1)]

    @contextlib.contextmanager
    def _encoded_predictions(self):
        """skorch's training loop: :meth:`predict` gives the encoded labels, as the
        targets skorch's scoring callbacks compare them with are."""
        self._predict_encoded = True
        try:
            yield
        finally:
            del self._predict_encoded

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_predict_encoded", None)  # a pickle taken inside fit predicts labels
        return state

    def score(self, X, y, sample_weight=None):
        """Balanced accuracy of :meth:`predict` (the paper's metric, and every report's).

        Parameters
        ----------
        X : SliceDict | array
            Read through ``test_modalities``.
        y : array-like
            True labels.
        sample_weight : array-like | None
            Per-sample weights.

        Returns
        -------
        float
        """
        return balanced_accuracy_score(y, self.predict(X), sample_weight=sample_weight)

    def transform(self, X):
        """Embeddings ``(n, proj_dim)`` of ``X``'s ``test_modalities`` (mean if several)."""
        self.check_is_fitted()
        return self._embed(self._prediction_input(X, "M2SClassifier.transform"))

    # -- parameters that travel ------------------------------------------------------
    def save_params(self, *args, **kwargs):
        """skorch's ``save_params``; the ``f_params`` file also carries the labels.

        They are written in the state dict's metadata (``_metadata``, beside
        the modules' versions), not as a tensor: the model's state dict
        holds only weights, and ``torch.load(weights_only=True)`` reads them
        back exactly (integers of any size, strings, floats). A safetensors
        file (``use_safetensors=True``) holds tensors only: the labels are
        then not saved.
        """
        model = self.model
        classes = self.__dict__.get("label_encoder_")
        if classes is None:
            return super().save_params(*args, **kwargs)
        record = _labels_record(classes.classes_)

        def add_labels(module, state_dict, prefix, local_metadata):
            if prefix == "":
                local_metadata[_LABELS_KEY] = record

        handle = model.register_state_dict_post_hook(add_labels)
        try:
            return super().save_params(*args, **kwargs)
        finally:
            handle.remove()

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``; the labels saved with the parameters come back, and
        a model of other sizes is named in one sentence (with the sizes to pass)."""
        self.check_is_fitted(
            msg=(
                f"{type(self).__name__}.load_params needs an initialized estimator: call "
                f"initialize() first (with the module's sizes: module__n_chans=..., "
                f"module__n_outputs=..., module__modalities=...)."
            )
        )
        from .base import check_labels_record

        model = self.model
        loaded = {}

        def check(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
            if prefix != "":
                return
            mismatch = describe_state_dict_mismatch(module, state_dict)
            if mismatch:
                raise ValueError(f"{type(self).__name__}.load_params: {mismatch}")
            if _LABELS_KEY in local_metadata:  # from the file: checked before numpy sees it
                try:
                    check_labels_record(local_metadata[_LABELS_KEY])
                    loaded["classes"] = _labels_from_record(local_metadata[_LABELS_KEY])
                except (ValueError, OverflowError) as err:
                    raise ValueError(
                        f"{type(self).__name__}.load_params: {str(err).rstrip('.')}; expected "
                        f"the labels that save_params writes."
                    ) from None

        handle = model.register_load_state_dict_pre_hook(check)
        try:
            result = super().load_params(*args, **kwargs)
        finally:
            handle.remove()
        if "classes" in loaded:
            self._set_labels(loaded["classes"])
        return result


class _EncodedTargets(torch.utils.data.Dataset):
    """A dataset's inputs with its labels encoded ``0..n_classes-1`` (and window
    indices dropped)."""

    def __init__(self, dataset, y_encoded):
        self.dataset = dataset
        self.y = np.asarray(y_encoded)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i][0], int(self.y[i])
