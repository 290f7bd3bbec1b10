"""The generic argument checks of ``braindecode_m2s.utils.check``."""

import subprocess
import sys

import numpy as np
import pytest

from braindecode_m2s.utils.check import (
    check_device,
    check_finite,
    check_float,
    check_int,
    check_option,
    shown,
)


def test_check_int():
    assert check_int("n", np.int64(3), low=1) == 3
    assert type(check_int("n", np.int64(3))) is int
    for bad in (True, 2.0, "2", None):
        with pytest.raises(ValueError, match="`n` must be an integer >= 1; got"):
            check_int("n", bad, low=1)
    with pytest.raises(ValueError, match=r"M2S: `n` must be an integer in \[1, 4\]; got 5\."):
        check_int("n", 5, 1, 4, where="M2S")
    with pytest.raises(ValueError, match="an integer of .* bits"):
        check_int("n", 10**400, high=10)


def test_check_float():
    assert check_float("f", np.float32(0.5), 0, 1) == 0.5
    assert check_float("f", 1, 0, 1) == 1.0
    with pytest.raises(ValueError, match=r"`f` must be a number in \[0, 1\); got 1\."):
        check_float("f", 1, 0, 1, high_open=True)
    with pytest.raises(ValueError, match="`f` must be a finite number > 0; got 0"):
        check_float("f", 0, 0, low_open=True)
    for bad in (float("nan"), float("inf"), 10**400, True, "1"):
        with pytest.raises(ValueError, match="`f` must be a finite number; got"):
            check_float("f", bad)


def test_check_option():
    assert check_option("o", None, {"a", None}) is None
    with pytest.raises(ValueError, match=r"`o` must be one of \['a', 'b'\]; got 'c'\."):
        check_option("o", "c", ("a", "b"))
    with pytest.raises(ValueError, match=r"\['None', 'a'\]|\[None, 'a'\]"):
        check_option("o", [], {"a", None})  # unhashable: refused, not a TypeError
    with pytest.raises(ValueError, match="must be one of"):
        check_option("o", np.arange(3), ("a", "b"))


def test_check_finite():
    assert check_finite([1.0, 2.0], "x").shape == (2,)
    with pytest.raises(ValueError, match="x holds 2 NaN/Inf values"):
        check_finite([np.nan, np.inf, 0.0], "x")


def test_check_device():
    assert check_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="`device` must be a torch device"):
        check_device("nonsense")
    for name in ("cuda:99", "cuda:999"):
        with pytest.raises(ValueError, match="CUDA device"):
            check_device(name)


def test_shown_is_short():
    assert shown("x" * 200).endswith("...") and len(shown("x" * 200)) == 80


def test_imports_nothing_heavy():
    code = (
        "import sys, braindecode_m2s.utils.check\n"
        "print([m for m in ('torch', 'braindecode', 'skorch', 'moabb', 'mne') "
        "if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
