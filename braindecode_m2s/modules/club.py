# Authors: braindecode-m2s developers
#
# CLUB, the contrastive log-ratio upper bound of mutual information (Cheng et
# al., ICML 2020), as M2S (Liu, Cai, Lu & Zheng, AAAI 2025) uses it to push
# emotion-related and emotion-irrelevant features apart. Reference
# implementation (MIT): GitHub Arcee-LYK/Multi-to-Single, M2S_demo_code/CLUB.py
# (``CLUBSample_group``); our own code.
#
# License: BSD (3-clause)
"""CLUB mutual-information upper bound between two feature sequences."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

__all__ = ["CLUB"]


def _mlp(n_in, hidden, n_out, final=None):
    layers = [
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_out),
    ]
    if final is not None:
        layers.append(final)
    return nn.Sequential(*layers)


class CLUB(nn.Module):
    """Variational CLUB estimator :math:`\\hat I(X; Y)` with a Gaussian :math:`q(y|x)`.

    :math:`q_\\theta(y \\mid x) = \\mathcal N(\\mu(x), \\mathrm{diag}\\,e^{\\lambda(x)})`,
    with :math:`\\mu` and :math:`\\lambda` four-layer MLPs (hidden
    ``hidden_dim // 2``, :math:`\\lambda` through a tanh), as in the reference.

    - :meth:`log_likelihood` (Eq. 9 of Cheng et al.):
      :math:`\\frac{1}{N}\\sum_i \\tfrac12 \\sum_d
      \\big(-(\\mu_{id} - y_{id})^2 e^{-\\lambda_{id}} - \\lambda_{id}\\big)`;
      :math:`q` is fitted by maximising it.
    - :meth:`mi_upper_bound` (the sampled CLUB estimate, Eq. 7, grouped over
      windows as the reference does): with :math:`x, y` of shape ``(batch,
      windows, dim)``,
      :math:`\\frac{1}{2B}\\sum_i \\sum_d \\big(-\\overline{(\\mu-y_i)^2}_d
      + \\overline{(\\mu-y_{\\pi(i)})^2}_d\\big) / e^{\\bar\\lambda_d}`,
      means over windows, :math:`\\pi` a random permutation of the batch.

    Parameters
    ----------
    x_dim, y_dim : int
        Feature sizes of :math:`x` (emotion-related) and :math:`y`
        (emotion-irrelevant).
    hidden_dim : int
        Twice the hidden width of the MLPs (64 in the reference).

    Notes
    -----
    Training needs two opposite updates: :math:`q` maximises the likelihood
    of *detached* features, and the encoders minimise the bound with
    :math:`q` held fixed. As the reference, :class:`~braindecode_m2s.M2MCPCPretrainer`
    gives :math:`q` three steps of its own optimiser per batch
    (:meth:`log_likelihood` on detached features) before the encoders' step;
    :meth:`training_loss` instead returns both in one scalar (likelihood term
    on detached inputs, bound computed with detached parameters of
    :math:`q`), the single-step scheme of ``club_steps=0``.

    References
    ----------
    .. [club] Cheng, P., Hao, W., Dai, S., Liu, J., Gan, Z., & Carin, L.
       (2020). CLUB: A contrastive log-ratio upper bound of mutual
       information. ICML.
    """

    def __init__(self, x_dim: int = 128, y_dim: int = 128, hidden_dim: int = 64):
        super().__init__()
        half = max(int(hidden_dim) // 2, 1)
        self.p_mu = _mlp(x_dim, half, y_dim)
        self.p_logvar = _mlp(x_dim, half, y_dim, final=nn.Tanh())

    def mu_logvar(self, x):
        """Mean and log-variance of :math:`q(y \\mid x)`."""
        return self.p_mu(x), self.p_logvar(x)

    def log_likelihood(self, x, y):
        """Mean log-likelihood (up to constants) of ``y`` under :math:`q(\\cdot|x)`."""
        mu, logvar = self.mu_logvar(x)
        mu, logvar, y = (v.reshape(-1, v.shape[-1]) for v in (mu, logvar, y))
        return ((-((mu - y) ** 2) / logvar.exp() - logvar).sum(1) / 2).mean()

    def mi_upper_bound(self, x, y, permutation=None, mu_logvar=None):
        """CLUB estimate of :math:`I(X; Y)` for ``(batch, windows, dim)`` inputs.

        Parameters
        ----------
        x, y : torch.Tensor
            ``(batch, n_windows, dim)`` (or ``(batch, dim)``).
        permutation : torch.Tensor | None
            Batch permutation giving the negative pairs; None draws one with
            torch's global generator.
        mu_logvar : tuple | None
            Precomputed ``(mu, logvar)`` of ``x``.
        """
        if x.dim() == 2:
            x, y = x[:, None], y[:, None]
        mu, logvar = self.mu_logvar(x) if mu_logvar is None else mu_logvar
        if permutation is None:
            permutation = torch.randperm(x.shape[0], device=x.device)
        scale = logvar.mean(1).exp()
        positive = -((mu - y) ** 2).mean(1) / scale
        negative = -((mu - y[permutation]) ** 2).mean(1) / scale
        return (positive.sum(-1) - negative.sum(-1)).mean() / 2

    def training_loss(self, x, y, permutation=None):
        """One scalar whose gradient fits :math:`q` and trains the encoders.

        Returns ``(bound, nll)``: ``bound`` is :meth:`mi_upper_bound` with the
        parameters of :math:`q` detached (its gradient reaches only ``x`` and
        ``y``); ``nll`` is minus :meth:`log_likelihood` of the detached
        inputs (its gradient reaches only :math:`q`). Minimise ``w * bound +
        nll``.
        """
        frozen = {name: p.detach() for name, p in self.named_parameters()}
        mu = functional_call(
            self.p_mu, {k[5:]: v for k, v in frozen.items() if k.startswith("p_mu.")}, (x,)
        )
        logvar = functional_call(
            self.p_logvar, {k[9:]: v for k, v in frozen.items() if k.startswith("p_logvar.")}, (x,)
        )
        bound = self.mi_upper_bound(x, y, permutation, mu_logvar=(mu, logvar))
        nll = -self.log_likelihood(x.detach(), y.detach())
        return bound, nll
