"""STS attention: dense equivalence, real sparsity, chunking, errors."""

import pytest
import torch
import torch.nn.functional as F

from braindecode_m2s import SpatialAttention, STSAttention, TemporalSparseAttention
from braindecode_m2s.modules import top_k_attention


@pytest.fixture
def qkv():
    g = torch.Generator().manual_seed(0)
    shape = (3, 2, 9, 4)
    return tuple(torch.randn(shape, generator=g) for _ in range(3))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("chunk", [None, 2, 4])
def test_top_k_at_least_n_windows_is_dense_attention(qkv, causal, chunk):
    q, k, v = qkv
    out, _ = top_k_attention(q, k, v, top_k=9, causal=causal, query_chunk_size=chunk)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    out_big_k, _ = top_k_attention(q, k, v, top_k=100, causal=causal)
    torch.testing.assert_close(out_big_k, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("top_k", [1, 3, 5])
def test_each_query_has_at_most_k_nonzero_weights(qkv, top_k):
    q, k, v = qkv
    out, weights = top_k_attention(q, k, v, top_k=top_k)
    dense = weights.to_dense(9)
    assert dense.shape == (3, 2, 9, 9)
    assert ((dense > 0).sum(-1) <= top_k).all()
    assert ((dense > 0).sum(-1) == top_k).all()  # no ties in random data
    torch.testing.assert_close(dense.sum(-1), torch.ones(3, 2, 9))
    # the output is exactly the sparse weights applied to the values
    torch.testing.assert_close(out, dense @ v, rtol=1e-5, atol=1e-6)
    # and the kept keys are the top-k scores of each query
    scores = q @ k.transpose(-2, -1)
    top = scores.topk(top_k, dim=-1).indices.sort(-1).values
    torch.testing.assert_close(weights.indices.sort(-1).values, top)


def test_excluded_scores_do_not_change_output(qkv):
    """Changing a value whose key is outside every top-k leaves output unchanged."""
    q, k, v = qkv
    out, weights = top_k_attention(q, k, v, top_k=2)
    used = torch.zeros(3, 2, 9, dtype=torch.bool)
    used.scatter_(-1, weights.indices.flatten(-2), True)
    v2 = v.clone()
    v2[~used] += 100.0
    out2, _ = top_k_attention(q, k, v2, top_k=2)
    torch.testing.assert_close(out, out2)


def test_causal_sparse_never_looks_ahead(qkv):
    q, k, v = qkv
    _, weights = top_k_attention(q, k, v, top_k=3, causal=True, query_chunk_size=4)
    dense = weights.to_dense(9)
    future = torch.triu(torch.ones(9, 9, dtype=torch.bool), diagonal=1)
    assert (dense[..., future] == 0).all()


def test_chunking_matches_single_pass(qkv):
    q, k, v = qkv
    a, wa = top_k_attention(q, k, v, top_k=3)
    b, wb = top_k_attention(q, k, v, top_k=3, query_chunk_size=2)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(wa.to_dense(9), wb.to_dense(9))


def test_temporal_module_dense_matches_sdpa():
    torch.manual_seed(0)
    attn = TemporalSparseAttention(embed_dim=8, n_heads=2, top_k=50)
    x = torch.randn(4, 6, 8)
    q, k, v = attn.qkv(x).chunk(3, -1)
    split = lambda t: t.view(4, 6, 2, 4).transpose(1, 2)  # noqa: E731
    ref = F.scaled_dot_product_attention(split(q), split(k), split(v))
    ref = attn.out_proj(ref.transpose(1, 2).reshape(4, 6, 8))
    torch.testing.assert_close(attn(x), ref, rtol=1e-5, atol=1e-5)
    # 4-D input: attention along windows for every channel independently
    x4 = torch.randn(2, 3, 6, 8)
    out4 = attn(x4)
    torch.testing.assert_close(out4[:, 1], attn(x4[:, 1]), rtol=1e-5, atol=1e-6)


def test_spatial_attention_weights_and_equivariance():
    torch.manual_seed(0)
    attn = SpatialAttention(embed_dim=8, n_heads=2)
    x = torch.randn(2, 5, 3, 8)
    out, w = attn(x, return_attention=True)
    assert out.shape == x.shape
    assert w.shape == (2, 3, 2, 5, 5)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 2, 5))
    perm = torch.tensor([4, 2, 0, 1, 3])
    torch.testing.assert_close(attn(x[:, perm]), out[:, perm], rtol=1e-5, atol=1e-6)


def test_sts_block_shapes_gradients_and_weights():
    torch.manual_seed(0)
    block = STSAttention(embed_dim=8, n_heads=2, top_k=2)
    x = torch.randn(2, 5, 7, 8, requires_grad=True)
    out, att = block(x, return_attention=True)
    assert out.shape == x.shape
    assert att["spatial"].shape == (2, 7, 2, 5, 5)
    assert att["temporal"].values.shape == (2, 5, 2, 7, 2)
    out.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    temporal_only = STSAttention(embed_dim=8, spatial=False)
    out, att = temporal_only(torch.randn(2, 1, 7, 8), return_attention=True)
    assert att["spatial"] is None and out.shape == (2, 1, 7, 8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(embed_dim=6, n_heads=4), "multiple of n_heads"),
        (dict(embed_dim=8, top_k=0), "top_k"),
        (dict(embed_dim=8, query_chunk_size=0), "query_chunk_size"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TemporalSparseAttention(**kwargs)


def test_wrong_rank_is_a_clear_error():
    with pytest.raises(ValueError, match="batch, n_chans, n_windows, embed_dim"):
        STSAttention(embed_dim=8)(torch.randn(2, 7, 8))


def test_chunked_gradients_match_single_pass(qkv):
    grads = []
    for chunk in (None, 2):
        q, k, v = (t.clone().requires_grad_(True) for t in qkv)
        out, _ = top_k_attention(q, k, v, top_k=3, causal=True, query_chunk_size=chunk)
        (out ** 2).sum().backward()
        grads.append([t.grad for t in (q, k, v)])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
