"""MOABB-style classes for the public multimodal emotion datasets."""

from .base import EmotionDataset, EmotionTrial

__all__ = ["EmotionDataset", "EmotionTrial"]
