"""Channel information of the datasets, without reading any recording.

braindecode models take ``chs_info`` (e.g. ``DGCNN(chs_info=...)`` builds its
initial adjacency from electrode positions) and MNE plots take an
``mne.Info``; both only need the channel names and the template montage,
which are facts of each dataset's cap, so they are available before (and
without) the licence-gated files.
"""

from __future__ import annotations

import mne

from ._seed_common import SEED_CHANNELS, make_info
from .deap import DEAP_EEG_CHANNELS, standard_montage
from .deap import SFREQ as DEAP_SFREQ
from .dreamer import DREAMER_EEG_CHANNELS
from .names import dataset_code

__all__ = ["get_info", "get_chs_info"]

_SEED_FAMILY = ("SEED", "SEED-IV", "SEED-V", "SEED-VII")
_SEED_SFREQ = 200.0


def _code(dataset):
    code = dataset.__name__ if isinstance(dataset, type) else getattr(dataset, "code", dataset)
    if not isinstance(code, str):
        raise ValueError(
            f"`dataset` is {dataset!r}; expected a dataset object, class or code such as "
            f"'SEED-IV'."
        )
    return dataset_code(code)


def get_info(dataset, cerebellar="approximate"):
    """``mne.Info`` of a dataset's EEG channels, with template positions.

    Parameters
    ----------
    dataset : EmotionDataset | type | str
        A dataset object or class of :mod:`braindecode_m2s.datasets`, or its
        code (``"SEED-IV"``, ``"seediv"``...).
    cerebellar : {"approximate", "drop", "none"}
        SEED family only: how to handle CB1 / CB2, which MNE's templates
        lack (see :func:`braindecode_m2s.datasets._seed_common.seed_montage`):
        approximate positions (default, every channel has one), drop the two
        channels (60 channels), or leave their positions NaN.

    Returns
    -------
    mne.Info
        EEG channels in the order of the dataset's feature arrays, at the
        sampling rate of the released EEG (SEED family 200 Hz, DEAP and
        DREAMER 128 Hz).

    Examples
    --------
    >>> info = get_info("SEED-IV")
    >>> len(info["ch_names"])
    62
    """
    code = _code(dataset)
    if code in _SEED_FAMILY:
        return make_info(_SEED_SFREQ, SEED_CHANNELS, cerebellar=cerebellar)
    names = DEAP_EEG_CHANNELS if code == "DEAP" else DREAMER_EEG_CHANNELS
    info = mne.create_info(list(names), DEAP_SFREQ, ch_types="eeg")
    info.set_montage(standard_montage(), on_missing="ignore")
    return info


def get_chs_info(dataset, cerebellar="approximate"):
    """braindecode's ``chs_info`` (``info["chs"]``) of a dataset's EEG channels.

    Parameters
    ----------
    dataset, cerebellar
        As in :func:`get_info`.

    Returns
    -------
    list of dict
        One MNE channel dict per EEG channel (``ch_name``, ``loc``...), e.g.
        for ``braindecode.models.DGCNN(chs_info=get_chs_info("SEED-IV"), ...)``.
    """
    return list(get_info(dataset, cerebellar=cerebellar)["chs"])
