"""One table of dataset names (``datasets/names.py``), read by every entry point."""

import pytest

from braindecode_m2s.datasets import get_info, names
from braindecode_m2s.datasets.seed_iv import SEEDIV_SESSION_LABELS
from braindecode_m2s.evaluation.choices import DATASETS
from braindecode_m2s.evaluation.data import dataset_key
from braindecode_m2s.evaluation.protocols import WITHIN_SESSION, normalize_dataset_code

SPELLINGS = {
    "SEED": ["SEED", "seed", "Seed"],
    "SEED-IV": ["SEED-IV", "seediv", "seed-iv", "seed_iv", "SEEDIV", "seed4", "SEED_IV"],
    "SEED-V": ["SEED-V", "seedv", "seed-v", "seed5", "SEEDV"],
    "SEED-VII": ["SEED-VII", "seedvii", "seed_vii", "seed7", "SEEDVII"],
    "DEAP": ["DEAP", "deap"],
    "DREAMER": ["DREAMER", "dreamer", "Dreamer"],
}


@pytest.mark.parametrize("code", sorted(SPELLINGS))
def test_every_entry_point_reads_the_one_table(code):
    entry = names.lookup(code)
    cls = names.dataset_class(code)
    assert cls.__name__ == entry.class_name and cls().code == code
    assert code in WITHIN_SESSION
    for spelling in SPELLINGS[code]:
        assert names.dataset_code(spelling) == code
        assert normalize_dataset_code(spelling) == code
        assert dataset_key(spelling) == entry.class_name.lower()
        assert get_info(spelling)["ch_names"] == get_info(code)["ch_names"]
    assert get_info(cls)["ch_names"] == get_info(code)["ch_names"]


@pytest.mark.parametrize("bad", ["seed8", "mahnob", "", "synthetic", None, 4])
def test_unknown_names_refused_everywhere(bad):
    with pytest.raises(ValueError, match="is not a dataset of this package"):
        names.lookup(bad)
    with pytest.raises(ValueError, match="has no standard protocol"):
        normalize_dataset_code(bad)
    if isinstance(bad, str) and bad != "synthetic":
        with pytest.raises(ValueError, match="unknown dataset"):
            dataset_key(bad)
    with pytest.raises(ValueError):
        get_info(bad)


def test_synthetic_is_a_command_line_name_only():
    assert dataset_key("synthetic") == "synthetic"
    assert set(DATASETS) - {"synthetic"} == {e.class_name.lower() for e in names.DATASET_NAMES}


def test_seed_iv_labels_have_one_home():
    from braindecode_m2s.datasets import synthetic

    assert synthetic.SEEDIV_SESSION_LABELS is SEEDIV_SESSION_LABELS
