"""braindecode, imported in one place with its import-time warning silenced.

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

__all__ = ["EEGClassifier", "EEGModuleMixin", "DGCNN", "EEGNet", "infer_signal_properties"]
