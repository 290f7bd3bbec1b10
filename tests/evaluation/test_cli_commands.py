"""The m2s command line end to end: files, columns, rows, errors."""

import subprocess
import sys

import pandas as pd
import pytest

from braindecode_m2s.cli import main
from braindecode_m2s.datasets.fixtures import layout_seed as L


@pytest.fixture(scope="module")
def seediv_root(tmp_path_factory):
    # the fixture writer's defaults: 3-5 windows per trial
    return L.write_seed_iv(tmp_path_factory.mktemp("seediv_cli"), subjects=(1, 2))


def test_reproduce_on_fixture_tree(seediv_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MNE_DATA", str(tmp_path / "mne_data"))  # the datasets' array cache
    out = tmp_path / "rep"
    rc = main(
        [
            "reproduce",
            "--dataset",
            "seediv",
            "--data-path",
            str(seediv_root),
            "--out",
            str(out),
            "--quick",
            "--epochs",
            "1",
            "--no-progress",
            "--subjects",
            "1",
        ]
    )
    assert rc == 0
    for name in (
        "results.csv",
        "summary.csv",
        "statistics.csv",
        "summary.md",
        "accuracy_per_subject.png",
        "confusion_matrices.png",
    ):
        assert (out / name).stat().st_size > 0, name
    results = pd.read_csv(out / "results.csv")
    summary = pd.read_csv(out / "summary.csv")
    for col in (
        "dataset",
        "pipeline",
        "setting",
        "train_modalities",
        "test_modalities",
        "seed",
        "subject",
        "session",
        "accuracy_pct",
        "balanced_accuracy_pct",
        "kappa",
        "time",
        "samples",
    ):
        assert col in results.columns
    # 1 subject x 3 sessions, one SEED-IV split (16 / 8 trials) each
    assert len(results) == 3 * len(summary)
    pipes = set(summary["pipeline"])
    de_svm = "de_svm" if "de_svm" in pipes else "DE+SVM"  # the baselines package's, or ours
    assert de_svm in pipes
    assert set(summary.loc[summary.pipeline == de_svm, "setting"]) == {
        "multimodal",
        "eeg2eeg",
        "eye2eye",
    }
    assert results["accuracy_pct"].between(0, 100).all()
    assert (results["samples"] == 16).all() and (results["samples_test"] == 8).all()
    # the screen shows the same numbers (%) as the CSV
    screen = capsys.readouterr().out
    assert "samples of 3 windows" in screen  # trials shorter than the paper's 10 windows
    row = summary.iloc[0]
    assert f"{row['accuracy_pct_mean']:.1f} ± {row['accuracy_pct_std']:.1f}" in screen
    assert "accuracy (%)" in (out / "summary.md").read_text()
    stats = pd.read_csv(out / "statistics.csv")
    assert {"reference", "baseline", "p_value", "smd", "mean_diff_pct_points"} <= set(
        stats.columns
    )
    if "M2S" in set(summary["pipeline"]):
        assert set(summary.loc[summary.pipeline == "M2S", "setting"]) == {
            "eeg2eeg",
            "eye2eye",
            "eeg2eye",
            "eye2eeg",
        }
        assert (out / "loss_curves.png").exists()


def test_evaluate_synthetic_settings_and_protocol(tmp_path):
    out = tmp_path / "ev"
    rc = main(
        [
            "evaluate",
            "--dataset",
            "synthetic",
            "--quick",
            "--pipelines",
            "DE+LR",
            "--settings",
            "eeg2eeg,eye2eye",
            "--protocol",
            "loso",
            "--seeds",
            "0",
            "1",
            "--out",
            str(out),
            "--no-progress",
            "--sequence-length",
            "5",
        ]
    )
    assert rc == 0
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * 2 * 2  # subjects (LOSO folds) x settings x seeds
    assert set(results["session"].astype(str)) == {"all"}


@pytest.mark.parametrize(
    "argv,message",
    [
        (["evaluate", "--dataset", "seedx", "--data-path", "."], "unknown dataset 'seedx'"),
        (["reproduce", "--dataset", "seediv", "--data-path", "/no/such/dir"], "does not exist"),
        (["reproduce", "--dataset", "seediv"], "--data-path is required"),
        (["evaluate", "--dataset", "synthetic", "--pipelines", "Nope"], "not available"),
    ],
)
def test_bad_input_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_empty_folder_is_one_line(tmp_path, capsys):
    assert main(["reproduce", "--dataset", "seediv", "--data-path", str(tmp_path)]) == 2
    assert "no subject of SEED-IV" in capsys.readouterr().err


@pytest.mark.parametrize("sub", [[], ["train"], ["evaluate"], ["reproduce"], ["demo"]])
def test_help_everywhere(sub, capsys):
    with pytest.raises(SystemExit) as exc:
        main(sub + ["--help"])
    assert exc.value.code == 0 and "usage: m2s" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("m2s ")


def test_console_script_is_quiet_and_exits_2():
    # a fresh interpreter: no upstream FutureWarning at import, no traceback
    res = subprocess.run(
        [sys.executable, "-m", "braindecode_m2s", "evaluate", "--dataset", "nope"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.splitlines() == [
        "m2s: error: unknown dataset 'nope'; expected one of seed, seediv, seedv, seedvii, "
        "deap, dreamer, synthetic"
    ]


def test_train_saves_model_and_curves(tmp_path, capsys):
    import pickle

    out = tmp_path / "m.pkl"
    rc = main(
        [
            "train",
            "--dataset",
            "synthetic",
            "--quick",
            "--epochs",
            "1",
            "--mode",
            "eeg2eye",
            "--sequence-length",
            "5",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert rc == 0 and "test balanced accuracy" in printed and "disjoint trials" in printed
    with open(out, "rb") as f:
        net = pickle.load(f)
    assert (net.train_modalities, net.test_modalities) == (["x"], ["eye"])
    assert out.with_suffix(".loss.png").stat().st_size > 0


#: Trials per session of each dataset (its official distribution).
TRIALS = {"SEED": 15, "SEED-IV": 24, "SEED-V": 15, "SEED-VII": 80, "DEAP": 40, "DREAMER": 18}


@pytest.mark.parametrize("code", sorted(TRIALS))
def test_train_path_never_scores_a_training_sample(code):
    """m2s train's split: for every fold of each dataset's protocol, no test sample (nor
    trial) was trained on, and every sample of the fold's session is on one side."""
    import numpy as np
    import pandas as pd

    from braindecode_m2s.cli import CommandLineError, train_test_indices

    n = TRIALS[code]
    meta = pd.DataFrame(
        {
            "subject": 1,
            "session": np.repeat([1, 2], 3 * n),
            "trial": np.tile(np.repeat(np.arange(n), 3), 2),
        }
    )
    fold_index = 0
    while True:
        try:
            fold, train, test = train_test_indices(meta, code, fold_index)
        except CommandLineError:
            break
        assert len(train) and len(test)
        assert not set(train) & set(test)
        assert not set(meta.trial[train]) & set(meta.trial[test])
        assert meta.session[train].nunique() == meta.session[test].nunique() == 1
        fold_index += 1
    assert fold_index >= 2  # two sessions at least
