"""braindecode, imported in one place: its import-time warning silenced, and the one
helper of braindecode's that is not public API.

``import braindecode`` builds MNE's deprecated ``"standard_1020"`` montage
while it imports its models (braindecode 1.8), which shows every user an
upstream ``FutureWarning``. Every module of this package that needs
braindecode takes it from here, so the warning is silenced for that one
import only (no global warning filter is changed), and only once
braindecode is actually needed: :mod:`braindecode_m2s` itself imports it
lazily.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="Montage name 'standard_1020'", category=FutureWarning
    )
    from braindecode import EEGClassifier
    from braindecode.datautil.util import infer_signal_properties
    from braindecode.models import DGCNN, EEGNet
    from braindecode.models.base import EEGModuleMixin

__all__ = [
    "EEGClassifier",
    "EEGModuleMixin",
    "DGCNN",
    "EEGNet",
    "infer_signal_properties",
    "set_n_outputs",
]


def set_n_outputs(model, n_outputs):
    """Record a new ``n_outputs`` on a braindecode model and in its saved configs.

    Reason: ``reset_head`` must keep ``n_outputs``, ``get_config()`` and the
    hub configuration in sync; braindecode 1.8 offers this only as
    ``EEGModuleMixin._set_n_outputs`` ("helper for reset_head
    implementations", added in 1.8, the version ``pyproject.toml`` requires;
    re-check when braindecode 2 is allowed).
    """
    model._set_n_outputs(n_outputs)
