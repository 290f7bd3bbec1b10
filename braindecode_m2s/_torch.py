"""The one attribute of PyTorch's that is not public API.

Reason: STS attention caches per-head weight products for inference
(:meth:`~braindecode_m2s.STSAttention.attention`) and must notice an
in-place update of a weight (an optimiser step, ``load_state_dict``, a hand
edit under ``torch.no_grad()``). A tensor's version counter, which autograd
itself relies on, is the only way to see one; it has existed unchanged
through torch 2.x (``pyproject.toml`` allows ``torch>=2.2,<3``; re-check on 3).
"""

__all__ = ["tensor_version"]


def tensor_version(tensor):
    """The in-place version counter of ``tensor`` (incremented by every in-place write)."""
    return tensor._version
