# Authors: braindecode-m2s developers
#
# The encoders and decoders of M2S (Liu, Cai, Lu & Zheng, AAAI 2025).
# Reference implementation (MIT): GitHub Arcee-LYK/Multi-to-Single,
# M2S_demo_code/M2S.py and models.py (``EEG_ER_Encoder``, ``Eye_ER_Encoder``,
# the EI encoders and decoders); our own code.
#
# License: BSD (3-clause)
"""Emotion-related (ER) and emotion-irrelevant (EI) encoders, and decoders."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .sts_attention import STSAttention

__all__ = ["EEGEREncoder", "FeatureEREncoder", "PostNormEncoderLayer", "EIEncoder", "Decoder"]


class EEGEREncoder(nn.Module):
    """EEG emotion-related encoder: STS attention layers, then a linear map.

    ``(batch, n_windows, n_chans, n_bands)`` (windows first, the layout
    the layers work in) -> ``(batch, n_windows, embed_dim)``: ``n_layers``
    :class:`~braindecode_m2s.STSAttention` layers on electrode tokens
    (features = bands), then each window's flattened channel-major ``n_chans * n_bands`` vector
    (310 for SEED) is mapped
    linearly to ``embed_dim`` (the ``EEG_ER_Encoder`` of the reference).
    """

    def __init__(
        self,
        n_chans,
        n_bands,
        embed_dim,
        n_layers,
        n_heads,
        head_dim,
        ff_dim,
        drop_prob,
        activation,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            STSAttention(
                n_bands,
                n_heads,
                head_dim,
                n_chans=n_chans,
                ff_dim=ff_dim,
                drop_prob=drop_prob,
                activation=activation,
            )
            for _ in range(n_layers)
        )
        self.affine = nn.Linear(n_chans * n_bands, embed_dim)

    def forward(self, h, return_attention=False):
        attention = []
        for layer in self.layers:
            h, weights = layer.windows_first(h, return_attention=return_attention)
            attention.append(weights)
        z = self.affine(h.flatten(2))  # channel-major, as the reference's 310 = 62 x 5
        return (z, attention) if return_attention else z


class PostNormEncoderLayer(nn.Module):
    """Post-norm transformer encoder layer over windows (the reference's ``EncoderLayer``).

    :math:`h \\leftarrow \\mathrm{LN}(h + \\mathrm{drop}(\\mathrm{MHA}(h)))`,
    :math:`h \\leftarrow \\mathrm{LN}(h + \\mathrm{FFN}(h))`, with fused
    Q/K/V projections and :func:`torch.nn.functional.scaled_dot_product_attention`
    (attention dropout as ``nn.MultiheadAttention``'s). The same function as
    ``nn.TransformerEncoderLayer(norm_first=False)``, written with plain
    operations so that eager, compiled and exported graphs agree to float
    rounding. ``(batch, n_windows, embed_dim)`` -> same shape.
    """

    def __init__(self, embed_dim, n_heads, ff_dim, drop_prob, activation):
        super().__init__()
        self.n_heads = n_heads
        self.drop_prob = drop_prob
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)
        self.drop = nn.Dropout(drop_prob)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dim, ff_dim),
            activation(),
            nn.Dropout(drop_prob),
            nn.Linear(ff_dim, embed_dim),
            nn.Dropout(drop_prob),
        )

    def forward(self, h):
        batch, n_windows, dim = h.shape
        q, k, v = self.qkv(h).view(batch, n_windows, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.drop_prob if self.training else 0.0
        )
        att = self.out(att.transpose(1, 2).reshape(batch, n_windows, dim))
        h = self.norm1(h + self.drop(att))
        return self.norm2(h + self.ffn(h))


class FeatureEREncoder(nn.Module):
    """Emotion-related encoder of a feature modality (eye, peripheral, ECG).

    ``(batch, n_windows, n_features)`` -> ``(batch, n_windows, embed_dim)``:
    a linear embedding per window, then ``n_layers`` post-norm transformer
    encoder layers (:class:`PostNormEncoderLayer`) with full attention
    across the windows (the ``Eye_ER_Encoder`` of the reference).
    """

    def __init__(self, n_features, embed_dim, n_layers, n_heads, ff_dim, drop_prob, activation):
        super().__init__()
        self.affine = nn.Linear(n_features, embed_dim)
        self.layers = nn.ModuleList(
            PostNormEncoderLayer(embed_dim, n_heads, ff_dim, drop_prob, activation)
            for _ in range(n_layers)
        )

    def forward(self, x):
        h = self.affine(x)
        for layer in self.layers:
            h = layer(h)
        return h


class EIEncoder(nn.Sequential):
    """Emotion-irrelevant encoder: a linear layer and ReLU per window."""

    def __init__(self, n_in, embed_dim):
        super().__init__(nn.Linear(n_in, embed_dim), nn.ReLU())


class Decoder(nn.Module):
    """Reconstruct a modality's windows from its ER and EI features.

    :math:`\\hat v_t = W_r [W_e z^{ER}_t ; z^{EI}_t] + b` (the reference's
    decoders); ``(batch, n_windows, embed_dim)`` x 2 -> ``(batch,
    n_windows, n_in)``.
    """

    def __init__(self, n_in, embed_dim):
        super().__init__()
        self.er_map = nn.Linear(embed_dim, embed_dim)
        self.reconstruct = nn.Linear(2 * embed_dim, n_in)

    def forward(self, er, ei):
        return self.reconstruct(torch.cat([self.er_map(er), ei], dim=-1))
