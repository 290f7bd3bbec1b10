"""MOABB-style classes for the public multimodal emotion datasets."""

from .base import EmotionDataset, EmotionTrial
from .synthetic import make_synthetic_emotion

__all__ = ["EmotionDataset", "EmotionTrial", "make_synthetic_emotion"]
