"""Generic checks of the arguments users pass, in one place.

Each function checks one argument and raises a :class:`ValueError` whose
message names the argument, the value given and the values allowed (in the
manner of MNE's ``mne/utils/check.py``). Nothing here imports torch,
braindecode, skorch or MOABB when the module is imported: the file readers
use it (:func:`check_device` imports torch when it runs).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "shown",
    "check_int",
    "check_float",
    "check_option",
    "check_finite",
    "check_device",
]


def shown(value):
    """``value`` for a message: its repr, at most 80 characters.

    Parameters
    ----------
    value : object
        Anything a user passed.

    Returns
    -------
    str
        The repr, cut to 80 characters; a huge integer by its size (its repr
        could be thousands of digits long, or refused by Python).
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"an integer of {value.bit_length()} bits"
    try:
        text = repr(value)
    except ValueError:  # an integer of over 4300 digits inside a container
        return f"a {type(value).__name__} too long to show"
    return text if len(text) <= 80 else f"{text[:77]}..."


def _prefix(where):
    return "" if where is None else f"{where}: "


def check_int(name, value, low=None, high=None, where=None):
    """Check that ``value`` is an integer in ``[low, high]``.

    Booleans, floats (even whole ones) and strings are refused.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value given.
    low, high : int | None
        The smallest and largest values allowed (``None``: no bound).
    where : str | None
        The caller (e.g. ``"M2S"``), put before the message.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Naming the argument, the value and the values allowed.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        value = int(value)
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        if low is not None and high is not None:
            bound = f" in [{low}, {high}]"
        elif low is not None:
            bound = f" >= {low}"
        elif high is not None:
            bound = f" <= {high}"
        else:
            bound = ""
        raise ValueError(
            f"{_prefix(where)}`{name}` must be an integer{bound}; got {shown(value)}."
        )
    return value


def check_float(name, value, low=None, high=None, low_open=False, high_open=False, where=None):
    """Check that ``value`` is a finite real number in its interval.

    Booleans and strings are refused; integers (of any size) and numpy
    scalars are accepted.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value given.
    low, high : float | None
        The interval's bounds (``None``: no bound).
    low_open, high_open : bool
        Whether ``low`` / ``high`` themselves are refused.
    where : str | None
        The caller (e.g. ``"M2S"``), put before the message.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming the argument, the value and the interval allowed.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    number = math.nan
    if ok:
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float64 (a config.json may hold one)
            number = math.inf
    ok = ok and math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        if low is not None and high is not None:
            bound = (
                f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
            )
        elif low is not None:
            bound = f"a finite number {'>' if low_open else '>='} {low}"
        elif high is not None:
            bound = f"a finite number {'<' if high_open else '<='} {high}"
        else:
            bound = "a finite number"
        raise ValueError(f"{_prefix(where)}`{name}` must be {bound}; got {shown(value)}.")
    return number


def check_option(name, value, allowed, where=None):
    """Check that ``value`` is one of ``allowed``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value given.
    allowed : collection
        The values allowed (a set is listed sorted, any other collection in
        its order).
    where : str | None
        The caller, put before the message.

    Returns
    -------
    object
        ``value``.

    Raises
    ------
    ValueError
        Naming the argument, the value and the values allowed.
    """
    try:
        ok = bool(value in allowed)
    except (TypeError, ValueError):  # an unhashable value, an array compared elementwise
        ok = False
    if not ok:
        listed = (
            sorted(allowed, key=str) if isinstance(allowed, (set, frozenset)) else list(allowed)
        )
        raise ValueError(
            f"{_prefix(where)}`{name}` must be one of {listed!r}; got {shown(value)}."
        )
    return value


def check_finite(array, where):
    """Check that an array holds no NaN or infinite value.

    Parameters
    ----------
    array : array-like
        Numbers.
    where : str
        What the array is (a file and variable, an argument), for the message.

    Returns
    -------
    numpy.ndarray
        ``array`` as an array.

    Raises
    ------
    ValueError
        Naming ``where`` and how many values are not finite.
    """
    array = np.asarray(array)
    finite = np.isfinite(array)
    if not np.all(finite):
        n_bad = int(np.size(array) - np.count_nonzero(finite))
        raise ValueError(f"{where} holds {n_bad} NaN/Inf values; expected finite numbers.")
    return array


def check_device(device, name="device"):
    """Check a torch device name, and that this machine has that device.

    Imports torch (only when called).

    Parameters
    ----------
    device : str | torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    name : str
        The argument's name, for the message.

    Returns
    -------
    str | torch.device
        ``device``.

    Raises
    ------
    ValueError
        If torch does not know the name, or the machine has no such CUDA device.
    """
    import torch

    try:
        where = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"`{name}` must be a torch device such as 'cpu' or 'cuda'; got {shown(device)} "
            f"({str(err).splitlines()[0]})."
        ) from None
    if where.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = where.index or 0  # torch wraps an index over 127 to a negative one
        if not 0 <= index < count:
            raise ValueError(
                f"`{name}` is {shown(device)}, but this machine has {count} CUDA device(s); "
                f"expected 'cpu' or an available GPU."
            )
    return device
