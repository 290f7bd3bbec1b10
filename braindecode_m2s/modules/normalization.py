# Authors: braindecode-m2s developers
#
# License: BSD (3-clause)
"""Normalisation layers of M2S: input standardisation and the classifier's BatchNorm."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["FeatureStandardizer", "HeadBatchNorm"]


class FeatureStandardizer(nn.Module):
    """Per-feature standardisation with running statistics (no affine part).

    Stands in for the reference's scaler fitted on the training data: in
    training mode the statistics of the batch (over samples and windows)
    standardise it and update the running mean and variance; in eval mode
    the running statistics are used. Inputs are validated once at the
    estimators' boundary (:meth:`M2S.check_inputs`), not here, so the layer
    never synchronises with the device.

    ``(batch, n_windows, n_features)`` -> same shape.

    Parameters
    ----------
    n_features : int
        Number of features.
    momentum : float
        Weight of the batch in the running statistics.
    eps : float
        Added to the variance.
    """

    def __init__(self, n_features, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(n_features))
        self.register_buffer("running_var", torch.ones(n_features))

    def forward(self, x):
        if self.training:
            var, mean = torch.var_mean(x, (0, 1), unbiased=False)
            with torch.no_grad():
                n = x.shape[0] * x.shape[1]
                unbiased = var * (n / max(n - 1, 1))
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) * torch.rsqrt(var + self.eps)


class HeadBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d that falls back to running statistics for a batch of one."""

    def forward(self, x):
        if self.training and x.shape[0] == 1:
            return F.batch_norm(
                x,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                False,
                0.0,
                self.eps,
            )
        return super().forward(x)
