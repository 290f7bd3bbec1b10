"""The main job: M2S against unimodal and fusion baselines on synthetic data.

Trains four models on the built-in synthetic SEED-IV-like data
(:func:`~braindecode_m2s.datasets.make_synthetic_emotion`) with the SEED-IV
protocol (trials 0-15 of every session train, trials 16-23 test) and tests
each on every modality set it can read:

- *unimodal EEG*: M2S architecture trained and tested on EEG alone;
- *unimodal eye*: the same on eye movements alone;
- *multimodal fusion*: EEG + eye encoders fused by the mean of their
  latents, trained on cross-entropy only (no M2M CPC, no modality dropout),
  i.e. the usual multimodal model; tested with both, and with one modality
  (where multimodal dependency shows);
- *M2S*: trained on EEG + eye with the full M2S objective, tested with both,
  with EEG only and with eye only (the paper's single-modality setting).

Every model has the same encoders, sizes, optimiser, epochs and seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback
from skorch.helper import SliceDict
from tqdm.auto import tqdm

from .datasets.synthetic import make_synthetic_emotion
from .models.m2s import M2S
from .paradigms import split_by_trial
from .training import M2SClassifier

__all__ = ["run_demo", "format_table", "DEMO_MODELS"]

#: (name, training modalities, M2S overrides) of the demo's models.
DEMO_MODELS = (
    ("unimodal EEG", ("x",), dict(modalities={})),
    ("unimodal eye", ("eye",), dict()),
    ("multimodal fusion", ("x", "eye"),
     dict(cpc_weight=0.0, distill_weight=0.0, modality_dropout=0.0)),
    ("M2S", ("x", "eye"), dict()),
)
_TEST_SETS = (("EEG+eye", ("x", "eye")), ("EEG", ("x",)), ("eye", ("eye",)))


class _EpochProgress(Callback):
    """Advance a tqdm bar by one at every epoch end."""

    def __init__(self, bar):
        self.bar = bar

    def on_epoch_end(self, net, **kwargs):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{net.history[-1, 'train_loss']:.3f}")


def _select(X, idx, keys):
    return SliceDict(**{k: X[k][idx] for k in keys})


def run_demo(seed=0, max_epochs=30, batch_size=32, lr=1e-3, data_kwargs=None,
             progress=True):
    """Train the demo's models and measure their test accuracies.

    Parameters
    ----------
    seed : int
        Seed of the synthetic data and of every model.
    max_epochs : int
        Training epochs of every model.
    batch_size : int
        Mini-batch size.
    lr : float
        AdamW learning rate.
    data_kwargs : dict | None
        Passed to :func:`make_synthetic_emotion` (e.g. a smaller
        ``n_subjects`` for a quick run).
    progress : bool
        Show a progress bar over all training epochs.

    Returns
    -------
    pandas.DataFrame
        One row per model (``model``, ``trained on``, ``train seconds``) and
        a column of test accuracy per test set (``EEG+eye``, ``EEG``,
        ``eye``; NaN where the model cannot read that set).
    """
    X, y, metadata = make_synthetic_emotion(seed=seed, **(data_kwargs or {}))
    train, test = split_by_trial(metadata, "SEED-IV")
    n_chans, n_bands = X["x"].shape[1], X["x"].shape[3]
    n_eye = X["eye"].shape[1]
    rows = []
    bar = tqdm(total=len(DEMO_MODELS) * max_epochs, desc="m2s demo", disable=not progress,
               unit="epoch")
    for name, keys, overrides in DEMO_MODELS:
        torch.manual_seed(seed)
        module_kwargs = dict(n_chans=n_chans, n_outputs=int(y.max()) + 1, n_bands=n_bands,
                             modalities={"eye": n_eye})
        module_kwargs.update(overrides)
        net = M2SClassifier(
            M2S(**module_kwargs), max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer=torch.optim.AdamW, train_split=None, verbose=0, random_state=seed,
            callbacks=[("progress", _EpochProgress(bar))],
        )
        bar.set_description(f"m2s demo: {name}")
        net.fit(_select(X, train, keys), y[train])
        row = {"model": name, "trained on": "+".join("EEG" if k == "x" else k for k in keys)}
        for test_name, test_keys in _TEST_SETS:
            if set(test_keys) <= set(keys):
                pred = net.predict(_select(X, test, test_keys))
                row[test_name] = float(np.mean(pred == y[test]))
            else:
                row[test_name] = np.nan
        row["train seconds"] = float(sum(net.history[:, "dur"]))
        rows.append(row)
    bar.close()
    table = pd.DataFrame(rows)
    table.attrs.update(n_train=len(train), n_test=len(test), seed=seed,
                       max_epochs=max_epochs, chance=1.0 / (int(y.max()) + 1))
    return table


def format_table(table):
    """Render :func:`run_demo`'s table as text (accuracies in %)."""
    shown = table.copy()
    for column in ("EEG+eye", "EEG", "eye"):
        shown[column] = [
            "-" if np.isnan(v) else f"{100 * v:.1f}" for v in shown[column]
        ]
    shown["train seconds"] = [f"{v:.0f}" for v in shown["train seconds"]]
    header = (
        f"Test accuracy (%) on held-out trials 16-23 of every session "
        f"(train {table.attrs.get('n_train')} / test {table.attrs.get('n_test')} "
        f"samples; chance {100 * table.attrs.get('chance', np.nan):.0f} %; "
        f"seed {table.attrs.get('seed')}, {table.attrs.get('max_epochs')} epochs)\n"
        f"columns = modalities given at test time"
    )
    return header + "\n" + shown.to_string(index=False)
