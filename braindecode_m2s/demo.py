"""The main job: M2S from one modality against the unimodal models, through :func:`evaluate`.

``m2s demo`` is :func:`~braindecode_m2s.evaluation.evaluate` on the built-in
synthetic data plus a report; it has no training loop of its own.

- **Data**: :func:`~braindecode_m2s.datasets.make_synthetic_emotion`, by
  default the ``"redundant"`` scenario (every modality carries the whole
  emotional state, so the single-modality claim of M2S is testable), 3
  subjects x 3 sessions x 24 trials of 20-40 windows, samples of 5
  consecutive windows with stride 1 (as the authors' code cuts them).
- **Protocol**: SEED-IV's, per subject and session (trials 0-15 train,
  16-23 test): nine folds; no model selection (fixed epochs: 3 of stage 1,
  3 of every classifier, each about 14 mini-batches of 32), so the test
  trials are never used for any choice.
- **Pipelines** (:func:`demo_pipelines`, all with the encoder sizes of
  :data:`DEMO_MODEL`):

  - *LR*: the linear reference of each modality, a logistic regression on
    its standardised window-mean features
    (:func:`~braindecode_m2s.baselines.de_logreg`; for EEG, the classic
    DE + LR), so the distance to a simple model is in the table;
  - *unimodal*: the M2S encoder of one modality and the classifier, trained
    end to end with cross-entropy on that modality alone (the model M2S
    must match from that modality);
  - *M2S*: stage 1 (self-supervised on EEG + eye, no labels; one task
    shared by the modes), then a classifier on the frozen encoders in the
    paper's modes: eeg->eeg, eye->eye (single-modality), eeg->eye,
    eye->eeg (cross-modal), and both->both.

- **Scores**: balanced accuracy and Cohen's kappa on the test trials, both
  in %, mean ± std over subjects and seeds (sessions averaged per subject
  first, as :func:`~braindecode_m2s.evaluation.summarize` does).

Every fit is one task of :func:`evaluate`, run single-threaded on one of two
workers. ``--quick`` is a smoke run: one subject, two sessions, 2 + 2
epochs, no unimodal models and no both->both, one worker. The multi-seed
evidence (several data seeds, both scenarios, the ablation of each stage-1
term) is ``benchmarks/bench_fidelity.py``, which runs these pipelines.
"""

from __future__ import annotations

import os

__all__ = [
    "DEMO_MODEL",
    "DEMO_OBJECTIVE",
    "PRESETS",
    "ROWS",
    "SCENARIOS",
    "CHANCE",
    "check_options",
    "demo_data",
    "demo_pipelines",
    "run_demo",
    "demo_table",
    "format_table",
    "in_percent",
    "PERCENT_COLUMNS",
]

#: Encoder sizes of the demo's M2S and unimodal models (``module__*``; the
#: reference's are embedding 128, 4 layers, 4 heads of 64, FFN 1024: these
#: are small enough for the whole table to train in under a minute on two
#: CPU cores).
DEMO_MODEL = dict(embed_dim=32, n_layers=1, n_heads=2, head_dim=16, ff_dim=64)
#: Stage-1 head sizes of the demo (``M2SObjective``; the reference's LSTM has 64).
DEMO_OBJECTIVE = dict(cpc_context_dim=32, cpc_layers=2, club_hidden=32)
#: The synthetic scenarios (:data:`braindecode_m2s.datasets.synthetic.SCENARIOS`).
SCENARIOS = ("redundant", "complementary")
#: Classes of the synthetic data; chance balanced accuracy is ``100 / CLASSES`` %.
CLASSES = 4
#: Chance balanced accuracy (%) of the demo's four classes (chance kappa is 0).
CHANCE = 100.0 / CLASSES

#: What ``m2s demo`` runs by default (``"full"``) and with ``--quick``: data
#: size, stage-2 and stage-1 epochs, mini-batch, whether the unimodal models
#: and the both->both mode are in, and the workers (tasks run single-threaded
#: each, so two workers use two cores).
PRESETS = {
    "full": dict(
        n_subjects=3,
        n_sessions=3,
        epochs=3,
        pretrain_epochs=3,
        batch_size=32,
        unimodal=True,
        both=True,
        n_jobs=2,
    ),
    "quick": dict(
        n_subjects=1,
        n_sessions=2,
        epochs=2,
        pretrain_epochs=2,
        batch_size=32,
        unimodal=False,
        both=False,
        n_jobs=1,
    ),
}

#: The table's rows: (pipeline, setting, model label, train -> test label).
ROWS = (
    ("LR", "eeg2eeg", "LR (window-mean features)", "eeg -> eeg"),
    ("LR", "eye2eye", "LR (window-mean features)", "eye -> eye"),
    ("unimodal", "eeg2eeg", "unimodal (end to end)", "eeg -> eeg"),
    ("unimodal", "eye2eye", "unimodal (end to end)", "eye -> eye"),
    ("unimodal", "multimodal", "fusion (end to end)", "both -> both"),
    ("M2S", "eeg2eeg", "M2S (single modality)", "eeg -> eeg"),
    ("M2S", "eye2eye", "M2S (single modality)", "eye -> eye"),
    ("M2S", "eeg2eye", "M2S (cross-modal)", "eeg -> eye"),
    ("M2S", "eye2eeg", "M2S (cross-modal)", "eye -> eeg"),
    ("M2S", "multimodal", "M2S (both modalities)", "both -> both"),
)


def check_options(
    seeds=(0,),
    scenario="redundant",
    quick=False,
    epochs=None,
    pretrain_epochs=None,
    n_jobs=None,
    data_seed=0,
    device="cpu",
    mixed_precision="no",
    **preset,
):
    """Check the demo's options before any work; fill the preset's defaults.

    The one list of the demo's options: :func:`run_demo` takes the same
    keyword arguments and checks them here.

    Parameters
    ----------
    seeds : sequence of int
        Model seeds (>= 0).
    scenario : {"redundant", "complementary"}
        Synthetic scenario.
    quick : bool
        The ``"quick"`` preset of :data:`PRESETS` instead of ``"full"``.
    epochs, pretrain_epochs, n_jobs : int | None
        Override the preset's (``None``: the preset's).
    data_seed : int
        Seed of the synthetic data (>= 0).
    device : str
        Torch device of the neural models (a CUDA device must exist).
    mixed_precision : {"no", "bf16"}
        Autocast of the neural models.
    **preset
        Any other key of :data:`PRESETS` (``n_subjects``, ``n_sessions``,
        ``batch_size``, ``unimodal``, ``both``), overriding the preset's.

    Returns
    -------
    dict
        The keyword arguments of :func:`run_demo`, complete (``quick``
        included).

    Raises
    ------
    ValueError
        One sentence naming the option, the value and what is expected.
    """
    from .utils.check import check_device, check_int, check_option

    unknown = sorted(set(preset) - set(PRESETS["full"]))
    if unknown:
        raise ValueError(
            f"the demo got the options {unknown}; expected keys of PRESETS "
            f"({sorted(PRESETS['full'])}) or the parameters of check_options."
        )
    preset = dict(PRESETS["quick" if quick else "full"], **preset)
    seeds = list(seeds)
    if not seeds:
        raise ValueError("`seeds` is empty; expected at least one seed.")
    for seed in seeds:
        check_int("seeds", seed, 0)
    check_option("scenario", scenario, SCENARIOS)
    for name, value in (("epochs", epochs), ("pretrain_epochs", pretrain_epochs)):
        if value is not None:
            preset[name] = check_int(name, value, 1)
    if n_jobs is not None:
        preset["n_jobs"] = check_int("n_jobs", n_jobs, 1)
    preset["n_jobs"] = min(preset["n_jobs"], os.cpu_count() or 1)
    check_option("mixed_precision", mixed_precision, ("no", "bf16"))
    return dict(
        preset,
        seeds=seeds,
        scenario=scenario,
        data_seed=check_int("data_seed", data_seed, 0),
        device=check_device(device),
        mixed_precision=mixed_precision,
        quick=bool(quick),
    )


def demo_data(scenario="redundant", n_subjects=3, n_sessions=3, data_seed=0, **kwargs):
    """The demo's synthetic EEG + eye data.

    Parameters
    ----------
    scenario : {"redundant", "complementary"}
        See :func:`~braindecode_m2s.datasets.make_synthetic_emotion`.
    n_subjects, n_sessions : int
        Subjects and sessions (24 trials each).
    data_seed : int
        Seed of the data.
    **kwargs
        More :func:`~braindecode_m2s.datasets.make_synthetic_emotion` arguments.

    Returns
    -------
    X : SliceDict
        ``x`` (EEG DE, ``(n, 62, 5, 5)``) and ``eye`` (``(n, 31, 5)``).
    y : numpy.ndarray
        Labels 0-3.
    metadata : pandas.DataFrame
        ``subject``, ``session``, ``trial``.
    """
    from .datasets.synthetic import make_synthetic_emotion

    options = dict(sequence_length=5, stride=1, n_classes=CLASSES)
    options.update(kwargs)
    return make_synthetic_emotion(
        n_subjects=n_subjects,
        n_sessions=n_sessions,
        scenario=scenario,
        seed=data_seed,
        **options,
    )


def demo_pipelines(
    epochs=3,
    pretrain_epochs=3,
    batch_size=32,
    lr=1e-3,
    unimodal=True,
    linear=True,
    both=True,
    fusion=False,
    prototype=False,
    model=None,
    objective=None,
    device="cpu",
    mixed_precision="no",
    **m2s_kwargs,
):
    """The demo's pipelines and the modality settings each is evaluated in.

    Parameters
    ----------
    epochs, pretrain_epochs : int
        Training epochs of every classifier (stage 2 of M2S, the unimodal
        models); stage-1 epochs of M2S.
    batch_size, lr : int, float
        Mini-batch and AdamW learning rate of every stage.
    unimodal : bool
        Include the unimodal models (``"unimodal"``: :func:`make_m2s` without
        stage 1, encoders trained end to end; ``eeg2eeg``, ``eye2eye``).
    linear : bool
        Include the linear references (``"LR"``: :func:`de_logreg`;
        ``eeg2eeg``, ``eye2eye``).
    both : bool
        Evaluate M2S in ``multimodal`` (both->both) too.
    fusion : bool
        Evaluate the ``"unimodal"`` pipeline in ``multimodal`` too: both
        encoders and the classifier on the mean of their embeddings, end to
        end (the usual multimodal model).
    prototype : bool
        Include ``"M2S-prototype"`` (:func:`make_m2s_prototype`: the
        reference's second test mode, nearest random class reference over 20
        draws) in the four modes; each mode runs its own stage 1.
    model, objective : dict | None
        M2S sizes and stage-1 head sizes (``None``: :data:`DEMO_MODEL`,
        :data:`DEMO_OBJECTIVE`).
    device, mixed_precision : str
        Of every neural model.
    **m2s_kwargs
        More parameters of the M2S pipeline only (``clip_weight=0.0``...).

    Returns
    -------
    pipelines : dict of str -> estimator
    settings : dict of str -> tuple of str
    """
    from .baselines.feature_pipelines import de_logreg
    from .evaluation.pipelines import M2S_SETTINGS, make_m2s, make_m2s_prototype

    sizes = {f"module__{k}": v for k, v in (DEMO_MODEL if model is None else model).items()}
    heads = DEMO_OBJECTIVE if objective is None else objective
    common = dict(
        max_epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        device=device,
        mixed_precision=mixed_precision,
        **sizes,
    )
    stage1 = dict(
        pretrain_epochs=pretrain_epochs,
        pretrain_lr=lr,
        **{f"pretrainer__criterion__{k}": v for k, v in heads.items()},
        **common,
        **m2s_kwargs,
    )
    pipelines = {"M2S": make_m2s(**stage1)}
    settings = {"M2S": (*M2S_SETTINGS, *(("multimodal",) if both else ()))}
    if prototype:
        pipelines["M2S-prototype"] = make_m2s_prototype(**stage1)
        settings["M2S-prototype"] = M2S_SETTINGS
    if unimodal or fusion:
        pipelines["unimodal"] = make_m2s(pretrain_epochs=0, freeze_encoders=False, **common)
        settings["unimodal"] = (
            *(("eeg2eeg", "eye2eye") if unimodal else ()),
            *(("multimodal",) if fusion else ()),
        )
    if linear:
        pipelines["LR"] = de_logreg("x")
        settings["LR"] = ("eeg2eeg", "eye2eye")
    return pipelines, settings


def run_demo(progress=True, store=None, data_kwargs=None, model=None, **options):
    """The demo's results: :func:`~braindecode_m2s.evaluation.evaluate` on the synthetic data.

    Parameters
    ----------
    progress : bool
        Show evaluate's progress bar (one step per model fit, stage 1 included).
    store : str | Path | None
        A task store for :func:`evaluate` (``None``: a temporary one).
    data_kwargs : dict | None
        More :func:`~braindecode_m2s.datasets.make_synthetic_emotion`
        arguments (``n_chans``, ``n_windows``...).
    model : dict | None
        M2S sizes (``None``: :data:`DEMO_MODEL`).
    **options
        The options of :func:`check_options` (``seeds``, ``scenario``,
        ``quick``, ``epochs``, ``pretrain_epochs``, ``n_jobs``,
        ``data_seed``, ``device``, ``mixed_precision``, and any key of
        :data:`PRESETS`), checked there; what is not given is the preset's.

    Returns
    -------
    pandas.DataFrame
        evaluate's rows (one per subject, session, pipeline, setting and
        seed; scores as fractions); ``attrs`` records the configuration.
    """
    from .evaluation.evaluations import evaluate

    config = check_options(**options)
    X, y, metadata = demo_data(
        config["scenario"],
        config["n_subjects"],
        config["n_sessions"],
        config["data_seed"],
        **(data_kwargs or {}),
    )
    pipelines, settings = demo_pipelines(
        epochs=config["epochs"],
        pretrain_epochs=config["pretrain_epochs"],
        batch_size=config["batch_size"],
        unimodal=config["unimodal"],
        both=config["both"],
        model=model,
        device=config["device"],
        mixed_precision=config["mixed_precision"],
    )
    results = evaluate(
        pipelines,
        X,
        y,
        metadata,
        dataset="SEED-IV",
        settings=settings,
        seeds=config["seeds"],
        n_jobs=config["n_jobs"],
        progress=progress,
        store=store,
    )
    results.attrs.update(config, n_classes=len(set(y.tolist())))
    return results


def demo_table(results):
    """The demo's table: one row per model and mode, scores in %.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`run_demo` (or :func:`evaluate` with the demo's pipelines).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``mode`` (train -> test), ``pipeline``, ``setting``,
        ``balanced_accuracy_mean`` / ``_std`` and ``kappa_mean`` / ``_std``
        (in %: mean ± std over the (subject, seed) scores, each the mean of
        its sessions), in the order of :data:`ROWS`.
    """
    import pandas as pd

    from .evaluation.statistics import mean_std, subject_scores

    keys = ["pipeline", "setting"]
    parts = [
        mean_std(subject_scores(results, s).rename(columns={"score": s}), keys, s, 100.0)
        for s in ("balanced_accuracy", "kappa")
    ]
    stats = pd.concat(parts, axis=1)
    rows = []
    for pipeline, setting, model, mode in ROWS:
        if (pipeline, setting) in stats.index:
            rows.append(
                dict(model=model, mode=mode, pipeline=pipeline, setting=setting)
                | stats.loc[(pipeline, setting)].to_dict()
            )
    return pd.DataFrame(rows)


#: Score columns of evaluate's rows and their names in % (the demo's CSV).
PERCENT_COLUMNS = {
    "score": "accuracy_pct",
    "balanced_accuracy": "balanced_accuracy_pct",
    "kappa": "kappa_pct",
}


def in_percent(results):
    """evaluate's rows with every score in % (``accuracy_pct``, ``balanced_accuracy_pct``,
    ``kappa_pct``): what ``m2s demo --csv`` writes, in the units of the table."""
    out = results.drop(columns=list(PERCENT_COLUMNS))
    for column, name in PERCENT_COLUMNS.items():
        out[name] = 100 * results[column]
    return out


def _lookup(table, pipeline, setting):
    hit = table[(table.pipeline == pipeline) & (table.setting == setting)]
    return None if hit.empty else float(hit["balanced_accuracy_mean"].iloc[0])


def _claims(table, chance):
    lines = []
    single = []
    for key, name in (("eeg", "EEG"), ("eye", "eye")):
        setting = f"{key}2{key}"
        m2s, uni = _lookup(table, "M2S", setting), _lookup(table, "unimodal", setting)
        if m2s is not None and uni is not None:
            single.append(f"{name} {m2s - uni:+.1f}")
    if single:
        lines.append(
            "Single modality (M2S trained on EEG + eye, tested on one) minus the unimodal "
            f"model of that modality: {', '.join(single)} points of balanced accuracy."
        )
    cross = [
        f"{a} -> {b} {value:.1f} % ({value - chance:+.1f} points)"
        for a, b in (("eeg", "eye"), ("eye", "eeg"))
        if (value := _lookup(table, "M2S", f"{a}2{b}")) is not None
    ]
    if cross:
        lines.append(
            f"Cross-modal (trained on one modality's embedding, tested on the other's) against "
            f"chance ({chance:.0f} %): {', '.join(cross)}."
        )
    return lines


def format_table(results):
    """Render :func:`run_demo`'s results as text: header, table, the claims in one line each.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`run_demo`.

    Returns
    -------
    str
    """
    attrs = results.attrs
    table = demo_table(results)
    n_classes = attrs.get("n_classes", CLASSES)
    chance = 100.0 / n_classes
    seeds = sorted(set(results["seed"]))
    subjects = results["subject"].nunique()
    sessions = results.groupby("subject")["session"].nunique().max()
    spread = subjects * len(seeds) > 1
    over = f"{subjects} subjects" if subjects > 1 else "1 subject"
    if len(seeds) > 1:
        over += f" x {len(seeds)} seeds"
    kind = "a smoke run (--quick) of " if attrs.get("quick") else ""
    header = [
        f"m2s demo: {kind}M2S on synthetic EEG + eye-movement data ({attrs.get('scenario')} "
        f"scenario, data seed {attrs.get('data_seed')}), SEED-IV protocol per subject and "
        f"session (trials 0-15 train, 16-23 test); {subjects} x {sessions} subject-sessions, "
        f"model seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; "
        f"{attrs.get('pretrain_epochs')} stage-1 + {attrs.get('epochs')} training epochs, no "
        f"model selection.",
        "Balanced accuracy and Cohen's kappa on the test trials, both in %"
        + (f", mean ± std over {over} (sessions averaged)" if spread else "")
        + f". Chance: {chance:.0f} % balanced accuracy, 0 % kappa.",
    ]
    shown = [["model", "train -> test", "balanced acc. (%)", "kappa (%)"]]
    for _, row in table.iterrows():
        cells = [row["model"], row["mode"]]
        for score in ("balanced_accuracy", "kappa"):
            mean, std = row[f"{score}_mean"], row[f"{score}_std"]
            cells.append(f"{mean:.1f} ± {std:.1f}" if spread else f"{mean:.1f}")
        shown.append(cells)
    widths = [max(len(r[i]) for r in shown) for i in range(len(shown[0]))]
    body = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in shown]
    described = {
        "LR": "LR: logistic regression on each modality's standardised window-mean features.",
        "unimodal": "unimodal: the M2S encoder of one modality and the classifier, trained "
        "end to end on that modality alone (fusion: on both).",
        "M2S": "M2S: self-supervised stage 1 on EEG + eye (no labels), then a classifier on "
        "the frozen encoders, trained on one modality's embedding (a) and tested on one (b): "
        "a -> b.",
    }
    legend = " ".join(text for key, text in described.items() if key in set(table.pipeline))
    if attrs.get("quick"):
        legend += " A smoke run: too few epochs and too little data for the figures to mean much."
    return "\n".join([*header, "", *body, "", *_claims(table, chance), legend])
