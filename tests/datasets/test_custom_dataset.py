"""The two ways to bring one's own data, as ``docs/custom_dataset.md`` shows them."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from braindecode_m2s import EmotionDataset, MultimodalEmotion, split_by_trial
from braindecode_m2s.datasets import EmotionTrial

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "custom_dataset.md"


@pytest.mark.slow
def test_the_guide_s_plain_arrays_run_as_printed(tmp_path):
    found = re.search(r"<!-- plain-arrays-begin -->\n```python\n(.*?)```", GUIDE.read_text(), re.S)
    assert found, "docs/custom_dataset.md lost its plain-arrays markers"
    script = tmp_path / "plain_arrays.py"
    script.write_text(found.group(1))
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    score = re.search(r"^eeg->eeg: (\d+)%$", run.stdout, re.M)
    assert score, run.stdout
    assert int(score.group(1)) >= 70, run.stdout  # two classes: chance 50 %


class FeaturesOnly(EmotionDataset):
    """A study that gives feature windows and no raw recordings."""

    def __init__(self, path=None):
        super().__init__(
            path=path,
            cache_dir=False,
            subjects=[1, 2],
            sessions_per_subject=1,
            events={"negative": 0, "positive": 1},
            code="FeaturesOnly",
            interval=[0, 12],
            paradigm="emotion",
        )

    def _subject_files(self, subject):
        return []

    def get_trial_features(self, subject):
        rng = np.random.default_rng(subject)
        return [
            EmotionTrial(
                subject,
                "0",
                trial,
                trial % 2,
                {"x": rng.standard_normal((8, 12, 5)), "physio": rng.standard_normal((4, 12))},
                1.0,
            )
            for trial in range(6)
        ]


def test_a_dataset_of_features_only_needs_no_raw_reader():
    dataset = FeaturesOnly()
    X, y, metadata = MultimodalEmotion(sequence_length=5, stride=1).get_data(dataset)
    assert X["x"].shape == (2 * 6 * 8, 8, 5, 5) and X["physio"].shape == (96, 4, 5)
    train, test = split_by_trial(metadata, 4)
    assert set(metadata.trial.iloc[test]) == {4, 5}
    with pytest.raises(NotImplementedError, match="_get_single_subject_data"):
        dataset.get_data([1])
