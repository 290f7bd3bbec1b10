"""What both M2S estimators share, on skorch's own hooks: seeding without global
side effects, the module built from the estimator's parameters and the data,
mixed precision, groups for any split, and the one embedding loop."""

from __future__ import annotations

import contextlib
import copy
import inspect
import threading
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils import TransformerTags

from ..models.m2s import M2S
from ..objectives import REFERENCE_WEIGHTS
from ._skorch import PublicParameters
from .inputs import one_window

__all__ = ["M2SNetMixin", "global_rng_lock"]

#: Held while a seeded fit runs: dropout draws from torch's process-wide
#: generator, so seeded fits in threads of one process run one at a time
#: (processes -- loky, Dask, Ray -- run in parallel).
global_rng_lock = threading.RLock()


def _float32(value):
    """Floating tensors of a nested output (tuples, lists, dicts) in float32."""
    if isinstance(value, dict):
        return {k: _float32(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_float32(v) for v in value)
    if isinstance(value, torch.Tensor) and torch.is_floating_point(value):
        return value.float()
    return value


class M2SNetMixin(PublicParameters):
    """Seeding, module building, mixed precision, groups and embeddings, shared by
    :class:`~braindecode_m2s.M2MCPCPretrainer` and
    :class:`~braindecode_m2s.M2SClassifier`.

    - ``random_state`` seeds every fit: the fit runs inside
      :func:`torch.random.fork_rng` seeded with it, so module initialisation,
      batch order, dropout and the objective's draws repeat, and after
      ``fit`` the global numpy, torch and python generators are as they were.
    - The module is built from ``module`` and ``module__*`` plus the sizes
      inferred from the data (``module_kwargs_``, a fitted attribute):
      ``get_params()`` never changes. An initialised module keeps its
      weights (it is copied, so ``fit`` leaves the instance given as it was);
      with ``module__*`` parameters it is rebuilt from its own configuration
      updated by them.
    - ``fit(X, y, groups=...)``: skorch hands ``groups`` to ``train_split``
      (skorch's :class:`~skorch.dataset.ValidSplit` takes them); they stop
      there and never reach the module.
    - Combined with skorch's :class:`~skorch.hf.AccelerateMixin`
      (:mod:`braindecode_m2s.training.distributed`), the net trains with
      DistributedDataParallel under ``accelerate launch`` / ``torchrun``;
      :attr:`model` is then the M2S inside the wrapper.
    """

    # -- scikit-learn ---------------------------------------------------------------
    def __sklearn_tags__(self):
        """scikit-learn's tags: what the estimator reads and how it behaves.

        - input: a plain array is EEG -- 2-D ``(n, n_chans * n_bands)`` (one
          window per sample), 3-D raw windows (with ``sfreq``) or 4-D
          features ``(n, n_chans, n_windows, n_bands)`` -- or a dict
          (``SliceDict``) of modalities; dense, finite real numbers only (no
          sparse matrices, strings, categories or NaN);
        - a transformer (``transform`` gives ``(n, proj_dim)`` float32
          embeddings whatever the input's dtype);
        - deterministic given ``random_state`` on the CPU; on a GPU, torch's
          kernels are not (``non_deterministic`` follows ``device``).
        """
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.dict = True
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.transformer_tags = TransformerTags(preserves_dtype=["float32"])
        tags.non_deterministic = torch.device(self.device or "cpu").type != "cpu"
        return tags

    def fit_transform(self, X, y=None, **fit_params):
        """``fit(X, y, **fit_params)``, then :meth:`transform` of the same ``X``."""
        return self.fit(X, y, **fit_params).transform(X)

    #: What the module returns to skorch: ``"logits"``, the ``"embedding"``
    #: (``forward(..., return_features=True)["features"]``) or the whole
    #: ``"features"`` dict (what the stage-1 objective reads).
    _module_output = "logits"

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

    def _check_distributed(self):
        """M2S leaves parameters unused in a step (the classifier in stage 1, the
        other modality's encoder in stage 2): DDP must be told to look for them."""
        for module in (self.module_, getattr(self, "criterion_", None)):
            if (
                isinstance(module, torch.nn.parallel.DistributedDataParallel)
                and not module.find_unused_parameters
            ):
                raise ValueError(
                    f"{type(self).__name__}: M2S leaves some parameters without gradient "
                    f"in a step (the classifier during stage 1, an unused modality's "
                    f"encoder), so DistributedDataParallel needs "
                    f"find_unused_parameters=True: Accelerator(kwargs_handlers="
                    f"[DistributedDataParallelKwargs(find_unused_parameters=True)])."
                )

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
        """skorch's training step, the forward pass under ``mixed_precision``."""
        with self._autocast():
            return super().train_step_single(batch, **fit_params)

    def validation_step(self, batch, **fit_params):
        """skorch's validation step under ``mixed_precision``."""
        with self._autocast():
            return super().validation_step(batch, **fit_params)

    def evaluation_step(self, batch, training=False):
        """skorch's evaluation under ``mixed_precision``; outputs back in float32."""
        with self._autocast():
            return _float32(super().evaluation_step(batch, training=training))

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

    @staticmethod
    @contextlib.contextmanager
    def _rng_untouched():
        """Run a block (a prediction) without consuming torch's global generator
        (a DataLoader draws its base seed from it at every iteration)."""
        with torch.random.fork_rng(devices=[]):
            yield

    # -- module ----------------------------------------------------------------
    def _window_bands(self, fitted):
        """Bands per channel of a 2-D EEG array (one window of ``n_chans * n_bands``
        features, :func:`~braindecode_m2s.training.inputs.one_window`): the fitted
        model's; before it is built, ``module__n_bands``, else the given module's,
        else 1 (every feature a channel of its own)."""
        if fitted:
            return getattr(self.model, "n_bands", 1)
        default = (
            getattr(self.module, "n_bands", 1) if isinstance(self.module, torch.nn.Module) else 1
        )
        return self.get_params_for("module").get("n_bands", default)

    def _module_kwargs(self):
        return {**getattr(self, "module_kwargs_", {}), **self.get_params_for("module")}

    def _build_module(self):
        """The module of ``module`` / ``module__*``, before any training.

        A class is built with the inferred and given keyword arguments (those
        it accepts); an instance is copied with its weights, or, with
        ``module__*`` parameters, rebuilt from its own configuration updated
        by them (skorch would drop the instance's own arguments).
        """
        module = self.module
        given = self.get_params_for("module")
        if isinstance(module, torch.nn.Module):
            if not given:
                return copy.deepcopy(module)
            if not callable(getattr(module, "get_config", None)):
                raise ValueError(
                    f"{type(self).__name__}: module__{sorted(given)[0]} cannot be applied to "
                    f"a {type(module).__name__} instance without get_config(); pass the class "
                    f"and every parameter as module__*."
                )
            return type(module).from_config({**module.get_config(), **given})
        kwargs = self._module_kwargs()
        accepted = inspect.signature(module).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            kwargs = {k: v for k, v in kwargs.items() if k in accepted or k in given}
        return module(**kwargs)

    def initialize_module(self):
        """Build the module (:meth:`_build_module`) on ``device``."""
        self.module_ = self._build_module().to(self.device)
        return self

    # -- inference ---------------------------------------------------------------
    def infer(self, x, **fit_params):
        """skorch's inference step; ``groups`` (for ``train_split``) stop here, and a
        batch of 2-D EEG (``(batch, n_chans * n_bands)``) is read as one window per
        sample, as ``fit`` reads a 2-D array (whatever path the batch took: a
        dataset's items, ``forward``, skorch's own steps)."""
        fit_params.pop("groups", None)
        n_bands = getattr(self.model, "n_bands", None)  # (an M2S's)
        if n_bands and not isinstance(x, Mapping) and len(getattr(x, "shape", ())) == 2:
            x = one_window(x, n_bands, f"{type(self).__name__}.infer")
        output = self.__dict__.get("_output", self._module_output)
        if output == "logits":
            return super().infer(x, **fit_params)
        features = super().infer(x, return_features=True, **fit_params)
        return features["features"] if output == "embedding" else features

    @contextlib.contextmanager
    def _returning(self, output):
        """Let the module return ``output`` (see ``_module_output``) inside the block."""
        previous = self.__dict__.get("_output")
        self._output = output
        try:
            yield
        finally:
            if previous is None:
                del self._output
            else:
                self._output = previous

    def _embed(self, X):
        """Embeddings ``(n, proj_dim)`` (mean over the given modalities) of ``X``.

        The one batched embedding loop of the package (stage 2 on frozen
        encoders, ``transform``, the prototype classifier): skorch's
        ``forward_iter``, the module in eval mode, without gradients, batch by
        batch to the CPU.
        """
        with self._returning("embedding"), self._rng_untouched():
            out = list(self.forward_iter(X, training=False, device="cpu"))
        return torch.cat(out).numpy() if out else np.zeros((0, self.model.proj_dim), np.float32)

    # -- data ------------------------------------------------------------------
    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's split; a ``train_split`` that cannot take the ``groups`` given to
        ``fit`` is named in one sentence."""
        try:
            return super().get_split_datasets(X, y, **fit_params)
        except TypeError as error:
            if "groups" not in fit_params or "groups" not in str(error):
                raise
            raise ValueError(
                f"fit got groups, but train_split={self.train_split!r} does not take "
                f"them; use skorch's ValidSplit with a group splitter (e.g. "
                f"TrialValidSplit) or a callable (dataset, y, groups)."
            ) from None


def is_m2s(module):
    """Whether ``module`` (a class or an instance) is an :class:`M2S`."""
    return isinstance(module, M2S) or (inspect.isclass(module) and issubclass(module, M2S))
