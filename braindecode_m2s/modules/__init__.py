"""Pure PyTorch building blocks of M2S, usable on their own."""

from .alignment import CLIPAlignment
from .club import CLUB
from .contrastive import info_nce
from .frontends import SEED_IV_BANDS, BandDifferentialEntropy
from .m2m_cpc import M2MCPC, M2MCPCOutput
from .sts_attention import STSAttention, sparse_causal_mix

__all__ = [
    "BandDifferentialEntropy",
    "SEED_IV_BANDS",
    "CLIPAlignment",
    "CLUB",
    "M2MCPC",
    "M2MCPCOutput",
    "info_nce",
    "STSAttention",
    "sparse_causal_mix",
]
