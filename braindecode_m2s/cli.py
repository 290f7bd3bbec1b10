"""Command line: ``m2s demo | train | evaluate | reproduce`` (also ``python -m braindecode_m2s``).

- ``m2s demo``: the synthetic-data demo.
- ``m2s train``: train M2S in one mode on a dataset, report the held-out
  accuracy, save the model and its loss curves.
- ``m2s evaluate``: chosen pipelines and modality settings through a protocol.
- ``m2s reproduce``: the paper's comparison (Liu et al., AAAI 2025): M2S in its
  four modes and every available baseline, with the dataset's standard
  protocol; writes the results table, statistics and plots.

Errors in what the user typed (dataset name, folder) end with one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import warnings
from pathlib import Path

__all__ = ["main"]


def _demo(args):
    from .demo import check_options, format_table, in_percent, run_demo

    with _user_error(ValueError):  # every option checked before any work
        options = check_options(
            seeds=args.seeds,
            scenario=args.scenario,
            quick=args.quick,
            epochs=args.epochs,
            pretrain_epochs=args.pretrain_epochs,
            n_jobs=args.n_jobs,
            data_seed=args.data_seed,
            device=args.device,
            mixed_precision=args.mixed_precision,
        )
    if args.csv and not Path(args.csv).expanduser().resolve().parent.is_dir():
        raise CommandLineError(f"--csv {args.csv}: its folder does not exist")
    start = time.perf_counter()
    results = run_demo(quick=args.quick, progress=not args.no_progress, **options)
    print(format_table(results))
    print(f"total time: {time.perf_counter() - start:.0f} s")
    if args.csv:
        in_percent(results).to_csv(args.csv, index=False)
        print(f"per-fold scores (%) written to {args.csv}")
    return 0


class CommandLineError(Exception):
    """A problem with the command line's input; reported in one line, exit code 2."""


@contextlib.contextmanager
def _user_error(*types):
    """Errors of these types raised in the block are the user's: CommandLineError."""
    try:
        yield
    except types as err:
        raise CommandLineError(str(err).splitlines()[0]) from err


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _csv_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


#: Feature windows per sample in the authors' code of Liu et al. (AAAI 2025):
#: ``time_window = 5`` consecutive windows.
PAPER_SEQUENCE_LENGTH = 5

#: Command-line dataset names -> dataset classes of braindecode_m2s.datasets.
DATASETS = {
    "seed": "SEED", "seediv": "SEEDIV", "seedv": "SEEDV", "seedvii": "SEEDVII",
    "deap": "DEAP", "dreamer": "DREAMER", "synthetic": None,
}  # fmt: skip


def _dataset_name(text):
    """The key of :data:`DATASETS` for ``text``, in any spelling ``datasets.names`` accepts."""
    from .datasets.names import lookup

    if text.lower() == "synthetic":
        return "synthetic"
    try:
        class_name = lookup(text).class_name
    except ValueError:
        raise CommandLineError(
            f"unknown dataset {text!r}; expected one of {', '.join(DATASETS)}"
        ) from None
    return next(key for key, value in DATASETS.items() if value == class_name)


def _check_data_args(args):
    """Dataset name and folder, checked before any work."""
    if _dataset_name(args.dataset) == "synthetic":
        return
    if args.data_path is None:
        raise CommandLineError(f"--data-path is required for dataset {args.dataset!r}")
    path = Path(args.data_path).expanduser()
    if not path.is_dir():
        raise CommandLineError(f"data path {str(path)!r} does not exist or is not a folder")


def _concat(parts):
    import numpy as np
    import pandas as pd
    from skorch.helper import SliceDict

    Xs, ys, metas = zip(*parts)
    X = SliceDict(**{k: np.concatenate([x[k] for x in Xs]) for k in Xs[0].keys()})
    return X, np.concatenate(ys), pd.concat(metas, ignore_index=True)


def load_data(args):
    """``(X, y, metadata, protocol_code, info)`` for the command's dataset options.

    A file that cannot be read (missing, corrupt, hostile) is the user's data,
    not a bug: it is reported as a :class:`CommandLineError` naming it.
    """
    try:
        return _load_data(args)
    except (ValueError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CommandLineError(
            f"cannot read the {args.dataset} data: "
            f"{str(err).splitlines()[0] if str(err) else err!r}"
        ) from err


def _load_data(args):
    from tqdm.auto import tqdm

    from . import datasets as ds_module
    from .datasets import get_info
    from .paradigms import MultimodalEmotion

    name = _dataset_name(args.dataset)
    if name == "synthetic":
        from .datasets import make_synthetic_emotion

        length = args.sequence_length or PAPER_SEQUENCE_LENGTH
        n_subjects = 2 if args.quick else 3
        X, y, meta = make_synthetic_emotion(
            n_subjects=n_subjects,
            n_sessions=1 if args.quick else 3,
            n_windows=(10, 14) if args.quick else (20, 40),
            sequence_length=length,
            seed=args.data_seed,
        )
        if args.subjects:
            keep = meta["subject"].isin(args.subjects).to_numpy()
            X, y, meta = X[keep], y[keep], meta[keep].reset_index(drop=True)
        return X, y, meta, "SEED-IV", get_info("SEED-IV")
    if args.data_path is None:
        raise CommandLineError(f"--data-path is required for dataset {args.dataset!r}")
    path = Path(args.data_path).expanduser()
    if not path.is_dir():
        raise CommandLineError(f"data path {str(path)!r} does not exist or is not a folder")
    dataset = getattr(ds_module, DATASETS[name])(path=path)
    reader = MultimodalEmotion()
    length = args.sequence_length
    subjects = args.subjects or dataset.subject_list
    limit = 2 if args.quick and not args.subjects else None
    parts, missing = [], []
    for subject in tqdm(
        subjects, desc=f"loading {dataset.code}", unit="subject", disable=args.no_progress
    ):
        if limit is not None and len(parts) >= limit:
            break
        try:
            trials = reader.get_trials(dataset, [subject])
        except FileNotFoundError:
            if args.subjects:
                raise
            missing.append(subject)
            continue
        if length is None:  # the paper's 10 windows, or the shortest trial of the data
            length = min(PAPER_SEQUENCE_LENGTH, min(t.n_windows for t in trials))
            if length < PAPER_SEQUENCE_LENGTH:
                print(
                    f"note: trials of {dataset.code} have as few as {length} windows; "
                    f"samples of {length} windows (the paper uses "
                    f"{PAPER_SEQUENCE_LENGTH}; set --sequence-length)"
                )
        paradigm = MultimodalEmotion(sequence_length=length)
        parts.append(paradigm.trials_to_samples(trials, where=dataset.code))
    if not parts:
        raise CommandLineError(
            f"no subject of {dataset.code} was found under {str(path)!r}; expected the "
            f"layout of the official distribution"
        )
    if missing:
        print(f"{dataset.code}: {len(parts)} subject(s) used, {len(missing)} absent (skipped)")
    X, y, meta = _concat(parts)
    return X, y, meta, dataset.code, get_info(dataset)


def _m2s_plots(args, X, y, meta, code, info, out):
    """Fit M2S once (eeg2eeg, first split) for the attention topomap and loss curves."""
    from .evaluation import ProtocolSplitter, apply_setting
    from .evaluation.pipelines import make_m2s
    from .viz import plot_loss_curves, plot_spatial_attention, spatial_attention

    m2s = make_m2s(max_epochs=args.epochs, random_state=args.seeds[0], **_m2s_kwargs(args))
    fold = ProtocolSplitter(meta, args.protocol, dataset=code).folds()[0]
    net = apply_setting(m2s, "eeg2eeg", keys=list(X.keys()))
    train = {k: X[k][fold["train"]] for k in X.keys()}
    from skorch.helper import SliceDict

    net.fit(SliceDict(**train), y[fold["train"]])
    written = []
    inner = getattr(net, "estimator_", net)
    if hasattr(inner, "history"):
        plot_loss_curves(
            inner.history,
            out / "loss_curves.png",
            pretrain_history=getattr(inner, "pretrain_history_", None),
        )
        written.append(out / "loss_curves.png")
    weights = spatial_attention(inner, {k: X[k][fold["test"]] for k in X.keys()})
    if weights is None or len(weights) != len(info["ch_names"]):
        print(
            "plots: STS attention topomap skipped (the model exposes no spatial "
            "attention over the dataset's channels)"
        )
    else:
        plot_spatial_attention(weights, info, out / "sts_attention_topomap.png")
        written.append(out / "sts_attention_topomap.png")
    return written


def _pipelines(args, X, y, info, include):
    """M2S and the baselines for these data (notes for those left out)."""
    import numpy as np

    from .evaluation.pipelines import UnknownPipelineError, paper_pipelines

    n_chans = X["x"].shape[1] if "x" in X.keys() else None
    with warnings.catch_warnings(record=True) as caught, _user_error(UnknownPipelineError):
        warnings.simplefilter("always")
        pipelines, settings = paper_pipelines(
            max_epochs=args.epochs,
            include=include,
            m2s_kwargs=_m2s_kwargs(args),
            n_chans=n_chans,
            n_outputs=len(np.unique(y)),
            chs_info=info["chs"] if n_chans == len(info["ch_names"]) else None,
            eeg_ndim=X["x"].ndim if "x" in X.keys() else 4,
            # "CLIP only" is the M2S ablation: same model sizes and batches as M2S
            baseline_kwargs={
                "clip_only": {"batch_size": 32, "pretrain_batch_size": 32, **_m2s_kwargs(args)}
            },
            second_modality=next((k for k in X.keys() if k != "x"), "eye"),
        )
    for w in caught:
        if "skipped" in str(w.message):
            print(f"note: {str(w.message).splitlines()[0]}")
    return pipelines, settings


def _check_outputs(args):
    """The output folder and the task store are usable folders (before any work)."""
    from .evaluation.store import check_writable_dir

    try:
        check_writable_dir(args.out, "output folder (--out)")
        check_writable_dir(_store_dir(args), "store folder (--store)")
    except OSError as err:
        raise CommandLineError(str(err)) from None


def _store_dir(args):
    return Path(args.store) if args.store else Path(args.out) / "store"


def _backend_options(args):
    """Keyword arguments of the chosen backend, from the command line."""
    gpus = args.gpus_per_task
    if args.backend == "local":
        return {}
    if args.backend == "dask":
        return dict(address=args.address, resources={"GPU": gpus} if gpus else None)
    if args.backend == "ray":
        return dict(
            address=args.address, num_gpus=gpus or 0, cpus_per_task=args.cpus_per_task or 1
        )
    options = dict(
        cluster=args.slurm_cluster,
        timeout_min=args.slurm_time,
        slurm_partition=args.slurm_partition,
        cpus_per_task=args.cpus_per_task,
        gpus_per_node=int(gpus) if gpus else None,
        slurm_array_parallelism=args.slurm_array_parallelism,
        poll_interval=1.0 if args.slurm_cluster in ("local", "debug") else 10.0,
    )
    return {k: v for k, v in options.items() if v is not None}


def _set_nested(pipelines, name, value):
    """``name`` on every estimator (and nested net) that has that parameter."""
    for est in pipelines.values():
        keys = [k for k in est.get_params(deep=True) if k == name or k.endswith(f"__{name}")]
        if keys:
            est.set_params(**{k: value for k in keys})


def _set_device(pipelines, device):
    """``device`` on every estimator (and nested net) that has that parameter."""
    _set_nested(pipelines, "device", device)


def run_and_report(args, data, pipelines, settings, reference=None):
    """Run the grid through :func:`braindecode_m2s.evaluation.runs.run_and_report`.

    Returns the exit code: 0 when every task is done and every output
    written, 1 when tasks failed or the run stopped on an error (a full
    disk), with one line on stderr.
    """
    from .evaluation.runs import run_and_report as run

    X, y, meta, code, info = data
    if args.device is not None:
        _set_device(pipelines, args.device)
    _set_nested(pipelines, "mixed_precision", args.mixed_precision)
    plots = "M2S" in pipelines and not args.no_m2s_plots
    report = run(
        pipelines,
        X,
        y,
        meta,
        args.out,
        protocol=args.protocol,
        dataset=code,
        settings=settings,
        seeds=args.seeds,
        store=_store_dir(args),
        reference=reference,
        backend=args.backend,
        n_jobs=args.n_jobs,
        progress=not args.no_progress,
        status_only=args.status,
        extra_outputs=(lambda out: _m2s_plots(args, X, y, meta, code, info, out))
        if plots
        else None,
        **_backend_options(args),
    )
    if report.error:
        print(f"m2s: error: {report.error}", file=sys.stderr)
    return report.exit_code


def _m2s_kwargs(args):
    """Small M2S sizes for --quick runs (the reference sizes otherwise), on --device."""
    from .evaluation.pipelines import SMALL_M2S

    return {
        **(SMALL_M2S if args.quick else {}),
        "device": args.device,
        "mixed_precision": args.mixed_precision,
    }


def _reproduce(args):
    _check_outputs(args)
    data = load_data(args)
    pipelines, settings = _pipelines(args, data[0], data[1], data[4], args.pipelines)
    return run_and_report(args, data, pipelines, settings, reference="M2S")


def _evaluate(args):
    from .evaluation import parse_setting

    for s in args.settings or []:
        parse_setting(s)
    _check_outputs(args)
    data = load_data(args)
    pipelines, settings = _pipelines(args, data[0], data[1], data[4], args.pipelines)
    if args.pipelines is None:  # the classic feature baselines by default
        keep = [n for n in ("de_svm", "de_logreg", "DE+SVM", "DE+LR") if n in pipelines]
        pipelines = {n: pipelines[n] for n in keep}
        settings = {n: settings[n] for n in keep}
    if args.settings:
        settings = {name: args.settings for name in pipelines}
    return run_and_report(args, data, pipelines, settings, reference=args.reference)


def train_test_indices(meta, code, fold_index, protocol="within-session"):
    """Training and test sample indices of one fold of the dataset's protocol.

    ``m2s train`` fits on the training trials of fold ``fold_index`` (in the
    order of :meth:`ProtocolSplitter.folds`) and scores on its test trials only;
    the two never share a sample (the splitter refuses a leaky split).
    """
    from .evaluation import ProtocolSplitter

    folds = ProtocolSplitter(meta, protocol, dataset=code).folds()
    if not 0 <= fold_index < len(folds):
        raise CommandLineError(
            f"--fold {fold_index} does not exist; the {code} protocol "
            f"has folds 0 to {len(folds) - 1} on these data"
        )
    fold = folds[fold_index]
    return fold, fold["train"], fold["test"]


def _train(args):
    import pickle

    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score
    from skorch.helper import SliceDict

    from .evaluation import apply_setting
    from .evaluation.pipelines import make_m2s
    from .viz import plot_loss_curves

    X, y, meta, code, _ = load_data(args)
    _check_setting(args.mode, list(X.keys()))
    m2s = make_m2s(max_epochs=args.epochs, random_state=args.seeds[0], **_m2s_kwargs(args))
    fold, train, test = train_test_indices(meta, code, args.fold)
    net = apply_setting(m2s, args.mode, keys=list(X.keys()))
    start = time.perf_counter()
    net.fit(SliceDict(**{k: X[k][train] for k in X.keys()}), y[train])
    y_pred = np.asarray(net.predict(SliceDict(**{k: X[k][test] for k in X.keys()})))
    bacc = balanced_accuracy_score(y[test], y_pred)
    kappa = cohen_kappa_score(y[test], y_pred)
    print(
        f"M2S {args.mode} on {code}, subject {fold['subject']} session {fold['session']} "
        f"fold {fold['fold']}: test balanced accuracy {100 * bacc:.1f} %, kappa "
        f"{100 * kappa:.1f} ({len(train)} training / {len(test)} test samples, disjoint "
        f"trials; {time.perf_counter() - start:.0f} s)"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        pickle.dump(net, f)
    curves = out.with_suffix(".loss.png")
    inner = getattr(net, "estimator_", net)
    plot_loss_curves(
        inner.history, curves, pretrain_history=getattr(inner, "pretrain_history_", None)
    )
    print(f"model written to {out}; loss curves to {curves}")
    return 0


def _check_setting(text, keys=None):
    """A modality setting name, checked (against the data's modalities when given)."""
    from .evaluation import parse_setting

    try:
        setting = parse_setting(text)
        if keys is not None:
            setting.resolve(keys)
    except ValueError as err:
        raise CommandLineError(f"--mode {text!r}: {err}") from None
    return setting


_QUICK_HELP = (
    "a smoke run: at most 2 subjects (small synthetic data with "
    "--dataset synthetic) and at most 2 epochs"
)


def _add_data_options(p, quick_help):
    p.add_argument("--dataset", required=True, help=f"dataset: {', '.join(DATASETS)}")
    p.add_argument(
        "--data-path", help="root folder of the official distribution (not needed for synthetic)"
    )
    p.add_argument(
        "--subjects",
        type=_positive_int,
        nargs="+",
        help="subjects to use (default: every subject found)",
    )
    p.add_argument(
        "--sequence-length",
        type=_positive_int,
        default=None,
        help="feature windows per sample (default 5 as in the authors' code, or the "
        "shortest trial's window count when trials are shorter)",
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        default=20,
        help="training epochs of the neural models (default 20)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="model seeds (default 0)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the synthetic data")
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.add_argument(
        "--device",
        default="cpu",
        help="torch device of the neural models, e.g. cuda (default cpu)",
    )
    _add_precision_option(p)


def _add_precision_option(p):
    p.add_argument(
        "--mixed-precision",
        choices=["no", "bf16"],
        default="no",
        help="bf16: the neural models' forward passes under bfloat16 autocast (default no)",
    )


def _add_eval_options(p, default_out):
    p.add_argument(
        "--protocol",
        default="within-session",
        choices=["within-session", "cross-session", "loso"],
        help="evaluation protocol (default: the dataset's standard within-session split)",
    )
    p.add_argument(
        "--pipelines",
        type=_csv_list,
        help="comma-separated pipeline names: M2S, DE+SVM, DE+LR and the "
        "baselines of braindecode_m2s.baselines (reproduce: all available; "
        "evaluate: the DE + SVM / logistic-regression baselines)",
    )
    p.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        help="parallel fits through joblib, or workers of a local Dask cluster (default 1)",
    )
    p.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    _add_cluster_options(p)
    p.add_argument(
        "--no-m2s-plots",
        action="store_true",
        help="skip the extra M2S fit for the attention and loss plots",
    )


def _add_cluster_options(p):
    """Task store, resume and backends of ``evaluate`` / ``reproduce`` (docs/cluster.md)."""
    from .evaluation.backends import BACKENDS

    p.add_argument(
        "--store",
        help="folder of the task store: one result file per task, "
        "reused by a rerun (default OUT/store)",
    )
    p.add_argument(
        "--status",
        action="store_true",
        help="print how many tasks are done, pending and failed; run nothing",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="where the tasks run: local (joblib, --n-jobs), dask, ray, or slurm "
        "(submitit) (default local)",
    )
    p.add_argument(
        "--address", help="Dask scheduler or Ray cluster address (default: a local cluster)"
    )
    p.add_argument(
        "--gpus-per-task",
        type=float,
        help="GPUs each task reserves: Dask resource GPU, Ray num_gpus, SLURM --gres=gpu:N",
    )
    p.add_argument(
        "--cpus-per-task", type=_positive_int, help="CPUs each task reserves (Ray, SLURM)"
    )
    p.add_argument("--slurm-partition", help="SLURM partition")
    p.add_argument(
        "--slurm-time", type=_positive_int, help="SLURM time limit of each task, in minutes"
    )
    p.add_argument(
        "--slurm-array-parallelism",
        type=_positive_int,
        help="at most this many SLURM jobs of an array at once",
    )
    p.add_argument(
        "--slurm-cluster",
        choices=["slurm", "local", "debug"],
        help="submitit executor (default: slurm when sbatch is found, else local processes)",
    )


def build_parser():
    """The ``m2s`` argument parser."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="m2s",
        description="braindecode-m2s: Multi-to-Single multimodal emotion recognition.",
    )
    parser.add_argument("--version", action="version", version=f"m2s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
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
    demo.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="model seeds (default 0; several give mean ± std over seeds too)",
    )
    demo.add_argument(
        "--scenario",
        choices=["redundant", "complementary"],
        default="redundant",
        help="synthetic scenario (default redundant: every modality carries "
        "the whole emotional state)",
    )
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
    _add_precision_option(demo)
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(func=_demo)

    train = sub.add_parser("train", help="train M2S in one mode and save it")
    _add_data_options(train, _QUICK_HELP)
    train.add_argument(
        "--mode",
        default="eeg2eeg",
        help="modality setting: eeg2eeg, eye2eye, eeg2eye, eye2eeg, multimodal (default eeg2eeg)",
    )
    train.add_argument(
        "--fold",
        type=int,
        default=0,
        help="protocol fold to train on and score (default 0: the first "
        "subject-session's standard split)",
    )
    train.add_argument(
        "--out",
        default="m2s_model.pkl",
        help="where to pickle the fitted model (default m2s_model.pkl)",
    )
    train.set_defaults(func=_train)

    evaluate = sub.add_parser(
        "evaluate", help="evaluate chosen pipelines and modality settings on a dataset"
    )
    _add_data_options(evaluate, _QUICK_HELP)
    _add_eval_options(evaluate, "m2s_evaluation")
    evaluate.add_argument(
        "--settings",
        type=_csv_list,
        help="comma-separated modality settings, e.g. "
        "multimodal,eeg2eeg,eeg2eye (default: per pipeline)",
    )
    evaluate.add_argument(
        "--reference", default="M2S", help="pipeline the paired tests compare against the others"
    )
    evaluate.set_defaults(func=_evaluate)

    reproduce = sub.add_parser(
        "reproduce",
        help="the paper's comparison: M2S in its four modes and every baseline, "
        "with tables, statistics and plots",
    )
    _add_data_options(reproduce, _QUICK_HELP)
    _add_eval_options(reproduce, "m2s_reproduce")
    reproduce.set_defaults(func=_reproduce)
    return parser


def _quiet():
    """No upstream FutureWarnings / DeprecationWarnings; one-line warnings."""
    import logging

    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)

    def _one_line(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {str(message).splitlines()[0]}", file=file or sys.stderr)

    warnings.showwarning = _one_line
    logging.getLogger("moabb").setLevel(logging.ERROR)
    import mne

    mne.set_log_level("ERROR")


def main(argv=None):
    """Entry point of the ``m2s`` console script."""
    with warnings.catch_warnings():  # the quiet filters end with the command
        return _main(argv)


def _main(argv):
    _quiet()
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        _check_unknown_options(parser, argv)
    except CommandLineError as err:
        parser.exit(2, f"m2s: error: {err}\n")
    args = parser.parse_args(argv)
    if args.command != "demo" and args.quick:
        args.epochs = min(args.epochs, 2)
    try:
        if getattr(args, "dataset", None) is not None:
            _check_data_args(args)
        if args.command == "train":
            _check_setting(args.mode)
        if args.command == "evaluate":
            for setting in args.settings or []:
                _check_setting(setting)
        return args.func(args)
    except (CommandLineError, FileNotFoundError) as err:
        # errors in what the user typed or pointed at; anything else is a bug
        # and keeps its traceback
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"m2s: error: {first}", file=sys.stderr)
        return 2


def _check_unknown_options(parser, argv):
    """Name an unknown option first (argparse reports missing ones before it)."""
    import difflib

    sub = next(
        (
            a
            for a in parser._subparsers._group_actions
            if isinstance(a, argparse._SubParsersAction)
        ),
        None,
    )
    command = next((t for t in argv if not t.startswith("-")), None)
    if sub is None or command not in sub.choices:
        return
    known = [o for action in sub.choices[command]._actions for o in action.option_strings]
    for token in argv:
        if not token.startswith("--"):
            continue
        name = token.split("=", 1)[0]
        if name in known or sum(o.startswith(name) for o in known) == 1:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise CommandLineError(f"m2s {command}: unknown option {name}{hint}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
