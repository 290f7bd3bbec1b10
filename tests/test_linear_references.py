"""Linear references (logistic regression on window-mean features) in every table."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skorch.helper import SliceDict

from braindecode_m2s import make_synthetic_emotion, split_by_trial
from braindecode_m2s.evaluation import apply_setting
from braindecode_m2s.evaluation.pipelines import paper_pipelines

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_fidelity.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_fidelity", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lr_name(pipelines):
    return "de_logreg" if "de_logreg" in pipelines else "DE+LR"


@pytest.mark.parametrize("other", ["eye", "peripheral", "ecg"])
def test_reproduce_runs_a_linear_reference_on_every_single_modality(other):
    pipelines, settings = paper_pipelines(max_epochs=1, second_modality=other)
    name = _lr_name(pipelines)
    assert {"eeg2eeg", f"{other}2{other}"} <= set(settings[name])


def test_the_linear_reference_of_a_modality_reads_that_modality_alone():
    X, y, meta = make_synthetic_emotion(
        n_subjects=1,
        n_sessions=2,
        n_chans=8,
        n_eye_features=6,
        n_windows=(12, 14),
        sequence_length=5,
        stride=2,
        scenario="redundant",
        noise=0.5,
        seed=0,
    )
    train, test = split_by_trial(meta, "SEED-IV")
    pipelines, _ = paper_pipelines(max_epochs=1)
    for setting, key in (("eeg2eeg", "x"), ("eye2eye", "eye")):
        est = apply_setting(pipelines[_lr_name(pipelines)], setting, keys=list(X.keys()))
        est.fit(X[train], y[train])
        # the other modality is not needed at prediction: it was never used
        only = SliceDict(**{key: X[key][test]})
        np.testing.assert_array_equal(est.predict(only), est.predict(X[test]))
        assert est.score(X[test], y[test]) > 0.4  # chance: 0.25 (4 classes)


def _runs(with_lr=True):
    rng = np.random.default_rng(0)
    models = [
        "unimodal EEG",
        "unimodal eye",
        "fusion",
        "M2S eeg->eeg",
        "M2S eye->eye",
        "M2S eeg->eye",
        "M2S eye->eeg",
        "M2S both->both",
    ]
    if with_lr:
        models += ["LR EEG", "LR eye"]
    rows = [
        dict(
            model=m,
            seed=s,
            balanced_accuracy=rng.uniform(0.3, 0.9),
            kappa=rng.uniform(0, 0.8),
            seconds=1.0,
            scenario="redundant",
            variant="full",
        )
        for s in range(3)
        for m in models
    ]
    return pd.DataFrame(rows)


def test_bench_fidelity_reports_the_distance_to_the_linear_reference():
    bench = _bench()
    runs = _runs()
    pairs = bench.comparison_table(runs).set_index("comparison")
    wide = runs.pivot(index="seed", columns="model", values="balanced_accuracy")
    for mode, lr in (("M2S eeg->eeg", "LR EEG"), ("M2S eye->eye", "LR eye")):
        expected = 100 * (wide[mode] - wide[lr]).mean()
        assert pairs.loc[f"{mode} - {lr}", "diff"] == pytest.approx(expected, abs=0.05)
        assert pairs.loc[f"{mode} - {lr}", "n"] == 3
    assert {"LR EEG", "LR eye"} <= set(bench.score_table(runs)["model"])
    # runs saved before the linear references existed still give their tables
    old = bench.comparison_table(_runs(with_lr=False))
    assert not old["comparison"].str.contains("LR").any() and len(old) > 0
