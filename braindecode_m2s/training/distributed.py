"""M2S on several processes: the two estimators with skorch's ``AccelerateMixin``.

Data-parallel training (PyTorch's DistributedDataParallel, through Hugging
Face ``accelerate``) of both stages. skorch's mixin prepares the model and,
in stage 1, the objective (the pretrainer's criterion, which holds the
stage-1 heads and CLUB), so every parameter is averaged by DDP, CLUB's own
likelihood steps included (they run through the objective's forward pass);
every DataLoader is sharded by the accelerator, so all replicas stay
identical. Stage 1 of a classifier runs before the classifier prepares its
own model. ::

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
The epoch table is printed by the main process only. ``accelerate`` is
needed only to use these classes (``pip install accelerate``).
"""

from __future__ import annotations

import torch
from skorch.callbacks import PrintLog
from skorch.hf import AccelerateMixin

from ._skorch import SkipParameterlessCriteria
from .classifier import M2SClassifier
from .pretrainer import M2MCPCPretrainer

__all__ = ["AcceleratedM2MCPCPretrainer", "AcceleratedM2SClassifier", "MainProcessPrintLog"]


class MainProcessPrintLog(PrintLog):
    """skorch's epoch table, printed by the main process only (when ``verbose``)."""

    def on_epoch_end(self, net, **kwargs):
        from accelerate import PartialState

        if PartialState().is_main_process:
            super().on_epoch_end(net, **kwargs)


class _M2SAccelerateMixin(SkipParameterlessCriteria, AccelerateMixin):
    """skorch's :class:`~skorch.hf.AccelerateMixin` with the epoch table printed by
    the main process (as ``verbose`` says), and the floating buffers averaged over
    processes at the end.

    The table's sink is ``print`` (``AccelerateMixin``'s ``'auto'`` would write
    ``accelerator.print`` into the parameters at ``initialize``, and print
    whatever ``verbose`` says).
    """

    def __init__(self, *args, callbacks__print_log__sink=print, **kwargs):
        super().__init__(*args, callbacks__print_log__sink=callbacks__print_log__sink, **kwargs)

    @property
    def _default_callbacks(self):
        return [
            (name, MainProcessPrintLog(**callback.get_params()) if name == "print_log" else cb)
            for name, callback in super()._default_callbacks
            for cb in (callback,)
        ]

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


class AcceleratedM2MCPCPretrainer(_M2SAccelerateMixin, M2MCPCPretrainer):
    """:class:`~braindecode_m2s.M2MCPCPretrainer` (stage 1) trained through an
    ``accelerate.Accelerator`` (``accelerator=``; ``device=None``), e.g. with
    DistributedDataParallel on several GPUs or CPU processes."""


class AcceleratedM2SClassifier(_M2SAccelerateMixin, M2SClassifier):
    """:class:`~braindecode_m2s.M2SClassifier` (stage 1 when asked, then
    stage 2) trained through an ``accelerate.Accelerator`` (``accelerator=``;
    ``device=None``); its stage 1 runs on the same accelerator."""

    _pretrainer_class = AcceleratedM2MCPCPretrainer
