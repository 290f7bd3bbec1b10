"""The private parts of skorch this package relies on, each with its reason.

skorch 1.x (``pyproject.toml``: ``skorch>=1.0,<2``; re-check on skorch 2).
"""

from __future__ import annotations

import torch

__all__ = ["SkipParameterlessCriteria"]


def _has_trainable_parameters(module):
    return isinstance(module, torch.nn.Module) and any(
        p.requires_grad for p in module.parameters()
    )


class SkipParameterlessCriteria:
    """Put before skorch's ``AccelerateMixin``: criteria without trainable
    parameters (``CrossEntropyLoss``) are left unprepared.

    Reason: on CPU processes (``DistributedType.MULTI_CPU``) accelerate 1.x
    wraps every module it prepares in DistributedDataParallel, which refuses
    a module without parameters (on GPUs accelerate skips them); skorch's
    ``AccelerateMixin`` prepares every criterion in its private
    ``_initialize_accelerator``, from its private ``_criteria`` list. Such a
    criterion has nothing to synchronise, so it is hidden from that one call
    and the list restored (skorch reads it elsewhere, e.g. to infer the
    prediction non-linearity).
    """

    def _initialize_accelerator(self):
        criteria = self._criteria
        self._criteria = [n for n in criteria if _has_trainable_parameters(getattr(self, n + "_"))]
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria
