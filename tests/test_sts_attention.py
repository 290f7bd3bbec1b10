"""STS attention: the authors' spatial + sparse-causal temporal layer."""

import pytest
import torch
from torch.nn import functional as F

from braindecode_m2s import STSAttention
from braindecode_m2s.modules.sts_attention import sparse_causal_mix

B, C, T, E = 2, 6, 5, 5


def _layer(head_dim=4, **kwargs):
    torch.manual_seed(0)
    return STSAttention(E, n_heads=2, head_dim=head_dim, n_chans=C, ff_dim=16, **kwargs).eval()


def test_shape_is_kept():
    x = torch.randn(B, C, T, E)
    assert _layer()(x).shape == (B, C, T, E)
    assert STSAttention(E, n_heads=2, head_dim=4, ff_dim=16).eval()(x).shape == x.shape


@pytest.mark.parametrize("head_dim", [4, 8])
@pytest.mark.parametrize("t", range(T))
def test_window_t_depends_on_windows_zero_previous_and_itself_only(t, head_dim):
    layer = _layer(head_dim)
    x = torch.randn(B, C, T, E)
    base = layer(x)[:, :, t]
    for s in range(T):
        moved = x.clone()
        moved[:, :, s] += torch.randn(B, C, E)
        changed = not torch.allclose(layer(moved)[:, :, t], base, atol=1e-6)
        assert changed == (s in {0, max(t - 1, 0), t}), (t, s)


@pytest.mark.parametrize("head_dim", [4, 8])
def test_attention_matches_a_written_out_reference(head_dim):
    """Keys/values: mean of windows t, 0, t-1 (window 0 uses itself); queries window t.

    ``head_dim=8 > embed_dim=5`` runs the factorized path (per-head 5 x 5 products of
    the projection weights), which must be the same function.
    """
    layer = _layer(head_dim)
    assert layer.factorized == (head_dim > E)
    x = torch.randn(B, C, T, E)
    h = x.transpose(1, 2)  # (B, T, C, E)
    out = torch.empty(B, T, C, E)
    for t in range(T):
        mix = (h[:, t] + h[:, 0] + h[:, max(t - 1, 0)]) / 3
        q, k, v = layer.to_q(h[:, t]), layer.to_k(mix), layer.to_v(mix)
        heads = []
        for i in range(layer.n_heads):
            sl = slice(i * layer.head_dim, (i + 1) * layer.head_dim)
            w = torch.softmax(q[..., sl] @ k[..., sl].transpose(-1, -2) / layer.head_dim**0.5, -1)
            heads.append(w @ v[..., sl])
        out[:, t] = layer.to_out(torch.cat(heads, -1))
    torch.testing.assert_close(layer.attention(h), out, rtol=1e-5, atol=1e-6)
    att, weights = layer.attention(h, return_weights=True)
    torch.testing.assert_close(att, out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, T, 2, C))
    # the layer: post-norm residuals over each window's flattened C x E vector
    flat = F.layer_norm((h + out).flatten(-2), (C * E,), layer.norm1.weight, layer.norm1.bias)
    expected = layer.norm2(flat + layer.ffn(flat)).reshape(B, T, C, E).transpose(1, 2)
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_sparse_causal_mix():
    h = torch.arange(4.0).reshape(4, 1, 1)
    torch.testing.assert_close(sparse_causal_mix(h).flatten(), torch.tensor([0.0, 1, 3, 5]) / 3)


@pytest.mark.parametrize("head_dim", [4, 8])
def test_gradients_and_attention_weights(head_dim):
    layer = _layer(head_dim).train()
    x = torch.randn(B, C, T, E, requires_grad=True)
    out, weights = layer(x, return_attention=True)
    assert weights.shape == (B, T, 2, C, C)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(embed_dim=0), "embed_dim"),
        (dict(embed_dim=5, n_heads=1.5), "n_heads"),
        (dict(embed_dim=5, drop_prob=1.0), "drop_prob"),
        (dict(embed_dim=5, n_chans=0), "n_chans"),
    ],
)
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        STSAttention(**kwargs)


def test_bad_input_shapes():
    layer = _layer()
    with pytest.raises(ValueError, match=r"expects \(batch, n_chans, n_windows, 5\)"):
        layer(torch.randn(B, C, T))
    with pytest.raises(ValueError, match="n_chans=6; got input with 4 channels"):
        layer(torch.randn(B, 4, T, E))


def test_factorized_gradients_match_the_wide_computation():
    """Same parameters, same gradients whether the scores use q, k or A_h = W_Q W_K^T."""
    layer = _layer(8)
    x = torch.randn(B, T, C, E, requires_grad=True)
    layer.attention(x).square().sum().backward()
    fast = {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}
    fast_x = x.grad.clone()
    layer.zero_grad()
    x.grad = None
    mixed = sparse_causal_mix(x)
    q, k, v = (
        layer._heads(f(h)) for f, h in ((layer.to_q, x), (layer.to_k, mixed), (layer.to_v, mixed))
    )
    out = F.scaled_dot_product_attention(q, k, v)
    layer.to_out(out.transpose(-3, -2).flatten(-2)).square().sum().backward()
    torch.testing.assert_close(fast_x, x.grad, rtol=1e-4, atol=1e-5)
    for name, grad in fast.items():
        torch.testing.assert_close(
            grad, dict(layer.named_parameters())[name].grad, rtol=1e-4, atol=1e-5
        )


@pytest.mark.parametrize("head_dim", [4, 8])
def test_inference_paths_match_training_path(head_dim):
    """No-grad forwards (cached weight products; for small batches stacked heads when
    factorized, plain products otherwise; the fused kernel above the threshold) compute
    what the training path computes."""
    import braindecode_m2s.modules.sts_attention as sts

    layer = _layer(head_dim)
    x = torch.randn(B, T, C, E)
    with torch.enable_grad():
        expected = layer.attention(x).detach()
    with torch.no_grad():
        small = layer.attention(x)
        cached = layer.attention(x)
    saved = sts._EXPLICIT_SCORES
    sts._EXPLICIT_SCORES = 0  # the fused kernel at every size
    try:
        with torch.inference_mode():
            fused = layer.attention(x)
    finally:
        sts._EXPLICIT_SCORES = saved
    for out in (small, cached, fused):
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_cached_weight_products_follow_weight_changes():
    """An optimiser step, load_state_dict or a replaced parameter after an inference
    forward changes the next inference forward as it changes the training path."""
    layer = _layer(8)
    x = torch.randn(B, T, C, E)

    def both():
        with torch.no_grad():
            fast = layer.attention(x)
        with torch.enable_grad():
            slow = layer.attention(x).detach()
        torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-6)
        return fast

    before = both()
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    layer.attention(x.requires_grad_()).sum().backward()
    opt.step()
    x = x.detach()
    stepped = both()
    assert not torch.allclose(before, stepped)
    layer.load_state_dict(_layer(8).state_dict())
    torch.testing.assert_close(both(), before)
    layer.to_k.weight = torch.nn.Parameter(torch.randn_like(layer.to_k.weight))
    assert not torch.allclose(both(), before)
