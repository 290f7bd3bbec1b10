"""Spatial and temporal-sparse (STS) attention of M2S.

Implements the first module of Liu, Cai, Lu & Zheng (AAAI 2025), "STS
attention": inside each modality encoder, self-attention across electrodes
within a window (spatial) followed by self-attention across windows in which
every query keeps only its top-k scores (temporal-sparse).

The paper's abstract names the module but publishes no equations; the
formulation below is our design (see ``docs/method.md``):

.. math::

    \\mathrm{Spatial}(X_t) = \\mathrm{softmax}\\Big(\\frac{Q_t K_t^\\top}
        {\\sqrt{d_h}}\\Big) V_t, \\qquad X_t \\in \\mathbb{R}^{C \\times F},

    \\mathrm{TSparse}(H)_i = \\sum_{j \\in \\mathcal{T}_k(i)}
        \\frac{\\exp(s_{ij})}{\\sum_{l \\in \\mathcal{T}_k(i)} \\exp(s_{il})}
        V_j, \\qquad s_{ij} = \\frac{q_i^\\top k_j}{\\sqrt{d_h}},

where :math:`\\mathcal{T}_k(i)` is the set of the ``top_k`` largest scores of
query :math:`i` (restricted to :math:`j \\le i` when ``causal``): every other
score is excluded before the softmax, so each query's attention weights have
at most ``top_k`` non-zeros. Queries are processed in chunks, so a full
``n_windows x n_windows`` score matrix is never held at once when
``query_chunk_size`` is smaller than the sequence.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = [
    "SparseAttentionWeights",
    "top_k_attention",
    "SpatialAttention",
    "TemporalSparseAttention",
    "STSAttention",
]


class SparseAttentionWeights(NamedTuple):
    """Top-k attention weights in a memory-light form.

    Attributes
    ----------
    values : torch.Tensor
        Shape ``(..., n_heads, n_queries, k)``: the softmax weights of the
        kept keys (zero where fewer than ``k`` keys were allowed).
    indices : torch.Tensor
        Shape ``(..., n_heads, n_queries, k)``: the key index of each weight.
    """

    values: torch.Tensor
    indices: torch.Tensor

    def to_dense(self, n_keys):
        """Scatter the weights into a dense ``(..., n_queries, n_keys)`` tensor.

        Parameters
        ----------
        n_keys : int
            Number of keys (windows) of the attended sequence.

        Returns
        -------
        torch.Tensor
            Dense attention weights, zero outside each query's top-k.
        """
        shape = (*self.values.shape[:-1], n_keys)
        dense = self.values.new_zeros(shape)
        return dense.scatter_add(-1, self.indices, self.values)


def _split_heads(x, n_heads):
    """(batch, length, dim) -> (batch, n_heads, length, dim // n_heads)."""
    batch, length, dim = x.shape
    return x.view(batch, length, n_heads, dim // n_heads).transpose(1, 2)


def _merge_heads(x):
    """(batch, n_heads, length, head_dim) -> (batch, length, dim)."""
    batch, n_heads, length, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, length, n_heads * head_dim)


class _MultiHeadSelfAttention(nn.Module):
    """Shared part of the attention layers: QKV and output projections.

    Parameters
    ----------
    embed_dim : int
        Token size; must be a positive multiple of ``n_heads``.
    n_heads : int
        Number of heads.
    drop_prob : float
        Dropout probability (each layer documents where it applies it).
    """

    def __init__(self, embed_dim, n_heads=1, drop_prob=0.0):
        super().__init__()
        if embed_dim < 1 or n_heads < 1 or embed_dim % n_heads != 0:
            raise ValueError(
                f"embed_dim={embed_dim} must be a positive multiple of n_heads={n_heads}."
            )
        self.embed_dim = embed_dim
        self.n_heads = n_heads
        self.drop_prob = drop_prob
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _heads(self, tokens):
        """(batch, length, dim) -> q, k, v, each (batch, n_heads, length, head_dim)."""
        return tuple(_split_heads(t, self.n_heads) for t in self.qkv(tokens).chunk(3, -1))


class SpatialAttention(_MultiHeadSelfAttention):
    """Multi-head self-attention across electrodes within each window.

    Tokens are the electrodes of one window, their features the (embedded)
    band features; implements the spatial half of the STS attention module
    of Liu et al. (2025); formulation (our design): module docstring.

    Parameters
    ----------
    embed_dim : int
        Feature size of each electrode token.
    n_heads : int
        Number of attention heads; must divide ``embed_dim``.
    drop_prob : float
        Dropout on the attention weights.

    Shapes
    ------
    Input ``(batch, n_chans, n_windows, embed_dim)``; output the same shape.
    """

    def forward(self, x, return_attention=False):
        """Attend across electrodes.

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, n_chans, n_windows, embed_dim)``.
        return_attention : bool
            Also return the weights, ``(batch, n_windows, n_heads, n_chans,
            n_chans)``.

        Returns
        -------
        torch.Tensor or (torch.Tensor, torch.Tensor)
        """
        batch, n_chans, n_windows, dim = x.shape
        tokens = x.permute(0, 2, 1, 3).reshape(batch * n_windows, n_chans, dim)
        q, k, v = self._heads(tokens)
        scale = q.shape[-1] ** -0.5
        weights = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)
        out = F.dropout(weights, self.drop_prob, self.training) @ v
        out = self.out_proj(_merge_heads(out))
        out = out.view(batch, n_windows, n_chans, dim).permute(0, 2, 1, 3)
        if return_attention:
            return out, weights.view(batch, n_windows, self.n_heads, n_chans, n_chans)
        return out


def top_k_attention(q, k, v, top_k, causal=False, query_chunk_size=None):
    """Scaled dot-product attention keeping each query's ``top_k`` scores.

    Scores outside a query's top-k (and, if ``causal``, scores of future
    keys) are set to :math:`-\\infty` before the softmax, so they get exactly
    zero weight. Queries are processed in chunks of ``query_chunk_size``, so
    at most ``query_chunk_size x n_keys`` scores exist at once.

    Parameters
    ----------
    q, k, v : torch.Tensor
        ``(..., n_queries, head_dim)``, ``(..., n_keys, head_dim)``,
        ``(..., n_keys, value_dim)``.
    top_k : int
        Number of scores kept per query; ``top_k >= n_keys`` is dense
        attention.
    causal : bool
        If True, query ``i`` only attends to keys ``j <= i`` (requires
        ``n_queries == n_keys``).
    query_chunk_size : int | None
        Queries per chunk; None processes all queries at once.

    Returns
    -------
    out : torch.Tensor
        ``(..., n_queries, value_dim)``.
    weights : SparseAttentionWeights
        ``values`` and ``indices`` of shape ``(..., n_queries, k_eff)`` with
        ``k_eff = min(top_k, n_keys)``.
    """
    n_queries = q.shape[-2]
    chunk = n_queries if not query_chunk_size else int(query_chunk_size)
    if chunk >= n_queries:
        out, values, idx = _top_k_chunk(q, k, v, top_k, causal, 0)
        return out, SparseAttentionWeights(values, idx)
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    outs, values, indices = [], [], []
    for start in range(0, n_queries, chunk):
        q_chunk = q[..., start : start + chunk, :]
        if needs_grad:
            # recompute the chunk's scores in backward rather than keep them,
            # so training memory stays chunk x n_keys as well
            out, val, idx = checkpoint(
                _top_k_chunk, q_chunk, k, v, top_k, causal, start, use_reentrant=False
            )
        else:
            out, val, idx = _top_k_chunk(q_chunk, k, v, top_k, causal, start)
        outs.append(out)
        values.append(val)
        indices.append(idx)
    return torch.cat(outs, -2), SparseAttentionWeights(
        torch.cat(values, -2), torch.cat(indices, -2)
    )


def _top_k_chunk(q, k, v, top_k, causal, start):
    """Top-k attention of the queries ``q`` (rows ``start..``) over all keys."""
    n_keys = k.shape[-2]
    k_eff = min(int(top_k), n_keys)
    scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
    if causal:
        rows = torch.arange(start, start + q.shape[-2], device=q.device)
        future = torch.arange(n_keys, device=q.device)[None, :] > rows[:, None]
        scores = scores.masked_fill(future, float("-inf"))
    idx = scores.topk(k_eff, dim=-1).indices
    if k_eff < n_keys:
        kept = torch.zeros_like(scores, dtype=torch.bool).scatter_(-1, idx, True)
        scores = scores.masked_fill(~kept, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights.gather(-1, idx), idx


class TemporalSparseAttention(_MultiHeadSelfAttention):
    """Multi-head self-attention across windows, top-k sparse.

    Implements the temporal-sparse half of STS attention (Liu et al., 2025;
    formulation in the module docstring): each query window keeps its
    ``top_k`` highest scores and the others are set to :math:`-\\infty`
    before the softmax, so long recordings stay cheap and noisy windows can be
    ignored.

    Parameters
    ----------
    embed_dim : int
        Feature size of each window token.
    n_heads : int
        Number of attention heads; must divide ``embed_dim``.
    top_k : int
        Scores kept per query; ``top_k >= n_windows`` is dense attention.
    causal : bool
        If True, window ``t`` attends only to windows ``<= t``. M2S uses
        causal attention so that an encoder's latent at ``t`` carries no
        information about later windows, which the CPC objective predicts.
    drop_prob : float
        Dropout on the attention output (before the output projection).
    query_chunk_size : int | None
        Query windows processed at once; bounds the score memory to
        ``query_chunk_size x n_windows``, in training too (each chunk is
        recomputed in the backward pass instead of stored). None: all at
        once.

    Shapes
    ------
    Input ``(batch, n_windows, embed_dim)`` or ``(batch, n_chans, n_windows,
    embed_dim)`` (attention along the window axis for every electrode);
    output the same shape.
    """

    def __init__(
        self,
        embed_dim,
        n_heads=1,
        top_k=8,
        causal=False,
        drop_prob=0.0,
        query_chunk_size=None,
    ):
        super().__init__(embed_dim, n_heads, drop_prob)
        if int(top_k) < 1:
            raise ValueError(f"top_k must be a positive integer; got top_k={top_k!r}.")
        if query_chunk_size is not None and int(query_chunk_size) < 1:
            raise ValueError(
                f"query_chunk_size must be None or a positive integer; got "
                f"{query_chunk_size!r}."
            )
        self.top_k = int(top_k)
        self.causal = causal
        self.query_chunk_size = query_chunk_size

    def forward(self, x, return_attention=False):
        """Attend across windows.

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, n_windows, embed_dim)`` or ``(batch, n_chans,
            n_windows, embed_dim)``.
        return_attention : bool
            Also return the :class:`SparseAttentionWeights`, with leading
            axes ``(batch, [n_chans,] n_heads, n_windows, k)``.

        Returns
        -------
        torch.Tensor or (torch.Tensor, SparseAttentionWeights)
        """
        lead = x.shape[:-2]
        n_windows, dim = x.shape[-2:]
        tokens = x.reshape(-1, n_windows, dim)
        q, k, v = self._heads(tokens)
        out, weights = top_k_attention(
            q, k, v, self.top_k, self.causal, self.query_chunk_size
        )
        if self.drop_prob and self.training:
            out = F.dropout(out, self.drop_prob, True)
        out = self.out_proj(_merge_heads(out)).reshape(*lead, n_windows, dim)
        if return_attention:
            shape = (*lead, self.n_heads, n_windows, weights.values.shape[-1])
            return out, SparseAttentionWeights(
                weights.values.reshape(shape), weights.indices.reshape(shape)
            )
        return out


class _FeedForward(nn.Module):
    """Position-wise two-layer MLP of a transformer block."""

    def __init__(self, embed_dim, expansion=2, drop_prob=0.0, activation=nn.GELU):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(embed_dim, expansion * embed_dim),
            activation(),
            nn.Dropout(drop_prob),
            nn.Linear(expansion * embed_dim, embed_dim),
        )

    def forward(self, x):
        return self.net(x)


class STSAttention(nn.Module):
    """Spatial and temporal-sparse attention block (the STS module of M2S).

    A pre-norm transformer block with two attention sub-layers:
    :class:`SpatialAttention` across electrodes within each window, then
    :class:`TemporalSparseAttention` across windows for every electrode, then
    a feed-forward layer, each with a residual connection. Implements the
    "spatial and temporal-sparse attention" of Liu, Cai, Lu & Zheng
    (AAAI 2025); the exact formulation is our design (module docstring).

    Parameters
    ----------
    embed_dim : int
        Feature size of each (electrode, window) token.
    n_heads : int
        Attention heads of both sub-layers; must divide ``embed_dim``.
    top_k : int
        Scores kept per query window in the temporal sub-layer;
        ``top_k >= n_windows`` gives dense attention.
    spatial : bool
        If False, the spatial sub-layer is skipped (for non-spatial
        modalities, e.g. eye-movement features, which M2S feeds with
        ``n_chans = 1``).
    causal : bool
        Causal temporal attention (window ``t`` sees windows ``<= t``).
    drop_prob : float
        Dropout probability in the sub-layers.
    query_chunk_size : int | None
        See :class:`TemporalSparseAttention`.
    activation : type[nn.Module]
        Activation of the feed-forward layer.

    Shapes
    ------
    Input ``(batch, n_chans, n_windows, embed_dim)``; output the same shape.

    References
    ----------
    .. [m2s] Liu, Y., Cai, Z., Lu, B.-L., & Zheng, W.-L. (2025).
       Multi-to-Single: Reducing Multimodal Dependency in Emotion Recognition
       Through Contrastive Learning. AAAI 39(2), 1438-1446.
       https://doi.org/10.1609/aaai.v39i2.32134
    """

    def __init__(
        self,
        embed_dim,
        n_heads=1,
        top_k=8,
        spatial=True,
        causal=False,
        drop_prob=0.0,
        query_chunk_size=None,
        activation=nn.GELU,
    ):
        super().__init__()
        self.spatial = spatial
        if spatial:
            self.norm_spatial = nn.LayerNorm(embed_dim)
            self.spatial_attention = SpatialAttention(embed_dim, n_heads, drop_prob)
        self.norm_temporal = nn.LayerNorm(embed_dim)
        self.temporal_attention = TemporalSparseAttention(
            embed_dim, n_heads, top_k, causal, drop_prob, query_chunk_size
        )
        self.norm_ff = nn.LayerNorm(embed_dim)
        self.feed_forward = _FeedForward(embed_dim, 2, drop_prob, activation)
        self.dropout = nn.Dropout(drop_prob)

    def forward(self, x, return_attention=False):
        """Apply spatial, then temporal-sparse attention, then the MLP.

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, n_chans, n_windows, embed_dim)``.
        return_attention : bool
            Also return ``{"spatial": (batch, n_windows, n_heads, n_chans,
            n_chans) or None, "temporal": SparseAttentionWeights}``.

        Returns
        -------
        torch.Tensor or (torch.Tensor, dict)
        """
        if x.dim() != 4:
            raise ValueError(
                f"STSAttention expects (batch, n_chans, n_windows, embed_dim); got a "
                f"tensor of shape {tuple(x.shape)}."
            )
        spatial_w = None
        if self.spatial:
            h, spatial_w = self.spatial_attention(self.norm_spatial(x), True)
            x = x + self.dropout(h)
        h, temporal_w = self.temporal_attention(self.norm_temporal(x), True)
        x = x + self.dropout(h)
        x = x + self.dropout(self.feed_forward(self.norm_ff(x)))
        if return_attention:
            return x, {"spatial": spatial_w, "temporal": temporal_w}
        return x
