"""The main job: the paper's table of M2S against unimodal and fusion models.

On the built-in synthetic SEED-IV-like data
(:func:`~braindecode_m2s.datasets.make_synthetic_emotion`, by default the
``"redundant"`` scenario, where every modality carries the whole emotional
state, so the single-modality claim of M2S is testable), with the SEED-IV
protocol (trials 0-15 of every session train, 16-23 test), for each seed:

- *unimodal EEG* / *unimodal eye*: the M2S encoder of that modality and the
  classifier, trained end to end with cross-entropy on that modality alone;
- *fusion*: both encoders and the classifier on the mean of the two
  embeddings, trained end to end with cross-entropy (no self-supervised
  term): the usual multimodal model;
- *LR EEG* / *LR eye*: the linear reference of each modality, a logistic
  regression on its standardised window-mean features
  (:func:`~braindecode_m2s.baselines.de_logreg`; for EEG, the classic
  DE + LR), so the distance to a simple model is always in the table;
- *M2S*: stage 1 (self-supervised pretraining on EEG + eye, no labels),
  then a classifier on the frozen encoders in the four modes of the paper,
  eeg->eeg, eye->eye (single-modality), eeg->eye, eye->eeg (cross-modal),
  and both->both;
- *M2S prototype*: the reference's second test mode on the same pretrained
  encoders (:class:`~braindecode_m2s.M2SPrototypeClassifier`): no
  classifier, each class represented by one random training sample's
  embedding, majority vote over 20 draws; the four modes.

Every model has the same encoder sizes, optimiser, epochs and seed; no
model selection is done (fixed epochs), so the test trials are never used
for any choice. Scores: balanced accuracy and Cohen's kappa on the test
trials, mean ± std over seeds.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from .baselines.feature_pipelines import de_logreg
from .datasets.synthetic import make_synthetic_emotion
from .evaluation.protocols import split_by_trial
from .evaluation.statistics import mean_std
from .models.m2s import M2S
from .prototypes import M2SPrototypeClassifier
from .training import M2MCPCPretrainer, M2SClassifier

__all__ = [
    "run_demo",
    "run_seed",
    "format_table",
    "DEMO_MODEL",
    "DEMO_OBJECTIVE",
    "M2S_MODES",
    "PROTOTYPE_MODES",
    "linear_label",
]

#: Encoder sizes of the demo (the reference's are embedding 128, 4 layers, heads
#: of 64, FFN 1024; these are smaller so that three seeds run in about five
#: minutes on two CPU cores).
DEMO_MODEL = dict(
    embed_dim=64,
    n_layers=1,
    n_heads=4,
    head_dim=16,
    ff_dim=128,
)
#: Stage-1 head sizes of the demo (``M2SObjective``; the reference's LSTM has 64).
DEMO_OBJECTIVE = dict(cpc_context_dim=32, cpc_layers=2, club_hidden=32)
#: (row label, train modalities, test modalities) of M2S's stage 2.
M2S_MODES = (
    ("M2S eeg->eeg", ["x"], ["x"]),
    ("M2S eye->eye", ["eye"], ["eye"]),
    ("M2S eeg->eye", ["x"], ["eye"]),
    ("M2S eye->eeg", ["eye"], ["x"]),
    ("M2S both->both", ["x", "eye"], ["x", "eye"]),
)
#: (row label, reference modalities, test modalities) of the prototype mode.
PROTOTYPE_MODES = tuple(
    (label.replace("M2S", "M2S prototype"), train, test) for label, train, test in M2S_MODES[:4]
)


class _EpochProgress(Callback):
    """Advance a tqdm bar by one at every epoch end."""

    def __init__(self, bar):
        self.bar = bar

    def on_epoch_end(self, net, **kwargs):
        self.bar.update(1)


def linear_label(key):
    """Row label of a modality's linear reference: ``"LR EEG"``, ``"LR eye"``..."""
    return "LR EEG" if key == "x" else f"LR {key}"


def _scores(y_true, y_pred):
    return dict(
        balanced_accuracy=balanced_accuracy_score(y_true, y_pred),
        kappa=cohen_kappa_score(y_true, y_pred),
    )


def run_seed(
    seed=0,
    scenario="redundant",
    pretrain_epochs=20,
    max_epochs=20,
    lr=1e-3,
    batch_size=64,
    weights=None,
    model_kwargs=None,
    data_kwargs=None,
    baselines=True,
    prototypes=True,
    bar=None,
    device="cpu",
    mixed_precision="no",
):
    """One seed of the demo protocol: every model and mode, test scores.

    Parameters
    ----------
    seed : int
        Seed of the data and of every model.
    scenario : str
        Synthetic scenario (``"redundant"`` or ``"complementary"``).
    pretrain_epochs, max_epochs : int
        Stage-1 epochs of M2S; training epochs of every classifier.
    lr, batch_size : float, int
        AdamW learning rate and batch size of every stage.
    weights : dict | None
        Stage-1 term weights (``clip_weight``...); None: the reference's.
    model_kwargs : dict | None
        M2S sizes; None: :data:`DEMO_MODEL`.
    data_kwargs : dict | None
        Passed to :func:`make_synthetic_emotion`.
    baselines : bool
        Also train the unimodal and fusion models, and the linear reference
        (logistic regression on window-mean features) of every modality.
    prototypes : bool
        Also score the prototype mode (:data:`PROTOTYPE_MODES`) on the
        pretrained encoders; its rows also carry
        ``draw_balanced_accuracy``: the balanced accuracy of each single
        draw of references, averaged over the 20 draws (how the reference
        reports this mode).
    bar : tqdm | None
        Progress bar advanced per epoch.
    device : str
        Torch device of every model (``"cuda"`` on a GPU).
    mixed_precision : {"no", "bf16"}
        Autocast of every neural model (see :class:`~braindecode_m2s.M2SClassifier`).

    Returns
    -------
    list of dict
        One row per model / mode: ``model``, ``seed``, ``balanced_accuracy``,
        ``kappa``, ``seconds`` (and ``draw_balanced_accuracy`` for the
        prototype rows).
    """
    data = dict(sequence_length=5, scenario=scenario)
    data.update(data_kwargs or {})
    X, y, metadata = make_synthetic_emotion(seed=seed, **data)
    train, test = split_by_trial(metadata, "SEED-IV")
    Xtr, Xte, ytr, yte = X[train], X[test], y[train], y[test]
    sizes = dict(DEMO_MODEL if model_kwargs is None else model_kwargs)
    signal = dict(n_chans=X["x"].shape[1], n_bands=X["x"].shape[3], n_outputs=len(np.unique(y)))
    callbacks = [] if bar is None else [("progress", _EpochProgress(bar))]
    fit = dict(
        max_epochs=max_epochs,
        lr=lr,
        batch_size=batch_size,
        random_state=seed,
        verbose=0,
        callbacks=callbacks,
        device=device,
        mixed_precision=mixed_precision,
    )
    rows = []

    def supervised(label, modalities, keys):
        start = time.perf_counter()
        module = M2S(**signal, **sizes, modalities=modalities)
        clf = M2SClassifier(
            module,
            pretrain_epochs=0,
            freeze_encoders=False,
            train_modalities=keys,
            test_modalities=keys,
            **fit,
        )
        clf.fit(Xtr, ytr)
        rows.append(
            dict(
                model=label,
                seed=seed,
                **_scores(yte, clf.predict(Xte)),
                seconds=time.perf_counter() - start,
            )
        )

    if baselines:
        supervised("unimodal EEG", {}, ["x"])
        supervised("unimodal eye", {"eye": X["eye"].shape[1]}, ["eye"])
        supervised("fusion", {"eye": X["eye"].shape[1]}, ["x", "eye"])
        for key in X.keys():
            start = time.perf_counter()
            linear = de_logreg(key, random_state=seed).fit(Xtr, ytr)
            rows.append(
                dict(
                    model=linear_label(key),
                    seed=seed,
                    **_scores(yte, linear.predict(Xte)),
                    seconds=time.perf_counter() - start,
                )
            )

    start = time.perf_counter()
    pretrainer = M2MCPCPretrainer(
        M2S(**signal, **sizes, modalities={"eye": X["eye"].shape[1]}),
        max_epochs=pretrain_epochs,
        lr=lr,
        batch_size=batch_size,
        random_state=seed,
        verbose=0,
        callbacks=list(callbacks),
        device=device,
        mixed_precision=mixed_precision,
        **{f"criterion__{k}": v for k, v in DEMO_OBJECTIVE.items()},
        **(weights or {}),
    )
    pretrainer.fit(Xtr)
    pretrain_seconds = time.perf_counter() - start
    for label, train_keys, test_keys in M2S_MODES:
        start = time.perf_counter()
        clf = pretrainer.to_classifier(
            train_modalities=train_keys, test_modalities=test_keys, **fit
        )
        clf.fit(Xtr, ytr)
        rows.append(
            dict(
                model=label,
                seed=seed,
                **_scores(yte, clf.predict(Xte)),
                seconds=time.perf_counter() - start + pretrain_seconds,
            )
        )
    for label, train_keys, test_keys in PROTOTYPE_MODES if prototypes else ():
        start = time.perf_counter()
        proto = M2SPrototypeClassifier(
            pretrainer,
            n_draws=20,
            train_modalities=train_keys,
            test_modalities=test_keys,
            random_state=seed,
        )
        proto.fit(Xtr, ytr)
        draws = proto.draw_scores(Xte, yte, scorer=balanced_accuracy_score)
        rows.append(
            dict(
                model=label,
                seed=seed,
                **_scores(yte, proto.predict(Xte)),
                draw_balanced_accuracy=draws.mean(),
                seconds=time.perf_counter() - start + pretrain_seconds,
            )
        )
    return rows


def run_demo(
    seeds=(0, 1, 2),
    scenario="redundant",
    pretrain_epochs=20,
    max_epochs=20,
    data_kwargs=None,
    progress=True,
    **kwargs,
):
    """The demo table: every model and mode over ``seeds``.

    Parameters
    ----------
    seeds : sequence of int
        Seeds (data and models).
    scenario : str
        Synthetic scenario.
    pretrain_epochs, max_epochs : int
        See :func:`run_seed`.
    data_kwargs : dict | None
        Passed to :func:`make_synthetic_emotion`.
    progress : bool
        Show a progress bar over every training epoch.
    **kwargs
        Passed to :func:`run_seed`.

    Returns
    -------
    pandas.DataFrame
        One row per (model, seed), with ``balanced_accuracy``, ``kappa``
        (fractions) and ``seconds``; ``attrs`` records the settings.
    """
    seeds = list(seeds)
    per_seed = 3 * max_epochs + pretrain_epochs + len(M2S_MODES) * max_epochs
    rows = []
    with tqdm(
        total=len(seeds) * per_seed, desc="m2s demo", unit="epoch", disable=not progress
    ) as bar:
        for seed in seeds:
            bar.set_postfix(seed=seed)
            rows += run_seed(
                seed,
                scenario,
                pretrain_epochs,
                max_epochs,
                data_kwargs=data_kwargs,
                bar=bar,
                **kwargs,
            )
    table = pd.DataFrame(rows)
    table.attrs.update(
        seeds=seeds, scenario=scenario, pretrain_epochs=pretrain_epochs, max_epochs=max_epochs
    )
    return table


def summarize(table):
    """Mean ± std over seeds per model, in % (kappa x 100), as text columns."""
    out = pd.DataFrame(index=pd.Index(dict.fromkeys(table["model"]), name="model"))
    for column, name in (("balanced_accuracy", "balanced acc. (%)"), ("kappa", "kappa (x100)")):
        stats = mean_std(table, "model", column, 100.0).reindex(out.index)
        out[name] = [
            f"{m:.1f} ± {s:.1f}" for m, s in zip(stats[f"{column}_mean"], stats[f"{column}_std"])
        ]
    return out.reset_index()


def format_table(table):
    """Render :func:`run_demo`'s table as text (mean ± std over seeds)."""
    attrs = table.attrs
    header = (
        f"M2S on synthetic EEG + eye data ({attrs.get('scenario')} scenario), SEED-IV "
        f"protocol (train trials 0-15, test 16-23 of every session); mean ± std over seeds "
        f"{attrs.get('seeds')}; {attrs.get('pretrain_epochs')} pretraining + "
        f"{attrs.get('max_epochs')} training epochs; chance 25 %.\n"
        f"a->b: classifier trained on modality a's embedding, tested on b's; LR m: "
        f"logistic regression on modality m's window-mean features; M2S prototype a->b: "
        f"no classifier, the class of the most similar of one random training sample of "
        f"each class seen in a (majority vote over 20 draws), tested on b."
    )
    return header + "\n" + summarize(table).to_string(index=False)
