"""Modality selection, input checks and sizes inferred from multimodal data.

Everything the estimators do at their boundary, once per ``fit`` /
``predict`` / ``transform``, before skorch and torch see the data.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from scipy import sparse
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d
from skorch.helper import SliceDict

from ..models.m2s import EEG_KEY, check_input_values

__all__ = [
    "modality_keys",
    "select_modalities",
    "selected_keys",
    "encode_labels",
    "check_multimodal",
    "one_window",
    "check_n_features",
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


def selected_keys(X, keys, argument, known=None, holder="X"):
    """The modality names ``keys`` (all of ``X``'s when None), checked against ``X``.

    The package's one check of a modality list (the estimators'
    ``train_modalities`` / ``test_modalities``, the baselines',
    :class:`~braindecode_m2s.evaluation.ModalitySelect`'s ``modalities``).

    Parameters
    ----------
    X : Mapping | array-like | None
        Modalities (a plain array is EEG, ``"x"``); unused when ``known`` is given.
    keys : str | sequence of str | None
        The names asked for (a string is one name; ``None``: every name).
    argument : str
        The parameter that asked for ``keys``, for the messages.
    known : sequence of str | None
        The names ``keys`` may take (``None``: the modalities of ``X``).
    holder : str
        What holds ``known``, for the messages (``"X"``, ``"this M2S"``).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        Naming ``argument``, when ``keys`` is not a non-empty sequence of
        names or names one that ``known`` lacks.
    """
    known = modality_keys(X) if known is None else list(known)
    if keys is None:
        return known
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, Sequence) or not keys or not all(isinstance(k, str) for k in keys):
        raise ValueError(
            f"`{argument}` must be None or a non-empty list of modality names; got {keys!r}."
        )
    missing = [k for k in keys if k not in known]
    if missing:
        raise ValueError(
            f"{argument}={list(keys)!r} names modality {missing[0]!r}, which {holder} does "
            f"not hold; it has {known}."
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


def encode_labels(y, where, classes=None):
    """Check class labels and encode them ``0..n_classes-1`` (scikit-learn's way).

    Labels of any type scikit-learn's classifiers take (integers of any
    size, whole-number floats, strings, booleans). A column vector ``(n,
    1)`` is read as ``(n,)`` with scikit-learn's ``DataConversionWarning``;
    a continuous target (floats that are not whole numbers, e.g. DEAP's
    ratings) is refused as an ``Unknown label type``, as scikit-learn's
    classifiers refuse it: binarise or bin it first.

    Parameters
    ----------
    y : array-like
        One label per sample.
    where : str
        The caller, for the messages.
    classes : array-like | None
        Every label (``partial_fit``'s ``classes``, or the labels of an
        earlier fit): ``y`` may hold some of them only, and no other.

    Returns
    -------
    encoder : sklearn.preprocessing.LabelEncoder
        Fitted on ``classes`` (else on ``y``); ``classes_``: the labels, sorted.
    y_encoded : numpy.ndarray
        ``(n,)`` integers.
    """
    if y is None:
        raise ValueError(
            f"{where} requires y to be passed, but the target y is None; expected one label "
            f"per sample."
        )
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # scikit-learn's DataConversionWarning
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be one label per sample (1-D); got shape {y.shape}.")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{where}: y contains NaN or Inf; expected class labels.")
    if y.dtype.kind not in "biufUSO":
        raise ValueError(f"{where}: y has dtype {y.dtype}; expected class labels.")
    if y.dtype.kind == "O" and len({type(v) for v in y}) > 1:
        raise ValueError(f"{where}: y mixes label types; expected labels of one type.")
    if len(y):
        kind = type_of_target(y)
        if kind == "unknown" and all(isinstance(v, numbers.Integral) for v in y):
            kind = "multiclass"  # Python integers of any size (beyond int64: object)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"{where}: Unknown label type: {kind!r} (y of dtype {y.dtype}); expected "
                f"class labels, not a regression target."
            )
    encoder = LabelEncoder().fit(y if classes is None else np.asarray(classes))
    if classes is not None:
        unknown = np.setdiff1d(y, encoder.classes_)
        if len(unknown):
            raise ValueError(
                f"{where}: y holds the label {unknown.tolist()[0]!r}, which is not among the "
                f"classes {encoder.classes_.tolist()}; expected labels among them."
            )
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"{where}: y holds a single class, {encoder.classes_.tolist()} (1 class); "
            f"expected at least two."
        )
    return encoder, encoder.transform(y)


def as_module_inputs(X):
    """``X`` as the module's keyword arguments (a plain array is ``x``)."""
    return dict(X) if isinstance(X, Mapping) else {EEG_KEY: X}


def _as_array(key, value, where):
    """One modality as a dense array of real numbers (see :func:`check_multimodal`)."""
    if sparse.issparse(value):
        raise ValueError(
            f"{where}: modality {key!r} is a {type(value).__name__} (sparse); expected a "
            f"dense array: sparse input is not supported (M2S reads dense feature windows, "
            f"use X.toarray())."
        )
    if not isinstance(value, torch.Tensor):
        value = np.asarray(value)
    kind = value.dtype.kind if isinstance(value, np.ndarray) else None
    if isinstance(value, torch.Tensor) and (value.is_complex() or value.dtype == torch.bool):
        kind = "c" if value.is_complex() else "b"
    if kind == "c":
        raise ValueError(
            f"{where}: modality {key!r} has dtype {value.dtype}; expected real numbers "
            f"(Complex data not supported)."
        )
    if kind == "O":
        try:
            value = value.astype(np.float64)
        except (TypeError, ValueError) as error:  # numpy's type, as scikit-learn's
            raise type(error)(
                f"{where}: modality {key!r} has dtype object, with values that are not "
                f"numbers ({error}); expected real numbers."
            ) from None
    elif kind is not None and kind not in "biuf":
        raise ValueError(
            f"{where}: modality {key!r} has dtype {value.dtype}; expected real numbers "
            f"(float32 features)."
        )
    if isinstance(value, torch.Tensor):
        if not torch.is_floating_point(value):
            value = value.float()
    elif kind in "biu":
        value = value.astype(np.float32)
    shape = tuple(value.shape)
    if len(shape) < 2:
        raise ValueError(
            f"{where}: modality {key!r} has shape {shape} ({len(shape)}-D); expected one row "
            f"per sample, (n, ...) -- Reshape your data: array.reshape(-1, 1) for a single "
            f"feature, array.reshape(1, -1) for a single sample."
        )
    if shape[0] == 0:
        raise ValueError(
            f"{where}: modality {key!r} has 0 sample(s) (shape={shape}) while a minimum of 1 "
            f"is required."
        )
    if 0 in shape:
        raise ValueError(
            f"{where}: modality {key!r} has 0 feature(s) (shape={shape}) while a minimum of 1 "
            f"is required."
        )
    return value


def check_multimodal(X, where, y=None):
    """``X`` as the estimators read it, checked: a ``SliceDict`` of modalities or an
    EEG array, every one a dense array of real numbers, all of one length (``y``'s).

    What a scikit-learn user may give is read as scikit-learn reads it:
    array-likes (lists, pandas objects, anything with ``__array__``) become
    numpy arrays; integers, booleans and object arrays of numbers become
    floating point (tensors stay tensors). Refused, in one sentence naming
    the modality: sparse matrices, strings, complex numbers, objects that are
    not numbers (``TypeError``, as numpy's), fewer than two dimensions, no
    sample or no feature. The values and shapes are checked by
    :meth:`M2S.check_inputs` once the module exists; this part needs no
    module.

    Returns
    -------
    SliceDict | numpy.ndarray | torch.Tensor
        ``X`` converted (a mapping as a ``SliceDict``).
    """
    if isinstance(X, Mapping) and not sparse.issparse(X):  # (a DOK matrix is a dict)
        if len(X.keys()) == 0:
            raise ValueError(f"{where}: X holds no modality; expected a SliceDict of arrays.")
        bad = [
            k
            for k, v in X.items()
            if not (hasattr(v, "shape") or hasattr(v, "__array__") or sparse.issparse(v))
        ]
        if bad:
            raise ValueError(
                f"{where}: X[{bad[0]!r}] is {type(X[bad[0]]).__name__}; expected an array."
            )
        arrays = {k: _as_array(k, v, where) for k, v in X.items()}
        sizes = {k: len(v) for k, v in arrays.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(
                f"{where}: the modalities of X have different numbers of samples "
                f"{sizes}; expected the same for all."
            )
        X = SliceDict(**arrays)
    elif (
        hasattr(X, "shape")
        or hasattr(X, "__array__")
        or isinstance(X, (list, tuple))
        or sparse.issparse(X)
    ):
        X = _as_array(EEG_KEY, X, where)
    else:
        raise ValueError(
            f"{where}: X is {type(X).__name__}; expected a SliceDict of "
            f"modalities or an EEG array."
        )
    if y is not None and len(np.asarray(y)) != n_samples(X):
        raise ValueError(
            f"{where}: X has {n_samples(X)} samples but y has {len(np.asarray(y))}; expected "
            f"one label per sample."
        )
    return X


def one_window(X, n_bands, where):
    """2-D modalities of ``X`` read as one window of features per sample.

    EEG ``(n, n_chans * n_bands)`` (channel-major, as the reference flattens
    62 x 5 into 310) becomes ``(n, n_chans, 1, n_bands)``; another modality
    ``(n, n_features)`` becomes ``(n, n_features, 1)``. Other arrays are
    returned as they are.

    Raises
    ------
    ValueError
        If a 2-D EEG array's number of features is not a multiple of ``n_bands``.
    """

    def window(key, value):
        if len(value.shape) != 2:
            return value
        n, n_features = value.shape
        if key != EEG_KEY:
            return value.reshape(n, n_features, 1)
        if n_features % n_bands:
            raise ValueError(
                f"{where}: EEG {key!r} of shape {tuple(value.shape)} is one window of "
                f"n_chans * n_bands features, but {n_features} is not a multiple of "
                f"n_bands={n_bands}; expected (n, n_chans * {n_bands})."
            )
        return value.reshape(n, n_features // n_bands, 1, n_bands)

    if isinstance(X, Mapping):
        return SliceDict(**{k: window(k, v) for k, v in X.items()})
    return window(EEG_KEY, X)


def check_n_features(estimator, X, reset, where):
    """scikit-learn's ``n_features_in_``: the columns of the 2-D array given to ``fit``.

    With ``reset`` (``fit``) it is set from a 2-D array and removed for any
    other input; otherwise a 2-D array of another width is refused with
    scikit-learn's sentence.
    """
    two_d = not isinstance(X, Mapping) and len(X.shape) == 2
    if reset:
        if two_d:
            estimator.n_features_in_ = int(X.shape[1])
        else:
            vars(estimator).pop("n_features_in_", None)
        return
    expected = vars(estimator).get("n_features_in_")
    if two_d and expected is not None and X.shape[1] != expected:
        raise ValueError(
            f"{where}: X has {X.shape[1]} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input (the width of the array given to fit)."
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
    # the modalities X holds (a plain array: EEG only)
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
