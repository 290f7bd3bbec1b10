"""M2M CPC, CLIP-style alignment and CLUB against written-out reference computations."""

import math

import numpy as np
import pytest
import torch

from braindecode_m2s import CLUB, M2MCPC, CLIPAlignment

B, T, D = 6, 5, 8


def _latents(*names, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(B, T, D, generator=g) for m in names}


def _log_softmax_rows(a):
    a = a - a.max(1, keepdims=True)
    return a - np.log(np.exp(a).sum(1, keepdims=True))


def test_two_modalities_match_the_authors_formulas():
    torch.manual_seed(0)
    cpc = M2MCPC(["x", "eye"], D, context_dim=4, n_layers=2, n_steps=2).double()
    z = {m: v.double() for m, v in _latents("x", "eye").items()}
    t = 2
    out = cpc(z, t=t)
    # contexts: LSTM over z_0..z_t, taken at t
    c = {m: cpc.contexts[m](z[m][:, : t + 1])[0][:, t].detach().numpy() for m in z}
    nce = 0.0
    for k in range(2):
        # each predictor reads [own context, other context]
        eeg_pred = cpc.predictors["x"][k](torch.from_numpy(np.c_[c["x"], c["eye"]]))
        eye_pred = cpc.predictors["eye"][k](torch.from_numpy(np.c_[c["eye"], c["x"]]))
        eeg_pred, eye_pred = eeg_pred.detach().numpy(), eye_pred.detach().numpy()
        eeg_true = z["x"][:, t + 1 + k].numpy()
        eye_true = z["eye"][:, t + 1 + k].numpy()
        nce += np.trace(_log_softmax_rows(eeg_true @ eye_pred.T))
        nce += np.trace(_log_softmax_rows(eye_true @ eeg_pred.T))
        nce += 0.1 * np.trace(_log_softmax_rows(eeg_true @ eeg_pred.T))
        nce += 0.1 * np.trace(_log_softmax_rows(eye_true @ eye_pred.T))
    nce /= -1.0 * B * 2
    np.testing.assert_allclose(float(out.loss), nce, rtol=1e-10)
    assert set(out.accuracies) == {("x", "x"), ("x", "eye"), ("eye", "x"), ("eye", "eye")}


def test_t_is_drawn_as_in_the_reference_and_from_a_generator():
    cpc = M2MCPC(["x", "eye"], D)
    draws = {cpc.sample_t(5, torch.Generator().manual_seed(s))[0] for s in range(50)}
    assert draws == {1, 2}
    assert cpc.sample_t(2) == (0, 1)
    a = cpc(_latents("x", "eye"), generator=torch.Generator().manual_seed(1))
    b = cpc(_latents("x", "eye"), generator=torch.Generator().manual_seed(1))
    assert a.t == b.t and torch.equal(a.loss, b.loss)


def test_any_number_of_modalities_and_partial_batches():
    cpc = M2MCPC(["x", "eye", "ecg"], D, n_steps=2)
    full = cpc(_latents("x", "eye", "ecg"), t=1)
    assert len(full.pair_losses) == 9
    part = cpc(_latents("x", "ecg"), t=1)
    assert set(part.pair_losses) == {("x", "x"), ("x", "ecg"), ("ecg", "x"), ("ecg", "ecg")}
    single = cpc(_latents("eye"), t=1)
    torch.testing.assert_close(single.loss, 0.1 * single.pair_losses[("eye", "eye")])
    part.loss.backward()
    assert cpc.contexts["eye"].weight_ih_l0.grad is None


def test_cpc_learns_a_predictable_future():
    torch.manual_seed(0)
    cpc = M2MCPC(["a", "b"], D, context_dim=16, n_layers=1)
    opt = torch.optim.Adam(cpc.parameters(), 1e-2)
    for _ in range(150):
        base = torch.randn(32, 1, D)
        za = base.repeat(1, T, 1) + 0.05 * torch.randn(32, T, D)
        zb = base.repeat(1, T, 1) + 0.05 * torch.randn(32, T, D)
        out = cpc({"a": za, "b": zb})
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert min(float(v) for v in out.accuracies.values()) > 0.8


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda z: {}, "no modality"),
        (lambda z: {"pupil": z["x"]}, "unknown modality 'pupil'"),
        (lambda z: {"x": z["x"], "eye": z["eye"][:3]}, "one\nbatch size|one batch size"),
        (lambda z: {"x": z["x"][:, :1]}, "at least 2 windows"),
    ],
)
def test_cpc_bad_inputs(bad, match):
    cpc = M2MCPC(["x", "eye"], D)
    with pytest.raises(ValueError, match=match):
        cpc(bad(_latents("x", "eye")))


def test_clip_alignment_matches_a_written_out_reference():
    clip = CLIPAlignment().double()
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(B, 4, generator=g).double(), torch.randn(B, 4, generator=g).double()
    loss, acc = clip({"x": u, "eye": v})
    un = u.numpy() / np.linalg.norm(u.numpy(), axis=1, keepdims=True)
    vn = v.numpy() / np.linalg.norm(v.numpy(), axis=1, keepdims=True)
    logits = (1 / 0.07) * un @ vn.T
    expected = -(np.trace(_log_softmax_rows(logits)) + np.trace(_log_softmax_rows(logits.T)))
    np.testing.assert_allclose(float(loss), expected / (2 * B), rtol=1e-6)  # float32 init
    assert float(clip.logit_scale.exp()) == pytest.approx(1 / 0.07)
    three, acc3 = clip({"a": u, "b": v, "c": u})
    assert len(acc3) == 6 and float(acc3[("a", "c")]) == 1.0
    loss.backward()
    assert clip.logit_scale.grad is not None


def test_club_matches_a_written_out_reference():
    torch.manual_seed(0)
    club = CLUB(4, 3, hidden_dim=8).double()
    x = torch.randn(B, T, 4).double()
    y = torch.randn(B, T, 3).double()
    perm = torch.tensor([2, 0, 1, 5, 3, 4])
    mu, logvar = (v.detach().numpy() for v in club.mu_logvar(x))
    yn = y.numpy()
    scale = np.exp(logvar.mean(1))
    pos = -((mu - yn) ** 2).mean(1) / scale
    neg = -((mu - yn[perm.numpy()]) ** 2).mean(1) / scale
    expected = (pos.sum(-1) - neg.sum(-1)).mean() / 2
    np.testing.assert_allclose(float(club.mi_upper_bound(x, y, perm)), expected, rtol=1e-10)
    m2, l2 = mu.reshape(-1, 3), logvar.reshape(-1, 3)
    loglik = ((-((m2 - yn.reshape(-1, 3)) ** 2) / np.exp(l2) - l2).sum(1) / 2).mean()
    np.testing.assert_allclose(float(club.log_likelihood(x, y)), loglik, rtol=1e-10)


def test_club_single_step_scheme_routes_gradients():
    torch.manual_seed(0)
    club = CLUB(4, 3, hidden_dim=8)
    x = torch.randn(B, T, 4, requires_grad=True)
    y = torch.randn(B, T, 3, requires_grad=True)
    bound, nll = club.training_loss(x, y)
    # the bound trains the encoders only
    bound.backward(retain_graph=True)
    assert x.grad is not None and all(p.grad is None for p in club.parameters())
    x.grad = None
    # the likelihood term trains q only
    nll.backward()
    assert x.grad is None and all(p.grad is not None for p in club.parameters())


def test_club_fit_detects_dependence():
    torch.manual_seed(0)
    club = CLUB(2, 2, hidden_dim=32)
    opt = torch.optim.Adam(club.parameters(), 1e-2)
    for _ in range(300):
        x = torch.randn(128, 2)
        y = x + 0.1 * torch.randn(128, 2)
        loss = -club.log_likelihood(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.randn(512, 2)
    dependent = float(club.mi_upper_bound(x, x + 0.1 * torch.randn(512, 2)))
    independent = float(club.mi_upper_bound(x, torch.randn(512, 2)))
    assert dependent > 1.0 and abs(independent) < dependent / 4
    assert math.isfinite(dependent)
