"""M2S on several processes: the two estimators with skorch's ``AccelerateMixin``.

Data-parallel training (PyTorch's DistributedDataParallel, through Hugging
Face ``accelerate``) of both stages. The stage-1 loss runs inside the model's
``forward`` (:meth:`M2S.forward`'s ``objective``), CLUB's own likelihood steps
average their gradients over the processes, and every DataLoader is sharded
by the accelerator, so all replicas stay identical. ::

    # train.py -- accelerate launch --multi_gpu --num_processes 4 train.py
    #             (on CPU: torchrun --nproc_per_node 2 train.py)
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    accelerator = Accelerator(
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)]
    )
    clf = AcceleratedM2SClassifier(M2S, accelerator=accelerator, max_epochs=20)
    clf.fit(X, y)
    if accelerator.is_main_process:
        clf.save_params(f_params="m2s.pt")

``find_unused_parameters=True`` is required: in stage 1 the classifier has no
gradient, in stage 2 the encoder of a modality left out has none. Mixed
precision is then the accelerator's (``Accelerator(mixed_precision="bf16")``).
The classes are compositions with :class:`M2SAccelerateMixin`
(skorch's ``AccelerateMixin``, with one workaround for CPU processes); on
GPUs ``class Net(AccelerateMixin, M2SClassifier)`` works as well.
``accelerate`` is needed only to use them (``pip install accelerate``).
"""

from __future__ import annotations

import torch
from skorch.callbacks import PrintLog
from skorch.hf import AccelerateMixin
from torch.nn.parallel import DistributedDataParallel

from .classifier import M2SClassifier
from .pretrainer import M2MCPCPretrainer

__all__ = ["AcceleratedM2MCPCPretrainer", "AcceleratedM2SClassifier", "M2SAccelerateMixin"]


class M2SAccelerateMixin(AccelerateMixin):
    """skorch's :class:`~skorch.hf.AccelerateMixin`, leaving criteria without
    trainable parameters unwrapped.

    On CPU processes (``DistributedType.MULTI_CPU``) accelerate 1.x wraps
    every module it prepares in DistributedDataParallel, which refuses a
    module without parameters (``CrossEntropyLoss``, the pretrainer's
    ``Identity``); on GPUs it already skips them. Such a criterion has
    nothing to synchronise, so it is left as it is.
    """

    def _initialize_accelerator(self):
        if self._wrapped_with_accelerator:
            return self
        module = getattr(self, "module_", None)
        if isinstance(module, torch.nn.Module):
            # parameters trained by an optimiser of their own inside the forward
            # pass (CLUB's) are kept out of DDP's reducer and averaged by the net
            DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
                module, self._ddp_ignored_parameters()
            )
        criteria = self._criteria
        self._criteria = [
            name for name in criteria if _has_trainable_parameters(getattr(self, name + "_", None))
        ]
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria

    def _initialize_callbacks(self):
        """skorch's callbacks; the epoch table printed by the main process only,
        and only when ``verbose`` asks (``AccelerateMixin``'s ``'auto'`` sink
        prints whatever ``verbose`` says, and is written into the parameters)."""
        auto = self.callbacks__print_log__sink == "auto"
        if auto:
            self.callbacks__print_log__sink = print
        try:
            super(AccelerateMixin, self)._initialize_callbacks()
        finally:
            if auto:
                self.callbacks__print_log__sink = "auto"
        if auto and not self.accelerator.is_main_process:
            for _, callback in self.callbacks_:
                if isinstance(callback, PrintLog):
                    callback.sink = _silent
        return self

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Average the floating buffers (running statistics) over the processes,
        then let ``AccelerateMixin`` unwrap the module.

        DDP broadcasts the first process's buffers at each forward pass, so
        the last batch leaves every process with statistics of its own; their
        mean, over all the data, is what every replica keeps.
        """
        accelerator = self.accelerator
        if accelerator.num_processes > 1:
            for buffer in self.model.buffers():
                if torch.is_floating_point(buffer):
                    buffer.copy_(accelerator.reduce(buffer.clone(), reduction="mean"))
        return super().on_train_end(net, X=X, y=y, **kwargs)


def _silent(*args, **kwargs):
    """The epoch table's sink on processes other than the main one."""


def _has_trainable_parameters(module):
    return isinstance(module, torch.nn.Module) and any(
        p.requires_grad for p in module.parameters()
    )


class AcceleratedM2MCPCPretrainer(M2SAccelerateMixin, M2MCPCPretrainer):
    """:class:`~braindecode_m2s.M2MCPCPretrainer` (stage 1) trained through an
    ``accelerate.Accelerator`` (``accelerator=``; ``device=None``), e.g. with
    DistributedDataParallel on several GPUs or CPU processes."""


class AcceleratedM2SClassifier(M2SAccelerateMixin, M2SClassifier):
    """:class:`~braindecode_m2s.M2SClassifier` (stage 1 when needed, then
    stage 2) trained through an ``accelerate.Accelerator`` (``accelerator=``;
    ``device=None``); its stage 1 runs on the same accelerator."""
