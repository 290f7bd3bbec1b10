"""MOABB-style classes for the public multimodal emotion datasets."""

from .base import EmotionDataset, EmotionTrial
from .channels import get_chs_info, get_info
from .deap import DEAP
from .dreamer import DREAMER
from .seed import SEED
from .seed_iv import SEEDIV
from .seed_v import SEEDV
from .seed_vii import SEEDVII
from .synthetic import make_synthetic_emotion

__all__ = [
    "EmotionDataset",
    "EmotionTrial",
    "SEED",
    "SEEDIV",
    "SEEDV",
    "SEEDVII",
    "DEAP",
    "DREAMER",
    "make_synthetic_emotion",
    "get_info",
    "get_chs_info",
]
