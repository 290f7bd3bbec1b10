"""`m2s demo`: evaluate() plus the report, its table and units, its presets and options.

Tiny settings everywhere (a few channels, one epoch); the real timing is
``benchmarks/bench_demo.py``'s.
"""

import io
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from braindecode_m2s import demo
from braindecode_m2s.cli import build_parser, main

#: A tiny demo: one subject-session of 8-channel data, one epoch, small encoders.
TINY = dict(
    epochs=1,
    pretrain_epochs=1,
    n_subjects=1,
    n_sessions=1,
    n_jobs=1,
    data_kwargs=dict(n_chans=8, n_eye_features=6, n_windows=(5, 7)),
    model=dict(embed_dim=8, n_layers=1, n_heads=2, head_dim=4, ff_dim=16),
)


@pytest.fixture(scope="module")
def tiny_results():
    return demo.run_demo(seeds=[0, 1], progress=False, **TINY)


def test_demo_is_evaluate_plus_report(monkeypatch):
    # one evaluation loop: run_demo is one evaluate() call, every model fit is one of
    # its tasks, and the progress bar counts exactly those fits
    import tqdm.auto

    from braindecode_m2s.evaluation import backends, evaluations

    calls, tasks, bars = [], [], []
    real_evaluate, real_run_task = evaluations.evaluate, backends.run_task

    def spy_evaluate(*args, **kwargs):
        calls.append(kwargs)
        out = real_evaluate(*args, **kwargs)
        calls[-1]["returned"] = out
        return out

    def spy_run_task(task, store):
        tasks.append(task.kind)
        return real_run_task(task, store)

    class Bar(tqdm.auto.tqdm):  # evaluate's bar, drawn into a buffer
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "file": io.StringIO()})
            bars.append(self)

    monkeypatch.setattr(evaluations, "evaluate", spy_evaluate)
    monkeypatch.setattr(backends, "run_task", spy_run_task)
    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    results = demo.run_demo(seeds=[0], progress=True, **TINY)
    assert len(calls) == 1 and calls[0]["returned"] is results
    assert calls[0]["dataset"] == "SEED-IV" and calls[0]["seeds"] == [0]
    # one shared stage 1, the five M2S modes, two unimodal models, two linear references
    assert tasks.count("pretrain") == 1 and tasks.count("fit") == 9 == len(results)
    (bar,) = bars
    assert bar.total == len(tasks) == 10 and bar.n == bar.total


def test_table_rows_units_and_chance(tiny_results):
    table = demo.demo_table(tiny_results)
    expected = [(p, s) for p, s, *_ in demo.ROWS if not (p == "unimodal" and s == "multimodal")]
    assert list(zip(table.pipeline, table.setting)) == expected
    # both scores in %: the mean of the per-fold fractions, x 100
    for score in ("balanced_accuracy", "kappa"):
        for _, row in table.iterrows():
            mine = tiny_results[
                (tiny_results.pipeline == row.pipeline) & (tiny_results.setting == row.setting)
            ]
            assert row[f"{score}_mean"] == pytest.approx(100 * mine[score].mean())
            assert row[f"{score}_std"] == pytest.approx(
                100 * mine.groupby("seed")[score].mean().std(ddof=1)
            )
    text = demo.format_table(tiny_results)
    for piece in (
        "balanced acc. (%)",
        "kappa (%)",
        "both in %",
        "Chance: 25 % balanced accuracy, 0 % kappa",
        "mean ± std over 1 subject x 2 seeds",
        "SEED-IV protocol",
        "unimodal (end to end)",
        "M2S (single modality)",
        "M2S (cross-modal)",
        "LR (window-mean features)",
        "eeg -> eye",
        "eye -> eeg",
        "minus the unimodal model of that modality: EEG ",
        "against chance (25 %): eeg -> eye ",
    ):
        assert piece in text, piece
    assert "x100" not in text and "fraction" not in text


def test_single_value_has_no_spread(tiny_results):
    one = tiny_results[tiny_results.seed == 0].copy()
    one.attrs = dict(tiny_results.attrs)
    text = demo.format_table(one)
    assert "±" not in text.split("\n\n")[1] and "mean ± std" not in text


def test_quick_preset_cuts_epochs_models_and_data():
    quick, full = demo.PRESETS["quick"], demo.PRESETS["full"]
    for key in ("epochs", "pretrain_epochs", "n_subjects", "n_sessions"):
        assert quick[key] < full[key]
    pipelines, settings = demo.demo_pipelines(**{k: quick[k] for k in ("unimodal", "both")})
    assert sorted(pipelines) == ["LR", "M2S"] and "multimodal" not in settings["M2S"]
    pipelines, settings = demo.demo_pipelines()
    assert sorted(pipelines) == ["LR", "M2S", "unimodal"]
    assert settings["unimodal"] == ("eeg2eeg", "eye2eye")


def test_quick_command_runs_fast_and_quietly(capsys, tmp_path):
    csv = tmp_path / "demo.csv"
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(
            ["demo", "--quick", "--epochs", "1", "--pretrain-epochs", "1"]
            + ["--no-progress", "--csv", str(csv)]
        )
    seconds = time.perf_counter() - start
    assert code == 0
    out, err = capsys.readouterr()
    assert "smoke run (--quick)" in out and "1 stage-1 + 1 training epochs" in out
    assert "unimodal" not in out.split("\n\n")[1]  # the quick run cuts models
    # no warning flood: the scores' "y_pred contains classes not in y_true" and
    # friends are not repeated per fit (at most a handful, from imports)
    assert len(caught) <= 3, [str(w.message)[:80] for w in caught]
    assert "y_pred contains classes" not in err and err.count("warning") <= 3
    assert seconds < 120  # seconds on a quiet machine; generous for a loaded CI runner
    table = pd.read_csv(csv)
    assert {"balanced_accuracy_pct", "kappa_pct", "accuracy_pct"} <= set(table.columns)
    assert "kappa" not in table.columns and "balanced_accuracy" not in table.columns
    assert table["balanced_accuracy_pct"].between(0, 100).all()
    assert table["balanced_accuracy_pct"].max() > 1
    assert sorted(set(table["session"].astype(str))) == ["0", "1"]


def test_linear_rows_are_the_linear_reference(tiny_results):
    from sklearn.metrics import balanced_accuracy_score

    from braindecode_m2s import split_by_trial
    from braindecode_m2s.baselines import de_logreg

    X, y, meta = demo.demo_data(n_subjects=1, n_sessions=1, **TINY["data_kwargs"])
    train, test = split_by_trial(meta, "SEED-IV")
    for key, setting in (("x", "eeg2eeg"), ("eye", "eye2eye")):
        pred = de_logreg(key).fit(X[train], y[train]).predict(X[test])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a class absent from the tiny test
            expected = balanced_accuracy_score(y[test], pred)
        shown = tiny_results[(tiny_results.pipeline == "LR") & (tiny_results.setting == setting)]
        assert np.allclose(shown["balanced_accuracy"], expected)


def test_parser_defaults():
    args = build_parser().parse_args(["demo"])
    assert (args.seeds, args.scenario, args.quick, args.epochs, args.n_jobs) == (
        [0],
        "redundant",
        False,
        None,
        None,
    )
    options = demo.check_options()
    assert options["epochs"] == demo.PRESETS["full"]["epochs"]
    assert options["n_jobs"] <= 2
    args = build_parser().parse_args(["demo", "--epochs", "3", "--seeds", "2", "5"])
    assert (args.epochs, args.seeds) == (3, [2, 5])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--scenario", "bogus"], "invalid choice: 'bogus'"),
        (["--epochs", "0"], "expected a positive integer"),
        (["--pretrain-epochs", "x"], "argument --pretrain-epochs: invalid"),
        (["--n-jobs", "0"], "expected a positive integer"),
        (["--seeds", "-1"], "`seeds` must be an integer >= 0; got -1"),
        (["--data-seed", "-2"], "`data_seed` must be an integer >= 0; got -2"),
        (["--device", "nonsense"], "`device` must be a torch device such as 'cpu' or 'cuda'"),
        (["--device", "cuda:99"], "CUDA device"),
        (["--csv", "/no/such/folder/t.csv"], "its folder does not exist"),
        (["--bogus"], "unknown option --bogus"),
    ],
)
def test_bad_options_are_one_line_before_any_work(argv, message, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the demo ran with a bad option")

    monkeypatch.setattr(demo, "run_demo", no_work)
    try:
        code = main(["demo", *argv])
    except SystemExit as stop:  # argparse's checks exit, the demo's return
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "usage" not in err, err


def test_help_is_fast_and_imports_nothing_heavy():
    # `python -m braindecode_m2s demo --help`, and what it imported: none of
    # torch, braindecode and MOABB (seconds of every start), which only the
    # demo's work needs
    code = (
        "import runpy, sys\n"
        "sys.argv = ['braindecode_m2s', 'demo', '--help']\n"
        "try:\n"
        "    runpy.run_module('braindecode_m2s', run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    heavy = [m for m in ('torch', 'braindecode', 'moabb') if m in sys.modules]\n"
        "    print('exit', stop.code, 'imported', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert "--quick" in result.stdout and "--n-jobs" in result.stdout, result.stderr[-2000:]
    assert result.stdout.rstrip().endswith("exit 0 imported []"), result.stdout[-300:]


def _script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_fidelity_labels_evaluate_rows_per_seed(tiny_results):
    # the multi-seed evidence runs the demo's pipelines through evaluate(); its rows
    # become the per-seed labels of docs/results.md's tables
    bench = _script("bench_fidelity")
    ablated = tiny_results[tiny_results.pipeline == "M2S"].assign(pipeline="M2S (no CLIP)")
    runs = bench.per_seed(pd.concat([tiny_results, ablated]), "redundant")
    full = runs[runs.variant == "full"]
    assert set(full.model) == {
        "LR EEG",
        "LR eye",
        "unimodal EEG",
        "unimodal eye",
        "M2S eeg->eeg",
        "M2S eye->eye",
        "M2S eeg->eye",
        "M2S eye->eeg",
        "M2S both->both",
    }
    assert set(runs[runs.variant == "no CLIP"].model) == {m for m in full.model if "M2S" in m}
    one = full[(full.model == "M2S eeg->eye") & (full.seed == 1)]["balanced_accuracy"].item()
    mine = tiny_results[(tiny_results.setting == "eeg2eye") & (tiny_results.seed == 1)]
    assert one == pytest.approx(mine[mine.pipeline == "M2S"]["balanced_accuracy"].mean())


def test_bench_demo_reads_the_demo_csv(tiny_results, tmp_path):
    bench = _script("bench_demo")
    csv = tmp_path / "demo.csv"
    demo.in_percent(tiny_results).to_csv(csv, index=False)
    text = bench.key_figures(str(csv))
    eeg = demo.demo_table(tiny_results).set_index(["pipeline", "setting"])
    diff = (
        eeg.loc[("M2S", "eeg2eeg"), "balanced_accuracy_mean"]
        - eeg.loc[("unimodal", "eeg2eeg"), "balanced_accuracy_mean"]
    )
    assert f"M2S eeg->eeg - unimodal EEG: {diff:+.1f} points" in text
    assert "above chance (25 %)" in text
