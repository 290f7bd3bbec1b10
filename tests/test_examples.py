"""The examples run end to end (fixture data, smallest budgets) and say what they show.

Each example runs as a subprocess from a temporary working directory, with
``HOME``, ``TMPDIR`` and ``MNE_DATA`` pointing into temporary folders
(``MPLCONFIGDIR`` at matplotlib's existing cache) and no dataset path
configured in the environment, so the run uses fixture data and must not depend on
the current directory or write anywhere else.
"""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = {
    "custom_dataset.py": (
        ["--epochs", "1"],
        [
            "raw recording of subject 1: 10 channels, 160 s, 8 trials",
            "trial 0 of subject 1: 20 windows",
            "X: {'x': (96, 8, 5, 5), 'physio': (96, 4, 5)} y: [48, 48]",
            "trials 0-5 train (72 samples), trials 6-7 test (24 samples)",
            "tested on EEG:",
            "tested on peripheral (cross-modal):",
        ],
    ),
    "train_m2s_seed_iv.py": (
        ["--epochs", "1"],
        [
            "No SEED-IV path configured",
            "X: {'x': (288, 62, 5, 5), 'eye': (288, 31, 5)}",
            "SEED-IV protocol: trials 0-15 train (192 samples), trials 16-23 test (96 samples)",
            "Stage 1 in net.history",
            "clip_loss",
            "club_mi",
            "clip_acc_x->eye",
            "cpc_acc_eye->x",
            "eeg->eeg",
            "eye->eye",
            "eeg->eye",
            "eye->eeg",
            "kappa",
        ],
    ),
    "pretrain_then_finetune.py": (
        ["--pretrain-epochs", "1", "--epochs", "1"],
        [
            "Pretraining (1 epochs",
            "clip_acc_x->eye",
            "cpc_acc_eye->x",
            "pretrained+classifier",
            "from scratch",
            "difference (points)",
            "eye only",
        ],
    ),
    "deap_peripheral.py": (
        ["--epochs", "1"],
        [
            "No DEAP path configured",
            "peripheral features per window: 40",
            "'peripheral': (144, 40, 10)",
            "stage 1 (1 epoch(s), no labels)",
            "EEG + peripheral",
            "EEG only",
            "peripheral only",
        ],
    ),
    "train_distributed.py": (
        ["--pretrain-epochs", "1", "--epochs", "1"],
        [
            "1 process(es)",
            "stages 1 and 2 on 262 samples",
            "eeg->eye balanced accuracy",
            "reloaded in a plain M2SClassifier: same predictions: True",
        ],
    ),
    "moabb_evaluation.py": (
        ["--epochs", "1"],
        [
            "1. MOABB WithinSessionEvaluation",
            "2. MOABB WithinSessionEvaluation",
            "split by trial",
            "M2S eeg->eeg",
            "3. scikit-learn cross_val_score",
            "312 samples from 72 trials",
        ],
    ),
}


def _dataset_variables():
    return [k for k in os.environ if k.startswith("MNE_DATASETS_")]


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs(name, tmp_path):
    flags, expected = CASES[name]
    work, home, tmp = tmp_path / "cwd", tmp_path / "home", tmp_path / "tmp"
    for folder in (work, home, tmp):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _dataset_variables()}
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        MNE_DATA=str(home / "mne_data"),
        MPLBACKEND="Agg",
        PYTHONWARNINGS="ignore",
        # reuse matplotlib's font cache (imported by MNE) instead of
        # rebuilding it in the empty HOME
        MPLCONFIGDIR=env.get("MPLCONFIGDIR") or matplotlib.get_cachedir(),
        # one thread: these tiny models gain little from two, and two
        # OpenMP threads slow down several-fold on a busy machine
        OMP_NUM_THREADS="1",
    )
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *flags],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    for line in expected:
        assert line in proc.stdout, f"{line!r} not in the output:\n{proc.stdout}"
    # nothing written to the working directory or HOME, and the examples'
    # temporary folders removed (torch's optimizers create an empty
    # ``torchinductor_<user>`` cache folder in the temporary directory)
    assert list(work.iterdir()) == []
    assert list(home.iterdir()) == []
    assert [p.name for p in tmp.iterdir() if not p.name.startswith("torchinductor_")] == []
