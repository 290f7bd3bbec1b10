"""MOABB-style classes for the public multimodal emotion datasets.

Imported on first use (PEP 562): the file readers of the :mod:`.io`
subpackage do not pull in MOABB, MNE or PyTorch.
"""

import lazy_loader as _lazy

_EXPORTS = {
    "base": ["EmotionDataset", "EmotionTrial"],
    "seed": ["SEED"],
    "seed_iv": ["SEEDIV"],
    "seed_v": ["SEEDV"],
    "seed_vii": ["SEEDVII"],
    "deap": ["DEAP"],
    "dreamer": ["DREAMER"],
    "synthetic": ["make_synthetic_emotion"],
    "channels": ["get_info", "get_chs_info"],
}

__getattr__, _lazy_dir, _ = _lazy.attach(__name__, [], _EXPORTS)

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


def __dir__():
    return sorted({*globals(), *_lazy_dir()})
