"""The package's public names: all importable, imported on first use."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import braindecode_m2s

SUBPACKAGES = [
    "braindecode_m2s",
    "braindecode_m2s.datasets",
    "braindecode_m2s.datasets.io",
    "braindecode_m2s.evaluation",
    "braindecode_m2s.training",
]


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_public_name_resolves_and_star_import_gives_them(name):
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__)
    namespace = {}
    exec(f"from {name} import *", namespace)  # noqa: S102 (a fixed name of ours)
    for attr in module.__all__:
        assert namespace[attr] is getattr(module, attr)
        assert attr in dir(module)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018


def test_the_top_level_holds_what_the_readme_and_examples_import():
    """At most 25 names; every name the README, the docs' quick start and the examples
    import from the top level is one of them."""
    import re

    root = Path(__file__).resolve().parents[1]
    assert len(braindecode_m2s.__all__) <= 25
    texts = [root / "README.md", root / "docs" / "quickstart.md"]
    texts += sorted((root / "examples").glob("*.py"))
    imported = set()
    for path in texts:
        text = path.read_text()
        for group, line in re.findall(r"from braindecode_m2s import (?:\(([^)]*)\)|(.+))", text):
            imported |= set(re.findall(r"\w+", group or line.split("#")[0]))
    assert imported <= set(braindecode_m2s.__all__), imported - set(braindecode_m2s.__all__)


#: The modules of the hardened readers (``braindecode_m2s/datasets/io/``).
READERS = ["budget", "pickle_scan", "pickle", "matv5", "matv73", "mat", "npz", "cache"]


def test_reader_modules_are_listed():
    import braindecode_m2s.datasets.io as io

    found = sorted(p.stem for p in Path(io.__file__).parent.glob("*.py") if p.stem != "__init__")
    assert found == sorted(READERS)


def test_one_band_table():
    from braindecode_m2s import bands, features
    from braindecode_m2s.modules import frontends

    assert features.DEFAULT_BANDS is bands.SEED_IV_BANDS
    assert frontends.SEED_IV_BANDS is bands.SEED_IV_BANDS


def test_submodules_are_attributes():
    assert braindecode_m2s.objectives.M2SObjective is not None
    assert braindecode_m2s.training.distributed.MainProcessPrintLog is not None


def test_imports_are_deferred_and_braindecode_quiet():
    # a fresh interpreter: the package, its file readers (every module of
    # datasets.io), the band tables and the feature transformers import none
    # of torch, braindecode, skorch, MNE and MOABB; the model imports
    # braindecode without its import-time montage FutureWarning reaching the
    # user
    readers = ", ".join(f"braindecode_m2s.datasets.io.{name}" for name in READERS)
    code = (
        "import sys, warnings\n"
        "heavy = lambda: [m for m in ('torch', 'braindecode', 'skorch', 'mne', 'moabb') "
        "if m in sys.modules]\n"
        "import braindecode_m2s\n"
        "print('package', heavy())\n"
        f"import {readers}\n"
        "print('readers', heavy())\n"
        "import braindecode_m2s.bands, braindecode_m2s.features\n"
        "print('features', heavy())\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    from braindecode_m2s import M2S\n"
        "print('montage', sum('standard_1020' in str(w.message) for w in caught))\n"
        "print('model', 'braindecode' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines == [
        "package []",
        "readers []",
        "features []",
        "montage 0",
        "model True",
    ], done.stdout
