"""The m2s command line end to end: files, columns, rows, errors."""

import subprocess
import sys

import pandas as pd
import pytest

from braindecode_m2s.cli import main
from braindecode_m2s.datasets.fixtures import write_fixture


@pytest.fixture(scope="module")
def seediv_root(tmp_path_factory):
    # 3-5 windows per trial: shorter than the paper's samples
    return write_fixture("seediv", tmp_path_factory.mktemp("seediv_cli") / "t", n_windows=3)


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
        "kappa_x100",
        "time",
        "samples",
    ):
        assert col in results.columns
    # 1 subject x 3 sessions, one SEED-IV split (16 / 8 trials) each
    assert len(results) == 3 * len(summary)
    assert "DE+SVM" in set(summary["pipeline"])  # as the help and the paper's tables say
    assert set(summary.loc[summary.pipeline == "DE+SVM", "setting"]) == {
        "multimodal",
        "eeg2eeg",
        "eye2eye",
    }
    assert results["accuracy_pct"].between(0, 100).all()
    assert (results["samples"] == 16).all() and (results["samples_test"] == 8).all()
    # the screen shows a short summary in the files' numbers (%), within 100 columns
    screen = capsys.readouterr().out
    assert "samples of 3 windows" in screen  # trials shorter than the paper's 5 windows
    assert max(map(len, screen.splitlines())) <= 100
    for _, row in summary.iterrows():
        mean, std = row["balanced_accuracy_pct_mean"], row["balanced_accuracy_pct_std"]
        assert f"{mean:.1f} ± {std:.1f}" in screen
    assert len(screen.splitlines()) < 30  # the rest is in the files
    # one convention: accuracies in %, kappa times 100, in every written table
    assert results["kappa_x100"].between(-100, 100).all()
    assert (results["kappa_x100"].abs() > 1).any()
    head = (out / "summary.md").read_text().splitlines()[2]
    assert "accuracy (%)" in head and "kappa (x100)" in head
    assert {"kappa_x100_mean", "balanced_accuracy_pct_mean"} <= set(summary.columns)
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
        (["reproduce", "--dataset", "seediv"], "--data-path: a data path is required"),
        (["evaluate", "--dataset", "synthetic", "--pipelines", "Nope"], "unknown pipeline"),
    ],
)
def test_bad_input_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_empty_folder_is_one_line(tmp_path, capsys):
    assert main(["reproduce", "--dataset", "seediv", "--data-path", str(tmp_path)]) == 2
    assert "no subject of SEED-IV" in capsys.readouterr().err


@pytest.mark.parametrize(
    "sub", [[], ["train"], ["evaluate"], ["reproduce"], ["demo"], ["fixture"]]
)
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


def test_train_saves_a_reloadable_model_without_pickle(tmp_path, capsys):
    import numpy as np

    from braindecode_m2s.datasets import make_synthetic_emotion
    from braindecode_m2s.evaluation.trained import load_trained

    out = tmp_path / "model"
    argv = ["train", "--dataset", "synthetic", "--quick", "--epochs", "1", "--mode", "eeg2eye"]
    rc = main([*argv, "--sequence-length", "5", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0 and "test balanced accuracy" in printed and "disjoint trials" in printed
    assert "kappa (x100)" in printed and "load_trained" in printed
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "estimator.json", "loss_curves.png"} <= names
    assert {"history.json", "pretrain_history.json"} <= names
    # nothing that unpickles: JSON, safetensors, PNG and braindecode's model card only
    assert {p.suffix for p in out.iterdir()} <= {".json", ".safetensors", ".png", ".md"}
    net = load_trained(out)
    assert (net.train_modalities, net.test_modalities) == (["x"], ["eye"])
    X, y, _ = make_synthetic_emotion(n_subjects=1, n_sessions=1, n_windows=(10, 14))
    assert set(np.unique(net.predict(X[:20]))) <= set(np.unique(y))


#: Trials per session of each dataset (its official distribution).
TRIALS = {"SEED": 15, "SEED-IV": 24, "SEED-V": 15, "SEED-VII": 80, "DEAP": 40, "DREAMER": 18}


@pytest.mark.parametrize("code", sorted(TRIALS))
def test_train_path_never_scores_a_training_sample(code):
    """m2s train's split: for every fold of each dataset's protocol, no test sample (nor
    trial) was trained on, and every sample of the fold's session is on one side."""
    import numpy as np
    import pandas as pd

    from braindecode_m2s.evaluation.trained import fold_indices

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
            fold, train, test = fold_indices(meta, code, fold_index)
        except ValueError:
            break
        assert len(train) and len(test)
        assert not set(train) & set(test)
        assert not set(meta.trial[train]) & set(meta.trial[test])
        assert meta.session[train].nunique() == meta.session[test].nunique() == 1
        fold_index += 1
    assert fold_index >= 2  # two sessions at least
