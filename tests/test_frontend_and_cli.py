"""Raw-EEG DE front end against closed forms; the `m2s demo` command."""

import math
import subprocess
import sys

import pytest
import torch

from braindecode_m2s.cli import build_parser, main
from braindecode_m2s.modules import BandDifferentialEntropy


def test_sine_de_matches_closed_form():
    sfreq, n = 200.0, 400
    t = torch.arange(n) / sfreq
    amplitude = 3.0
    x = amplitude * torch.sin(2 * math.pi * 10.0 * t)  # 10 Hz: alpha band (8-14)
    front = BandDifferentialEntropy(sfreq, window_seconds=1.0)
    de = front(x.repeat(2, 3, 1))
    assert de.shape == (2, 3, 2, 5)
    expected = 0.5 * math.log(2 * math.pi * math.e * amplitude**2 / 2)
    torch.testing.assert_close(de[..., 2], torch.full((2, 3, 2), expected), rtol=1e-4, atol=1e-4)
    assert (de[..., [0, 1, 3, 4]] < expected - 10).all()  # other bands ~empty


def test_white_noise_band_variance():
    g = torch.Generator().manual_seed(0)
    sfreq, sigma = 100.0, 2.0
    x = sigma * torch.randn(1, 50, 100 * 40, generator=g)
    front = BandDifferentialEntropy(sfreq, window_seconds=4.0, bands=[(10.0, 20.0)])
    de = front(x)
    # flat spectrum: the band holds (20 - 10) / 50 of the variance
    expected = 0.5 * math.log(2 * math.pi * math.e * sigma**2 * 10 / 50)
    assert abs(float(de.mean()) - expected) < 0.02


def test_front_end_is_differentiable_and_validates():
    front = BandDifferentialEntropy(128.0, window_seconds=1.0)
    x = torch.randn(2, 4, 256, requires_grad=True)
    front(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match="shorter than one"):
        front(torch.randn(1, 4, 100))
    with pytest.raises(ValueError, match="Nyquist"):
        BandDifferentialEntropy(50.0, bands=[(1.0, 40.0)])
    with pytest.raises(ValueError, match="no FFT bin"):
        BandDifferentialEntropy(200.0, window_seconds=0.05, bands=[(1.0, 4.0)])
    with pytest.raises(ValueError, match="sfreq"):
        BandDifferentialEntropy(0)


def test_cli_parser_and_bad_arguments():
    args = build_parser().parse_args(["demo", "--epochs", "3", "--seeds", "2", "5"])
    assert (args.epochs, args.seeds, args.quick, args.scenario) == (3, [2, 5], False, "redundant")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--epochs", "0"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--scenario", "bogus"])
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


def test_demo_quick_run_prints_the_four_mode_table(capsys, tmp_path):
    csv = tmp_path / "demo.csv"
    code = main(
        [
            "demo",
            "--quick",
            "--epochs",
            "1",
            "--pretrain-epochs",
            "1",
            "--seeds",
            "0",
            "1",
            "--no-progress",
            "--csv",
            str(csv),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    rows = (
        "unimodal EEG",
        "unimodal eye",
        "fusion",
        "LR EEG",
        "LR eye",
        "M2S eeg->eeg",
        "M2S eye->eye",
        "M2S eeg->eye",
        "M2S eye->eeg",
        "M2S both->both",
        "M2S prototype eeg->eeg",
        "M2S prototype eye->eye",
        "M2S prototype eeg->eye",
        "M2S prototype eye->eeg",
    )
    for text in (*rows, "balanced acc. (%)", "kappa", " ± "):
        assert text in out
    import pandas as pd

    table = pd.read_csv(csv)
    assert list(dict.fromkeys(table["model"])) == list(rows)
    assert sorted(set(table["seed"])) == [0, 1]
    # the CSV is in the screen's units (%)
    assert table["balanced_accuracy_pct"].between(0, 100).all()
    assert table["balanced_accuracy_pct"].max() > 1
    # the LR rows are a logistic regression on each modality's window-mean features
    from sklearn.metrics import balanced_accuracy_score

    from braindecode_m2s import make_synthetic_emotion, split_by_trial
    from braindecode_m2s.baselines import de_logreg

    X, y, meta = make_synthetic_emotion(
        n_subjects=1, n_sessions=1, sequence_length=5, scenario="redundant", seed=0
    )
    train, test = split_by_trial(meta, "SEED-IV")
    for key, label in (("x", "LR EEG"), ("eye", "LR eye")):
        pred = de_logreg(key, random_state=0).fit(X[train], y[train]).predict(X[test])
        shown = table.loc[(table.model == label) & (table.seed == 0), "balanced_accuracy_pct"]
        assert shown.item() == pytest.approx(100 * balanced_accuracy_score(y[test], pred))


def test_help_is_immediate_and_imports_nothing_heavy():
    # `python -m braindecode_m2s [command] --help` for every command, in a fresh
    # interpreter: none of numpy, pandas, scikit-learn, torch, braindecode, MNE and
    # MOABB is imported (seconds of every start), and the parser answers in well
    # under 2 s (the bound of the command line; a loaded machine included)
    code = (
        "import runpy, sys, time\n"
        "start = time.perf_counter()\n"
        "for command in ([], ['demo'], ['fixture'], ['train'], ['evaluate'], ['reproduce']):\n"
        "    sys.argv = ['braindecode_m2s', *command, '--help']\n"
        "    try:\n"
        "        runpy.run_module('braindecode_m2s', run_name='__main__')\n"
        "    except SystemExit as stop:\n"
        "        assert stop.code == 0, command\n"
        "heavy = ('numpy', 'pandas', 'sklearn', 'torch', 'braindecode', 'mne', 'moabb')\n"
        "print('imported', [m for m in heavy if m in sys.modules])\n"
        "print('seconds', time.perf_counter() - start)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert "--epochs" in result.stdout and "--windows" in result.stdout, result.stderr[-2000:]
    lines = result.stdout.rstrip().splitlines()
    assert lines[-2] == "imported []", result.stdout[-300:]
    assert float(lines[-1].split()[1]) < 2.0
