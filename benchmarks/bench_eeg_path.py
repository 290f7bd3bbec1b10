"""Why M2S's EEG path lags: which choices move eeg->eeg, at the authors' sizes.

For every seed, on the redundant synthetic scenario (one subject, three sessions, the
SEED-IV split: trials 0-15 of each session train, 16-23 test; no model selection), this
trains the references and three stage-1 variants of M2S at the authors' sizes (4 STS
layers, embeddings 128 / 32, 5-window sequences), then reads each pretraining out in
several ways:

references (no stage 1)
    ``unimodal EEG`` / ``unimodal eye``: the same M2S encoder trained end to end on one
    modality (the target's baseline); ``LR EEG`` / ``LR eye``: logistic regression on
    the window-mean features.
stage-1 variants
    ``AdamW 1e-3``: the estimators' defaults (AdamW, lr 1e-3, batch 128, in-model
    running standardiser); ``reference optimiser``: the authors' ``pretrain.py``
    (Adam, lr 1e-4, weight decay 1e-4, cosine annealing per step, batch 256 here: the
    one-subject training set has 262-274 samples, fewer than their 512); ``session
    scaler``: the authors' input scaling (a scaler fitted on the training part of each
    subject-session, applied to its test part) instead of the in-model standardiser;
    ``reference preset``: :func:`braindecode_m2s.reference_pretraining` (the optimiser
    variant with batches of 512 and the cosine stepped per epoch); ``preset, no CLUB``
    and ``preset, no reconstruction``: the preset with one stage-1 term off. With
    ``--pretrain-epochs`` other than 20, the variants' names end in ``, N epochs``.
    ``preset, no STS output projection``: the preset with the STS layers' per-head value
    maps trained directly rather than as products of the value and output projections
    (:func:`without_output_projection`). ``recipe, one call`` (only when named in
    ``--variants``):
    :func:`braindecode_m2s.eeg_path_recipe`'s eeg->eeg mode as a user runs it, one
    ``M2SClassifier`` fit with its own stage 1 of ``--pretrain-epochs`` epochs.
readouts of each pretraining
    the four modes with ``M2SClassifier``'s frozen-encoder MLP head; ``eeg->eeg
    linear probe`` (logistic regression on the frozen EEG embeddings); and, for
    ``AdamW 1e-3``, ``eeg->eeg fine-tune`` (``freeze_encoders=False``), for
    ``reference preset`` the same at lr 1e-4 (``eeg->eeg fine-tune lr 1e-4``).

Prints balanced accuracy, mean ± std over seeds, and paired differences (95 %
t-intervals) against ``unimodal EEG`` and against the default eeg->eeg.

Usage::

    python benchmarks/bench_eeg_path.py [--seeds 0 1 2 3 4] [--pretrain-epochs 20]
        [--epochs 30] [--variants ...] [--no-references] [--out PREFIX] [--device cpu]
        [--mixed-precision no] [--from-csv RUNS.csv ...] [--against VARIANT]
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings

import numpy as np
import pandas as pd
import torch
from bench_fidelity import paired
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import LRScheduler
from skorch.helper import SliceDict

from braindecode_m2s import (
    M2S,
    M2MCPCPretrainer,
    M2SClassifier,
    eeg_path_recipe,
    make_synthetic_emotion,
    reference_pretraining,
)
from braindecode_m2s.baselines import de_logreg
from braindecode_m2s.evaluation.protocols import split_by_trial
from braindecode_m2s.modules import STSAttention

warnings.filterwarnings("ignore")
NO_SSL = dict(clip_weight=0.0, cpc_weight=0.0, recon_weight=0.0, club_weight=0.0)
ONE_CALL = "recipe, one call"
NO_OUT_PROJ = "preset, no STS output projection"
VARIANTS = (
    "AdamW 1e-3",
    "reference optimiser",
    "session scaler",
    "reference preset",
    "preset, no CLUB",
    "preset, no reconstruction",
    NO_OUT_PROJ,
    ONE_CALL,
)
MODES = (
    ("eeg->eeg", ["x"], ["x"]),
    ("eye->eye", ["eye"], ["eye"]),
    ("eeg->eye", ["x"], ["eye"]),
    ("eye->eeg", ["eye"], ["x"]),
)


@contextlib.contextmanager
def without_output_projection():
    """STS attention without its output projection, while the block runs.

    Every :class:`STSAttention` built inside the block gets a parameter
    ``value_map`` ``(n_heads, embed_dim, embed_dim)``, initialised to its per-head
    product :math:`W_V^h W_O^h`, and the attention uses it as :math:`B_h` in place of
    that product (``STSAttention._factorized``): the same function class and the same
    initial function, but the per-head value maps are trained directly instead of
    through the value and output projections (whose weights then get no gradient).
    """
    init, factorized = STSAttention.__init__, STSAttention._factorized

    def patched_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if self.factorized:
            with torch.no_grad():
                _, b = factorized(self)
            self.value_map = torch.nn.Parameter(b.detach().clone())

    def patched_factorized(self):
        a, b = factorized(self)
        return (a, self.value_map) if hasattr(self, "value_map") else (a, b)

    STSAttention.__init__, STSAttention._factorized = patched_init, patched_factorized
    try:
        yield
    finally:
        STSAttention.__init__, STSAttention._factorized = init, factorized


def session_scaled(X, metadata, train):
    """The authors' scaling: per subject-session, a scaler fitted on its training part
    (per feature, over samples and windows) transforms the whole subject-session."""
    out = {k: np.array(v, dtype=np.float32, copy=True) for k, v in X.items()}
    keys = metadata[["subject", "session"]].astype(str).agg("-".join, axis=1).to_numpy()
    for key in np.unique(keys):
        rows, fit_rows = keys == key, (keys == key) & train
        for value in out.values():
            ref = value[fit_rows]  # x: (n, C, T, B), eye: (n, F, T): windows on axis 2
            mean = ref.mean(axis=(0, 2), keepdims=True)
            std = ref.std(axis=(0, 2), keepdims=True) + 1e-6
            value[rows] = (value[rows] - mean) / std
    return SliceDict(**out)


def preset_options(epochs):
    """:func:`reference_pretraining` as :class:`M2MCPCPretrainer` parameters."""
    preset = reference_pretraining(epochs)
    options = {
        key.removeprefix("pretrainer__"): value
        for key, value in preset.items()
        if key.startswith("pretrainer__")
    }
    return {**options, "lr": preset["pretrain_lr"], "batch_size": preset["pretrain_batch_size"]}


def run_seed(
    seed, pretrain_epochs, epochs, device, mixed_precision, chosen=VARIANTS, references=True
):
    X, y, metadata = make_synthetic_emotion(seed=seed, n_subjects=1, scenario="redundant")
    train, test = split_by_trial(metadata, "SEED-IV")
    is_train = np.zeros(len(y), dtype=bool)
    is_train[train] = True
    n_eye = X["eye"].shape[1]
    fit = dict(
        max_epochs=epochs,
        lr=1e-3,
        batch_size=64,
        random_state=seed,
        verbose=0,
        device=device,
        mixed_precision=mixed_precision,
    )
    rows = []

    def score(model, y_pred, start):
        balanced = balanced_accuracy_score(y[test], y_pred)
        rows.append(
            dict(seed=seed, model=model, balanced_accuracy=balanced, seconds=time.time() - start)
        )

    if references:
        for label, modalities, keys in (
            ("unimodal EEG", {}, ["x"]),
            ("unimodal eye", {"eye": n_eye}, ["eye"]),
        ):
            start = time.time()
            clf = M2SClassifier(
                M2S(n_chans=62, n_outputs=4, modalities=modalities, **NO_SSL),
                pretrain_epochs=0,
                freeze_encoders=False,
                train_modalities=keys,
                test_modalities=keys,
                **fit,
            ).fit(X[train], y[train])
            score(label, clf.predict(X[test]), start)
        for key, label in (("x", "LR EEG"), ("eye", "LR eye")):
            start = time.time()
            linear = de_logreg(key, random_state=seed).fit(X[train], y[train])
            score(label, linear.predict(X[test]), start)

    # a longer (or shorter) stage 1 than the default is part of the variant's name
    suffix = "" if pretrain_epochs == 20 else f", {pretrain_epochs} epochs"
    if ONE_CALL in chosen:
        # the preset as a user calls it: one M2SClassifier, its own stage 1, eeg->eeg
        start = time.time()
        clf = M2SClassifier(
            M2S(n_chans=62, n_outputs=4, modalities={"eye": n_eye}),
            **eeg_path_recipe(["x"], ["x"], pretrain_epochs=pretrain_epochs),
            random_state=seed,
            verbose=0,
            device=device,
            mixed_precision=mixed_precision,
        ).fit(X[train], y[train])
        score(f"{ONE_CALL}{suffix} | eeg->eeg (fine-tuned)", clf.predict(X[test]), start)

    steps = int(np.ceil(len(train) / 256))
    variants = {
        "AdamW 1e-3": (X, dict(lr=1e-3, batch_size=128), {}),
        "reference optimiser": (
            X,
            dict(
                optimizer=torch.optim.Adam,
                lr=1e-4,
                optimizer__weight_decay=1e-4,
                batch_size=256,
                callbacks=[
                    LRScheduler(
                        torch.optim.lr_scheduler.CosineAnnealingLR,
                        T_max=pretrain_epochs * steps,
                        step_every="batch",
                    )
                ],
            ),
            {},
        ),
        "session scaler": (
            session_scaled(X, metadata, is_train),
            dict(lr=1e-3),
            dict(standardize=False),
        ),
        "reference preset": (X, preset_options(pretrain_epochs), {}),
        # the stage-1 terms' weights are the pretrainer's (the module's weigh the
        # multitask objective of M2SClassifier with pretrain_epochs=0)
        "preset, no CLUB": (X, {**preset_options(pretrain_epochs), "club_weight": 0.0}, {}),
        "preset, no reconstruction": (
            X,
            {**preset_options(pretrain_epochs), "recon_weight": 0.0},
            {},
        ),
        NO_OUT_PROJ: (X, preset_options(pretrain_epochs), {}),
    }

    def readouts(name, variant, data, options, model_options):
        start = time.time()
        pretrainer = M2MCPCPretrainer(
            M2S(n_chans=62, n_outputs=4, modalities={"eye": n_eye}, **model_options),
            max_epochs=pretrain_epochs,
            random_state=seed,
            verbose=0,
            device=device,
            mixed_precision=mixed_precision,
            **options,
        ).fit(data[train])
        pretrained = time.time() - start
        print(f"  seed {seed} {variant}: stage 1 {pretrained:.0f} s", flush=True)
        for mode, train_keys, test_keys in MODES:
            start = time.time() - pretrained
            clf = pretrainer.to_classifier(
                train_modalities=train_keys, test_modalities=test_keys, **fit
            ).fit(data[train], y[train])
            score(f"{variant} | {mode}", clf.predict(data[test]), start)
        start = time.time() - pretrained
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        probe.fit(pretrainer.transform(SliceDict(x=data["x"][train])), y[train])
        embedded = pretrainer.transform(SliceDict(x=data["x"][test]))
        score(f"{variant} | eeg->eeg linear probe", probe.predict(embedded), start)
        # fine-tuning the encoders end to end (within-modality only: a cross-modal
        # readout needs the two encoders aligned, i.e. frozen), at the classifiers' lr
        # for the defaults and at the stage's own 1e-4 for the preset
        # (the preset's is eeg_path_recipe's eeg->eeg readout: lr 1e-4, --epochs epochs)
        recipe_lr = {"lr": eeg_path_recipe(["x"], ["x"])["lr"]}
        fine_tune = {
            "AdamW 1e-3": ("", {}),
            "reference preset": (" lr 1e-4", recipe_lr),
            NO_OUT_PROJ: (" lr 1e-4", recipe_lr),
        }
        if name in fine_tune:
            label, override = fine_tune[name]
            start = time.time() - pretrained
            clf = pretrainer.to_classifier(
                train_modalities=["x"],
                test_modalities=["x"],
                freeze_encoders=False,
                **{**fit, **override},
            ).fit(data[train], y[train])
            score(f"{variant} | eeg->eeg fine-tune{label}", clf.predict(data[test]), start)

    # each variant: (inputs, pretrainer parameters, M2S parameters)
    for name, (data, options, model_options) in variants.items():
        if name not in chosen:
            continue
        variant = name + suffix
        patch = without_output_projection() if name == NO_OUT_PROJ else contextlib.nullcontext()
        with patch:
            readouts(name, variant, data, options, model_options)
    return rows


def summary(results, against=None):
    """The table of every row, with paired differences against the unimodal EEG model,
    the default eeg->eeg and, with ``against`` (a stage-1 variant's name), against that
    variant's row of the same readout."""
    wide = results.pivot(index="seed", columns="model", values="balanced_accuracy")
    header = "| model | balanced accuracy (mean ± std) | - unimodal EEG | - default eeg->eeg |"
    rule = "|---|---:|---:|---:|"
    if against:
        header += f" - {against} (same readout) |"
        rule += "---:|"
    lines = [header, rule]
    for model in results["model"].unique():
        values = wide[model] * 100
        references = ["unimodal EEG", "AdamW 1e-3 | eeg->eeg"]
        if against:
            readout = model.split(" | ", 1)[1] if " | " in model else None
            references.append(f"{against} | {readout}" if readout else None)
        cells = []
        for reference in references:
            if model == reference or reference not in wide:
                cells.append("")
                continue
            mean, low, high = paired(wide[model], wide[reference])
            cells.append(f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]")
        lines.append(
            f"| {model} | {values.mean():.1f} ± {values.std(ddof=1):.1f} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def targets(results):
    """The EEG path's targets for every stage-1 variant: eeg->eeg against the unimodal EEG
    model and eye->eye against the unimodal eye model (paired, points, 95 % interval:
    the targets are a lower bound above -1 and a mean >= 0), and each cross-modal mode
    as a share of the within-modality mode of its test modality (target >= 80 %)."""
    wide = results.pivot(index="seed", columns="model", values="balanced_accuracy")
    if not {"unimodal EEG", "unimodal eye"} <= set(wide):
        return ""
    lines = [
        "| stage-1 variant | eeg->eeg - unimodal EEG | eye->eye - unimodal eye | "
        "eeg->eye / eye->eye | eye->eeg / eeg->eeg |",
        "|---|---:|---:|---:|---:|",
    ]
    variants = [m.removesuffix(" | eeg->eeg") for m in wide if m.endswith(" | eeg->eeg")]
    for variant in variants:
        cells = []
        for mode, reference in (("eeg->eeg", "unimodal EEG"), ("eye->eye", "unimodal eye")):
            mean, low, high = paired(wide[f"{variant} | {mode}"], wide[reference])
            cells.append(f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]")
        for cross, within in (("eeg->eye", "eye->eye"), ("eye->eeg", "eeg->eeg")):
            share = wide[f"{variant} | {cross}"].mean() / wide[f"{variant} | {within}"].mean()
            cells.append(f"{100 * share:.0f} %")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--mixed-precision", choices=["no", "bf16"], default="no")
    parser.add_argument("--out", help="write <out>_runs.csv (rewritten after every seed)")
    parser.add_argument("--from-csv", nargs="+", help="print the summary of saved runs")
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANTS,
        default=[v for v in VARIANTS if v != ONE_CALL],
    )
    parser.add_argument(
        "--no-references", action="store_true", help="skip the unimodal and LR references"
    )
    parser.add_argument(
        "--against",
        help="also pair every row with this stage-1 variant's row of the same readout",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.from_csv:
        results = pd.concat([pd.read_csv(f) for f in args.from_csv], ignore_index=True)
    else:
        rows = []
        for seed in args.seeds:
            start = time.time()
            rows += run_seed(
                seed,
                args.pretrain_epochs,
                args.epochs,
                args.device,
                args.mixed_precision,
                chosen=args.variants,
                references=not args.no_references,
            )
            print(f"seed {seed}: {time.time() - start:.0f} s", flush=True)
            if args.out:
                pd.DataFrame(rows).to_csv(f"{args.out}_runs.csv", index=False)
        results = pd.DataFrame(rows)
    print(
        f"\n# eeg->eeg diagnosis: redundant scenario, authors' sizes, up to "
        f"{results.seed.nunique()} seeds, balanced accuracy (%), paired differences in "
        f"points [95 % CI]\n"
    )
    print(summary(results, args.against))
    table = targets(results)
    if table:
        print("\n# The EEG path's targets per stage-1 variant (means over the seeds)\n")
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
