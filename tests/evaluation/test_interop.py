"""Interop fixes: channel positions, dataset listing, ProtocolSplitter as cv=, MOABB."""

import warnings

import matplotlib
import mne
import numpy as np
import pytest
import torch
from moabb.evaluations import WithinSessionEvaluation
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from braindecode_m2s import MultimodalEmotion
from braindecode_m2s.datasets import DEAP, SEEDIV, get_chs_info, get_info
from braindecode_m2s.datasets._seed_common import seed_montage
from braindecode_m2s.datasets.fixtures import layout_seed as L
from braindecode_m2s.evaluation import (
    ModalitySelect,
    ProtocolSplitter,
    TrialSplit,
    kappa_scorer,
    moabb_cv_kwargs,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = L.write_seed_iv(tmp_path_factory.mktemp("seediv_i"), subjects=(1, 2), base=4)
    return SEEDIV(path=root, cache_dir=False, subjects=[1, 2])


@pytest.mark.parametrize("code,n", [("SEED-IV", 62), ("seed", 62), (DEAP, 32), ("DREAMER", 14)])
def test_info_without_files(code, n):
    info = get_info(code)
    assert len(info["ch_names"]) == n
    locs = np.array([ch["loc"][:3] for ch in info["chs"]])
    assert np.isfinite(locs).all() and (np.abs(locs).sum(1) > 0).all()


def test_cerebellar_options():
    info = get_info("SEED-IV")
    pos = {ch["ch_name"]: ch["loc"][:3] for ch in info["chs"]}
    assert pos["CB1"][0] < 0 < pos["CB2"][0] and pos["CB1"][2] < pos["O1"][2]
    assert get_info("SEED-IV", cerebellar="drop")["ch_names"][-1] == "O2"
    none = get_info("SEED-IV", cerebellar="none")
    assert np.isnan(none["chs"][57]["loc"][:3]).all()
    assert "CB1" not in seed_montage("drop").ch_names
    with pytest.raises(ValueError, match="`cerebellar` must be one of .*; got 'x'"):
        get_info("SEED-IV", cerebellar="x")
    with pytest.raises(ValueError, match="not a dataset of this package"):
        get_info("BNCI2014001")


def test_dgcnn_and_topomap_take_the_channels():
    from braindecode.models import DGCNN

    model = DGCNN(chs_info=get_chs_info("SEED-IV"), n_outputs=4, n_times=5)
    assert model(torch.randn(2, 62, 5)).shape == (2, 4)
    im, _ = mne.viz.plot_topomap(np.arange(62.0), get_info("SEED-IV"), show=False)
    assert im is not None
    matplotlib.pyplot.close("all")


def test_paradigm_lists_its_datasets():
    codes = [d.code for d in MultimodalEmotion().datasets]
    assert codes == ["SEED", "SEED-IV", "SEED-V", "SEED-VII", "DEAP", "DREAMER"]


def test_protocol_splitter_is_a_cv(dataset):
    X, y, meta = MultimodalEmotion(sequence_length=2).get_data(dataset, [1])
    splits = ProtocolSplitter(meta, "within-session", dataset="SEED-IV")
    assert set(splits.folds()[0]) == {"subject", "session", "fold", "train", "test"}
    pipe = make_pipeline(ModalitySelect("x"), LogisticRegression(max_iter=100))
    scores = cross_val_score(pipe, X, y, cv=splits, error_score="raise")
    assert len(scores) == 3 == splits.get_n_splits()


def test_moabb_within_session_warns_and_trial_split_fixes(dataset, tmp_path):
    pipe = make_pipeline(
        ModalitySelect("x", average_windows=True), LogisticRegression(max_iter=100)
    )
    leaky = WithinSessionEvaluation(
        paradigm=MultimodalEmotion(sequence_length=2),
        datasets=[dataset],
        n_splits=2,
        overwrite=True,
        hdf5_path=str(tmp_path / "a"),
        random_state=0,
    )
    with pytest.warns(UserWarning, match="windows of one trial land in both"):
        leaky.process({"lr": pipe})
    grouped = WithinSessionEvaluation(
        paradigm=MultimodalEmotion(sequence_length=2, scorer=kappa_scorer),
        datasets=[dataset],
        overwrite=True,
        hdf5_path=str(tmp_path / "b"),
        **moabb_cv_kwargs("SEED-IV"),
    )
    assert moabb_cv_kwargs("SEED-IV")["cv_class"] is TrialSplit
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*windows of one trial.*")
        results = grouped.process({"lr": pipe})
    assert len(results) == 2 * 3 and results["score"].between(-1, 1).all()  # kappa


def test_emotion_evaluation_process(dataset):
    from braindecode_m2s.evaluation import EmotionEvaluation

    pipe = make_pipeline(
        ModalitySelect(None, average_windows=True), LogisticRegression(max_iter=100)
    )
    ev = EmotionEvaluation(
        MultimodalEmotion(sequence_length=2),
        datasets=[dataset],
        settings=["multimodal", "eye2eye"],
        subjects=[1, 2],
    )
    res = ev.process({"lr": pipe})
    assert len(res) == 2 * 3 * 2 and set(res["dataset"]) == {"SEED-IV"}
    assert {
        "score",
        "time",
        "samples",
        "subject",
        "session",
        "pipeline",
        "dataset",
        "train_modalities",
        "test_modalities",
        "seed",
        "balanced_accuracy",
        "kappa",
    } <= set(res.columns)
    assert len(ev.predictions_) == res["samples_test"].sum()
