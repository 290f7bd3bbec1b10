"""Command line: ``m2s demo`` (also ``python -m braindecode_m2s demo``)."""

from __future__ import annotations

import argparse
import sys
import time
import warnings

__all__ = ["main"]


def _demo(args):
    from .demo import format_table, run_demo, summarize

    start = time.perf_counter()
    data_kwargs = dict(n_subjects=1, n_sessions=1) if args.quick else None
    table = run_demo(
        seeds=args.seeds, scenario=args.scenario, pretrain_epochs=args.pretrain_epochs,
        max_epochs=args.epochs, data_kwargs=data_kwargs, progress=not args.no_progress,
    )
    print(format_table(table))
    print(f"total time: {time.perf_counter() - start:.0f} s")
    if args.csv:
        shown = table.copy()
        shown["balanced_accuracy"] *= 100
        shown["kappa"] *= 100
        shown.rename(columns={"balanced_accuracy": "balanced_accuracy_pct",
                              "kappa": "kappa_x100"}).to_csv(args.csv, index=False)
        print(f"per-seed scores (%) written to {args.csv}")
    return 0


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser():
    """The ``m2s`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="m2s",
        description="braindecode-m2s: Multi-to-Single multimodal emotion recognition.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="train unimodal, fusion and M2S (four modes) on the built-in synthetic "
        "EEG + eye-movement data and print the paper's table",
        description="Train unimodal EEG, unimodal eye, fusion and M2S (pretrained on EEG + "
        "eye, classified in the modes eeg->eeg, eye->eye, eeg->eye, eye->eeg, both->both) "
        "on the synthetic data with the SEED-IV split; print balanced accuracy and kappa, "
        "mean ± std over seeds.",
    )
    demo.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                      help="data and model seeds (default 0 1 2)")
    demo.add_argument("--scenario", choices=["redundant", "complementary"],
                      default="redundant",
                      help="synthetic scenario (default redundant: every modality carries "
                      "the whole emotional state)")
    demo.add_argument("--epochs", type=_positive_int, default=30,
                      help="training epochs of every classifier (default 30)")
    demo.add_argument("--pretrain-epochs", type=_positive_int, default=20,
                      help="M2S self-supervised pretraining epochs (default 20)")
    demo.add_argument("--quick", action="store_true",
                      help="one subject and one session only (a smoke run)")
    demo.add_argument("--csv", help="also write the table to this CSV file")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Entry point of the ``m2s`` console script."""
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", message="Montage name 'standard_1020' is deprecated")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
