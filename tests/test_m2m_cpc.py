"""M2M CPC: Cross-CPC equivalence, subsets of modalities, learning, errors."""

import pytest
import torch
import torch.nn.functional as F

from braindecode_m2s import M2MCPC
from braindecode_m2s.modules import info_nce


def _latents(batch=6, n_windows=5, dim=4, names=("a", "b"), seed=0):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(batch, n_windows, dim, generator=g) for n in names}


def _direct_nce(pred, target):
    """-log softmax of the positive over the batch, written out per sample."""
    losses = []
    batch = pred.shape[0]
    for t in range(pred.shape[1]):
        for b in range(batch):
            scores = torch.stack([pred[b, t] @ target[j, t] for j in range(batch)])
            losses.append(-(scores[b] - torch.logsumexp(scores, 0)))
    return torch.stack(losses).mean()


def test_two_modalities_without_fusion_is_cross_cpc():
    torch.manual_seed(0)
    cpc = M2MCPC(["a", "b"], latent_dim=4, context_dim=3, n_steps=2,
                 cross_weight=1.0, intra_weight=0.1, fused_weight=0.0)
    z = _latents()
    out = cpc(z)
    assert "fused" not in cpc.contexts
    # direct computation: own GRU per modality, W_k per (source, target)
    expected = 0.0
    for s in "ab":
        c = cpc.contexts[s](z[s])[0]
        for m in "ab":
            W = cpc.predictors[f"{s}__to__{m}"].weight  # (K * d, context)
            per_k = []
            for k in (1, 2):
                Wk = W[(k - 1) * 4 : k * 4]
                pred = c[:, : 5 - k] @ Wk.T
                per_k.append(_direct_nce(pred, z[m][:, k:]))
            term = torch.stack(per_k).mean()
            torch.testing.assert_close(out.losses[(s, m)], term)
            expected = expected + (1.0 if s != m else 0.1) * term
    torch.testing.assert_close(out.loss, expected)
    assert set(out.losses) == {("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")}


def test_fused_source_and_subsets():
    torch.manual_seed(0)
    cpc = M2MCPC(["a", "b", "c"], latent_dim=4, n_steps=3)
    full = cpc(_latents(names=("a", "b", "c")))
    assert len(full.losses) == 4 * 3  # (3 modalities + fused) x 3 targets
    assert full.contexts["fused"].shape == (6, 5, 4)
    two = cpc(_latents(names=("a", "c")))
    assert set(two.losses) == {(s, t) for s in ("a", "c", "fused") for t in ("a", "c")}
    one = cpc(_latents(names=("b",)))
    assert set(one.losses) == {("b", "b")}
    torch.testing.assert_close(one.loss, 0.1 * one.losses[("b", "b")])
    for acc in full.accuracies.values():
        assert 0.0 <= float(acc) <= 1.0


def test_fused_latent_is_mean_of_present():
    torch.manual_seed(0)
    cpc = M2MCPC(["a", "b", "c"], latent_dim=4)
    z = _latents(names=("a", "c"))
    out = cpc(z)
    expected = cpc.contexts["fused"]((z["a"] + z["c"]) / 2)[0]
    torch.testing.assert_close(out.contexts["fused"], expected)


def test_info_nce_perfect_and_chance():
    target = torch.eye(4)[:, None, :].repeat(1, 3, 1)
    loss, acc = info_nce(10 * target, target)
    assert acc == 1.0 and loss < 1e-3
    loss, _ = info_nce(torch.zeros(4, 3, 4), target)
    torch.testing.assert_close(loss, torch.log(torch.tensor(4.0)))


def test_cpc_learns_to_predict_a_shared_process():
    """With modalities driven by one latent process, cross-prediction is learned."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    batch, n_windows = 32, 8
    s = torch.randn(batch, n_windows, 4, generator=g).cumsum(1)
    mix = torch.randn(4, 4, generator=g)
    z = {"a": s, "b": s @ mix}
    cpc = M2MCPC(["a", "b"], latent_dim=4, n_steps=1)
    opt = torch.optim.Adam(cpc.parameters(), lr=1e-2)
    first = float(cpc(z).loss.detach())
    for _ in range(150):
        opt.zero_grad()
        out = cpc(z)
        out.loss.backward()
        opt.step()
    assert float(out.loss.detach()) < 0.5 * first
    assert float(out.accuracies[("a", "b")]) > 0.2  # chance is 1/32


@pytest.mark.parametrize(
    "latents, match",
    [
        ({}, "at least one modality"),
        ({"zz": torch.zeros(2, 4, 4)}, "Unknown modalities"),
        ({"a": torch.zeros(2, 4, 3)}, "expected \\(batch, n_windows, 4\\)"),
        ({"a": torch.zeros(2, 4, 4), "b": torch.zeros(3, 4, 4)}, "share batch size"),
        ({"a": torch.zeros(2, 4, 4), "b": torch.zeros(2, 5, 4)}, "share batch size"),
        ({"a": torch.zeros(2, 1, 4)}, "at least 2"),
    ],
)
def test_bad_latents(latents, match):
    cpc = M2MCPC(["a", "b"], latent_dim=4)
    with pytest.raises(ValueError, match=match):
        cpc(latents)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(modalities=["a"]), "at least two"),
        (dict(modalities=["a", "a"]), "at least two distinct"),
        (dict(modalities=["a", "fused"]), "reserved"),
        (dict(modalities=["a", "b"], n_steps=0), "n_steps"),
        (dict(modalities=["a", "b"], intra_weight=-1), "intra_weight"),
    ],
)
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        M2MCPC(latent_dim=4, **kwargs)


def test_short_sequences_use_available_steps():
    cpc = M2MCPC(["a", "b"], latent_dim=4, n_steps=5)
    out = cpc(_latents(n_windows=3))
    assert torch.isfinite(out.loss)
    F.mse_loss(out.loss, torch.tensor(0.0)).backward()
