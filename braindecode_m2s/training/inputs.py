"""Modality selection, input checks and sizes inferred from multimodal data.

Everything the estimators do at their boundary, once per ``fit`` /
``predict`` / ``transform``, before skorch and torch see the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from sklearn.preprocessing import LabelEncoder
from skorch.helper import SliceDict

from ..models.m2s import EEG_KEY, check_input_values

__all__ = [
    "modality_keys",
    "select_modalities",
    "selected_keys",
    "encode_labels",
    "check_multimodal",
    "infer_module_kwargs",
    "as_module_inputs",
    "n_samples",
    "saved_sizes",
    "describe_state_dict_mismatch",
]


def modality_keys(X):
    """Modality names of ``X`` (a plain array is EEG, ``"x"``)."""
    return list(X.keys()) if isinstance(X, Mapping) else [EEG_KEY]


def n_samples(X):
    """Number of samples of ``X`` (its first modality's length)."""
    return len(next(iter(X.values()))) if isinstance(X, Mapping) else len(X)


def selected_keys(X, keys, argument):
    """The modality names ``keys`` (all of ``X``'s when None), checked against ``X``.

    Raises a ValueError naming ``argument`` when ``keys`` is not a non-empty
    sequence of names or ``X`` lacks one of them.
    """
    if keys is None:
        return modality_keys(X)
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, Sequence) or not keys or not all(isinstance(k, str) for k in keys):
        raise ValueError(
            f"`{argument}` must be None or a non-empty list of modality names; got {keys!r}."
        )
    missing = [k for k in keys if k not in modality_keys(X)]
    if missing:
        raise ValueError(
            f"{argument}={list(keys)!r} names modality {missing[0]!r}, which X does not "
            f"hold; X has {modality_keys(X)}."
        )
    return list(keys)


def select_modalities(X, keys, argument):
    """The modalities ``keys`` of ``X`` (all of them when ``keys`` is None).

    Raises a ValueError naming ``argument`` when ``X`` lacks one of them
    (:func:`selected_keys`).
    """
    if keys is None:
        return X
    keys = selected_keys(X, keys, argument)
    if not isinstance(X, Mapping):
        return X
    return SliceDict(**{k: X[k] for k in keys})


def encode_labels(y, where):
    """Check class labels and encode them ``0..n_classes-1`` (scikit-learn's way).

    Returns
    -------
    encoder : sklearn.preprocessing.LabelEncoder
        Fitted on ``y`` (``classes_``: the labels, sorted).
    y_encoded : numpy.ndarray
        ``(n,)`` integers.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be one label per sample (1-D); got shape {y.shape}.")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{where}: y contains NaN or Inf; expected class labels.")
    if y.dtype.kind not in "biufUSO":
        raise ValueError(f"{where}: y has dtype {y.dtype}; expected class labels.")
    if y.dtype.kind == "O" and len({type(v) for v in y}) > 1:
        raise ValueError(f"{where}: y mixes label types; expected labels of one type.")
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"{where}: y holds a single class {encoder.classes_.tolist()}; expected at least two."
        )
    return encoder, encoder.transform(y)


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
            raise ValueError(
                f"{where}: the modalities of X have different numbers of samples "
                f"{sizes}; expected the same for all."
            )
    elif not hasattr(X, "shape"):
        raise ValueError(
            f"{where}: X is {type(X).__name__}; expected a SliceDict of "
            f"modalities or an EEG array."
        )
    if y is not None and len(y) != n_samples(X):
        raise ValueError(
            f"{where}: X has {n_samples(X)} samples but y has {len(y)}; expected one "
            f"label per sample."
        )


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
    if eeg is not None and len(eeg.shape) not in (3, 4):
        raise ValueError(
            f"Modality {EEG_KEY!r} (EEG) has shape {tuple(eeg.shape)} ({len(eeg.shape)}-D); "
            f"expected 4-D features (n, n_chans, n_windows, n_bands) or 3-D raw windows "
            f"(n, n_chans, n_times)."
        )
    for name, value in others.items():
        if len(value.shape) != 3:
            raise ValueError(
                f"Modality {name!r} has shape {tuple(value.shape)} ({len(value.shape)}-D); "
                f"expected 3-D (n, n_features, n_windows)."
            )
    if eeg is not None and len(eeg.shape) == 4:
        kwargs.update(
            n_chans=int(eeg.shape[1]), n_times=int(eeg.shape[2]), n_bands=int(eeg.shape[3])
        )
    elif eeg is not None:
        kwargs.update(n_chans=int(eeg.shape[1]), n_times=int(eeg.shape[2]))
    if isinstance(X, Mapping):
        kwargs["modalities"] = {k: int(v.shape[1]) for k, v in others.items()}
    if y is not None:
        kwargs["n_outputs"] = len(np.unique(np.asarray(y)))
    return kwargs


def saved_sizes(state_dict):
    """The sizes of the M2S whose ``state_dict`` this is, as ``module__*`` values.

    Read from the weights' shapes: ``n_outputs`` (the final layer),
    ``modalities`` (the feature encoders' input sizes), ``embed_dim``,
    ``proj_dim`` and ``n_chans * n_bands`` (the EEG encoder's input).
    """
    sizes = {}
    shapes = {k: tuple(v.shape) for k, v in state_dict.items() if hasattr(v, "shape")}
    if "final_layer.weight" in shapes:
        sizes["n_outputs"] = shapes["final_layer.weight"][0]
    modalities = {}
    for key, shape in shapes.items():
        parts = key.split(".")
        if key.startswith("er_encoders.") and parts[2:] == ["affine", "weight"]:
            if parts[1] == EEG_KEY:
                sizes["embed_dim"], sizes["n_chans * n_bands"] = shape
            else:
                modalities[parts[1]] = shape[1]
        if key.startswith("projections.") and key.endswith(".0.weight"):
            sizes["proj_dim"] = shape[0]
    sizes["modalities"] = modalities
    return sizes


def describe_state_dict_mismatch(module, state_dict):
    """One sentence naming how ``state_dict`` differs from ``module``'s, or ``""``.

    Names the sizes to give the module (``module__*``) so that the saved
    parameters fit it, instead of torch's list of every mismatching tensor.
    """
    own = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    given = {k: tuple(v.shape) for k, v in state_dict.items() if hasattr(v, "shape")}
    if own == given:
        return ""
    saved, built = saved_sizes(state_dict), saved_sizes(module.state_dict())
    differ = {k: v for k, v in saved.items() if built.get(k) != v}
    if not differ:
        names = sorted(set(own) ^ set(given)) or sorted(k for k in own if own[k] != given.get(k))
        return (
            f"the saved parameters do not fit this {type(module).__name__} (first difference: "
            f"{names[0]!r}); build it with the configuration it was saved from."
        )
    pairs = ", ".join(f"{k}={v!r} (this one: {built.get(k)!r})" for k, v in differ.items())
    return (
        f"the saved parameters are of an {type(module).__name__} with {pairs}; build the "
        f"estimator with those sizes (module__<name>=...) before initialize()."
    )


def check_values(module, X, where):
    """:meth:`M2S.check_inputs` on ``X``, the error prefixed with ``where``.

    Arrays that are not real numbers (strings, objects, complex) are refused
    here, naming the modality, before torch tries to convert them. With
    ``module=None`` (no model built yet) only the values are checked
    (floating point, finite, moderate).
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
        if module is None:
            for key, value in tensors.items():
                if not torch.is_floating_point(value):
                    raise ValueError(
                        f"Modality {key!r} must hold floating-point numbers; got dtype "
                        f"{value.dtype}."
                    )
                check_input_values(key, value)
        else:
            module.check_inputs(**tensors)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
