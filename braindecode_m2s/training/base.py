"""What both M2S estimators share, on skorch's own hooks: seeding without global
side effects, the module built from the estimator's parameters and the data,
mixed precision, groups for any split, and the one embedding loop."""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
import threading
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils import TransformerTags
from skorch.exceptions import SkorchException

from ..models._weights import describe_load_error
from ..models.m2s import M2S
from ..objectives import REFERENCE_WEIGHTS
from ..utils.files import check_regular_file
from ..utils.history import read_history
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

    # -- saved state -------------------------------------------------------------
    def load_params(
        self,
        f_params=None,
        f_optimizer=None,
        f_criterion=None,
        f_history=None,
        checkpoint=None,
        use_safetensors=False,
        **kwargs,
    ):
        """skorch's ``load_params``, its files read as untrusted input.

        skorch reads ``f_history`` (and a checkpoint's) with a plain
        ``json.load``; here it is read by
        :func:`~braindecode_m2s.utils.history.read_history` (a regular file
        of at most 64 MiB, UTF-8 JSON of bounded nesting, in skorch's
        ``History`` form) before anything is loaded, so a malformed one is a
        ``ValueError`` naming the file and leaves the estimator as it was.
        The state files (``f_params``, ``f_optimizer``, ``f_criterion``...)
        must be regular files (a FIFO would block ``torch.load`` forever, a
        device never end) and are loaded one at a time (skorch's
        ``torch.load(weights_only=True)``, or safetensors), so that a file
        that cannot be loaded is a ``ValueError`` naming it; the model checks
        the metadata saved with its state dict. The history is set once the
        other files are loaded.
        """
        from skorch.history import History

        where = f"{type(self).__name__}.load_params"
        history, files = None, {}
        if checkpoint is not None:  # skorch's own steps, the history read by ours
            if not self.initialized_:
                self.initialize()
            previous = self.history
            if f_history is None and checkpoint.f_history is not None:
                history = read_history(checkpoint.f_history_, where)
                self.history = History(history)  # the checkpoint's file names read it
            try:
                files = checkpoint.get_formatted_files(self)
            except (KeyError, IndexError, TypeError) as err:  # skorch formats names from it
                self.history = previous
                source = "the estimator's history"
                if history is not None:
                    source = f"history file {str(checkpoint.f_history_)!r}"
                raise ValueError(
                    f"{where}: {source} cannot name the checkpoint's files "
                    f"({type(err).__name__}: {err}); expected the history saved with that "
                    f"checkpoint, its last epoch with batches."
                ) from None
        if f_history is not None:
            history = read_history(f_history, where)
        files.update(kwargs)  # explicit arguments override the checkpoint's
        given = dict(f_params=f_params, f_optimizer=f_optimizer, f_criterion=f_criterion)
        files.update({key: value for key, value in given.items() if value})
        files.pop("f_history", None)
        files = {key: value for key, value in files.items() if value}
        for key, value in files.items():  # no FIFO, device or folder reaches torch.load
            if isinstance(value, (str, os.PathLike)):
                _check_state_file(value, key, where)
        if history is None and not files:
            super().load_params(use_safetensors=use_safetensors, **kwargs)  # skorch's say
        for key, value in files.items():  # one file at a time: an error names its file
            try:
                super().load_params(use_safetensors=use_safetensors, **{key: value})
            except (SkorchException, MemoryError, FileNotFoundError):
                raise
            except _LOAD_ERRORS as err:
                raise _state_file_error(err, value, key, where) from None
        if history is not None:
            self.history = History(history)

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


def _load_errors():
    """What decoding a state file can raise (torch.load, safetensors, load_state_dict)."""
    import pickle
    import zipfile

    errors = [pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError]
    errors += [ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError]
    try:
        from safetensors import SafetensorError

        errors.append(SafetensorError)
    except ImportError:  # pragma: no cover - safetensors comes with huggingface_hub
        pass
    return tuple(errors)


#: The errors of a state file that :meth:`M2SNetMixin.load_params` names the file in.
_LOAD_ERRORS = _load_errors()


def _check_state_file(path, key, where):
    """Refuse a state file (``f_params``...) that is not a regular file, before torch opens it."""
    try:
        check_regular_file(path, f"{where}: {key} file")
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(str(err)) from None


def _state_file_error(err, path, key, where):
    """A ``ValueError`` naming the file ``path`` (``f_params``...) that ``err`` came from."""
    name = str(path) if isinstance(path, (str, os.PathLike)) else getattr(path, "name", "<file>")
    if isinstance(err, ValueError) and str(err).startswith(f"{where}: "):  # ours: whole
        return ValueError(f"{where}: {key} file {str(name)!r}: {str(err)[len(where) + 2 :]}")
    return ValueError(
        f"{where}: {key} file {str(name)!r} cannot be loaded ({describe_load_error(err, 300)}); "
        f"expected a file of save_params for an estimator of these sizes."
    )


#: Most labels a saved estimator may name (``M2S``'s ``SIZE_LIMITS["n_outputs"]``).
MAX_LABELS = 100_000


def check_labels_record(record):
    """Check the labels an ``f_params`` file carries (``{"dtype", "values"}``) before use.

    The dtype must be numpy's bool, integer, float, unicode or object kind,
    the values a list of at most :data:`MAX_LABELS` labels of its kind
    (Python ints, floats, bools or strings), and a unicode dtype no wider than
    the longest label: a file declaring ``<U1000000000`` would otherwise ask
    for gigabytes per label.

    Raises
    ------
    ValueError
        Naming what is wrong.
    """
    if not isinstance(record, dict) or not isinstance(record.get("dtype"), str):
        raise ValueError("the labels saved in the file have no dtype")
    values = record.get("values")
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_LABELS:
        raise ValueError(f"the labels saved in the file are not a list of 1 to {MAX_LABELS}")
    try:
        dtype = np.dtype(record["dtype"])
    except (TypeError, ValueError):
        raise ValueError(f"the labels' dtype {record['dtype'][:40]!r} is not numpy's") from None
    kinds = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float), "U": (str,)}
    kinds["O"] = (int, float, str)
    allowed = kinds.get(dtype.kind)
    if allowed is None or not all(
        isinstance(v, allowed) and (dtype.kind == "b" or not isinstance(v, bool)) for v in values
    ):
        raise ValueError(f"the labels saved in the file are not all of dtype {dtype.str!r}")
    if dtype.kind == "U" and dtype.itemsize > 4 * max(1, *(len(v) for v in values)):
        raise ValueError(f"the labels' dtype {dtype.str!r} is wider than its labels")


def is_m2s(module):
    """Whether ``module`` (a class or an instance) is an :class:`M2S`."""
    return isinstance(module, M2S) or (inspect.isclass(module) and issubclass(module, M2S))
