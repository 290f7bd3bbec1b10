"""The private parts of skorch this package relies on, each with its reason.

skorch 1.x (``pyproject.toml``: ``skorch>=1.0,<2``; re-check on skorch 2).
"""

from __future__ import annotations

import torch

__all__ = ["PublicParameters", "SkipParameterlessCriteria"]


class PublicParameters:
    """Put before skorch's ``NeuralNet``: ``get_params`` lists no private attribute.

    Reason: skorch's private ``_get_param_names`` takes every attribute whose
    name does not end with ``_`` for a parameter, its own bookkeeping
    ``_params_to_validate`` (a set it ``add``-s to) included, so
    ``get_params`` lists it, ``set_params(_params_to_validate=None)`` breaks
    the next ``set_params`` and scikit-learn's ``check_set_params`` fails. A
    name starting with ``_`` is no parameter (scikit-learn's convention); a
    clone rebuilds that set from the parameters it is given.
    """

    def _get_param_names(self):
        return [name for name in super()._get_param_names() if not name.startswith("_")]


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
