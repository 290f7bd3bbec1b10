"""Run skorch's own net and classifier tests against M2SClassifier with an M2S module.

Usage::

    python benchmarks/peers/run_skorch_net_tests.py --skorch PATH
        [--ref HEAD] [--modules test_net test_classifier] [--keep DIR] [-- PYTEST_ARGS]

``PATH`` is a skorch checkout (its ``skorch/tests/`` is read from the work
tree) or a git directory without a work tree (the files are read with ``git
show REF:...``). The tests run against the skorch installed in this Python
(its version is printed); the test files should come from the same release.

What it does
------------
The test files and skorch's test ``conftest.py`` are copied into a temporary
directory (nothing of skorch is edited, nothing of it is kept), with a
``conftest.py`` written there that puts M2S in the place of skorch's toy
classifier:

- ``skorch.NeuralNetClassifier`` -- what the ``net_cls`` fixture of each
  ``TestNeuralNet`` imports -- is a subclass of
  :class:`~braindecode_m2s.M2SClassifier` with skorch's defaults where the
  tests assume them (``optimizer=SGD``, ``lr=0.01``, ``max_epochs=10``,
  ``batch_size=128``, a stratified 5-fold ``ValidSplit``), and no stage 1
  (``pretrain_epochs=0``: the data hold one modality) with every encoder
  trained (``freeze_encoders=False``, as the toy module trains all its
  weights). It keeps the class name ``NeuralNetClassifier`` so that
  messages naming the class read as the tests expect; criterion and
  prediction are M2SClassifier's own (cross-entropy on logits: M2S returns
  logits where the toy module returns probabilities).
- ``classifier_module`` (the ``module_cls`` of the tests) is an M2S of tiny
  sizes for skorch's data, ``make_classification(1000, 20)``: a plain 2-D
  array is EEG, one window of 20 channels of one band per sample, two
  classes (``SmallM2S`` below).
- Not applicable, shown as SKIPPED with the reason: a test that gives the
  estimator a module of its own (2-D inputs into a non-M2S module), or a
  parameter of skorch's toy ``MLPModule`` (``module__hidden_units``...), is
  skipped when it does so; the tests listed in ``NOT_APPLICABLE`` are
  skipped before they run, each with its reason.
- ``flaky`` (a test dependency of skorch) is replaced by a stand-in that
  reruns a test up to ``max_runs`` times when it is not installed.

Only the ``TestNeuralNet`` classes run (skorch's tests of ``NeuralNet`` as a
classifier, and of ``NeuralNetClassifier``); the other test classes of those
modules are deselected and counted, with the reason.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import _peer

MODULES = ("test_net", "test_classifier")
TESTS_DIR = "skorch/tests"

#: Test classes that run; the others are deselected with these reasons.
SELECTED_CLASS = "TestNeuralNet"
DESELECTED = {
    "TestNetSparseInput": "sparse input: M2S reads dense feature windows (refused by design)",
    "TestTrimForPrediction": "outside TestNeuralNet (not part of this comparison)",
    "TestTorchCompile": "outside TestNeuralNet (not part of this comparison)",
    "TestMetadataRouting": "outside TestNeuralNet (routing through skorch's toy MLPModule)",
    "TestNeuralNetBinaryClassifier": (
        "tests NeuralNetBinaryClassifier (one logit, BCE); M2SClassifier is a NeuralNetClassifier"
    ),
}

_TOY_LAYERS = "reads the toy MLP's layers by name (module_.sequential)"
_TOY_GROUPS = "optimizer param groups named after the toy MLP's layers ('sequential.0.*')"
_TOY_ARGS = "builds skorch's toy MLP with its own arguments (hidden_units, num_hidden)"
_TOY_FILES = "loads a toy MLP net saved on CUDA, a data file of skorch's repository"
_PROBABILITIES = (
    "the toy module returns probabilities; M2S returns logits (M2SClassifier's criterion "
    "is cross-entropy on them, predict_proba their softmax)"
)
_BUFFERS = (
    "counts the state dict's entries as parameters; M2S's also holds buffers (running "
    "statistics of its standardizers and head batch norm)"
)
#: Tests whose premise does not hold for M2S, by name (parametrized ids included
#: by prefix), with the reason shown in the table (SKIPPED).
NOT_APPLICABLE: dict[str, str] = {
    "test_forward": _PROBABILITIES + ": forward is not predict_proba",
    "test_takes_log_with_nllloss": _PROBABILITIES,
    "test_takes_no_log_without_nllloss": _PROBABILITIES,
    "test_pickle_load": _TOY_FILES,
    "test_load_cuda_params_to_cpu": _TOY_FILES,
    "test_device_torch_device": _TOY_LAYERS,
    "test_set_params_works": _TOY_LAYERS,
    "test_save_load_state_dict_custom_module": _TOY_LAYERS,
    "test_optimizer_param_groups": _TOY_GROUPS,
    "test_set_lr_at_runtime_sets_lr_pgroups": _TOY_GROUPS,
    "test_with_initialized_module_non_default": _TOY_ARGS,
    "test_with_initialized_module_partial_fit": _TOY_ARGS,
    "test_with_initialized_module_warm_start": _TOY_ARGS,
    "test_set_params_on_custom_module": _TOY_ARGS,
    "test_criteria_reinit_when_both_initialized_but_custom_criterion_changed": _TOY_ARGS,
    "test_repr_uninitialized_works": "expects the repr of skorch's toy module class",
    "test_custom_module_params_passed_to_optimizer": _BUFFERS,
    "test_criterion_params_passed_to_optimizer_if_any": _BUFFERS,
    "test_net_variable_prediction_lengths": (
        "sequence outputs of variable length from a module of its own; M2SClassifier "
        "takes one label per sample"
    ),
    "test_net_variable_label_lengths": (
        "labels that are sequences of variable length; M2SClassifier takes one label per sample"
    ),
}

_NO_LABELS = (
    "predicts with a net that knows no labels (initialised, not fitted; or loaded from "
    "safetensors, which hold no labels): M2SClassifier refuses, naming classes=..., where "
    "skorch returns the outputs' indices (labels may be any values)"
)
_SAVE_LOAD = (
    "M2SClassifier's save_params / load_params (outside this comparison's changes): "
    "load_params needs initialize() first (skorch initialises from a checkpoint) and "
    "words its own message; save_params reads the model before skorch's check"
)
_CLASSES = (
    "labels are y's values (any type, encoded like scikit-learn): skorch's classes name "
    "the outputs' indices that y holds; M2SClassifier reads classes only to load "
    "parameters without fitting, and reads a dataset's labels from its items"
)
#: Tests that meet a deliberate difference of M2SClassifier, with the reason (XFAIL,
#: strict: a test that passes is listed as XPASS and fails the run).
DESIGN: dict[str, str] = {
    "test_save_load_state_dict_file": _NO_LABELS,
    "test_save_load_state_dict_str": _NO_LABELS,
    "test_predict_with_dataset": _NO_LABELS,
    "test_predict_with_dataset_one_item_error": _NO_LABELS,
    "test_predict_with_dataset_three_items_error": _NO_LABELS,
    "test_predict_nonlinearity_type_error": _NO_LABELS,
    # [use_safetensors-explicit_init]: without initialize() first
    "test_save_and_load_from_checkpoint[False-False]": _SAVE_LOAD,
    "test_save_and_load_from_checkpoint[True-False]": _SAVE_LOAD,
    "test_save_and_load_from_checkpoint_formatting": _SAVE_LOAD,
    "test_load_params_not_init_optimizer": _SAVE_LOAD,
    "test_load_state_dict_not_init": _SAVE_LOAD,
    "test_save_state_dict_not_init": _SAVE_LOAD,
    "test_fit_with_dataset_one_item_error": (
        "the package's own one-sentence message (a dataset's items: (x, y[, ...]))"
    ),
    "test_fit_with_dataset_three_items_error": (
        "items of three values are braindecode's windows (x, y, window indices): accepted"
    ),
    "test_predefined_split": (
        "the loader gets the dataset wrapped, its labels encoded 0..n_classes-1"
    ),
    "test_modules_reinit_when_both_initialized_but_custom_module_changed": (
        "an initialised module is copied (fit leaves the instance given as it was), so "
        "module_ is not the instance"
    ),
    "test_custom_module_is_init_when_default_module_already_is": (
        "an initialised module is copied (fit leaves the instance given as it was), so "
        "module_ is not the instance"
    ),
    "test_pass_classes_explicitly_overrides": _CLASSES,
    "test_pass_empty_classes_raises": _CLASSES,
    "test_error_when_classes_could_not_be_inferred": _CLASSES,
}

CONFTEST = '''\
"""M2S in the place of skorch's toy classifier, for skorch's own tests (written by
braindecode-m2s's run_skorch_net_tests.py; nothing of skorch is edited)."""

import functools
import inspect
import sys
import types

import pytest
import torch
from skorch.dataset import ValidSplit

from braindecode_m2s import M2S, M2SClassifier
from braindecode_m2s.training.base import is_m2s

if "flaky" not in sys.modules:
    try:
        import flaky  # noqa: F401
    except ImportError:  # rerun up to max_runs times, as flaky does
        def _flaky(max_runs=2, min_passes=1, **_):
            def decorate(test):
                @functools.wraps(test)
                def run(*args, **kwargs):
                    for attempt in range(max_runs):
                        try:
                            return test(*args, **kwargs)
                        except Exception:
                            if attempt + 1 == max_runs:
                                raise
                return run
            return decorate

        sys.modules["flaky"] = types.SimpleNamespace(flaky=_flaky)

from skorch_tests_conftest import *  # noqa: E402,F401,F403  skorch's fixtures
import skorch  # noqa: E402

NOT_APPLICABLE = {not_applicable!r}
DESIGN = {design!r}
DESELECTED = {deselected!r}
SELECTED_CLASS = {selected!r}
#: M2S's own parameters (a module__* that is not one belongs to another module)
M2S_PARAMETERS = set(inspect.signature(M2S).parameters)


class SmallM2S(M2S):
    """M2S at tiny sizes for skorch's data: 20 features (one window of 20 channels
    of one band), two classes, EEG only."""

    def __init__(self, n_outputs=2, n_chans=20, n_bands=1, modalities=None, embed_dim=16,
                 proj_dim=8, n_layers=1, n_heads=2, head_dim=8, ff_dim=32,
                 classifier_hidden=16, **kwargs):
        super().__init__(
            n_outputs=n_outputs, n_chans=n_chans, n_bands=n_bands,
            modalities={{}} if modalities is None else modalities, embed_dim=embed_dim,
            proj_dim=proj_dim, n_layers=n_layers, n_heads=n_heads, head_dim=head_dim,
            ff_dim=ff_dim, classifier_hidden=classifier_hidden, **kwargs,
        )


class NeuralNetClassifier(M2SClassifier):
    """M2SClassifier with skorch's defaults where skorch's tests assume them."""

    def __init__(self, module=SmallM2S, *args, optimizer=torch.optim.SGD, lr=0.01,
                 max_epochs=10, batch_size=128, train_split=ValidSplit(5, stratified=True),
                 pretrain_epochs=0, freeze_encoders=False, **kwargs):
        super().__init__(
            module, *args, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, train_split=train_split,
            pretrain_epochs=pretrain_epochs, freeze_encoders=freeze_encoders, **kwargs,
        )

    def _build_module(self):
        module = self.module
        if not is_m2s(module):
            name = getattr(module, "__name__", type(module).__name__)
            pytest.skip(
                f"not applicable: the test gives its own module ({{name}}, not an M2S)"
            )
        foreign = sorted(set(self.get_params_for("module")) - M2S_PARAMETERS)
        if foreign:
            pytest.skip(
                f"not applicable: module__{{foreign[0]}} is a parameter of skorch's toy "
                f"MLPModule, not of M2S"
            )
        return super()._build_module()


skorch.NeuralNetClassifier = NeuralNetClassifier


@pytest.fixture(scope="module")
def classifier_module():
    return SmallM2S


def pytest_collection_modifyitems(config, items):
    selected, deselected = [], []
    for item in items:
        cls = item.cls.__name__ if item.cls is not None else None
        if cls != SELECTED_CLASS:
            deselected.append(item)
            continue
        for name, reason in NOT_APPLICABLE.items():
            if item.name == name or item.name.startswith(name + "["):
                item.add_marker(pytest.mark.skip(reason="not applicable: " + reason))
        for name, reason in DESIGN.items():
            if item.name == name or item.name.startswith(name + "["):
                item.add_marker(pytest.mark.xfail(reason="design: " + reason, strict=True))
        selected.append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected
    counts = {{}}
    for item in deselected:
        key = (item.module.__name__.rsplit(".", 1)[-1], item.cls.__name__ if item.cls else "-")
        counts[key] = counts.get(key, 0) + 1
    with open(config.rootpath / "deselected.txt", "w") as out:
        for (module, cls), n in sorted(counts.items()):
            out.write(f"{{module}} {{cls}} {{n}}\\n")
'''

PYTEST_INI = """\
[pytest]
python_files = test_*.py
python_functions = test_*
filterwarnings =
    ignore::DeprecationWarning
"""


def prepare(source, ref, modules, workdir):
    """Write the test files, skorch's test conftest (as a module), ours and pytest.ini."""
    (workdir / "skorch_tests_conftest.py").write_text(
        _peer.read(source, ref, f"{TESTS_DIR}/conftest.py"), encoding="utf-8"
    )
    for module in modules:
        (workdir / f"{module}.py").write_text(
            _peer.read(source, ref, f"{TESTS_DIR}/{module}.py"), encoding="utf-8"
        )
    conftest = CONFTEST.format(
        not_applicable=NOT_APPLICABLE,
        design=DESIGN,
        deselected=DESELECTED,
        selected=SELECTED_CLASS,
    )
    (workdir / "conftest.py").write_text(conftest, encoding="utf-8")
    (workdir / "pytest.ini").write_text(PYTEST_INI)


def report(junit, workdir):
    rows = []
    for case in ET.parse(junit).iter("testcase"):
        module = case.get("classname", "").split(".")[0]
        rows.append((module, case.get("name", ""), *_peer.outcome(case)))
    counts = _peer.print_table(rows)
    print(
        f"\n{SELECTED_CLASS}: " + ", ".join(f"{n} {r.lower()}" for r, n in sorted(counts.items()))
    )
    reasons = {}
    for _, _, result, reason in rows:
        if result in ("SKIPPED", "XFAIL"):
            reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        print("\nskipped (not applicable) and xfail (design), by reason:")
        for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            print(f"  {n:4d}  {reason}")
    deselected = workdir / "deselected.txt"
    if deselected.exists() and deselected.read_text().strip():
        print("\ndeselected (other test classes):")
        for line in deselected.read_text().splitlines():
            module, cls, n = line.split()
            print(f"  {module}::{cls}: {n} ({DESELECTED.get(cls, 'not a TestNeuralNet')})")
    return counts


def main(argv=None):
    parser = _peer.argument_parser(__doc__.split("\n\n")[0], "skorch", MODULES)
    args = parser.parse_args(argv)

    import skorch

    print(f"skorch installed: {skorch.__version__} ({Path(skorch.__file__).parent})")
    print(f"skorch tests:     {args.skorch} @ {_peer.source_revision(args.skorch, args.ref)}")
    with _peer.workdir(args.keep, "skorch-tests-") as directory:
        prepare(args.skorch, args.ref, args.modules, directory)
        paths = [f"{m}.py" for m in args.modules]
        junit = _peer.run_pytest(directory, paths, args.pytest_args, pythonpath=[directory])
        if junit is None:
            return 2
        counts = report(junit, directory)
    return 1 if counts.get("FAILED") or counts.get("ERROR") else 0


if __name__ == "__main__":
    sys.exit(main())
