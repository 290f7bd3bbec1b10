"""MOABB's generic dataset checks, run on our six datasets with fixture files.

MOABB ships its tests in its wheel (``moabb/tests/test_datasets.py``); the
checks there that apply to a dataset class with files on disk are repeated
here over SEED, SEED-IV, SEED-V, SEED-VII, DEAP and DREAMER, each on a tiny
tree in the official layout (``braindecode_m2s.datasets.fixtures``). The
MOABB test each check comes from is named in its docstring.

Not applicable, and why:

- ``test_dataset_accept`` and the ``nemar`` / download tests
  (``test_download_*``, ``test_nemar_id_*``, ``test_sourcedata_*``): nothing
  is downloaded; the data are licence-gated and read from ``path``.
- ``test_dataset_docstring_table``, ``test_completeness_summary_table``,
  ``test_constructor_summary_table_cross_ref``, ``test_dataset_list``,
  ``test_depreciated_datasets_init``: they check MOABB's own registry and
  summary CSV files, which list MOABB's datasets only.
- ``test_metadata_docstring_*`` and ``test_feedback_section_*``: they test
  MOABB's docstring generator, not a dataset.
- ``TestData.test_epochs``: exact values of BNCI2014_001's files; each
  dataset's own test module checks its values against the files it wrote.
- ``TestReturnAllModalities``: our classes take no ``return_all_modalities``
  (the raw recordings carry every channel with its type; the modalities
  are chosen by the paradigm); MOABB skips the check for such classes too.
- ``test_metadata_has_required_fields``' list of paradigms (imagery, p300,
  ssvep, cvep, rstate): MOABB has no emotion paradigm; the other metadata
  checks run where a dataset has a ``METADATA`` card.
- ``TestCompoundDataset``, ``TestVirtualRealityDataset``, the Kojima, BI2012
  / BI2013a and PhysionetMI parameter tests: specific to those classes.
"""

import ast
import inspect
import json
import logging
import re
from pathlib import Path

import mne
import numpy as np
import pytest
from moabb.datasets.base import LocalBIDSDataset, is_abbrev, is_camel_kebab_case
from moabb.datasets.metadata import DatasetMetadata
from moabb.datasets.utils import bids_metainfo

import braindecode_m2s.datasets as datasets_package
from braindecode_m2s.datasets import DEAP, DREAMER, SEED, SEEDIV, SEEDV, SEEDVII, get_info
from braindecode_m2s.datasets.fixtures import layout_physio as P
from braindecode_m2s.datasets.fixtures import layout_seed as L

#: code -> (class, writer of a tree with subjects 1 and 2)
TREES = {
    "SEED": (SEED, lambda root: L.write_seed(root, subjects=(1, 2))),
    "SEED-IV": (SEEDIV, lambda root: L.write_seed_iv(root, subjects=(1, 2))),
    "SEED-V": (SEEDV, lambda root: L.write_seed_v(root, subjects=(1, 2))),
    "SEED-VII": (SEEDVII, lambda root: L.write_seed_vii(root, subjects=(1, 2))),
    "DEAP": (DEAP, lambda root: P.write_deap(root, subjects=(1, 2))),
    "DREAMER": (DREAMER, lambda root: P.write_dreamer(root)),
}
CLASSES = [cls for cls, _ in TREES.values()]


@pytest.fixture(scope="module", params=list(TREES))
def tree(request, tmp_path_factory):
    cls, write = TREES[request.param]
    root = tmp_path_factory.mktemp(request.param)
    write(root)
    return cls, root


def _make(tree, **kwargs):
    cls, root = tree
    return cls(path=root, cache_dir=False, **kwargs)


# -- Test_Datasets -----------------------------------------------------------------
def test_get_data_structure(tree):
    """``test_fake_dataset`` and ``test_fake_dataset_seed``."""
    ds = _make(tree)
    data = ds.get_data([1, 2])
    assert isinstance(data, dict) and list(data) == [1, 2]
    for sessions in data.values():
        assert list(sessions) == [str(s) for s in range(ds.n_sessions)]
        for runs in sessions.values():
            assert list(runs) == ["0"]
            assert all(isinstance(raw, mne.io.BaseRaw) for raw in runs.values())
    again = ds.get_data([1])[1]
    for session, runs in again.items():
        np.testing.assert_array_equal(runs["0"].get_data(), data[1][session]["0"].get_data())
    with pytest.raises(ValueError, match="Invalid subject 1000 given"):
        ds.get_data([1000])


def test_repr_shows_code(tree):
    """``test_repr_shows_code``."""
    ds = _make(tree)
    assert ds.code in repr(ds) and "object at 0x" not in repr(ds)
    assert ds.code in f"{ds}" and ds.code in repr([ds])


def test_positions_are_json_safe(tree):
    """What MOABB's BIDS writer puts in ``coordsystem.json`` (``list(dig["r"])``)
    must be JSON: colin27's fiducials are float32, which JSON refuses."""
    cls, _ = tree
    raw = _make(tree).get_data([1])[1]["0"]["0"]
    for info in (raw.info, get_info(cls)):
        json.dumps([list(point["r"]) for point in info["dig"] or []])
        json.dumps([list(ch["loc"]) for ch in info["chs"]])


def _moabb_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name.startswith("moabb")]


def _assert_sequence(messages, expected):
    assert len(messages) == len(expected), messages
    for message, regex in zip(messages, expected):
        assert re.search(regex, message), (regex, messages)


@pytest.mark.filterwarnings("ignore:TSV file is empty.*:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Converting data files to EDF.*:RuntimeWarning")
def test_moabb_bids_cache(tree, tmp_path, caplog):
    """``test_cache_dataset`` and ``TestBIDSDataset``: the second ``get_data``
    reads MOABB's BIDS cache, which LocalBIDSDataset reads too.

    Before the fix, SEED's montage kept colin27's float32 fiducials, MOABB's
    writer could not put them in ``coordsystem.json``, logged a warning,
    erased the cache, and every SEED dataset silently ran uncached.
    """
    ds = _make(tree)
    config = {"save_raw": True, "use": True, "overwrite_raw": False, "path": tmp_path}
    with caplog.at_level(logging.INFO):
        fresh = ds.get_data(subjects=[1], cache_config=config)[1]
    _assert_sequence(
        _moabb_messages(caplog),
        [
            "Attempting to retrieve cache .* suffix-eeg",
            "No cache found at",
            "Starting caching .* suffix-eeg",
            "Finished caching .* suffix-eeg",
        ],
    )
    caplog.clear()
    with caplog.at_level(logging.INFO):
        cached = ds.get_data(subjects=[1], cache_config=config)[1]
    _assert_sequence(
        _moabb_messages(caplog),
        ["Attempting to retrieve cache .* suffix-eeg", "Finished reading cache .* suffix-eeg"],
    )
    caplog.clear()
    with caplog.at_level(logging.INFO):
        ds.get_data(subjects=[1], cache_config=dict(config, overwrite_raw=True))
    _assert_sequence(
        _moabb_messages(caplog),
        [
            "Starting erasing cache .* suffix-eeg",
            "Finished erasing cache .* suffix-eeg",
            "Starting caching .* suffix-eeg",
            "Finished caching .* suffix-eeg",
        ],
    )
    frame = bids_metainfo(tmp_path)
    assert {info["subject"] for info in frame.values()} == {"1"}
    assert len({info["session"] for info in frame.values()}) == ds.n_sessions
    # what the cache serves is what the files hold, to EDF's 16-bit resolution
    # and its whole 1-s records (MOABB crops the last partial second)
    assert list(cached) == list(fresh)
    for session, runs in fresh.items():
        want, got = runs["0"], cached[session]["0"]
        sfreq = want.info["sfreq"]
        assert got.ch_names == want.ch_names and got.info["sfreq"] == sfreq
        assert 0 <= want.n_times - got.n_times < sfreq
        assert list(got.annotations.description) == list(want.annotations.description)
        np.testing.assert_allclose(got.annotations.onset, want.annotations.onset, atol=1e-3)
        a, b = want.get_data()[:, : got.n_times], got.get_data()
        span = np.ptp(a, axis=1, keepdims=True)
        assert np.all(np.abs(a - b) <= span / 2**15 + 1e-12)
    # ``TestBIDSDataset.test_local_bids_dataset``: the cache is a BIDS tree
    # that MOABB's LocalBIDSDataset reads back
    (bids_root,) = tmp_path.glob(f"MNE-BIDS-{ds.code.lower()}*")
    local = LocalBIDSDataset(
        bids_root,
        events=ds.event_id,
        interval=ds.interval,
        paradigm=ds.paradigm,
        subjects=[1],
        sessions_per_subject=ds.n_sessions,
    ).get_data()
    assert list(local[1]) == list(fresh)
    assert all(local[1][s]["0"].ch_names == fresh[s]["0"].ch_names for s in fresh)


@pytest.mark.filterwarnings("ignore:TSV file is empty.*:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Converting data files to EDF.*:RuntimeWarning")
def test_cache_overwrite_without_use(tree, tmp_path, caplog):
    """``test_cache_overwrite_without_use``."""
    ds = _make(tree)
    ds.get_data(subjects=[1], cache_config={"save_raw": True, "use": True, "path": tmp_path})
    with caplog.at_level(logging.INFO):
        ds.get_data(
            subjects=[1], cache_config={"use": False, "overwrite_raw": True, "path": tmp_path}
        )
    assert any("erasing cache" in m for m in _moabb_messages(caplog))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        ds.get_data(subjects=[1], cache_config={"use": True, "path": tmp_path})
    assert any("No cache found" in m for m in _moabb_messages(caplog))


def test_data_path_uses_download_flags(tree):
    """``test_data_path_uses_download_flags``, on our modules, and its behaviour."""
    offenders = []
    for file in sorted(Path(datasets_package.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.FunctionDef) and node.name == "data_path"):
                continue
            params = {a.arg for a in node.args.args}
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            used |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            offenders += [
                f"{file.name}:{node.lineno} ignores {flag!r}"
                for flag in ("path", "force_update")
                if flag in params and flag not in used
            ]
    assert not offenders
    cls, root = tree
    ds = cls(path=None, cache_dir=False)
    files = ds.data_path(1, path=root)
    assert files and all(Path(f).is_file() and Path(root) in Path(f).parents for f in files)
    with pytest.warns(UserWarning, match="force_update=True.*never downloaded"):
        assert ds.data_path(1, path=root, force_update=True) == files


def test_construction_logs_nothing_and_names_follow_moabb(caplog):
    """``test_datasets_init`` and ``TestRegex``: no warning, unique Camel-Kebab codes."""
    caplog.set_level("WARNING", logger="moabb.datasets.base")
    codes = []
    for cls in CLASSES:
        caplog.clear()
        ds = cls()
        assert not caplog.records, [r.getMessage() for r in caplog.records]
        assert is_camel_kebab_case(ds.code)
        assert is_abbrev(cls.__name__.replace("_", "-"), ds.code)
        codes.append(ds.code)
    assert len(set(codes)) == len(codes)


def test_subject_names_refused_with_moabb_messages(tree):
    """``test_bad_subject_name`` and ``test_invalid_subjects_raises``, at every door."""
    ds = _make(tree)
    for bad in (1.0, 1.5, "1.0", None):
        calls = [
            lambda s: ds.get_data([s]),
            ds.get_trial_features,
            ds.data_path,
        ]
        for call in calls:
            match = "Subject names must be" if not isinstance(bad, str) else "Invalid subject"
            with pytest.raises(ValueError, match=match):
                call(bad)
    for unknown in (0, 1000, True):
        for call in (lambda s: ds.get_data([s]), ds.get_trial_features, ds.data_path):
            with pytest.raises(ValueError, match=rf"Invalid subject {unknown!r} given"):
                call(unknown)
    ds.subject_list = [1.0, 2.0]
    with pytest.raises(ValueError, match="Subject names must be "):
        ds.get_data()


# -- TestSubjectSessionFiltering and the constructor checks ------------------------
def test_subject_filtering(tree):
    """``test_subject_filtering``, ``test_invalid_subjects_raises``,
    ``test_all_subjects_is_immutable_copy``, ``test_all_datasets_accept_subjects_param``,
    ``test_constructor_subject_filtering``, ``test_constructor_defaults_and_properties``."""
    cls, root = tree
    assert "subjects" in inspect.signature(cls).parameters
    assert "sessions" in inspect.signature(cls).parameters
    full = cls(path=root)
    assert full.subject_list == full.all_subjects and len(full.all_subjects) > 1
    assert full.n_sessions > 0
    first_two = full.all_subjects[:2]
    ds = cls(path=root, subjects=first_two)
    assert ds.subject_list == first_two and ds.all_subjects == full.all_subjects
    ds.all_subjects.append(999)
    assert 999 not in ds.all_subjects
    with pytest.raises(ValueError, match="Invalid subjects"):
        cls(path=root, subjects=[1000])
    with pytest.raises(ValueError, match="Invalid subject 2 given"):
        cls(path=root, cache_dir=False, subjects=[1]).get_trial_features(2)


def test_session_filtering(tree):
    """``test_session_filtering_at_construction`` and
    ``test_combined_subject_and_session_filtering``."""
    cls, root = tree
    data = cls(path=root, cache_dir=False, subjects=[1], sessions=[0]).get_data()
    assert list(data) == [1] and list(data[1]) == ["0"]


def test_events_integrity():
    """``test_constructor_events_integrity``."""
    for cls in CLASSES:
        ds = cls()
        assert isinstance(ds.event_id, dict) and ds.event_id
        for key, value in ds.event_id.items():
            assert isinstance(key, str)
            assert isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# -- TestDatasetMetadata -------------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_metadata(cls):
    """``test_all_datasets_have_metadata_property``, ``test_metadata_is_cached``,
    ``test_metadata_matches_dataset_properties``, ``test_all_datasets_have_license``."""
    ds = cls()
    assert hasattr(ds, "metadata")
    metadata = ds.metadata
    assert metadata is None or isinstance(metadata, DatasetMetadata)
    if metadata is None:
        pytest.skip(f"{cls.__name__} has no METADATA card")
    assert ds.metadata is metadata
    assert metadata.participants.n_subjects == len(ds.subject_list)
    assert metadata.experiment.paradigm == ds.paradigm
    assert metadata.acquisition.sampling_rate > 0
    assert metadata.documentation is not None and metadata.documentation.license
