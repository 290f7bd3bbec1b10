"""Shared by the examples: a configured dataset folder, else a tiny fixture.

The emotion datasets are licence-gated. When no folder is configured (the
``path`` option or ``MNE_DATASETS_<CODE>_PATH``), the examples write small
files in exactly the official layouts with the test suite's layout writers
(``tests/datasets/layout_*.py``) into a temporary folder and run on those.
"""

import importlib.util
import os
from pathlib import Path

import mne

from braindecode_m2s.datasets.base import config_key

_TESTS = Path(__file__).resolve().parent.parent / "tests" / "datasets"


def configured_path(code):
    """The folder configured for dataset ``code`` (e.g. ``"SEED-IV"``), or None."""
    key = config_key(code)
    return os.environ.get(key) or mne.get_config(key)


def _layout(name):
    spec = importlib.util.spec_from_file_location(name, _TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_seed_iv(root, subjects=(1, 2)):
    """Write a tiny SEED-IV copy under ``root``; returns its root folder."""
    return _layout("layout_seed").write_seed_iv(Path(root), subjects=tuple(subjects), base=10)


def write_deap(root, subjects, n_trials=12, seed=0):
    """Write small DEAP files under ``root``; returns ``root``."""
    _layout("layout_physio").write_deap(
        Path(root), subjects=tuple(subjects), n_trials=n_trials, seed=seed
    )
    return Path(root)
