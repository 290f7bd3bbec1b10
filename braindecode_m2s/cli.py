"""Command line: ``m2s demo | fixture | train | evaluate | reproduce`` (or ``python -m``).

It parses the arguments, checks every option before any data is read, and
calls the library: ``datasets.fixtures`` (``fixture``), ``evaluation.data``
(the samples), ``evaluation.trained`` (``train``), ``evaluation.pipelines``
and ``evaluation.runs`` (``evaluate``, ``reproduce``). A user's error (an
option, a folder, a data file that cannot be read) ends with one line on
stderr and exit code 2; anything else is a bug and keeps its traceback. The
parser imports nothing heavy: ``m2s --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import sys
import textwrap
import time
import warnings

from .datasets.fixtures import FIXTURE_DATASETS
from .evaluation.choices import BACKENDS, DATASETS, PROTOCOLS

__all__ = ["main", "build_parser", "CommandLineError"]


# -- m2s demo ------------------------------------------------------------------------------
_DEMO = ("seeds", "scenario", "quick", "epochs", "pretrain_epochs", "n_jobs", "data_seed")


def _demo(args):
    from .demo import check_options, format_table, in_percent, run_demo

    with _user_error(None, ValueError):  # every option checked before any work
        options = check_options(
            **{k: getattr(args, k) for k in _DEMO}, device=args.device,
            mixed_precision=args.mixed_precision,
        )  # fmt: skip
        if args.csv and not os.path.isdir(os.path.dirname(os.path.abspath(args.csv))):
            raise ValueError(f"--csv {args.csv}: its folder does not exist")
    start = time.perf_counter()
    results = run_demo(progress=not args.no_progress, **options)
    print(format_table(results), f"total time: {time.perf_counter() - start:.0f} s", sep="\n")
    if args.csv:
        in_percent(results).to_csv(args.csv, index=False)
        print(f"per-fold scores (%) written to {args.csv}")
    return 0


def _add_demo(sub):
    demo = sub.add_parser(
        "demo",
        help="M2S from one modality against the unimodal models, and across modalities, "
        "on the built-in synthetic EEG + eye-movement data (under a minute on 2 CPU cores)",
        description="The main job: evaluate() on the synthetic EEG + eye data (SEED-IV "
        "protocol per subject and session), then the table. M2S is pretrained on EEG + eye "
        "without labels, then classified from one modality (eeg->eeg, eye->eye: against the "
        "unimodal model of that modality, trained end to end), across modalities (eeg->eye, "
        "eye->eeg: against chance) and from both; a logistic regression on each modality's "
        "window-mean features gives the scale. Balanced accuracy and kappa in %, mean ± std "
        "over subjects and seeds.",
    )
    from .demo import PRESETS  # the defaults, said by the help (a light import)

    full, quick = PRESETS["full"], PRESETS["quick"]
    # errors in the demo's options are one line (the usage is in --help)
    demo.error = lambda message: demo.exit(2, f"m2s demo: error: {message}\n")
    demo.add_argument("--seeds", type=int, nargs="+", default=[0], help="model seeds (default "
                      "0; several give mean ± std over seeds too)")  # fmt: skip
    demo.add_argument("--scenario", choices=["redundant", "complementary"], default="redundant",
                      help="synthetic scenario (default redundant: every modality carries the "
                      "whole emotional state)")  # fmt: skip
    demo.add_argument("--data-seed", type=int, default=0, help="seed of the data (default 0)")
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        help=f"training epochs of every classifier (default {full['epochs']}; "
        f"--quick {quick['epochs']})",
    )
    demo.add_argument(
        "--pretrain-epochs",
        type=_positive_int,
        help=f"M2S self-supervised stage-1 epochs (default {full['pretrain_epochs']}; "
        f"--quick {quick['pretrain_epochs']})",
    )
    demo.add_argument(
        "--n-jobs",
        type=_positive_int,
        help=f"parallel workers, each fitting one model on one core (default "
        f"{full['n_jobs']}; --quick {quick['n_jobs']})",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run in seconds: {quick['n_subjects']} subject x {quick['n_sessions']} "
        f"sessions (default {full['n_subjects']} x {full['n_sessions']}), "
        f"{quick['pretrain_epochs']} + {quick['epochs']} epochs, no unimodal models and no "
        f"both->both",
    )
    demo.add_argument("--csv", help="also write the per-fold scores (%%) to this CSV file")
    demo.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    _add(demo, (_PRECISION,))
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(func=_demo)


# -- checks: every option, before any data is read -------------------------------------------
class CommandLineError(Exception):
    """A problem with the command line's input; reported in one line, exit code 2."""


@contextlib.contextmanager
def _user_error(option, *types):
    """Errors of these types raised in the block are the user's: CommandLineError."""
    try:
        yield
    except types as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CommandLineError(f"{option}: {first}" if option else first) from err


def _notes(notes):
    for note in notes:
        print(textwrap.fill(f"note: {note}", 100, subsequent_indent="  "))


def _positive_int(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _csv_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def _check(args):
    """Check the command's options, reading no data file (their checked values replace them)."""
    from .evaluation import backends, data, pipelines, settings
    from .utils.check import check_device
    from .utils.files import check_writable_dir

    with _user_error(None, ValueError):
        data.dataset_key(args.dataset)
    with _user_error("--data-path", ValueError):
        data.check_path(args.dataset, args.data_path)
    with _user_error("--subjects", ValueError):
        data.check_subjects(args.dataset, args.subjects, args.quick)
    train = args.command == "train"
    with _user_error("--mode" if train else "--settings", ValueError):
        keys = data.modality_keys(args.dataset)
        checked = settings.check_settings([args.mode] if train else args.settings or (), keys)
    if args.device != "cpu":
        with _user_error("--device", ValueError):
            check_device(args.device)
    if train:
        with _user_error("--out", OSError):
            check_writable_dir(args.out, "model folder")
        return
    with _user_error("--pipelines", ValueError):
        if args.pipelines is not None or args.command == "evaluate":  # evaluate: DE+SVM, DE+LR
            args.pipelines = pipelines.check_pipeline_names(args.pipelines or ["DE+SVM", "DE+LR"])
    with _user_error("--settings", ValueError):
        pipelines.check_pipeline_settings(args.pipelines or (), checked)
    if args.reference is not None:
        with _user_error("--reference", ValueError):
            (args.reference,) = pipelines.check_pipeline_names([args.reference], args.pipelines)
    with _user_error("--backend", ValueError):
        backends.check_backend(args.backend)
    with _user_error(None, OSError):
        check_writable_dir(args.out, "output folder (--out)")
        check_writable_dir(args.store or f"{args.out}/store", "store folder (--store)")


# -- the commands ------------------------------------------------------------------------------
def _fixture(args):
    from .datasets.fixtures import FIXTURE_README, write_fixture

    with _user_error(None, ValueError, OSError):
        root = write_fixture(args.dataset, args.out, args.subjects, args.windows, args.raw)
    print(
        f"{args.dataset} fixture written to {root}: {args.subjects} subject(s) in the official "
        f"layout, filled with RANDOM values (chance-level scores; {FIXTURE_README} says so)\n"
        f"try: m2s reproduce --dataset {args.dataset} --data-path {root} --quick"
    )
    return 0


def _load(args):
    """The subjects' samples once every option is checked (a bad data file is the user's)."""
    from .evaluation.data import load_data

    _check(args)
    args.epochs = min(args.epochs, 2) if args.quick else args.epochs
    with _user_error(f"cannot read the {args.dataset} data", ValueError, OSError):
        data = load_data(
            args.dataset, args.data_path, args.subjects, args.quick, args.sequence_length,
            args.data_seed, progress=not args.no_progress,
        )  # fmt: skip
    _notes(data.notes)
    return data


def _train(args):
    from .evaluation.trained import fold_indices, save_trained, train_fold

    data = _load(args)
    with _user_error("--fold", ValueError):
        fold_indices(data.metadata, data.code, args.fold)
    run = train_fold(
        data, args.mode, args.fold, max_epochs=args.epochs, quick=args.quick,
        seed=args.seeds[0], device=args.device, mixed_precision=args.mixed_precision,
    )  # fmt: skip
    save_trained(run, args.out)
    print(
        f"{run}\nmodel written to {args.out}/ (config.json + model.safetensors, "
        f"estimator.json, loss_curves.png); reload it with "
        f"braindecode_m2s.evaluation.trained.load_trained({str(args.out)!r})"
    )
    return 0


def _evaluate(args):
    from .evaluation.backends import backend_options
    from .evaluation.pipelines import UnknownPipelineError, pipelines_for
    from .evaluation.runs import run_and_report

    data = _load(args)
    with _user_error("--pipelines", UnknownPipelineError):
        pipelines, settings, notes = pipelines_for(
            data, args.pipelines, args.epochs, args.quick, args.device, args.mixed_precision
        )
    _notes(notes)
    report = run_and_report(
        pipelines, data.X, data.y, data.metadata, args.out, protocol=args.protocol,
        dataset=data.code, settings=dict.fromkeys(pipelines, args.settings) if args.settings
        else settings, seeds=args.seeds, store=args.store, reference=args.reference or "M2S",
        backend=args.backend, n_jobs=args.n_jobs, progress=not args.no_progress,
        status_only=args.status, info=data.info, class_names=data.class_names,
        m2s_figures=not args.no_m2s_plots,
        **backend_options(args.backend, **{k: getattr(args, k) for k in _CLUSTER}),
    )  # fmt: skip
    if report.error:
        print(f"m2s: error: {report.error}", file=sys.stderr)
    return report.exit_code


# -- the parser (imports nothing heavy: --help answers at once) -----------------------------------
def _add(p, table):
    for flag, kwargs in table:
        p.add_argument(flag, **kwargs)


# fmt: off
_PRECISION = ("--mixed-precision", dict(choices=["no", "bf16"], default="no", help="bf16: the "
              "neural models' forward passes under bfloat16 autocast (default no)"))
_DATA_OPTIONS = (
    ("--dataset", dict(required=True, help=f"dataset: {', '.join(DATASETS)}")),
    ("--data-path", dict(help="folder of the official distribution (or of `m2s fixture`)")),
    ("--subjects", dict(type=_positive_int, nargs="+", help="subjects (default: all found)")),
    ("--sequence-length", dict(type=_positive_int, help="windows per sample (default 5)")),
    ("--epochs", dict(type=_positive_int, default=20, help="epochs of the neural models (20)")),
    ("--seeds", dict(type=int, nargs="+", default=[0], help="model seeds (default 0)")),
    ("--data-seed", dict(type=int, default=0, help="seed of the synthetic data")),
    ("--quick", dict(action="store_true", help="a smoke run: 2 subjects, 2 epochs, a small M2S")),
    ("--no-progress", dict(action="store_true", help="hide the progress bars")),
    ("--device", dict(default="cpu", help="torch device, e.g. cuda (default cpu)")),
    _PRECISION,
)
_EVAL_OPTIONS = (
    ("--protocol", dict(default=PROTOCOLS[0], choices=PROTOCOLS,
        help="evaluation protocol (default: the dataset's standard within-session split)")),
    ("--pipelines", dict(type=_csv_list, help="comma-separated: M2S, M2S-prototype, DE+SVM, "
        "DE+LR, unimodal, fusion, dcca, bdae, cross_cpc, clip_only, dgcnn, eegnet (default: "
        "reproduce all that the data allow, evaluate DE+SVM,DE+LR)")),
    ("--n-jobs", dict(type=int, default=1, help="parallel fits (joblib, local Dask) (1)")),
    ("--store", dict(help="task store: a result per task, reused by a rerun (OUT/store)")),
    ("--status", dict(action="store_true", help="count done, pending, failed tasks; run none")),
    ("--backend", dict(choices=BACKENDS, default="local", help="where the tasks run (local)")),
    ("--address", dict(help="Dask scheduler or Ray cluster address (default: a local one)")),
    ("--gpus-per-task", dict(type=float, help="GPUs each task reserves (Dask, Ray, SLURM)")),
    ("--cpus-per-task", dict(type=_positive_int, help="CPUs each task reserves (Ray, SLURM)")),
    ("--slurm-partition", dict(help="SLURM partition")),
    ("--slurm-time", dict(type=_positive_int, help="SLURM time limit of a task, in minutes")),
    ("--slurm-array-parallelism", dict(type=_positive_int, help="SLURM jobs of an array at once")),
    ("--slurm-cluster", dict(choices=["slurm", "local", "debug"], help="submitit executor")),
    ("--no-m2s-plots", dict(action="store_true", help="skip the M2S figures (attention "
        "topomap, loss curves: drawn from the stored stage-1 model and histories)")),
)
_FIXTURE_OPTIONS = (
    ("--dataset", dict(required=True, choices=FIXTURE_DATASETS)),
    ("--out", dict(required=True, help="the tree's folder (new or empty)")),
    ("--subjects", dict(type=_positive_int, default=2, help="subjects (default 2)")),
    ("--windows", dict(type=_positive_int, default=34, help="feature windows of the shortest "
        "trials of the SEED family (default 34, about as many as in the real SEED-IV files)")),
    ("--raw", dict(action="store_true", help="also the raw EEG of the SEED family (large)")),
)
_TRAIN_OPTIONS = (
    ("--mode", dict(default="eeg2eeg", help="modality setting: eeg2eeg, eye2eye, eeg2eye, "
        "eye2eeg, multimodal (default eeg2eeg)")),
    ("--fold", dict(type=int, default=0, help="protocol fold to train on and score (default 0: "
        "the first subject-session's standard split)")),
    ("--out", dict(default="m2s_model", help="folder of the trained model (default m2s_model): "
        "config.json + model.safetensors (M2S.from_pretrained), estimator.json (modalities, "
        "labels), histories, loss curves; reload it with "
        "braindecode_m2s.evaluation.trained.load_trained(folder)")),
)
_EVALUATE_OPTIONS = (
    ("--settings", dict(type=_csv_list, help="comma-separated modality settings: multimodal "
        "or <a>2<b> with a, b among eeg, the second modality (eye...) and all, e.g. "
        "eeg2eeg,eeg2eye (default: per pipeline)")),
    ("--reference", dict(help="pipeline of the paired tests (default M2S, else the first)")),
)
_CLUSTER = ("address", "gpus_per_task", "cpus_per_task", "slurm_partition", "slurm_time",
            "slurm_array_parallelism", "slurm_cluster")
_COMMANDS = {  # name: (what it does, option tables, default output folder, function)
    "fixture": ("write a small tree of a dataset in its official layout, filled with RANDOM "
                "values (a README_FIXTURE.txt in the tree says so)", (_FIXTURE_OPTIONS,), None,
                _fixture),
    "train": ("train M2S in one mode on one fold and save it", (_DATA_OPTIONS, _TRAIN_OPTIONS),
              None, _train),
    "evaluate": ("evaluate chosen pipelines and modality settings on a dataset",
                 (_DATA_OPTIONS, _EVAL_OPTIONS, _EVALUATE_OPTIONS), "m2s_evaluation", _evaluate),
    "reproduce": ("the paper's comparison: M2S in its four modes and every baseline, with "
                  "tables, statistics and plots", (_DATA_OPTIONS, _EVAL_OPTIONS), "m2s_reproduce",
                  _evaluate),
}
# fmt: on


def build_parser():
    """The ``m2s`` argument parser."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="m2s", description="braindecode-m2s: Multi-to-Single multimodal emotion recognition."
    )
    parser.add_argument("--version", action="version", version=f"m2s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_demo(sub)
    for name, (text, tables, out, run) in _COMMANDS.items():
        command = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        for table in tables:
            _add(command, table)
        if out is not None:
            command.add_argument("--out", default=out, help=f"output folder (default {out})")
        command.set_defaults(func=run, settings=None, reference=None)
    return parser


# -- main ------------------------------------------------------------------------------------
def main(argv=None):
    """Entry point of the ``m2s`` console script."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    _check_unknown_options(parser, argv)
    args = parser.parse_args(argv)
    from .utils.quiet import quiet_warnings

    with warnings.catch_warnings():  # the quiet filters end with the command
        quiet_warnings(convergence=False, console=True)
        try:
            return args.func(args)
        except CommandLineError as err:  # the user's error; a bug keeps its traceback
            print(f"m2s: error: {err}", file=sys.stderr)
            return 2


def _check_unknown_options(parser, argv):
    """Name an unknown option first (argparse reports missing ones before it)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = next((t for t in argv if not t.startswith("-")), None)
    known = [o for a in sub.choices[command]._actions for o in a.option_strings] if (
        command in sub.choices) else []  # fmt: skip
    for name in (t.split("=", 1)[0] for t in argv if t.startswith("--") and known):
        if name not in known and sum(o.startswith(name) for o in known) != 1:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            parser.exit(2, f"m2s: error: m2s {command}: unknown option {name}{hint}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
