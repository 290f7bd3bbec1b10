"""What skorch's own tests found (``benchmarks/peers/run_skorch_net_tests.py``), one
test each: skorch's scoring callbacks during fit, and torch datasets of feature
windows."""

import numpy as np
import pytest
import torch
from conftest import SMALL
from skorch.callbacks import EpochScoring
from skorch.dataset import ValidSplit
from skorch.helper import SliceDict

from braindecode_m2s import M2S, M2SClassifier

TINY = {
    f"module__{k}": v for k, v in SMALL.items() if k not in ("n_chans", "n_outputs", "modalities")
}
FAST = dict(max_epochs=2, batch_size=16, verbose=0, random_state=0, pretrain_epochs=0)


def _clf(**kwargs):
    return M2SClassifier(M2S, **{**FAST, **TINY, **kwargs})


def test_scoring_callbacks_compare_predictions_with_the_targets_skorch_trains_on(small_data):
    """skorch's validation scores (valid_acc, any EpochScoring) compare predictions with
    the encoded targets: inside fit, predictions are encoded too, whatever the labels."""
    x, eye, y = small_data
    X = SliceDict(x=x, eye=eye)
    scores = {}
    for labels in (np.array([0, 1, 2]), np.array([-1, 0, 1]), np.array(["a", "b", "c"])):
        balanced = EpochScoring("balanced_accuracy", lower_is_better=False, name="valid_bacc")
        clf = _clf(train_split=ValidSplit(4), callbacks=[balanced]).fit(X, labels[y])
        scores[labels[0]] = clf.history[:, ["valid_acc", "valid_bacc"]]
        assert set(clf.predict(X)) <= set(labels)  # after fit: the labels
    assert scores[-1] == scores[0] == scores["a"]
    assert np.max(scores[0]) > 0


@pytest.mark.parametrize("layout", ["one window", "feature windows"])
def test_a_dataset_of_feature_samples_is_read_as_arrays_are(small_data, layout):
    x, _, y = small_data
    samples = x[:, :, :1].reshape(len(x), -1) if layout == "one window" else x
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(samples), torch.as_tensor(y))
    clf = _clf(module__n_bands=5).fit(dataset, None)
    n_windows = 1 if layout == "one window" else x.shape[2]
    assert clf.module_kwargs_ | {"n_chans": 6, "n_times": n_windows, "n_bands": 5} == (
        clf.module_kwargs_
    )
    np.testing.assert_array_equal(clf.predict(dataset), clf.predict(samples))


def test_a_dataset_with_y_gives_y_to_the_split(small_data):
    x, _, y = small_data
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y))
    stratified = ValidSplit(4, stratified=True)
    assert "valid_acc" in _clf(train_split=stratified).fit(dataset, y).history[-1]
    with pytest.raises(ValueError, match="Stratified CV requires explicitly passing"):
        _clf(train_split=stratified).fit(dataset, None)  # y read from the items: none given
    with pytest.raises(ValueError, match=r"items hold 1 value\(s\); expected \(x, y"):
        _clf().fit(torch.utils.data.TensorDataset(torch.as_tensor(x)), y)
