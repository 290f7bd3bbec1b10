"""What both M2S estimators share: seeding without global side effects, building
the module without touching parameters, iterators, groups for any split."""

from __future__ import annotations

import contextlib
import copy
import inspect
import threading
from collections.abc import Mapping

import torch
from skorch.utils import to_tensor

from ..models.m2s import M2S
from ..objectives import REFERENCE_WEIGHTS
from .inputs import as_module_inputs

__all__ = ["M2SNetMixin", "ModalityLoader", "global_rng_lock"]

#: Held while a seeded fit runs: dropout draws from torch's process-wide
#: generator, so seeded fits in threads of one process run one at a time
#: (processes -- loky, Dask, Ray -- run in parallel).
global_rng_lock = threading.RLock()


class ModalityLoader:
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


def _to_float32(value):
    """Floating tensors of a nested output (tuples, lists, dicts) in float32."""
    if isinstance(value, Mapping):
        return {k: _to_float32(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_to_float32(v) for v in value)
    if isinstance(value, torch.nn.Module):
        return value
    return _as_float32(value)


class M2SNetMixin:
    """Seeding, module building, iterators and groups, shared by both estimators.

    - ``random_state`` seeds every fit. Module initialisation and dropout run
      inside :func:`torch.random.fork_rng` seeded with it, and every other
      draw (batch order, CPC's context end, CLUB's negative pairs) comes from
      the estimator's own ``generator_``: after ``fit`` the global numpy,
      torch and python generators are as they were.
    - The module is built from ``module`` and ``module__*`` plus the sizes
      inferred from the data (``module_kwargs_``, a fitted attribute):
      ``get_params()`` never changes.
    - ``fit(X, y, groups=...)`` hands ``groups`` to any ``train_split``.
    - Combined with skorch's :class:`~skorch.hf.AccelerateMixin`
      (:class:`~braindecode_m2s.AcceleratedM2SClassifier`,
      :class:`~braindecode_m2s.AcceleratedM2MCPCPretrainer`), the net trains
      with DistributedDataParallel under ``accelerate launch`` / ``torchrun``:
      ``module_`` is then the wrapper while training, :attr:`model` the M2S
      inside it, every DataLoader is sharded by the accelerator, and
      backward goes through ``accelerator.backward``.
    """

    _classification = False

    # -- stage 1's parameters (both estimators take them) ---------------------------
    @property
    def weights(self):
        """The stage-1 term weights as a dict (``clip``, ``cpc``, ``recon``, ``club``)."""
        return {term: getattr(self, f"{term}_weight") for term in REFERENCE_WEIGHTS}

    def stage_one_params(self):
        """The term weights and ``club_steps``, as keyword arguments of
        :class:`~braindecode_m2s.M2MCPCPretrainer`."""
        params = {f"{term}_weight": value for term, value in self.weights.items()}
        return {**params, "club_steps": self.club_steps}

    # -- distributed training (skorch's AccelerateMixin) ---------------------------
    @property
    def _accelerator(self):
        """The ``accelerate.Accelerator`` of an ``AccelerateMixin`` net, else None."""
        return self.__dict__.get("accelerator")

    @property
    def model(self):
        """The fitted M2S itself: ``module_``, unwrapped when an accelerator wraps it."""
        module = self.module_
        accelerator = self._accelerator
        if accelerator is not None and isinstance(module, torch.nn.Module):
            return accelerator.unwrap_model(module, keep_fp32_wrapper=False)
        return module

    @contextlib.contextmanager
    def _unwrapped(self):
        """Run a block on the plain module (changes to its parameters' ``requires_grad``,
        head or optimiser), then let the accelerator wrap it again."""
        if not self.__dict__.get("_wrapped_with_accelerator", False):
            yield
            return
        self._unwrap_accelerator()
        try:
            yield
        finally:
            self._initialize_accelerator()
            self._check_distributed()

    def _check_distributed(self):
        """M2S leaves parameters unused in a step (the classifier in stage 1, the
        other modality's encoder in stage 2): DDP must be told to look for them."""
        module = self.module_
        if (
            isinstance(module, torch.nn.parallel.DistributedDataParallel)
            and not module.find_unused_parameters
        ):
            raise ValueError(
                f"{type(self).__name__}: M2S leaves some parameters without gradient "
                f"in a step (the classifier during stage 1, an unused modality's "
                f"encoder), so DistributedDataParallel needs find_unused_parameters=True: "
                f"Accelerator(kwargs_handlers=[DistributedDataParallelKwargs("
                f"find_unused_parameters=True)])."
            )

    def _ddp_ignored_parameters(self):
        """Names of ``module_``'s parameters DistributedDataParallel must not reduce."""
        return []

    def _print(self, text):
        """Print (once, on the main process, under an accelerator)."""
        accelerator = self._accelerator
        (print if accelerator is None else accelerator.print)(text)

    def _backward(self, loss):
        accelerator = self._accelerator
        if accelerator is None:
            loss.backward()
        else:
            accelerator.backward(loss)

    # -- mixed precision ------------------------------------------------------------
    def _autocast(self):
        """``torch.autocast`` for ``mixed_precision="bf16"`` (a no-op for ``"no"``);
        under an accelerator, the accelerator's own ``mixed_precision``."""
        precision = self.mixed_precision
        accelerator = self._accelerator
        if accelerator is not None:
            if precision not in (None, "no"):
                raise ValueError(
                    f"{type(self).__name__}: with an accelerator, mixed precision is the "
                    f"accelerator's (Accelerator(mixed_precision={precision!r})); leave "
                    f"mixed_precision='no'."
                )
            return accelerator.autocast()
        if precision in (None, "no"):
            return contextlib.nullcontext()
        if precision != "bf16":
            raise ValueError(
                f"{type(self).__name__}: mixed_precision must be 'no' or 'bf16'; got "
                f"{precision!r}."
            )
        device_type = torch.device(self.device or "cpu").type
        return torch.autocast(device_type, dtype=torch.bfloat16)

    def train_step_single(self, batch, **fit_params):
        """skorch's step, the forward pass under ``mixed_precision``."""
        with self._autocast():
            return super().train_step_single(batch, **fit_params)

    def evaluation_step(self, batch, training=False):
        """skorch's evaluation under ``mixed_precision``; outputs back in float32."""
        with self._autocast():
            return _to_float32(super().evaluation_step(batch, training=training))

    # -- randomness ------------------------------------------------------------
    @contextlib.contextmanager
    def _seeded(self):
        """Run a block with torch's global generator seeded and restored."""
        if self.random_state is None:
            yield
            return
        devices = (
            list(range(torch.cuda.device_count())) if str(self.device).startswith("cuda") else []
        )
        with global_rng_lock, torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.random_state)
            yield

    def _make_generator(self):
        seed = self.random_state
        if seed is None:  # random_state=None: one draw from torch's global generator
            seed = int(torch.empty((), dtype=torch.int64).random_())
        return torch.Generator().manual_seed(int(seed) + 1)

    # -- module ----------------------------------------------------------------
    def _module_kwargs(self):
        return {**getattr(self, "module_kwargs_", {}), **self.get_params_for("module")}

    def initialize_module(self):
        """Build the module: a class with the inferred and given kwargs; an instance
        copied (pretrained) or rebuilt from its config (so ``random_state`` decides
        its initial weights); move it to ``device``."""
        module = self.module
        kwargs = self._module_kwargs()
        if isinstance(module, torch.nn.Module):
            if isinstance(module, M2S) and not module.pretrained:
                built = type(module).from_config(
                    {**module.get_config(), **self.get_params_for("module")}
                )
            else:
                built = copy.deepcopy(module)
        else:
            accepted = inspect.signature(module).parameters
            if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
                kwargs = {
                    k: v
                    for k, v in kwargs.items()
                    if k in accepted or k in self.get_params_for("module")
                }
            built = module(**kwargs)
        self.module_ = built.to(self.device)
        self.generator_ = self._make_generator()
        return self

    def _to_inputs(self, Xi):
        """Batch -> keyword arguments of the module, on the net's device."""
        return as_module_inputs(to_tensor(Xi, device=self.device))

    # -- data ------------------------------------------------------------------
    def get_iterator(self, dataset, training=False):
        """skorch's DataLoader; training shuffles with ``generator_``, and no loader
        draws from torch's global generator."""
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if "generator" not in kwargs:
            # training shuffles with the estimator's generator; prediction loaders get
            # a generator of their own too, since a DataLoader otherwise draws its base
            # seed from torch's global generator at every iteration
            kwargs["generator"] = (
                self.generator_ if training and kwargs.get("shuffle") else torch.Generator()
            )
        loader = getattr(self, prefix)(dataset, **kwargs)
        if self._accelerator is not None:  # each process reads its shard
            loader = self._accelerator.prepare(loader)
        return ModalityLoader(loader, self._classification)

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's split, with the ``groups`` given to ``fit`` (any splitter)."""
        dataset = self.get_dataset(X, y)
        if not self.train_split:
            return dataset, None
        groups = getattr(self, "_fit_groups", None)
        kwargs = {} if groups is None else {"groups": groups}
        try:
            if y is None:
                return self.train_split(dataset, **kwargs)
            return self.train_split(dataset, y, **kwargs)
        except TypeError as error:
            if groups is None or "groups" not in str(error):
                raise
            raise ValueError(
                f"fit got groups, but train_split={self.train_split!r} does not take "
                f"them; use skorch's ValidSplit with a group splitter (e.g. "
                f"TrialValidSplit) or a callable (dataset, y, groups)."
            ) from None

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop; ``groups`` go to the split only, never to the module."""
        self._fit_groups = fit_params.pop("groups", None)
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            del self._fit_groups

    # -- embeddings --------------------------------------------------------------
    def _embed(self, X):
        """Embeddings (mean over the given modalities) through skorch's ``forward_iter``.

        The one batched embedding loop of the package (stage 2 on frozen
        encoders, ``transform``, the prototype classifier): the module's
        ``forward(..., return_features=True)``, in eval mode, without
        gradients, batch by batch to the CPU.
        """
        module = self.model
        previous = module.return_features
        module.return_features = True
        try:
            out = [
                features["embedding"]
                for _, features in self.forward_iter(X, training=False, device="cpu")
            ]
        finally:
            module.return_features = previous
        return torch.cat(out).numpy()
