"""Pure PyTorch building blocks of M2S, usable on their own."""

from .frontends import SEED_IV_BANDS, BandDifferentialEntropy
from .m2m_cpc import M2MCPC, M2MCPCOutput, info_nce
from .sts_attention import (
    SparseAttentionWeights,
    SpatialAttention,
    STSAttention,
    TemporalSparseAttention,
    top_k_attention,
)

__all__ = [
    "BandDifferentialEntropy",
    "SEED_IV_BANDS",
    "M2MCPC",
    "M2MCPCOutput",
    "info_nce",
    "SparseAttentionWeights",
    "SpatialAttention",
    "STSAttention",
    "TemporalSparseAttention",
    "top_k_attention",
]
