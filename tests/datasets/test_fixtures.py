"""write_fixture (``m2s fixture``): trees the dataset classes read as the real ones."""

import numpy as np
import pytest

from braindecode_m2s.datasets import SEEDIV
from braindecode_m2s.datasets.fixtures import FIXTURE_README, write_fixture
from braindecode_m2s.datasets.fixtures.layout_seed import SEEDIV_LABELS
from braindecode_m2s.datasets.names import dataset_class
from braindecode_m2s.paradigms import MultimodalEmotion


def test_seediv_round_trip(tmp_path):
    root = write_fixture("SEED-IV", tmp_path / "seediv", n_subjects=2, n_windows=4)
    dataset = SEEDIV(path=root, cache_dir=False)
    for subject in (1, 2):
        trials = dataset.get_trial_features(subject)
        assert len(trials) == 3 * 24  # three sessions of 24 trials, as the real files
        labels = [t.label for t in trials]
        assert labels == [label for session in SEEDIV_LABELS for label in session]
        first = trials[0]
        assert first.modalities["x"].shape == (62, first.n_windows, 5)
        assert first.modalities["eye"].shape == (31, first.n_windows)
        assert {t.n_windows for t in trials} == {4, 5, 6}
    note = (root / FIXTURE_README).read_text()
    assert "RANDOM" in note and "SEED-IV" in note and "subject(s) (1, 2)" in note
    assert not any((root / "eeg_raw_data" / "1").iterdir())  # features only by default


@pytest.mark.parametrize("name", ["seed", "seedv", "seedvii", "deap", "dreamer"])
def test_every_dataset_reads_its_fixture(name, tmp_path):
    root = write_fixture(name, tmp_path / name, n_subjects=1, n_windows=3)
    dataset = dataset_class(name)(path=root, cache_dir=False)
    subject = 1
    X, y, meta = MultimodalEmotion(sequence_length=3).get_data(dataset, [subject])
    assert set(X.keys()) == set(dataset.MODALITIES)
    assert len(y) == len(meta) > 0 and set(meta["subject"]) == {subject}
    assert np.isfinite(X["x"]).all()


def test_refusals(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "a.txt").write_text("")
    with pytest.raises(ValueError, match="non-empty folder"):
        write_fixture("seediv", tmp_path / "taken")
    with pytest.raises(ValueError, match="at most 15"):
        write_fixture("seediv", tmp_path / "new", n_subjects=16)
    with pytest.raises(ValueError, match="is not a dataset of this package"):
        write_fixture("seed9", tmp_path / "new")
    assert not (tmp_path / "new").exists()
