"""What the m2s command line promises: options refused before any data is read (one line,
exit 2), bugs with their traceback, one progress bar counting the fits it reports, figures
without an extra fit, each task warning reported once, a fixture writer."""

import json
import re
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from braindecode_m2s.cli import main
from braindecode_m2s.datasets.fixtures import write_fixture


class DataRead(AssertionError):
    """Raised where the command line would read data."""


@pytest.fixture
def no_data_read(monkeypatch):
    """Any attempt to read a dataset (files or the synthetic data) fails the test."""
    from braindecode_m2s.datasets import synthetic
    from braindecode_m2s.paradigms import MultimodalEmotion

    def refuse(*args, **kwargs):
        raise DataRead("data were read before the options were checked")

    monkeypatch.setattr(MultimodalEmotion, "get_trials", refuse)
    monkeypatch.setattr(synthetic, "make_synthetic_emotion", refuse)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_fixture("seediv", tmp_path_factory.mktemp("tree") / "seediv", n_windows=3)


BAD = [
    (["evaluate", "--settings", "eeg2eyes"], "--settings: setting 'eeg2eyes'", "eeg2eye"),
    (["evaluate", "--pipelines", "DE+SVN"], "--pipelines: unknown pipeline 'DE+SVN'", "DE+SVM"),
    (["evaluate", "--pipelines", "de_svm", "--settings", "eeg2eye"], "cannot run", "M2S"),
    (["evaluate", "--reference", "dcca"], "--reference: unknown pipeline 'dcca'", "DE+LR"),
    (["reproduce", "--subjects", "16"], "--subjects: subject 16", "1 to 15"),
    (["reproduce", "--device", "cdua"], "--device:", "cuda"),
    (["train", "--mode", "eye2eyes"], "--mode: setting 'eye2eyes'", "eye2eeg"),
]


@pytest.mark.parametrize("argv,message,valid", BAD)
def test_options_refused_before_any_data_is_read(argv, message, valid, tree, no_data_read, capsys):
    rc = main([*argv, "--dataset", "seediv", "--data-path", str(tree), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("m2s: error: ")
    assert message in err and valid in err


def test_output_paths_refused_before_any_data_is_read(tmp_path, no_data_read, capsys):
    (tmp_path / "file").write_text("")
    argv = ["reproduce", "--dataset", "synthetic", "--out", str(tmp_path / "file")]
    assert main(argv) == 2 and "is a file" in capsys.readouterr().err
    argv = ["train", "--dataset", "synthetic", "--out", str(tmp_path / "file")]
    assert main(argv) == 2 and "--out: model folder" in capsys.readouterr().err


def test_pipeline_names_in_either_spelling():
    from braindecode_m2s.evaluation.pipelines import check_pipeline_names, pipeline_names

    assert check_pipeline_names(["de_svm", "DE+LR", "m2s", "DCCA"]) == [
        "DE+SVM",
        "DE+LR",
        "M2S",
        "dcca",
    ]
    assert "de_svm" not in pipeline_names() and "DE+SVM" in pipeline_names()


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    from braindecode_m2s.evaluation import runs

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(runs, "run_and_report", bug)
    argv = ["evaluate", "--dataset", "synthetic", "--quick", "--out", str(tmp_path / "o")]
    with pytest.raises(ZeroDivisionError):
        main([*argv, "--no-progress"])


def test_fixture_command(tmp_path, capsys):
    out = tmp_path / "deap"
    assert main(["fixture", "--dataset", "deap", "--out", str(out), "--subjects", "1"]) == 0
    printed = capsys.readouterr().out
    assert "RANDOM values" in printed and f"--data-path {out}" in printed
    assert "RANDOM" in (out / "README_FIXTURE.txt").read_text()
    assert (out / "data_preprocessed_python" / "s01.dat").is_file()
    assert main(["fixture", "--dataset", "deap", "--out", str(out)]) == 2  # not empty
    assert "non-empty folder" in capsys.readouterr().err


def test_one_bar_counting_the_reported_fits_and_figures_without_an_extra_fit(
    tmp_path, capsys, monkeypatch
):
    from braindecode_m2s.training import M2SClassifier

    fits = []
    real_fit = M2SClassifier.fit

    def counted(self, *args, **kwargs):
        fits.append(self.pretrain_epochs)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(M2SClassifier, "fit", counted)
    out = tmp_path / "rep"
    argv = ["reproduce", "--dataset", "synthetic", "--quick", "--epochs", "1"]
    assert main([*argv, "--pipelines", "M2S,de_logreg", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    status = json.loads((out / "run_status.json").read_text())
    bars = re.findall(r"model fits:.*?(\d+)/(\d+)", captured.err)
    done, total = map(int, bars[-1])
    reported = int(re.search(r"^model fits: (\d+) ", captured.out, re.M).group(1))
    # 2 folds: a stage-1 pretraining each, 4 M2S modes and 3 DE+LR settings each
    assert done == total == reported == status["total"] == status["done"] == 2 * (1 + 4 + 3)
    assert len(re.findall("model fits", captured.err.replace("\r", "\n"))) >= 1
    # the M2S figures come from the stored stage-1 models and histories: the only
    # M2S fits are the stage-2 fits of the table's rows
    assert fits == [0] * 8
    for name in ("sts_attention_topomap.png", "loss_curves.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    records = [json.loads(p.read_text()) for p in (out / "store" / "tasks").rglob("*.json")]
    m2s = [r for r in records if r["config"].get("pipeline") == "M2S"]
    assert len(m2s) == 8 and all(len(r["history"]) == 1 for r in m2s)  # stage 2: 1 epoch
    import torch

    for path in (out / "store" / "artifacts").rglob("*.pt"):  # the stage-1 models
        saved = torch.load(path, weights_only=True)
        assert set(saved) == {"config", "state_dict", "history"} and len(saved["history"]) == 1
    assert max(map(len, captured.out.splitlines())) <= 100


class WarningLR(LogisticRegression):
    """A classifier whose every fit warns (as some library estimators do)."""

    def fit(self, X, y):
        warnings.warn("something upstream is odd", UserWarning, stacklevel=2)
        return super().fit(np.asarray(X["x"]).reshape(len(y), -1), y)

    def predict(self, X):
        return super().predict(np.asarray(X["x"]).reshape(len(X["x"]), -1))


def test_a_warning_of_every_task_is_reported_once():
    from braindecode_m2s.datasets import make_synthetic_emotion
    from braindecode_m2s.evaluation import evaluate
    from braindecode_m2s.evaluation.evaluations import TaskWarning

    X, y, meta = make_synthetic_emotion(n_subjects=2, n_sessions=1, n_windows=(6, 8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        evaluate({"w": WarningLR(max_iter=50)}, X, y, meta, dataset="SEED-IV", seeds=[0, 1])
    shown = [str(w.message) for w in caught if "upstream" in str(w.message)]
    assert len(shown) == 1 and issubclass(caught[-1].category, TaskWarning)
    assert shown[0].startswith("4 of 4 tasks warned: UserWarning: something upstream is odd")
