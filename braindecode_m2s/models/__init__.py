"""braindecode models of this package."""

from .m2s import DEFAULT_MODALITIES, EEG_KEY, M2S

__all__ = ["M2S", "DEFAULT_MODALITIES", "EEG_KEY"]
