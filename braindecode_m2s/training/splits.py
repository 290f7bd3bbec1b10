"""Validation split of whole trials of the training data (skorch's ValidSplit)."""

from __future__ import annotations

import warnings

from sklearn.model_selection import GroupShuffleSplit
from skorch.dataset import ValidSplit

__all__ = ["TrialValidSplit"]


class TrialValidSplit(ValidSplit):
    """skorch's :class:`~skorch.dataset.ValidSplit` over whole trials.

    For ``train_split``: holds out a ``fraction`` of the groups given to
    ``fit(X, y, groups=trial_ids)`` (scikit-learn's
    :class:`~sklearn.model_selection.GroupShuffleSplit`), so no window of a
    validation trial is trained on and model selection (early stopping,
    checkpoints) never sees test data nor training trials. Without groups
    it falls back to skorch's stratified split of samples and warns that
    windows of one trial may then fall on both sides.

    Parameters
    ----------
    fraction : float
        Share of groups (or samples) held out, in (0, 1).
    random_state : int | None
        Seed of the split.
    """

    def __init__(self, fraction=0.2, random_state=None):
        if not 0 < fraction < 1:
            raise ValueError(f"TrialValidSplit: fraction must be in (0, 1); got {fraction!r}.")
        self.fraction = fraction
        super().__init__(cv=fraction, stratified=True, random_state=random_state)

    def __repr__(self):
        return f"TrialValidSplit(fraction={self.fraction}, random_state={self.random_state})"

    def __call__(self, dataset, y=None, groups=None):
        if groups is None:
            warnings.warn(
                "TrialValidSplit got no groups: the validation windows are drawn at random "
                "and may share trials with the training windows; pass fit(X, y, "
                "groups=trial_ids) for a trial-wise split.",
                stacklevel=3,
            )
            return super().__call__(dataset, y, groups=None)
        if len(groups) != len(dataset):
            raise ValueError(f"groups has {len(groups)} entries for {len(dataset)} samples.")
        if len(set(map(str, groups))) < 2:
            raise ValueError("TrialValidSplit needs at least two groups (trials).")
        return ValidSplit(
            GroupShuffleSplit(1, test_size=self.fraction, random_state=self.random_state),
            stratified=False,
        )(dataset, y, groups=groups)
