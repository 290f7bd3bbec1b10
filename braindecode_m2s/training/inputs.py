"""Modality selection, input checks and sizes inferred from multimodal data.

Everything the estimators do at their boundary, once per ``fit`` /
``predict`` / ``transform``, before skorch and torch see the data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from skorch.helper import SliceDict

from ..models.m2s import EEG_KEY

__all__ = [
    "modality_keys",
    "select_modalities",
    "check_multimodal",
    "infer_module_kwargs",
    "as_module_inputs",
    "n_samples",
]


def modality_keys(X):
    """Modality names of ``X`` (a plain array is EEG, ``"x"``)."""
    return list(X.keys()) if isinstance(X, Mapping) else [EEG_KEY]


def n_samples(X):
    """Number of samples of ``X`` (its first modality's length)."""
    return len(next(iter(X.values()))) if isinstance(X, Mapping) else len(X)


def select_modalities(X, keys, argument):
    """The modalities ``keys`` of ``X`` (all of them when ``keys`` is None).

    Raises a ValueError naming ``argument`` when ``X`` lacks one of them.
    """
    if keys is None:
        return X
    if isinstance(keys, str):
        keys = [keys]
    missing = [k for k in keys if k not in modality_keys(X)]
    if missing:
        raise ValueError(
            f"{argument}={list(keys)!r} names modality {missing[0]!r}, which X does not "
            f"hold; X has {modality_keys(X)}."
        )
    if not isinstance(X, Mapping):
        return X
    return SliceDict(**{k: X[k] for k in keys})


def as_module_inputs(X):
    """``X`` as the module's keyword arguments (a plain array is ``x``)."""
    return dict(X) if isinstance(X, Mapping) else {EEG_KEY: X}


def check_multimodal(X, where, y=None):
    """Container checks: non-empty, one length for all modalities (and ``y``).

    The values and shapes are checked by :meth:`M2S.check_inputs` once the
    module exists; this part needs no module.
    """
    if isinstance(X, Mapping):
        if len(X.keys()) == 0:
            raise ValueError(f"{where}: X holds no modality; expected a SliceDict of arrays.")
        bad = [k for k, v in X.items() if not hasattr(v, "shape")]
        if bad:
            raise ValueError(
                f"{where}: X[{bad[0]!r}] is {type(X[bad[0]]).__name__}; expected an array."
            )
        sizes = {k: len(v) for k, v in X.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"{where}: modalities of X have different lengths {sizes}.")
    elif not hasattr(X, "shape"):
        raise ValueError(
            f"{where}: X is {type(X).__name__}; expected a SliceDict of "
            f"modalities or an EEG array."
        )
    if y is not None and len(y) != n_samples(X):
        raise ValueError(f"{where}: X has {n_samples(X)} samples but y has {len(y)}.")


def infer_module_kwargs(X, y=None):
    """Signal parameters of M2S from multimodal data.

    EEG features ``(n, n_chans, n_windows, n_bands)`` give ``n_chans``,
    ``n_times`` (= n_windows) and ``n_bands``; raw EEG ``(n, n_chans,
    n_times)`` gives ``n_chans`` and ``n_times``; other modalities ``(n,
    n_features, n_windows)`` give ``modalities``; labels give ``n_outputs``.
    """
    kwargs = {}
    eeg = X.get(EEG_KEY) if isinstance(X, Mapping) else X
    others = {k: v for k, v in X.items() if k != EEG_KEY} if isinstance(X, Mapping) else {}
    if eeg is not None and len(eeg.shape) == 4:
        kwargs.update(
            n_chans=int(eeg.shape[1]), n_times=int(eeg.shape[2]), n_bands=int(eeg.shape[3])
        )
    elif eeg is not None and len(eeg.shape) == 3:
        kwargs.update(n_chans=int(eeg.shape[1]), n_times=int(eeg.shape[2]))
    if isinstance(X, Mapping):
        kwargs["modalities"] = {k: int(v.shape[1]) for k, v in others.items() if len(v.shape) == 3}
    if y is not None:
        kwargs["n_outputs"] = len(np.unique(np.asarray(y)))
    return kwargs


def check_values(module, X, where):
    """:meth:`M2S.check_inputs` on ``X``, the error prefixed with ``where``.

    Arrays that are not real numbers (strings, objects, complex) are refused
    here, naming the modality, before torch tries to convert them.
    """
    tensors = {}
    for key, value in as_module_inputs(X).items():
        if not isinstance(value, torch.Tensor):
            value = np.asarray(value)
            if value.dtype.kind not in "biuf":
                raise ValueError(
                    f"{where}: modality {key!r} has dtype {value.dtype}; expected real "
                    f"numbers (float32 features)."
                )
            value = torch.as_tensor(value)
        tensors[key] = value
    try:
        module.check_inputs(**tensors)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
