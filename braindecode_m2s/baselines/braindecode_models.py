"""braindecode's DGCNN (on DE features) and EEGNet (on raw windows) as baselines.

Thin factories: each returns a :class:`~.feature_pipelines.FeatureClassifier`
around a configured :class:`braindecode.EEGClassifier` (AdamW, a fixed
number of epochs, no internal validation split), so that both read the
paradigm's SliceDict, encode any labels and take ``train_modalities`` /
``test_modalities`` like every other baseline (EEG only: ``["x"]``).

References
----------
.. [1] Song, T., Zheng, W., Song, P., & Cui, Z. (2018). EEG emotion
   recognition using dynamical graph convolutional neural networks. IEEE
   Transactions on Affective Computing, 11(3), 532-541.
.. [2] Lawhern, V. J., Solon, A. J., Waytowich, N. R., Gordon, S. M., Hung,
   C. P., & Lance, B. J. (2018). EEGNet: a compact convolutional neural
   network for EEG-based brain-computer interfaces. Journal of Neural
   Engineering, 15(5), 056013.
"""

from __future__ import annotations

import numpy as np
import torch

from .._braindecode import DGCNN, EEGClassifier, EEGNet
from .feature_pipelines import FeatureClassifier

__all__ = ["dgcnn", "eegnet"]


def _check_chs_info(chs_info, n_chans):
    """Refuse channel info whose 3-D positions are missing or not finite.

    SEED-family channel info leaves the cerebellar CB1 / CB2 without
    positions (NaN), on which braindecode's DGCNN fails with
    "Input contains NaN" while building its initial graph.
    """
    if chs_info is None:
        raise ValueError(
            "`chs_info` is required: DGCNN builds its initial graph from electrode "
            "positions (e.g. `raw.info['chs']`)."
        )
    if len(chs_info) != n_chans:
        raise ValueError(f"`chs_info` has {len(chs_info)} channels, `n_chans` is {n_chans}.")
    bad = [
        ch.get("ch_name", str(i))
        for i, ch in enumerate(chs_info)
        if not np.all(np.isfinite(np.asarray(ch.get("loc", [np.nan] * 3), float)[:3]))
    ]
    if bad:
        raise ValueError(
            f"`chs_info` has no finite 3-D position for channels {bad}; DGCNN needs one "
            "for every channel (give approximate positions or drop these channels)."
        )


def _classifier_kwargs(max_epochs, batch_size, lr, weight_decay, device, verbose):
    return dict(
        optimizer=torch.optim.AdamW,
        optimizer__lr=lr,
        optimizer__weight_decay=weight_decay,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        # braindecode drops the last incomplete batch by default, which
        # silently skips training when the training set is smaller than a batch
        iterator_train__drop_last=False,
        device=device,
        verbose=verbose,
    )


def dgcnn(
    n_chans,
    n_outputs,
    chs_info,
    n_bands=5,
    max_epochs=30,
    batch_size=64,
    lr=1e-3,
    weight_decay=1e-2,
    random_state=None,
    device="cpu",
    verbose=0,
    **module_kwargs,
):
    """braindecode's ``DGCNN`` (Song et al., 2018) on window-averaged DE features.

    The model reads ``X["x"]`` averaged over the windows of a sample,
    ``(n, n_chans, n_bands)`` (braindecode's DGCNN input, the bands as its
    ``n_times`` axis).

    Parameters
    ----------
    n_chans : int
        EEG channels.
    n_outputs : int
        Classes.
    chs_info : list of dict
        MNE channel info with finite 3-D positions for every channel.
    n_bands : int
        DE bands per channel.
    max_epochs, batch_size, lr, weight_decay, device, verbose :
        Training settings (AdamW).
    random_state : int | None
        Seed.
    **module_kwargs
        Passed to ``DGCNN`` (``n_filters``, ``cheb_order``, ...).

    Returns
    -------
    FeatureClassifier
    """
    _check_chs_info(chs_info, n_chans)
    net = EEGClassifier(
        DGCNN,
        module__n_chans=n_chans,
        module__n_outputs=n_outputs,
        module__chs_info=chs_info,
        module__n_times=n_bands,
        **{f"module__{k}": v for k, v in module_kwargs.items()},
        **_classifier_kwargs(max_epochs, batch_size, lr, weight_decay, device, verbose),
    )
    return FeatureClassifier(
        net,
        train_modalities=["x"],
        test_modalities=["x"],
        layout="channels",
        random_state=random_state,
    )


def eegnet(
    n_chans,
    n_outputs,
    n_times,
    max_epochs=30,
    batch_size=64,
    lr=1e-3,
    weight_decay=1e-2,
    random_state=None,
    device="cpu",
    verbose=0,
    **module_kwargs,
):
    """braindecode's ``EEGNet`` (Lawhern et al., 2018) on raw EEG windows.

    Reads ``X["x"]`` as raw EEG ``(n, n_chans, n_times)`` (standardised per
    channel on the training data).

    Parameters
    ----------
    n_chans, n_outputs, n_times : int
        Signal parameters.
    max_epochs, batch_size, lr, weight_decay, device, verbose :
        Training settings (AdamW).
    random_state : int | None
        Seed.
    **module_kwargs
        Passed to ``EEGNet`` (``F1``, ``kernel_length``, ...).

    Returns
    -------
    FeatureClassifier
    """
    net = EEGClassifier(
        EEGNet,
        module__n_chans=n_chans,
        module__n_outputs=n_outputs,
        module__n_times=n_times,
        **{f"module__{k}": v for k, v in module_kwargs.items()},
        **_classifier_kwargs(max_epochs, batch_size, lr, weight_decay, device, verbose),
    )
    return FeatureClassifier(
        net, train_modalities=["x"], test_modalities=["x"], layout="raw", random_state=random_state
    )
