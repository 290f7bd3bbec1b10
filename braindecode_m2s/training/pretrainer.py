"""Stage 1 of M2S: self-supervised pretraining of the encoders (skorch)."""

from __future__ import annotations

import copy
import sys
import warnings
from collections.abc import Mapping
from functools import cache, partial
from itertools import permutations, product

import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator

from ..models.m2s import M2S
from ..objectives import (
    REFERENCE_CLUB_STEPS,
    REFERENCE_WEIGHTS,
    check_weights,
    club_likelihood_loss,
    pretraining_loss,
)
from .base import M2SNetMixin
from .inputs import check_multimodal, check_values, infer_module_kwargs, modality_keys


def _outside_compile(function):
    """``function``, run eagerly when a compiled module calls it.

    Under skorch's ``compile=True`` (or any ``torch.compile`` of the module)
    the encoders are compiled and the stage-1 objective (CLUB's own steps,
    the seeded draws) runs eagerly: it is wrapped in
    :func:`torch.compiler.disable`, once per function. Nothing can compile
    before ``torch._dynamo`` is imported, and importing it costs seconds
    (about a quarter of ``import braindecode_m2s``), so until then the
    function is returned as it is.
    """
    if "torch._dynamo" not in sys.modules:
        return function
    return _disabled(function)


@cache
def _disabled(function):
    return torch.compiler.disable(function)


__all__ = ["M2MCPCPretrainer", "term_names"]


def term_names(modalities):
    """History keys of the stage-1 terms and retrieval accuracies (no prefix).

    Returns
    -------
    dict of str -> bool
        Name -> lower is better.
    """
    names = {
        "clip_loss": True,
        "cpc_loss": True,
        "recon_loss": True,
        "club_mi": True,
        "club_nll": True,
    }
    for a, b in permutations(modalities, 2):
        names[f"clip_acc_{a}->{b}"] = False
    for a, b in product(modalities, repeat=2):
        names[f"cpc_acc_{a}->{b}"] = False
    return names


class M2MCPCPretrainer(M2SNetMixin, NeuralNet):
    """Stage 1 of M2S: self-supervised pretraining of the encoders, no labels.

    ``fit(X)`` with ``X`` a ``SliceDict`` of two or more modalities trains an
    :class:`~braindecode_m2s.M2S` on

    .. math::

        \\mathcal L = w_{clip}\\mathcal L_{CLIP} + w_{cpc}\\mathcal L_{M2M CPC}
        + w_{rec}\\mathcal L_{rec} + w_{club}\\hat I_{CLUB}

    (Liu et al., 2025; :func:`~braindecode_m2s.objectives.pretraining_loss`).
    Before each step of the main optimiser, the CLUB networks
    :math:`q(\\mathrm{EI} \\mid \\mathrm{ER})` take ``club_steps`` steps of
    their own optimiser (``optimizer_club``, a second skorch optimiser:
    ``optimizer_club__lr`` is a parameter like any other) on the batch's
    detached features, as the reference's ``mi_first_forward`` does (it
    re-runs the encoders three times; their weights do not change in
    between, so we reuse the batch's features). ``club_steps=0`` fits them
    in the main step instead (single-step scheme; measured less stable:
    ``docs/results.md``). A weight of 0 switches a term off (the authors'
    ablations).

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
        The model (instance, or the class with ``module__*`` parameters; then
        ``n_chans``, ``n_times``, ``n_bands`` and ``modalities`` are inferred
        from ``X`` into ``module_kwargs_``).
    clip_weight, cpc_weight, recon_weight, club_weight : float
        Term weights (reference: 1, 1, 0.1, 0.3).
    club_steps : int
        Steps of the CLUB optimiser per batch (the reference's 3).
    optimizer_club : type
        CLUB's optimiser (``optimizer_club__lr`` etc.; default: ``optimizer``
        with its ``lr``).
    random_state : int | None
        Seed of every ``fit`` (module initialisation, dropout, batch order,
        CPC's and CLUB's draws); global generators are left as they were.
    mixed_precision : {"no", "bf16"}
        ``"bf16"`` runs forward passes and the losses under
        ``torch.autocast(dtype=torch.bfloat16)`` on the net's device (CPU or
        CUDA; outputs are returned in float32). ``docs/benchmarks.md`` gives
        its speed and accuracy effect.
    optimizer, lr, batch_size, max_epochs, train_split, **kwargs
        As :class:`skorch.NeuralNet`; defaults AdamW, 1e-3, 128, 20, None.

    Attributes
    ----------
    module_ : M2S
        The pretrained model (``module_.pretrained`` is True).
    module_kwargs_ : dict
        Module parameters inferred from the data of the last ``fit``.
    generator_ : torch.Generator
        The estimator's own source of randomness.
    """

    _classification = False

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
        criterion=torch.nn.Identity,
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
        callbacks = list(super()._default_callbacks)
        modalities = self._planned_modalities()
        names = term_names(modalities)
        for prefix in ("train", "valid"):
            for name, lower in names.items():
                key = f"{prefix}_{name}"
                callbacks.append(
                    (
                        key,
                        PassthroughScoring(key, lower_is_better=lower, on_train=prefix == "train"),
                    )
                )
        return callbacks

    def _planned_modalities(self):
        if isinstance(self.module, M2S):
            return self.module.modality_names
        given = self.get_params_for("module").get("modalities")
        if given is None:
            given = getattr(self, "module_kwargs_", {}).get("modalities", {"eye": 31})
        return ["x", *given]

    # -- fit -------------------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Pretrain on unlabelled multimodal data.

        Parameters
        ----------
        X : dict | skorch.helper.SliceDict
            Two or more modalities in M2S's layout.
        y : None
            Ignored (self-supervised).
        **fit_params
            ``groups`` (trial ids) for a ``train_split``; others as skorch.

        Returns
        -------
        self
        """
        if not isinstance(X, Mapping) or len(X.keys()) < 2:
            keys = sorted(X) if isinstance(X, Mapping) else type(X).__name__
            raise ValueError(
                f"M2MCPCPretrainer.fit: pretraining needs a SliceDict of at least two "
                f"modalities; got {keys}."
            )
        check_weights(self.weights, "M2MCPCPretrainer")
        self._autocast()  # an unknown mixed_precision is refused before any work
        if (
            isinstance(self.club_steps, bool)
            or int(self.club_steps) != self.club_steps
            or self.club_steps < 0
        ):
            raise ValueError(
                f"M2MCPCPretrainer: club_steps must be an integer >= 0; got {self.club_steps!r}."
            )
        check_multimodal(X, "M2MCPCPretrainer.fit")
        if not isinstance(self.module, torch.nn.Module):
            self.module_kwargs_ = {"n_outputs": 2, **infer_module_kwargs(X)}
        with self._seeded():
            if not self.warm_start or not self.initialized_:
                self.initialize()
            self._check_distributed()
            check_values(self.model, X, "M2MCPCPretrainer.fit")
            self._warn_model_weights()
            self.partial_fit(X, None, **fit_params)
        self.model.pretrained = True
        self.model.mark_trained(modality_keys(X))
        return self

    def _warn_model_weights(self):
        """Warn when the model's own term weights were changed but stage 1's were not.

        ``M2S(club_weight=...)`` weighs the joint objective only; stage 1 uses this
        estimator's weights. A model built with other weights than the reference's,
        pretrained with other weights than its own, most likely meant them for stage 1.
        """
        own = {k: float(v) for k, v in self.model.ssl_weights.items()}
        used = {k: float(v) for k, v in self.weights.items()}
        if own != REFERENCE_WEIGHTS and own != used:
            changed = ", ".join(
                f"{k}_weight={own[k]:g}" for k in own if own[k] != REFERENCE_WEIGHTS[k]
            )
            warnings.warn(
                f"M2MCPCPretrainer: the model's {changed} weigh only the joint objective "
                f"(M2SJointLoss); stage 1 uses this estimator's weights "
                f"({', '.join(f'{k}_weight={v:g}' for k, v in used.items())}). Pass them "
                f"to M2MCPCPretrainer (or M2SClassifier) to change stage 1.",
                UserWarning,
                stacklevel=3,
            )

    def initialize_optimizer(self, *args, **kwargs):
        """The main optimiser (CLUB's parameters left out) and CLUB's own."""
        super().initialize_optimizer(*args, **kwargs)
        named = [(f"module_.{n}", p) for n, p in self.model.club.named_parameters()]
        args, kwargs = self.get_params_for_optimizer("optimizer_club", named)
        for key, value in self.get_params_for("optimizer").items():
            kwargs.setdefault(key, value)
        cls = self.optimizer if self.optimizer_club is None else self.optimizer_club
        self.optimizer_club_ = cls(*args, **kwargs)
        return self

    def _ddp_ignored_parameters(self):
        """CLUB's parameters, when its own optimiser steps them inside the forward
        pass (``club_steps > 0``): their gradients are averaged by
        :meth:`_average_over_processes`, not by DistributedDataParallel."""
        if self.club_steps <= 0:
            return []
        return [name for name, _ in self.model.club.named_parameters(prefix="club")]

    def get_all_learnable_params(self):
        """Every parameter but CLUB's (those belong to ``optimizer_club_``)."""
        for name, param in super().get_all_learnable_params():
            if not name.startswith(("club.", "module.club.")) or self.club_steps <= 0:
                yield name, param

    # -- steps -----------------------------------------------------------------
    def _fit_club(self, model, parts):
        """``club_steps`` likelihood steps of the CLUB networks on detached features.

        Under DistributedDataParallel these steps run inside the wrapper's
        forward pass, where it does not reduce gradients: CLUB's are averaged
        over the processes here, so every replica takes the same steps.
        """
        features = {m: (p["er"].detach(), p["ei"].detach()) for m, p in parts.items()}
        for _ in range(self.club_steps):
            self.optimizer_club_.zero_grad()
            club_likelihood_loss(model, features).backward()
            self._average_over_processes(model.club.parameters())
            self.optimizer_club_.step()
        self.optimizer_club_.zero_grad()

    def _average_over_processes(self, parameters):
        """Mean of the parameters' gradients over the processes (one collective)."""
        accelerator = self._accelerator
        if accelerator is None or accelerator.num_processes < 2:
            return
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        flat = accelerator.reduce(torch.cat([g.reshape(-1) for g in grads]), reduction="mean")
        for grad, value in zip(grads, flat.split([g.numel() for g in grads])):
            grad.copy_(value.view_as(grad))

    def _objective(self, model, parts, training):
        """The stage-1 loss of one batch from the encoded parts (inside ``forward``)."""
        for m, p in parts.items():
            p["ei"] = model.ei_encoders[m](p["input"])
        if training and self.club_steps > 0 and self.club_weight > 0:
            self._fit_club(model, parts)
        return pretraining_loss(
            model,
            parts,
            self.weights,
            fit_club=self.club_steps <= 0,
            generator=self.generator_,
        )

    def _loss(self, batch, training):
        Xi, _ = unpack_data(batch)
        objective = partial(_outside_compile(type(self)._objective), self, training=training)
        loss, record = self.module_(**self._to_inputs(Xi), objective=objective)
        prefix = "train" if training else "valid"
        if record:  # one device sync for every logged value
            for key, value in zip(record, torch.stack(list(record.values())).tolist()):
                self.history.record_batch(f"{prefix}_{key}", value)
        return loss

    def train_step(self, batch, **fit_params):
        """CLUB's own steps, then one step of the main optimiser."""
        self._set_training(True)
        self.optimizer_.zero_grad()
        with self._autocast():
            loss = self._loss(batch, True)
        self._backward(loss)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
        )
        self.optimizer_.step()
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad(), self._autocast():
            loss = self._loss(batch, False)
        return {"loss": loss, "y_pred": None}

    # -- outputs ---------------------------------------------------------------
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
        check_multimodal(X, "M2MCPCPretrainer.transform")
        check_values(self.model, X, "M2MCPCPretrainer.transform")
        return self._embed(X)

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
        from .classifier import M2SClassifier

        self.check_is_fitted()
        module = copy.deepcopy(self.model).cpu()
        if n_outputs is not None and n_outputs != module.n_outputs:
            module.reset_head(n_outputs)
        kwargs.setdefault("random_state", self.random_state)
        kwargs.setdefault("device", self.device)
        return M2SClassifier(module, **kwargs)
