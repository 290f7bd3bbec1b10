"""Stage 1 of M2S: self-supervised pretraining of the encoders (skorch)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from itertools import permutations, product

import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring, PrintLog
from skorch.utils import TeeGenerator

from .. import training
from ..models.m2s import EEG_KEY, M2S
from ..objectives import REFERENCE_CLUB_STEPS, REFERENCE_WEIGHTS, M2SObjective, check_weights
from .base import M2SNetMixin
from .inputs import (
    check_multimodal,
    check_n_features,
    check_values,
    infer_module_kwargs,
    modality_keys,
    one_window,
)

__all__ = ["M2MCPCPretrainer", "term_names", "LOSS_TERMS"]

#: History keys of the stage-1 loss terms (no prefix), whatever the modalities.
LOSS_TERMS = ("clip_loss", "cpc_loss", "recon_loss", "club_mi", "club_nll")


def term_names(modalities):
    """History keys of the stage-1 terms and retrieval accuracies (no prefix).

    Returns
    -------
    dict of str -> bool
        Name -> lower is better.
    """
    names = dict.fromkeys(LOSS_TERMS, True)
    for a, b in permutations(modalities, 2):
        names[f"clip_acc_{a}->{b}"] = False
    for a, b in product(modalities, repeat=2):
        names[f"cpc_acc_{a}->{b}"] = False
    return names


class M2MCPCPretrainer(M2SNetMixin, NeuralNet):
    """Stage 1 of M2S: self-supervised pretraining of the encoders, no labels.

    ``fit(X)`` with ``X`` a ``SliceDict`` of two or more modalities trains an
    :class:`~braindecode_m2s.M2S` (the skorch module) together with its
    stage-1 objective :class:`~braindecode_m2s.objectives.M2SObjective` (the
    skorch criterion, which holds the heads only stage 1 needs) on

    .. math::

        \\mathcal L = w_{clip}\\mathcal L_{CLIP} + w_{cpc}\\mathcal L_{M2M CPC}
        + w_{rec}\\mathcal L_{rec} + w_{club}\\hat I_{CLUB}

    (Liu et al., 2025). CLUB's networks :math:`q(\\mathrm{EI} \\mid
    \\mathrm{ER})` have an optimiser of their own (``optimizer_club``, a
    second skorch optimiser: ``optimizer_club__lr`` is a parameter like any
    other) and take ``club_steps`` likelihood steps per batch on the
    batch's detached features, as the reference's ``mi_first_forward`` does:
    the first in the same backward pass as the encoders' step, the others
    after it. The encoders run once per batch (the reference re-runs them
    for every CLUB step; their weights do not change in between). Departure:
    the reference takes :math:`q`'s steps before the batch's bound, here the
    bound reads :math:`q` as fitted on the batches before
    (``docs/method.md``). ``club_steps=0`` fits :math:`q` with the main
    optimiser instead (single-step scheme). A weight of 0 switches a term
    off (the authors' ablations).

    ``history`` holds ``train_loss`` and, per epoch (skorch's
    :class:`~skorch.callbacks.PassthroughScoring`), every term
    (``train_clip_loss``, ``train_cpc_loss``, ``train_recon_loss``,
    ``train_club_mi``, ``train_club_nll``) and the retrieval accuracies of
    CLIP (``train_clip_acc_x->eye``) and CPC (``train_cpc_acc_eye->x``: the
    eye predictor scored on EEG's future); ``valid_*`` with a
    ``train_split``. ::

        pretrainer = M2MCPCPretrainer(M2S(n_chans=62, n_outputs=4), max_epochs=20)
        pretrainer.fit(SliceDict(x=eeg, eye=eye))
        Z = pretrainer.transform(SliceDict(eye=eye))     # (n, 32) embeddings
        clf = pretrainer.to_classifier(train_modalities=["x"],
                                       test_modalities=["eye"])  # eeg2eye

    Parameters
    ----------
    module : M2S | type
        The model: an instance (trained from its current weights; ``fit``
        works on a copy) or the class with ``module__*`` parameters (then
        ``n_chans``, ``n_times``, ``n_bands`` and ``modalities`` are inferred
        from ``X`` into ``module_kwargs_``).
    clip_weight, cpc_weight, recon_weight, club_weight : float
        Term weights (reference: 1, 1, 0.1, 0.3).
    club_steps : int
        Steps of the CLUB optimiser per batch (the reference's 3).
    optimizer_club : type
        CLUB's optimiser (``optimizer_club__lr`` etc.; default: ``optimizer``
        with its parameters).
    random_state : int | None
        Seed of every ``fit`` (module initialisation, dropout, batch order,
        CPC's and CLUB's draws); global generators are left as they were.
    mixed_precision : {"no", "bf16"}
        ``"bf16"`` runs forward passes and the losses under
        ``torch.autocast(dtype=torch.bfloat16)`` on the net's device (CPU or
        CUDA; outputs are returned in float32). ``docs/benchmarks.md`` gives
        its speed and accuracy effect.
    criterion : type
        The stage-1 objective, :class:`~braindecode_m2s.objectives.M2SObjective`;
        ``criterion__*`` set its sizes (``criterion__cpc_steps``,
        ``criterion__club_hidden``...; the weights are this estimator's).
    optimizer, lr, batch_size, max_epochs, train_split, **kwargs
        As :class:`skorch.NeuralNet`; defaults AdamW, 1e-3, 128, 20, None.

    Attributes
    ----------
    module_ : M2S
        The pretrained model.
    criterion_ : M2SObjective
        The stage-1 objective and its heads (``save_params(f_criterion=...)``).
    module_kwargs_ : dict
        Module parameters inferred from the data of the last ``fit``.
    modalities_ : list of str
        The modalities of the last ``fit`` (the encoders stage 1 trained).
    generator_ : torch.Generator
        Source of the objective's draws (seeded with ``random_state + 1``).
    """

    _module_output = "features"

    def __init__(
        self,
        module=M2S,
        *args,
        clip_weight=REFERENCE_WEIGHTS["clip"],
        cpc_weight=REFERENCE_WEIGHTS["cpc"],
        recon_weight=REFERENCE_WEIGHTS["recon"],
        club_weight=REFERENCE_WEIGHTS["club"],
        club_steps=REFERENCE_CLUB_STEPS,
        optimizer_club=None,
        random_state=None,
        mixed_precision="no",
        criterion=M2SObjective,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        batch_size=128,
        max_epochs=20,
        train_split=None,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        self.clip_weight = clip_weight
        self.cpc_weight = cpc_weight
        self.recon_weight = recon_weight
        self.club_weight = club_weight
        self.club_steps = club_steps
        self.optimizer_club = optimizer_club
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
            **kwargs,
        )

    @property
    def _default_callbacks(self):
        """skorch's, a PassthroughScoring per loss term, and an epoch table of the
        loss terms that fits 100 columns (everything is in ``history``).

        Parameters of the estimator (``get_params(deep=True)`` lists them), so
        the same before and after ``fit``: the retrieval accuracies, whose
        names follow the modalities of the data, get theirs when the
        callbacks are initialised (:meth:`initialize_callbacks`).
        """
        shown = {"clip_loss", "cpc_loss", "recon_loss"}
        hidden = [f"train_{n}" for n in LOSS_TERMS if n not in shown]
        hidden += [f"valid_{n}" for n in LOSS_TERMS]
        callbacks = [
            (name, PrintLog(keys_ignored=hidden) if name == "print_log" else callback)
            for name, callback in super()._default_callbacks
        ]
        for prefix in ("train", "valid"):
            for name in LOSS_TERMS:
                key = f"{prefix}_{name}"
                callbacks.append((key, PassthroughScoring(key, on_train=prefix == "train")))
        return callbacks

    def initialize_callbacks(self):
        """skorch's, then a PassthroughScoring per retrieval accuracy of the modalities
        about to be trained (left out of the epoch table)."""
        super().initialize_callbacks()
        if self.callbacks == "disable":
            return self
        taken = {name for name, _ in self.callbacks_}
        accuracies = []
        for prefix in ("train", "valid"):
            for name, lower in term_names(self._planned_modalities()).items():
                key = f"{prefix}_{name}"
                if name in LOSS_TERMS or key in taken:
                    continue
                scoring = PassthroughScoring(
                    key, lower_is_better=lower, on_train=prefix == "train"
                )
                self.callbacks_.append((key, scoring.initialize()))
                accuracies.append(key)
        for name, callback in self.callbacks_:
            if name == "print_log" and isinstance(callback, PrintLog):
                callback.keys_ignored_ |= set(accuracies)
        return self

    def _planned_modalities(self):
        if isinstance(self.module, M2S):
            return self.module.modality_names
        given = self.get_params_for("module").get("modalities")
        if given is None:
            given = getattr(self, "module_kwargs_", {}).get("modalities", {"eye": 31})
        return [EEG_KEY, *given]

    # -- fit -------------------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Pretrain on unlabelled multimodal data.

        Parameters
        ----------
        X : dict | skorch.helper.SliceDict | array
            Two or more modalities in M2S's layout; with ``clip_weight=0``
            (no cross-modal alignment) one modality suffices, e.g. a plain
            EEG array (a 2-D one, ``(n, n_chans * n_bands)``, is one window
            of features per sample: reconstruction and CLUB only, M2M CPC
            needs two windows or more).
        y : None
            Ignored (self-supervised).
        **fit_params
            ``groups`` (trial ids) for a ``train_split``; others as skorch.

        Returns
        -------
        self
        """
        reset = not self.warm_start or not self.initialized_
        return self._fit(X, reset, "M2MCPCPretrainer.fit", **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """More epochs of stage 1; on an estimator not initialised yet, :meth:`fit`.

        Parameters
        ----------
        X, **fit_params
            As :meth:`fit`.
        y, classes : None
            Ignored (self-supervised; scikit-learn's signature).

        Returns
        -------
        self
        """
        return self._fit(X, not self.initialized_, "M2MCPCPretrainer.partial_fit", **fit_params)

    def _fit(self, X, reset, where, **fit_params):
        """:meth:`fit` (``reset``: from scratch) and :meth:`partial_fit`."""
        given = type(X).__name__
        X = check_multimodal(X, where)
        if len(modality_keys(X)) < 2 and self.clip_weight != 0:
            keys = modality_keys(X) if isinstance(X, Mapping) else f"{given} (EEG only)"
            raise ValueError(
                f"{where}: pretraining needs a SliceDict of at least two modalities (CLIP "
                f"aligns them), or clip_weight=0 to pretrain on one (M2M CPC, "
                f"reconstruction, CLUB); got {keys}."
            )
        check_weights(self.weights, "M2MCPCPretrainer")
        self._autocast()  # an unknown mixed_precision is refused before any work
        if (
            isinstance(self.club_steps, bool)
            or not isinstance(self.club_steps, int)
            or self.club_steps < 0
        ):
            raise ValueError(
                f"M2MCPCPretrainer: club_steps must be an integer >= 0; got {self.club_steps!r}."
            )
        own = sorted(k for k in self.get_params_for("criterion") if k.endswith("_weight"))
        if own:
            raise ValueError(
                f"M2MCPCPretrainer: criterion__{own[0]} is this estimator's own {own[0]!r}; "
                f"set that instead."
            )
        check_n_features(self, X, reset, where)
        X = one_window(X, self._window_bands(fitted=not reset), where)
        if reset and not isinstance(self.module, torch.nn.Module):
            self.module_kwargs_ = {"n_outputs": 2, **infer_module_kwargs(X)}
        with self._seeded():
            if reset:
                self.initialize()
            self._check_distributed()
            check_values(self.model, X, where)
            super().partial_fit(X, None, **fit_params)
        self.modalities_ = modality_keys(X)
        return self

    @property
    def predict(self):
        """Not available: stage 1 predicts no label (AttributeError, so that
        ``hasattr(pretrainer, "predict")`` is False); :meth:`transform` gives
        the embeddings."""
        raise AttributeError(
            f"{type(self).__name__} has no predict: stage 1 is self-supervised; transform(X) "
            f"gives the embeddings, to_classifier() a classifier."
        )

    @property
    def predict_proba(self):
        """Not available (see :attr:`predict`)."""
        raise AttributeError(
            f"{type(self).__name__} has no predict_proba: stage 1 is self-supervised; "
            f"transform(X) gives the embeddings, to_classifier() a classifier."
        )

    def initialize_criterion(self):
        """The stage-1 objective for the module's modalities and sizes, with this
        estimator's weights (and ``criterion__*``)."""
        kwargs = {f"{k}_weight": v for k, v in self.weights.items()}
        self.criterion_ = self.criterion.for_model(
            self.model, **kwargs, **self.get_params_for("criterion")
        ).to(self.device)
        # the objective's own draws (CPC's context end, CLUB's negative pairs) come from
        # the estimator's generator, whatever the loaders draw from torch's global one
        seed = self.random_state
        if seed is None:
            seed = int(torch.empty((), dtype=torch.int64).random_())
        self.generator_ = torch.Generator().manual_seed(int(seed) + 1)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        """The main optimiser (CLUB's parameters left out) and CLUB's own."""
        super().initialize_optimizer(*args, **kwargs)
        if self.club_steps > 0:
            named = [(f"club.{n}", p) for n, p in self._objective().club.named_parameters()]
            args, kwargs = self.get_params_for_optimizer("optimizer_club", named)
            for key, value in self.get_params_for("optimizer").items():
                kwargs.setdefault(key, value)
            cls = self.optimizer if self.optimizer_club is None else self.optimizer_club
            self.optimizer_club_ = cls(*args, **kwargs)
        return self

    def _objective(self):
        """The objective itself (unwrapped when an accelerator wraps it)."""
        accelerator = self._accelerator
        if accelerator is not None:
            return accelerator.unwrap_model(self.criterion_, keep_fp32_wrapper=False)
        return self.criterion_

    def get_all_learnable_params(self):
        """Every parameter of the model and the objective but CLUB's (those belong to
        ``optimizer_club_``, unless ``club_steps=0``)."""
        club = {id(p) for p in self._objective().club.parameters()} if self.club_steps else ()
        for name, param in super().get_all_learnable_params():
            if id(param) not in club:
                yield name, param

    # -- steps -----------------------------------------------------------------
    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        """The stage-1 objective on the model's features; every term into the history.

        On a training batch the objective's detached CLUB inputs are added to
        ``y_pred`` (the step's output), for CLUB's further steps
        (:meth:`train_step`).
        """
        out = self.criterion_(y_pred, generator=self.generator_)
        terms = out["terms"]
        if terms:  # one device sync for every logged value
            prefix = "train" if training else "valid"
            for key, value in zip(terms, torch.stack(list(terms.values())).tolist()):
                self.history.record_batch(f"{prefix}_{key}", value)
        if training and "club_inputs" in out:
            y_pred["club_inputs"] = out["club_inputs"]
        return out["loss"]

    def train_step(self, batch, **fit_params):
        """One step of the encoders and the objective's heads, and of CLUB's.

        skorch's ``train_step`` would pass the step to each optimiser as a
        closure, running the forward and backward passes once per optimiser
        (its documented behaviour with several); here they run once: the
        backward pass gives the gradients of both optimisers (the encoders'
        from the bound, CLUB's from its likelihood), each steps, then CLUB
        takes its further ``club_steps - 1`` likelihood steps on the batch's
        detached features.
        """
        optimizers = [self.optimizer_]
        if self.club_steps > 0:
            optimizers.append(self.optimizer_club_)
        for optimizer in optimizers:
            optimizer.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        for optimizer in optimizers:
            optimizer.step()
        club_inputs = step["y_pred"].pop("club_inputs", None)
        if club_inputs is not None:
            for _ in range(self.club_steps - 1):
                self.optimizer_club_.zero_grad()
                with self._autocast():
                    nll = self.criterion_(club_inputs=club_inputs)["loss"]
                self._backward(nll)
                self.optimizer_club_.step()
        return step

    # -- outputs ---------------------------------------------------------------
    def transform(self, X):
        """Embeddings of the modality (or modalities) that ``X`` holds.

        Parameters
        ----------
        X : dict | SliceDict | array
            One or more modalities; a plain array is EEG (2-D: one window,
            as in :meth:`fit`).

        Returns
        -------
        numpy.ndarray
            ``(n, proj_dim)``: the modality's embedding, or the mean of the
            embeddings of the given modalities.
        """
        where = "M2MCPCPretrainer.transform"
        self.check_is_fitted()
        X = check_multimodal(X, where)
        check_n_features(self, X, False, where)
        X = one_window(X, self.model.n_bands, where)
        check_values(self.model, X, where)
        return self._embed(X)

    def to_classifier(self, n_outputs=None, **kwargs):
        """An :class:`M2SClassifier` (stage 2) on the pretrained encoders.

        Parameters
        ----------
        n_outputs : int | None
            Number of classes; the classifier's head is rebuilt if it differs.
        **kwargs
            Passed to :class:`M2SClassifier` (``train_modalities``,
            ``test_modalities``, ``max_epochs``, ``lr``...); ``random_state``,
            ``device`` and ``verbose`` default to this estimator's.

        Returns
        -------
        M2SClassifier
            Unfitted, on a copy of the pretrained model, with
            ``pretrain_epochs=0``: its ``fit`` trains stage 2 only.
        """
        self.check_is_fitted()
        module = copy.deepcopy(self.model).cpu()
        if n_outputs is not None and n_outputs != module.n_outputs:
            module.reset_head(n_outputs)
        kwargs.setdefault("random_state", self.random_state)
        kwargs.setdefault("device", self.device)
        kwargs.setdefault("verbose", self.verbose)
        kwargs.setdefault("pretrain_epochs", 0)
        # the classifier depends on this module: it is read from the package, not imported
        return training.M2SClassifier(module, **kwargs)
