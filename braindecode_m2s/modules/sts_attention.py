# Authors: braindecode-m2s developers
#
# STS attention of Liu, Cai, Lu & Zheng (2025), "Multi-to-Single: Reducing
# Multimodal Dependency in Emotion Recognition Through Contrastive Learning",
# AAAI 39(2). Reference implementation (MIT): GitHub Arcee-LYK/Multi-to-Single,
# M2S_demo_code/models.py (``STSAttention``, ``EEG_EncoderLayer``). This is our
# own implementation of the same computation.
#
# License: BSD (3-clause)
"""Spatial + temporal-sparse (STS) attention layer of the M2S EEG encoder."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._torch import tensor_version

__all__ = ["STSAttention", "sparse_causal_mix"]


# Below this many attention scores (batch x windows x heads x n_chans x n_chans), an
# inference forward computes the attention with two batched products and a softmax
# rather than the fused kernel: faster on CPU up to about 130 five-window heads of 62
# electrodes (measured, 1 thread), i.e. online batches.
_EXPLICIT_SCORES = 2**19


def _same_key(old, new):
    return all(
        a[0] is b[0] and a[1] == b[1] and a[2] == b[2] for a, b in zip(old, new, strict=True)
    )


def sparse_causal_mix(h):
    """Average every window with the first window and the previous window.

    Implements the temporal sparsity of STS attention (Liu et al., 2025):
    the keys and values of window :math:`t` are

    .. math::

        \\tilde k_t = \\tfrac{1}{3}\\,(k_t + k_0 + k_{t-1}), \\qquad
        k_{-1} := k_0,

    so window 0 uses itself three times. Because the key and value maps are
    linear without bias, mixing the inputs first is the same as mixing the
    keys and values.

    Parameters
    ----------
    h : torch.Tensor
        ``(..., n_windows, n_tokens, dim)``; windows on axis ``-3``.

    Returns
    -------
    torch.Tensor
        Same shape as ``h``.
    """
    first = h[..., :1, :, :]
    previous = torch.cat([first, h[..., :-1, :, :]], dim=-3)
    return (h + first.expand_as(h) + previous) / 3


class STSAttention(nn.Module):
    """One STS attention encoder layer (spatial + sparse-causal temporal).

    The EEG emotion-related encoder layer of M2S (Liu et al., 2025). Inside
    each window the electrodes are the tokens and their features (the
    frequency bands, ``embed_dim`` of them) are the token features:

    1. *Spatial attention with temporal sparsity*: multi-head attention
       across electrodes, whose queries come from window :math:`t` and whose
       keys and values are the mean of those of windows :math:`t`, :math:`0`
       and :math:`t-1` (:func:`sparse_causal_mix`): a sparse, causal look
       back over time instead of attention over all windows,

       .. math::

           \\mathrm{STS}(X)_t = \\mathrm{softmax}\\Big(
           \\frac{X_t W_Q\\,(\\tilde X_t W_K)^\\top}{\\sqrt{d_h}}\\Big)
           \\tilde X_t W_V\\, W_O,\\qquad
           \\tilde X_t = \\tfrac13 (X_t + X_0 + X_{t-1}),

       per head (``n_heads`` heads of ``head_dim``), projected back to
       ``embed_dim`` features per electrode.
    2. The post-norm transformer residuals of the reference encoder layer:
       :math:`X \\leftarrow \\mathrm{LN}(X + \\mathrm{drop}(\\mathrm{STS}(X)))`,
       :math:`X \\leftarrow \\mathrm{LN}(X + \\mathrm{FFN}(X))`, with the
       layer norm and the feed-forward network (``embed_dim * n_chans`` ->
       ``ff_dim`` -> back, ReLU, dropout) applied to each window's flattened
       electrode x feature vector (310 = 62 x 5 in the reference) when
       ``n_chans`` is given, or per electrode token when it is None (our
       option for a channel-count-free layer).

    The output at window :math:`t` therefore depends on windows :math:`0`,
    :math:`t-1` and :math:`t` only.

    Parameters
    ----------
    embed_dim : int
        Features per electrode token (5 bands in the reference).
    n_heads : int
        Attention heads (4 in the reference).
    head_dim : int
        Size of each head (64 in the reference).
    n_chans : int | None
        Number of electrodes; if given, layer norms and the feed-forward
        network act on the flattened window (reference), else per token.
    ff_dim : int
        Hidden size of the feed-forward network (1024 in the reference).
    drop_prob : float
        Dropout of the attention residual and inside the feed-forward
        network (0.1 in the reference).
    activation : type[nn.Module]
        Activation of the feed-forward network (ReLU in the reference).

    Notes
    -----
    Input and output: ``(batch, n_chans, n_windows, embed_dim)``.

    References
    ----------
    .. [m2s] Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025).
       Multi-to-Single: Reducing Multimodal Dependency in Emotion Recognition
       Through Contrastive Learning. AAAI 39(2), 1438-1446.
    """

    def __init__(
        self,
        embed_dim: int,
        n_heads: int = 4,
        head_dim: int = 64,
        n_chans: int | None = None,
        ff_dim: int = 1024,
        drop_prob: float = 0.1,
        activation: type[nn.Module] = nn.ReLU,
    ):
        super().__init__()
        for name, value in dict(
            embed_dim=embed_dim, n_heads=n_heads, head_dim=head_dim, ff_dim=ff_dim
        ).items():
            if int(value) != value or value < 1:
                raise ValueError(
                    f"STSAttention: {name} must be a positive integer; got {value!r}."
                )
        if n_chans is not None and (int(n_chans) != n_chans or n_chans < 1):
            raise ValueError(
                f"STSAttention: n_chans must be a positive integer or None; got {n_chans!r}."
            )
        if not 0 <= drop_prob < 1:
            raise ValueError(f"STSAttention: drop_prob must be in [0, 1); got {drop_prob!r}.")
        self.embed_dim = int(embed_dim)
        self.n_heads = int(n_heads)
        self.head_dim = int(head_dim)
        self.n_chans = None if n_chans is None else int(n_chans)
        inner = self.n_heads * self.head_dim
        self.to_q = nn.Linear(embed_dim, inner, bias=False)
        self.to_k = nn.Linear(embed_dim, inner, bias=False)
        self.to_v = nn.Linear(embed_dim, inner, bias=False)
        self.to_out = nn.Linear(inner, embed_dim)
        width = embed_dim * (self.n_chans or 1)
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.drop = nn.Dropout(drop_prob)
        self.ffn = nn.Sequential(
            nn.Linear(width, ff_dim),
            activation(),
            nn.Dropout(drop_prob),
            nn.Linear(ff_dim, width),
            nn.Dropout(drop_prob),
        )

    def _heads(self, h):
        # (B, T, C, H*D) -> (B, T, H, C, D)
        *lead, n_tok, _ = h.shape
        return h.reshape(*lead, n_tok, self.n_heads, self.head_dim).transpose(-3, -2)

    def _factorized(self):
        """Per-head products of the projection weights (Eq. of the docstring, regrouped).

        With token features of size ``embed_dim`` smaller than ``head_dim``,
        :math:`q_t k_s^\\top = x_t (W_Q^h W_K^{h\\top}) \\tilde x_s^\\top` and
        :math:`\\mathrm{softmax}(\\cdot)\\,\\tilde X W_V^h W_O^h`: the scores and
        the output only need the ``embed_dim x embed_dim`` matrices
        :math:`A_h = W_Q^h W_K^{h\\top} / \\sqrt{d_h}` and
        :math:`B_h = W_V^h W_O^h`, never the ``n_heads * head_dim`` wide
        queries, keys and values. Same parameters and same function; the
        attention costs ``embed_dim / head_dim`` of the FLOPs (5 / 64 in the
        reference) and none of the wide intermediate tensors.

        Returns
        -------
        A, B : torch.Tensor
            ``(n_heads, embed_dim, embed_dim)`` each.
        """
        weights = (self.to_q.weight, self.to_k.weight, self.to_v.weight, self.to_out.weight)
        cacheable = not torch.is_grad_enabled() and not torch.compiler.is_compiling()
        if cacheable:
            # inference: the products change only when a weight does (an optimiser step,
            # load_state_dict or a replaced parameter), which the key notices
            key = tuple((w, w.data_ptr(), tensor_version(w)) for w in weights)
            cached = self.__dict__.get("_factor_cache")
            if cached is not None and _same_key(cached[0], key):
                return cached[1]
        h, d, e = self.n_heads, self.head_dim, self.embed_dim
        wq = self.to_q.weight.view(h, d, e)
        wk = self.to_k.weight.view(h, d, e)
        wv = self.to_v.weight.view(h, d, e)
        wo = self.to_out.weight.view(e, h, d)
        a = torch.einsum("hde,hdf->hef", wq, wk) * d**-0.5
        b = torch.einsum("hde,fhd->hef", wv, wo)
        if cacheable:
            self.__dict__["_factor_cache"] = (key, (a, b))
        return a, b

    @property
    def factorized(self):
        """True when the attention runs through :meth:`_factorized` (``embed_dim < head_dim``)."""
        return self.embed_dim < self.head_dim

    def attention(self, x, return_weights=False):
        """The STS attention alone (no residual, norm or feed-forward).

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, n_windows, n_chans, embed_dim)`` (windows first).
        return_weights : bool
            Also return the attention weights ``(batch, n_windows, n_heads,
            n_chans, n_chans)`` (queries x keys, rows sum to one).

        Returns
        -------
        torch.Tensor | tuple
            ``(batch, n_windows, n_chans, embed_dim)``, and the weights.
        """
        mixed = sparse_causal_mix(x)
        *lead, n_tok, e = x.shape
        small = math.prod(lead) * self.n_heads * n_tok * n_tok <= _EXPLICIT_SCORES
        if self.factorized and small and not return_weights and not torch.is_grad_enabled():
            return self._stacked_heads(x, mixed)
        if self.factorized:
            a, b = self._factorized()
            q = torch.einsum("...ce,hef->...hcf", x, a)  # (B, T, H, C, E)
            k = mixed.unsqueeze(-3).expand(*lead, self.n_heads, n_tok, e)
            v = torch.einsum("...ce,hef->...hcf", mixed, b)
            scale = 1.0
        else:
            q = self._heads(self.to_q(x))
            k = self._heads(self.to_k(mixed))
            v = self._heads(self.to_v(mixed))
            scale = self.head_dim**-0.5
        if return_weights:
            weights = (q @ k.transpose(-1, -2) * scale).softmax(-1)
            out = weights @ v
        elif not torch.is_grad_enabled() and small:
            # small inference batches (online use): plain batched products beat the fused
            # kernel's set-up cost (benchmarks/bench_throughput.py, latency)
            shape = q.shape
            q, k, v = (t.reshape(-1, *t.shape[-2:]) for t in (q, k, v))
            scores = torch.bmm(q, k.transpose(-1, -2))
            if scale != 1.0:
                scores = scores * scale
            out = torch.bmm(scores.softmax(-1), v).reshape(*shape[:-1], v.shape[-1])
        else:
            # 4-D inputs reach PyTorch's fused CPU / CUDA kernels
            shape = q.shape
            out = F.scaled_dot_product_attention(
                *(t.reshape(-1, *t.shape[-3:]) for t in (q, k, v)),
                scale=scale,
            ).reshape(*shape[:-1], v.shape[-1])
        if self.factorized:
            out = out.sum(-3) + self.to_out.bias
        else:
            out = self.to_out(out.transpose(-3, -2).flatten(-2))
        return (out, weights) if return_weights else out

    def _stacked_heads(self, x, mixed):
        """The factorized attention of small inference batches, heads stacked.

        The same function as the per-head products of :meth:`attention`, in
        four matrix products whatever the number of heads: the queries of
        every head, :math:`x A_h`, are one product with the ``embed_dim x
        (n_heads * embed_dim)`` concatenation of the :math:`A_h`; as every
        head shares its keys (the mixed inputs), the scores of all heads are
        one product whose rows are (electrode, head) pairs; and the output,
        :math:`\\sum_h P_h \\tilde X B_h`, is one product of each query's
        weights over all (head, key) pairs with the stacked values
        :math:`\\tilde X B_h`, which sums over the heads as it goes. Fewer,
        larger products than per-head batches (``benchmarks/bench_throughput.py``,
        latency).
        """
        a, b = self._factorized()  # (H, E, E) each
        *lead, n_tok, e = x.shape
        h = self.n_heads
        q = (x @ a.transpose(0, 1).reshape(e, h * e)).reshape(*lead, n_tok * h, e)
        scores = q @ mixed.transpose(-1, -2)  # (..., C x H, C): rows (query, head)
        weights = scores.reshape(*lead, n_tok, h, n_tok).softmax(-1)
        # the values transposed, (..., E, H x C), columns (head, key): the output is
        # (values^T weights^T)^T, a product whose result has C columns rather than E
        # (about three times faster on CPU than weights @ values for E = 5)
        values_t = (b.transpose(1, 2).reshape(h * e, e) @ mixed.transpose(-1, -2)).reshape(
            *lead, h, e, n_tok
        )
        values_t = values_t.transpose(-3, -2).reshape(*lead, e, h * n_tok)
        weights = weights.reshape(*lead, n_tok, h * n_tok)
        return (values_t @ weights.transpose(-1, -2)).transpose(-1, -2) + self.to_out.bias

    def _norm(self, norm, h):
        if self.n_chans is None:
            return norm(h)
        return norm(h.flatten(-2)).reshape(h.shape)

    def forward(self, x, return_attention=False):
        """Apply the layer.

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, n_chans, n_windows, embed_dim)``.
        return_attention : bool
            Also return the spatial attention weights ``(batch, n_windows,
            n_heads, n_chans, n_chans)``.

        Returns
        -------
        torch.Tensor | tuple
            ``(batch, n_chans, n_windows, embed_dim)``, and the weights.
        """
        if x.dim() != 4 or x.shape[-1] != self.embed_dim:
            raise ValueError(
                f"STSAttention expects (batch, n_chans, n_windows, {self.embed_dim}); "
                f"got shape {tuple(x.shape)}."
            )
        if self.n_chans is not None and x.shape[1] != self.n_chans:
            raise ValueError(
                f"STSAttention was built for n_chans={self.n_chans}; got input with "
                f"{x.shape[1]} channels (shape {tuple(x.shape)})."
            )
        out, weights = self.windows_first(x.transpose(1, 2), return_attention)
        out = out.transpose(1, 2)
        return (out, weights) if return_attention else out

    def windows_first(self, h, return_attention=False):
        """The layer on ``(batch, n_windows, n_chans, embed_dim)``, unchecked.

        The layout the attention works in; a stack of layers
        (:class:`~braindecode_m2s.modules.encoders.EEGEREncoder`) stays in
        it and skips two transposes per layer. Returns ``(output,
        weights)``, the weights None unless ``return_attention``.
        """
        att = self.attention(h, return_weights=return_attention)
        att, weights = att if return_attention else (att, None)
        h = self._norm(self.norm1, h + self.drop(att))
        if self.n_chans is None:
            h = self.norm2(h + self.ffn(h))
        else:
            flat = h.flatten(-2)
            h = self.norm2(flat + self.ffn(flat)).reshape(h.shape)
        return h, weights
