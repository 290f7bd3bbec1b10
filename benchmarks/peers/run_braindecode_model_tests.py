"""Run braindecode's own generic model tests against M2S, as if M2S were one of its models.

Usage::

    python benchmarks/peers/run_braindecode_model_tests.py --braindecode PATH
        [--ref HEAD] [--modules test_integration test_huggingface ...] [--keep DIR]

``PATH`` is a braindecode checkout (its ``test/unit_tests/models/`` is read
from the work tree) or a git directory without a work tree (the files are
read with ``git show REF:...``). The tests run against the braindecode that is
installed in this Python (its version is printed); the test files should come
from the same or a close revision. ``test_config`` needs braindecode's
``typing`` extra (numpydantic); without it braindecode skips that module, and
the table says so.

What it does
------------
The test files are copied into a temporary directory, with a ``conftest.py``
written there that registers M2S at run time, the way braindecode registers a
model of its own (nothing of braindecode is edited):

- ``braindecode.models.M2S`` and ``models_dict["M2S"]`` (what the
  ``__init__`` import and ``_init_models_dict`` give a braindecode model, and
  what ``EEGClassifier(module="M2S")`` resolves);
- a ``models_mandatory_parameters`` entry (below), read by the integration,
  signal-parameter, compile, export, hub, config and batch-size-one tests;
- a ``summary.csv`` row: appended to ``braindecode.models.util._summary_table``
  and to a copy of braindecode's ``summary.csv`` placed where the
  categorization and modality tests read it (``braindecode/models/`` three
  folders above the test file); M2S's docstring carries the badge of its
  categorization, as braindecode's model docstrings do;
- a ``test_return_features`` case: that module lists its models in its own
  ``_MODELS`` table, so the conftest adds M2S to the parametrization of the
  tests that read it (``pytest_generate_tests``), as a new row there would.

Only the tests about M2S run (a test parametrized by M2S, or a test of the
registries as a whole: completeness, summary table, ``models_dict``); the
others are deselected and counted. TorchScript is not required: braindecode
exempts models whose ``forward`` is not scriptable (its ``not_working_models``
list; EEGDINO and MVPFormer for the same reason as M2S: ``forward`` returns a
tensor or, with ``return_features``, a dict, and takes the other modalities
as ``**modalities``). That test still runs: the table shows what it gives,
as EXEMPT, and does not count it as a failure.

The parametrization
-------------------
``("M2S", ["n_chans", "n_outputs", "sfreq"], None)``: the default signal of
braindecode's tests (3 channels, 1000 samples at 250 Hz, 4 s), and as
required parameters:

- ``n_outputs``: the classifier's size;
- ``n_chans`` (or ``chs_info``, from which braindecode infers it): the EEG
  encoder reads ``n_chans * n_bands`` features per window. ``chs_info`` is not
  required: M2S uses no electrode position;
- ``sfreq``: braindecode's tests feed raw signals ``(batch, n_chans,
  n_times)``. M2S's native EEG input is a sequence of band
  differential-entropy features ``(batch, n_chans, n_windows, n_bands)``;
  given ``sfreq`` (or ``n_times`` and ``input_window_seconds``, from which
  braindecode infers it) it computes them from raw windows of
  ``window_seconds`` (1 s) with a differentiable front end, whose bands (up
  to 50 Hz) must lie below the Nyquist frequency. Without ``sfreq`` a raw
  input is refused, so ``sfreq`` is required, as for EEGSimpleConv.

``n_times`` is not required: the number of windows is read from each input
(1000 samples at 250 Hz: four 1-s windows), as BIOT and EEGSimpleConv read
theirs. So braindecode tries every combination its ``_get_possible_signal_params``
gives these required parameters: ``chs_info`` without ``n_chans`` and
``n_chans`` without ``chs_info``, times ``n_times`` + ``sfreq``, ``sfreq`` +
``input_window_seconds``, ``n_times`` + ``input_window_seconds`` and
``sfreq`` alone. ``n_outputs=None`` and combinations without ``sfreq`` are not
tried (required). The ``test_return_features`` row is ``(M2S, 22 channels,
{"sfreq": 250.0}, no class token)``.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import _peer

#: Test modules of ``test/unit_tests/models/`` that read braindecode's model registries.
MODULES = (
    "test_integration",
    "test_return_features",
    "test_huggingface",
    "test_config",
    "test_models",
    "test_model_categorization",
    "test_model_modality",
    "test_util",
)
#: Files the test modules import (their packages and braindecode's own conftest).
SUPPORT = ("test/__init__.py", "test/conftest.py", "test/unit_tests/__init__.py")
MODELS_DIR = "test/unit_tests/models"
#: The test braindecode does not require of every model (see ``torchscript_exempt``).
EXEMPT = "test_model_torch_script"

#: What the conftest registers (see the module docstring).
REGISTRATION = {
    "mandatory": ("M2S", ["n_chans", "n_outputs", "sfreq"], None),
    "return_features": {"n_chans": 22, "kwargs": {"sfreq": 250.0}, "has_cls": False},
    "summary": {
        "Application": "Emotion Recognition",
        "Type": "Prediction, Embedding",
        "Sampling Frequency (Hz)": 200,
        "Hyperparameters": "n_chans, n_outputs, sfreq",
        "#Parameters": None,  # counted at run time
        "get_#Parameters": "M2S(n_chans=62, n_outputs=4, sfreq=200.0)",
        "Categorization": "Attention/Transformer",
        "Modality": "EEG",
    },
    "torchscript_exempt": (
        "braindecode exempts models whose forward TorchScript cannot compile (its "
        "not_working_models; EEGDINO and MVPFormer for M2S's reason: forward returns a "
        "tensor or, with return_features, a dict, and takes the other modalities as "
        "**modalities)"
    ),
}

CONFTEST = '''\
"""Registers M2S as a braindecode model for braindecode's own tests (written by
braindecode-m2s's run_braindecode_model_tests.py; nothing of braindecode is edited)."""

import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import braindecode.models as bd_models
from braindecode.models import util as bd_util
from braindecode_m2s import M2S

REGISTRATION = {registration!r}

name, required, signal_params = REGISTRATION["mandatory"]
bd_models.M2S = M2S
bd_util.models_dict[name] = M2S
bd_util.models_mandatory_parameters.append((name, list(required), signal_params))

row = dict(REGISTRATION["summary"])
row["#Parameters"] = sum(
    p.numel() for p in M2S(n_chans=62, n_outputs=4, sfreq=200.0).parameters()
)
bd_util._summary_table = pd.concat(
    [bd_util._summary_table, pd.DataFrame([row], index=pd.Index([name], name="Model"))]
)
# the categorization and modality tests read summary.csv three folders above themselves
summary = Path(bd_util.__file__).with_name("summary.csv").read_text(encoding="utf-8-sig")
out = io.StringIO()
csv.writer(out, lineterminator="\\n").writerow([name, *row.values()])
target = Path(__file__).parent / "braindecode" / "models" / "summary.csv"
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(summary.rstrip("\\n") + "\\n" + out.getvalue(), encoding="utf-8")

RF = REGISTRATION["return_features"]
RF_PARAM = pytest.param(M2S, RF["n_chans"], RF["kwargs"], RF["has_cls"], id=name)


def _about_m2s(value):
    if value is M2S or value == name:
        return True
    if isinstance(value, (tuple, list)) and value and value[0] in (name, M2S):
        return True
    return False


#: Tests of the registries as a whole (not parametrized by model).
REGISTRY_TESTS = {{
    "test_completeness__models_test_cases",
    "test_all_models_in_summary_csv",
    "test_badge_format_consistency",
    "test_models_dict",
    "test_interpolated_models_dict",
}}


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """Add M2S to test_return_features' own model table (its _MODELS rows)."""
    if not metafunc.module.__name__.endswith("test_return_features"):
        return
    marks = metafunc.definition.own_markers
    for i, mark in enumerate(marks):
        if mark.name == "parametrize" and mark.args[0] == "cls, nc, kw, has_cls":
            values = [*mark.args[1], RF_PARAM]
            marks[i] = pytest.mark.parametrize(mark.args[0], values, **mark.kwargs).mark


def pytest_collection_modifyitems(config, items):
    selected, deselected = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {{}})
        if any(_about_m2s(v) for v in params.values()) or (
            not params and item.originalname in REGISTRY_TESTS
        ):
            selected.append(item)
        else:
            deselected.append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected
    by_module = Counter(item.module.__name__.rsplit(".", 1)[-1] for item in deselected)
    Path(config.rootpath, "deselected.txt").write_text(
        "".join(f"{{m}} {{n}}\\n" for m, n in sorted(by_module.items()))
    )
'''

PYTEST_INI = """\
[pytest]
python_files = test_*.py
python_functions = test_*
markers =
    integration: integration tests
    network: tests that require network access
    huggingface: tests that access Hugging Face Hub
    slow: slow tests
"""


def prepare(source, ref, modules, workdir):
    """Write the test files, braindecode's conftest, ours and pytest.ini into ``workdir``."""
    for path in (*SUPPORT, f"{MODELS_DIR}/__init__.py"):
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_peer.read(source, ref, path), encoding="utf-8")
    for module in modules:
        (workdir / MODELS_DIR / f"{module}.py").write_text(
            _peer.read(source, ref, f"{MODELS_DIR}/{module}.py"), encoding="utf-8"
        )
    (workdir / "conftest.py").write_text(CONFTEST.format(registration=REGISTRATION))
    (workdir / "pytest.ini").write_text(PYTEST_INI)


def report(junit, workdir, registration):
    tree = ET.parse(junit)
    rows = []
    for case in tree.iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        name = case.get("name", "")
        if not module:  # a module that was not collected
            module, name = name.rsplit(".", 1)[-1], "(whole module)"
        result, reason = _peer.outcome(case)
        if name.startswith(EXEMPT) and result in ("FAILED", "ERROR"):
            result = "EXEMPT"
        rows.append((module, name, result, reason))
    counts = _peer.print_table(rows)
    print("\nabout M2S: " + ", ".join(f"{n} {r.lower()}" for r, n in sorted(counts.items())))
    deselected = workdir / "deselected.txt"
    if deselected.exists() and deselected.read_text().strip():
        print("\nnot applicable (tests of other braindecode models, deselected):")
        for line in deselected.read_text().splitlines():
            module, n = line.split()
            print(f"  {module}: {n}")
    if any(name.startswith(EXEMPT) for _, name, _, _ in rows):
        print(f"\nnot required: {EXEMPT} (EXEMPT above): {registration['torchscript_exempt']}.")
    return counts


def main(argv=None):
    parser = _peer.argument_parser(__doc__.split("\n\n")[0], "braindecode", MODULES)
    args = parser.parse_args(argv)

    import braindecode

    installed = Path(braindecode.__file__).parent
    revision = _peer.source_revision(args.braindecode, args.ref)
    print(f"braindecode installed: {braindecode.__version__} ({installed})")
    print(f"braindecode tests:     {args.braindecode} @ {revision}")
    with _peer.workdir(args.keep, "bd-model-tests-") as directory:
        prepare(args.braindecode, args.ref, args.modules, directory)
        paths = [Path(MODELS_DIR) / f"{m}.py" for m in args.modules]
        junit = _peer.run_pytest(
            directory, paths, args.pytest_args, env_defaults={"HF_HUB_OFFLINE": "1"}
        )
        if junit is None:
            return 2
        counts = report(junit, directory, REGISTRATION)
    return 1 if counts.get("FAILED") or counts.get("ERROR") else 0


if __name__ == "__main__":
    sys.exit(main())
