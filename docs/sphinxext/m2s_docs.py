"""Pages generated when the docs build: the models table and the command-line help.

- ``generated/models_summary.csv``: ``docs/models_summary.csv`` (one row per
  model, braindecode's columns) with ``#Parameters`` counted from the
  constructor call in its ``get_#Parameters`` column, so the table cannot go
  stale.
- ``generated/cli/<command>.txt``: the ``--help`` text of ``m2s`` and of each
  of its sub-commands, from :func:`braindecode_m2s.cli.build_parser`.
- ``generated/datasets/<Class>_card.rst`` and ``<Class>_layout.txt``: the
  "Dataset card" of each dataset class's docstring and its ``LAYOUT``, which
  the dataset guides include, so a guide says what the reader does.
"""

from __future__ import annotations

import csv
import inspect
import io
import os
import textwrap
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent  # docs/


def _namespace():
    import braindecode.models as bd_models
    import torch

    import braindecode_m2s
    import braindecode_m2s.baselines as baselines
    import braindecode_m2s.datasets as datasets

    names = {name: getattr(braindecode_m2s, name) for name in braindecode_m2s.__all__}
    names.update({name: getattr(baselines, name) for name in baselines.__all__})
    names.update(get_chs_info=datasets.get_chs_info)
    names.update(DGCNN=bd_models.DGCNN, EEGNet=bd_models.EEGNet, torch=torch, np=np)
    return names


def count_parameters(expression, namespace):
    """Trainable parameters of the module built by ``expression`` (or the int it gives)."""
    import torch

    torch.manual_seed(0)
    value = eval(expression, {"__builtins__": {}}, namespace)  # noqa: S307 (our own CSV)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return sum(p.numel() for p in value.parameters() if p.requires_grad)


_HEADER_BREAKS = {
    "Hyperparameters": "Hyper\u00adparameters",
    "#Parameters": "#Para\u00admeters",
    "Categorization": "Categori\u00adzation",
}


def write_models_table(out):
    """Write ``generated/models_summary.csv`` with the parameter counts filled in."""
    source = HERE / "models_summary.csv"
    with open(source, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    namespace = _namespace()
    columns = [
        "Model",
        "Application",
        "Type",
        "Input",
        "Hyperparameters",
        "#Parameters",
        "Categorization",
        "Modality",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # the long header words may break (soft hyphens), so that the table fits the column
    writer.writerow([_HEADER_BREAKS.get(c, c) for c in columns])
    for row in rows:
        row["#Parameters"] = f"{count_parameters(row['get_#Parameters'], namespace):,}"
        # braindecode's comma lists ("Attention/Transformer,Recurrent"): spaced, with a
        # break opportunity after each slash, so that the column can wrap
        categories = (c.strip() for c in row["Categorization"].split(","))
        row["Categorization"] = ", ".join(categories).replace("/", "/\u200b")
        writer.writerow([row[c] for c in columns])
    _write_if_changed(out, buffer.getvalue())


def write_cli_help(folder):
    """Write the ``--help`` text of ``m2s`` and of each sub-command under ``folder``."""
    from braindecode_m2s.cli import build_parser

    folder.mkdir(parents=True, exist_ok=True)
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width
    try:
        parser = build_parser()
        _write_if_changed(folder / "m2s.txt", parser.format_help())
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        for name, command in sub.choices.items():
            buffer = io.StringIO()
            with redirect_stdout(buffer):
                command.print_help()
            _write_if_changed(folder / f"{name}.txt", buffer.getvalue())
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


DATASET_CLASSES = ("SEED", "SEEDIV", "SEEDV", "SEEDVII", "DEAP", "DREAMER")


def dataset_card(cls):
    """The bullet list under "Dataset card" in ``cls``'s docstring, up to "Parameters"."""
    doc = inspect.cleandoc(cls.__doc__)
    lines = doc.splitlines()
    try:
        start = lines.index("Dataset card") + 2  # skip the title and its underline
        end = lines.index("Parameters", start)
    except ValueError as err:
        raise RuntimeError(f"{cls.__name__}'s docstring has no 'Dataset card' section") from err
    return textwrap.dedent("\n".join(lines[start:end])).strip() + "\n"


def write_dataset_pages(folder):
    """Write each dataset's card and layout for the dataset guides."""
    import braindecode_m2s

    folder.mkdir(parents=True, exist_ok=True)
    for name in DATASET_CLASSES:
        cls = getattr(braindecode_m2s, name)
        _write_if_changed(folder / f"{name}_card.rst", dataset_card(cls))
        _write_if_changed(folder / f"{name}_layout.txt", cls.LAYOUT.rstrip() + "\n")


def _write_if_changed(path, text):
    # an unchanged file keeps its time stamp, so Sphinx does not rebuild its readers
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# Command-line flags of each example in the gallery: the smallest budgets that
# still show every step (those of tests/test_examples.py); run as scripts, the
# examples use their own defaults.
GALLERY_ARGV = {
    "train_m2s_seed_iv.py": ["--epochs", "1"],
    "pretrain_then_finetune.py": ["--pretrain-epochs", "1", "--epochs", "1"],
    "deap_peripheral.py": ["--epochs", "1"],
    "moabb_evaluation.py": ["--epochs", "1"],
    "custom_dataset.py": ["--epochs", "1"],
    "train_distributed.py": ["--pretrain-epochs", "1", "--epochs", "1"],
}


def reset_argv(gallery_conf, script_vars):
    """``sys.argv[1:]`` of an example run by sphinx-gallery."""
    return GALLERY_ARGV.get(Path(script_vars["src_file"]).name, [])


# numpydoc renders only its own sections and drops any other (with a Python
# warning): the "Dataset card" of the dataset classes, "Shapes"... Such a
# heading becomes a rubric, so its text stays on the page.
_NUMPYDOC_SECTIONS = {
    "Parameters",
    "Returns",
    "Yields",
    "Receives",
    "Raises",
    "Warns",
    "Other Parameters",
    "Attributes",
    "Methods",
    "See Also",
    "Notes",
    "Warnings",
    "References",
    "Examples",
}
# references to pages of braindecode's own documentation, which is not part of this one
_FOREIGN_REFS = {
    ":ref:`load-pretrained-models`": "braindecode's tutorial on loading pretrained models",
}


def _rubric_unknown_sections(app, what, name, obj, options, lines):
    for k in range(len(lines) - 1):
        title, underline = lines[k].strip(), lines[k + 1].strip()
        if (
            title
            and underline
            and set(underline) == {"-"}
            and len(underline) >= len(title)
            and title.title() not in {t.title() for t in _NUMPYDOC_SECTIONS}
        ):
            indent = lines[k][: len(lines[k]) - len(lines[k].lstrip())]
            lines[k], lines[k + 1] = f"{indent}.. rubric:: {title}", ""
    for k, line in enumerate(lines):
        for ref, text in _FOREIGN_REFS.items():
            if ref in line:
                lines[k] = line.replace(ref, text)


# braindecode's model docstrings open with sphinx-design badges of their
# categorization (``:bdg-info:`Attention/Transformer```, read by its tests);
# without sphinx-design here, each is rendered as a plain inline label.
_BADGE_STYLES = (
    "primary", "secondary", "success", "info", "warning", "danger", "light", "dark",
)  # fmt: skip


def _badge_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    from docutils import nodes

    return [nodes.inline(rawtext, text, classes=["badge", name])], []


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's generated metadata-routing methods (set_fit_request, ...)
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def _generate(app):
    generated = Path(app.srcdir) / "generated"
    write_models_table(generated / "models_summary.csv")
    write_cli_help(generated / "cli")
    write_dataset_pages(generated / "datasets")


def setup(app):
    app.connect("builder-inited", _generate)
    # before numpydoc (priority 500) parses the sections
    app.connect("autodoc-process-docstring", _rubric_unknown_sections, priority=100)
    app.connect("autodoc-skip-member", _skip_member)
    if "sphinx_design" not in app.config.extensions:
        for style in _BADGE_STYLES:
            for suffix in ("", "-line"):
                app.add_role(f"bdg-{style}{suffix}", _badge_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
