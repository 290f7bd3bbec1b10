"""Evidence for M2S's claims on the synthetic data (issue: M2S as its authors built it).

For every data seed and scenario, runs :func:`braindecode_m2s.evaluation.evaluate` with the
demo's pipelines (:func:`braindecode_m2s.demo.demo_pipelines`: the linear references LR EEG /
LR eye (logistic regression on each modality's window-mean features), unimodal EEG,
unimodal eye and fusion (the M2S encoders trained end to end), M2S pretrained on EEG + eye
then classified in the four modes and both->both; ``--prototypes`` adds its prototype mode,
nearest random class reference over 20 draws) on the demo's data
(:func:`braindecode_m2s.demo.demo_data`) with the SEED-IV protocol per subject and session;
fixed epochs, no model selection. With ``--ablation``, M2S again with each stage-1 term
switched off (weight 0). The data seed is also the model seed. Prints and writes:

- per model / mode: balanced accuracy and kappa (%), mean ± std over seeds (each seed's
  score the mean of its subject-sessions);
- paired differences over seeds with a 95 % t-interval:
  M2S eeg->eeg - unimodal EEG, M2S eye->eye - unimodal eye,
  M2S eeg->eeg - LR EEG, M2S eye->eye - LR eye (the distance to a linear model),
  M2S eeg->eye - M2S eye->eye, M2S eye->eeg - M2S eeg->eeg (and the ratios),
  each prototype mode - the same mode with a classifier,
  and every ablation - full M2S per mode.

Usage::

    python benchmarks/bench_fidelity.py --seeds 0 1 2 3 4 --scenarios redundant \\
        complementary --ablation --out docs/fidelity/demo [--device cuda] [--n-jobs 2]

``--from-csv`` rebuilds the tables from earlier ``<out>_runs.csv`` files, including those of
the earlier runner (one model per seed on the pooled sessions: ``docs/fidelity/runs.csv``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from braindecode_m2s.demo import PRESETS, demo_data, demo_pipelines
from braindecode_m2s.evaluation import evaluate, subject_scores

ABLATIONS = {
    "no CLIP": {"clip_weight": 0.0},
    "no CPC": {"cpc_weight": 0.0},
    "no reconstruction": {"recon_weight": 0.0},
    "no CLUB": {"club_weight": 0.0},
}
MODES = ["M2S eeg->eeg", "M2S eye->eye", "M2S eeg->eye", "M2S eye->eeg", "M2S both->both"]
#: evaluate's (pipeline, setting) -> this benchmark's model label
LABELS = {
    ("LR", "eeg2eeg"): "LR EEG",
    ("LR", "eye2eye"): "LR eye",
    ("unimodal", "eeg2eeg"): "unimodal EEG",
    ("unimodal", "eye2eye"): "unimodal eye",
    ("unimodal", "multimodal"): "fusion",
    **{
        (pipeline, setting): f"{name} {mode}"
        for pipeline, name in (("M2S", "M2S"), ("M2S-prototype", "M2S prototype"))
        for setting, mode in (
            ("eeg2eeg", "eeg->eeg"),
            ("eye2eye", "eye->eye"),
            ("eeg2eye", "eeg->eye"),
            ("eye2eeg", "eye->eeg"),
            ("multimodal", "both->both"),
        )
    },
}


def paired(a, b):
    """Mean paired difference a - b with its 95 % t-interval (in points)."""
    d = (np.asarray(a, dtype=float) - np.asarray(b, dtype=float)) * 100
    d = d[np.isfinite(d)]  # a seed that lacks one of the two rows does not pair
    if len(d) == 0:
        return np.nan, np.nan, np.nan
    mean = d.mean()
    if len(d) < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return mean, mean - half, mean + half


def per_seed(results, scenario):
    """One row per (variant, model, seed): evaluate's scores averaged over subject-sessions."""
    rows = []
    for score in ("balanced_accuracy", "kappa"):
        per = subject_scores(results, score)  # sessions of a subject averaged first
        per = per.groupby(["pipeline", "setting", "seed"], sort=False)["score"].mean()
        rows.append(per.rename(score))
    table = pd.concat(rows, axis=1).reset_index()
    variant = table["pipeline"].str.extract(r"^M2S \((.+)\)$")[0].fillna("full")
    base = table["pipeline"].where(variant == "full", "M2S")
    table["model"] = [LABELS[(b, s)] for b, s in zip(base, table["setting"])]
    table["variant"], table["scenario"] = variant, scenario
    return table[["scenario", "variant", "model", "seed", "balanced_accuracy", "kappa"]]


def run(
    seeds,
    scenarios,
    ablation,
    pretrain_epochs,
    max_epochs,
    partial=None,
    device="cpu",
    mixed_precision="no",
    n_jobs=2,
    prototypes=False,
    n_subjects=None,
    n_sessions=None,
):
    """All runs; with ``partial``, the rows so far are rewritten there after every seed."""
    preset = PRESETS["full"]
    sizes = dict(
        n_subjects=n_subjects or preset["n_subjects"],
        n_sessions=n_sessions or preset["n_sessions"],
    )
    options = dict(
        epochs=max_epochs,
        pretrain_epochs=pretrain_epochs,
        batch_size=preset["batch_size"],
        device=device,
        mixed_precision=mixed_precision,
    )
    pipelines, settings = demo_pipelines(fusion=True, prototype=prototypes, **options)
    if ablation:
        for name, weights in ABLATIONS.items():
            p, s = demo_pipelines(unimodal=False, linear=False, **options, **weights)
            pipelines[f"M2S ({name})"], settings[f"M2S ({name})"] = p["M2S"], s["M2S"]
    tables, folds = [], []
    for scenario in scenarios:
        for seed in seeds:
            start = time.perf_counter()
            X, y, meta = demo_data(scenario, data_seed=seed, **sizes)
            results = evaluate(
                pipelines,
                X,
                y,
                meta,
                dataset="SEED-IV",
                settings=settings,
                seeds=[seed],
                n_jobs=n_jobs,
            )
            folds.append(results.assign(scenario=scenario))
            tables.append(per_seed(results, scenario))
            print(f"{scenario} seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
            if partial:
                pd.concat(tables, ignore_index=True).to_csv(partial, index=False)
    runs = pd.concat(tables, ignore_index=True)
    runs.attrs["folds"] = pd.concat(folds, ignore_index=True)
    return runs


def score_table(results):
    full = results[results.variant == "full"]
    g = full.groupby(["scenario", "model"], sort=False)
    out = g.agg(
        bacc_mean=("balanced_accuracy", "mean"),
        bacc_std=("balanced_accuracy", "std"),
        kappa_mean=("kappa", "mean"),
        kappa_std=("kappa", "std"),
        n=("seed", "size"),
    )
    out = out * [100, 100, 100, 100, 1]
    if "draw_balanced_accuracy" in full.columns:
        # prototype mode: balanced accuracy of single draws, averaged (the reference's way)
        out["draw_bacc_mean"] = g["draw_balanced_accuracy"].mean() * 100
    return out.round(1).reset_index()


def comparison_table(results, metric="balanced_accuracy"):
    rows = []
    for scenario, res in results.groupby("scenario", sort=False):
        wide = res.pivot_table(index="seed", columns=["variant", "model"], values=metric)
        full = wide["full"]
        pairs = [
            ("M2S eeg->eeg - unimodal EEG", full["M2S eeg->eeg"], full["unimodal EEG"]),
            ("M2S eye->eye - unimodal eye", full["M2S eye->eye"], full["unimodal eye"]),
            ("M2S both->both - fusion", full["M2S both->both"], full["fusion"]),
            ("M2S eeg->eye - M2S eye->eye", full["M2S eeg->eye"], full["M2S eye->eye"]),
            ("M2S eye->eeg - M2S eeg->eeg", full["M2S eye->eeg"], full["M2S eeg->eeg"]),
        ]
        # rows of runs saved before the linear references / the prototype mode existed
        # are absent: those comparisons are left out for them
        optional = [
            ("M2S eeg->eeg - LR EEG", "M2S eeg->eeg", "LR EEG"),
            ("M2S eye->eye - LR eye", "M2S eye->eye", "LR eye"),
            ("unimodal EEG - LR EEG", "unimodal EEG", "LR EEG"),
            ("unimodal eye - LR eye", "unimodal eye", "LR eye"),
            *(
                (f"{proto} - {mode}", proto, mode)
                for proto, mode in (("M2S prototype " + m.split(" ", 1)[1], m) for m in MODES[:4])
            ),
        ]
        pairs += [
            (name, full[a], full[b])
            for name, a, b in optional
            if a in full.columns and b in full.columns
        ]
        for variant in ABLATIONS:
            if variant in wide.columns.get_level_values(0):
                for mode in MODES:
                    pairs.append((f"{variant} - full: {mode}", wide[variant][mode], full[mode]))
        for name, a, b in pairs:
            mean, low, high = paired(a, b)
            rows.append(
                dict(
                    scenario=scenario,
                    comparison=name,
                    diff=round(mean, 1),
                    ci_low=round(low, 1),
                    ci_high=round(high, 1),
                    n=int((a.notna() & b.notna()).sum()),
                )
            )
        for cross, within in (("M2S eeg->eye", "M2S eye->eye"), ("M2S eye->eeg", "M2S eeg->eeg")):
            ratio = full[cross].mean() / full[within].mean()
            rows.append(
                dict(
                    scenario=scenario,
                    comparison=f"{cross} / {within} (ratio)",
                    diff=round(ratio, 3),
                    ci_low=np.nan,
                    ci_high=np.nan,
                    n=len(full),
                )
            )
    return pd.DataFrame(rows)


def markdown(frame):
    """A DataFrame as a GitHub markdown table (no extra dependency)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = ["" if isinstance(v, float) and np.isnan(v) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--scenarios", nargs="+", default=["redundant", "complementary"])
    parser.add_argument("--ablation", action="store_true", help="also each term switched off")
    full = PRESETS["full"]
    parser.add_argument("--pretrain-epochs", type=int, default=full["pretrain_epochs"])
    parser.add_argument("--epochs", type=int, default=full["epochs"])
    parser.add_argument("--subjects", type=int, default=full["n_subjects"])
    parser.add_argument("--sessions", type=int, default=full["n_sessions"])
    parser.add_argument("--n-jobs", type=int, default=full["n_jobs"])
    parser.add_argument(
        "--prototypes", action="store_true", help="also the prototype mode (4 more stage 1s)"
    )
    parser.add_argument(
        "--out",
        help="write <out>_runs.csv (per seed), <out>_folds.csv (per subject-session), "
        "<out>_scores.csv, <out>_pairs.csv",
    )
    parser.add_argument(
        "--from-csv",
        nargs="+",
        metavar="RUNS_CSV",
        help="rebuild the tables from earlier <out>_runs.csv files",
    )
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--mixed-precision", choices=["no", "bf16"], default="no")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    if args.from_csv:
        results = pd.concat([pd.read_csv(f) for f in args.from_csv], ignore_index=True)
    else:
        results = run(
            args.seeds,
            args.scenarios,
            args.ablation,
            args.pretrain_epochs,
            args.epochs,
            partial=f"{args.out}_runs.csv" if args.out else None,
            device=args.device,
            mixed_precision=args.mixed_precision,
            n_jobs=args.n_jobs,
            prototypes=args.prototypes,
            n_subjects=args.subjects,
            n_sessions=args.sessions,
        )
    scores = score_table(results)
    pairs = comparison_table(results)
    pd.set_option("display.width", 200)
    if args.markdown:
        print(markdown(scores), end="\n\n")
        print(markdown(pairs))
    else:
        print(scores.to_string(index=False))
        print(pairs.to_string(index=False))
    if args.out:
        results.to_csv(f"{args.out}_runs.csv", index=False)
        if "folds" in results.attrs:
            results.attrs["folds"].to_csv(f"{args.out}_folds.csv", index=False)
        scores.to_csv(f"{args.out}_scores.csv", index=False)
        pairs.to_csv(f"{args.out}_pairs.csv", index=False)
    return results


if __name__ == "__main__":
    main()
