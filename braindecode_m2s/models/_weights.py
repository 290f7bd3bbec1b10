"""A model's weights file read as untrusted input (:meth:`M2S.from_pretrained`).

``huggingface_hub``'s mixin hands ``model.safetensors`` to ``safetensors``
by path (and, from the Hub, ``pytorch_model.bin`` to ``torch.load``): a
FIFO in its place blocks forever, and the file's size is not bounded. Here
the file is read whole, once, by
:func:`~braindecode_m2s.utils.files.read_regular_file` (a regular file, a
link to one accepted as the Hub's cache makes them), with a size cap set by
the model the configuration describes (itself bounded by
``MAX_PARAMETERS``); then decoded from memory, and every tensor checked
against the model (names, shapes, kinds, finite values) before it is copied
in. Whatever fails is a ``ValueError`` naming the file.
"""

from __future__ import annotations

import io
import zipfile

import torch

from ..utils.files import read_regular_file
from ._config import pretrained_file

__all__ = [
    "WeightsFileError", "describe_load_error", "load_weights", "max_weights_bytes", "weights_file",
]  # fmt: skip

#: Bytes a weights file may spend beyond its tensors' values: per tensor (a
#: name and offsets in a safetensors header; a zip entry and its pickle in
#: ``torch.save``'s archive), and once (the headers, the modules' metadata).
_PER_TENSOR_BYTES = 4096
_FIXED_BYTES = 2**20
#: Largest element of a real dtype (float64, int64): a file may hold the
#: weights in any precision.
_MAX_ITEMSIZE = 8


class WeightsFileError(ValueError):
    """A weights file that is not the model's (its message names the file)."""


def max_weights_bytes(model):
    """Largest weights file accepted for ``model``: its state dict in float64, and headers.

    Parameters
    ----------
    model : torch.nn.Module
        The model the file is for (built from the checked configuration).

    Returns
    -------
    int
    """
    state = model.state_dict()
    n_values = sum(t.numel() for t in state.values())
    return _MAX_ITEMSIZE * n_values + _PER_TENSOR_BYTES * len(state) + _FIXED_BYTES


def _check_archive(data, fail):
    """Refuse a ``torch.save`` file that is not a zip of stored (uncompressed) entries."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        fail("is not a zip archive; expected the weights torch.save writes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as err:
        fail(f"is not a readable zip archive ({err})")
    total = 0
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED or entry.file_size != entry.compress_size:
            fail(
                f"holds the compressed entry {entry.filename[:80]!r}; expected the stored "
                f"entries torch.save writes"
            )
        total += entry.file_size
    if total > len(data):
        fail(f"declares {total} bytes of entries in {len(data)}; expected at most its size")


def _decode(data, fmt, fail):
    """The state dict held in ``data`` (``"safetensors"`` or ``"pickle"``), on the CPU."""
    try:
        if fmt == "safetensors":
            from safetensors.torch import load

            return load(data)
        _check_archive(data, fail)
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except WeightsFileError:
        raise
    except MemoryError:  # a budget's concern, never a file's description
        raise
    except Exception as err:  # noqa: BLE001 - every decoder's error names the file
        fail(f"cannot be decoded ({describe_load_error(err)})")


#: The lines of torch.load's messages that give advice rather than the reason.
_ADVICE = ("Weights only load failed", "Please file an issue", "Check the documentation")


def describe_load_error(err, limit=160):
    """``"Type: reason"`` of a decoder's error, in one line (torch's advice left out).

    Parameters
    ----------
    err : BaseException
        What ``torch.load``, ``safetensors`` or ``load_state_dict`` raised.
    limit : int
        Most characters of the reason.

    Returns
    -------
    str
    """
    lines = [x.strip() for x in str(err).splitlines() if x.strip()]
    reasons = [x for x in lines if not x.startswith(_ADVICE)] or lines or ["no message"]
    return f"{type(err).__name__}: {reasons[0][:limit].rstrip('.')}"


def _kind(dtype):
    if dtype.is_floating_point:
        return "floating"
    if dtype.is_complex:
        return "complex"
    return "bool" if dtype == torch.bool else "integer"


def _check_tensors(model, state, strict, fail):
    """Check the decoded state against ``model``'s before anything is copied."""
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        fail(f"holds a {type(state).__name__}; expected a dict of tensors by name")
    expected = model.state_dict()
    if strict:
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            which = (
                f"lacks {missing[0]!r}" + (f" and {len(missing) - 1} more" if missing[1:] else "")
                if missing
                else f"holds {unexpected[0]!r}, which the model does not have"
            )
            fail(f"{which}; expected the weights of this model (strict=False loads the others)")
    for name, tensor in state.items():
        if name not in expected:
            continue
        want = expected[name]
        if not isinstance(tensor, torch.Tensor):
            fail(f"holds {name!r} as a {type(tensor).__name__}; expected a tensor")
        if tensor.layout != torch.strided or tensor.is_quantized:
            fail(f"holds {name!r} as a {tensor.layout} tensor; expected a dense one")
        if tuple(tensor.shape) != tuple(want.shape):
            fail(
                f"holds {name!r} of shape {tuple(tensor.shape)}; this model's is "
                f"{tuple(want.shape)}"
            )
        if _kind(tensor.dtype) != _kind(want.dtype):
            fail(f"holds {name!r} as {tensor.dtype}; expected {_kind(want.dtype)} values")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            fail(f"holds NaN or Inf in {name!r}; expected finite weights")


def weights_file(model_id, options, where):
    """The weights file of a ``save_pretrained`` folder or Hub repository, and its format.

    Parameters
    ----------
    model_id : str | Path
        The folder, or the Hub repository id.
    options : dict
        ``huggingface_hub`` download options (:data:`~._config.HUB_OPTIONS`).
    where : str
        Who asks, for messages.

    Returns
    -------
    path : Path
        ``model.safetensors``, else ``pytorch_model.bin`` (what ``save_pretrained``
        writes when safetensors cannot hold the state).
    fmt : {"safetensors", "pickle"}
        For :func:`load_weights`.

    Raises
    ------
    FileNotFoundError
        If neither file is there (or can be downloaded); the reason for the
        first one is kept.
    """
    reasons = []
    for name, fmt in (("model.safetensors", "safetensors"), ("pytorch_model.bin", "pickle")):
        try:
            path = pretrained_file(model_id, name, options, where)
        except FileNotFoundError as err:
            reasons.append(str(err))
            continue
        if path.exists() or path.is_symlink():
            return path, fmt
    why = f" ({reasons[0].removeprefix(where + ': ')})" if reasons else ""
    raise FileNotFoundError(
        f"{where}: {str(model_id)!r} holds neither model.safetensors nor pytorch_model.bin; "
        f"expected the files of save_pretrained / push_to_hub{why}."
    )


def load_weights(model, path, fmt, map_location="cpu", strict=True, where="from_pretrained"):
    """Load the weights file ``path`` into ``model`` (checked as untrusted input).

    Parameters
    ----------
    model : torch.nn.Module
        The model built from the checked configuration.
    path : str | Path
        ``model.safetensors`` or ``pytorch_model.bin`` (a local file, or the
        Hub cache's link to one).
    fmt : {"safetensors", "pickle"}
        The file's format; ``"pickle"`` is ``torch.save``'s zip archive, read
        with ``torch.load(weights_only=True)``.
    map_location : str | torch.device
        Where the model goes once loaded.
    strict : bool
        Refuse a file that lacks a tensor of the model or holds another one.
    where : str
        Who reads it, for messages.

    Returns
    -------
    torch.nn.Module
        ``model``, loaded, in eval mode.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    WeightsFileError
        (a ``ValueError``) If it is not a regular file of at most
        :func:`max_weights_bytes`, cannot be decoded, or does not hold this
        model's tensors (shapes, kinds, finite values).
    """

    def fail(reason):
        raise WeightsFileError(f"{where}: Weights file {str(path)!r} {reason}.")

    cap = max_weights_bytes(model)
    try:
        data = read_regular_file(path, cap, "Weights file", follow_symlinks=True)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{where}: Weights file {str(path)!r} does not exist; expected the "
            f"model.safetensors written by save_pretrained."
        ) from None
    except OSError as err:  # a FIFO, a device, a folder, a file over the cap
        reason = err.strerror or str(err)
        raise WeightsFileError(f"{where}: {reason.rstrip('.')}.") from None
    state = _decode(data, fmt, fail)
    del data
    _check_tensors(model, state, strict, fail)
    try:
        with torch.no_grad():
            model.load_state_dict(state, strict=strict)
    except (RuntimeError, ValueError) as err:  # ValueError: metadata not torch's
        fail(f"does not fit the model ({str(err).splitlines()[-1].strip()[:200].rstrip('.')})")
    model.to(map_location)
    model.eval()
    return model
