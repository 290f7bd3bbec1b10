"""Train both M2S estimators with DistributedDataParallel; the DDP test runs it.

``accelerate launch --multi_gpu --num_processes 2 tests/_ddp_run.py OUT`` (on a
machine without GPUs: CPU processes, gloo; ``torchrun`` works as well):
each process pretrains an :class:`AcceleratedM2MCPCPretrainer`, then fits an
:class:`AcceleratedM2SClassifier` (stage 1 and stage 2), and writes to ``OUT``
its parameters after each, the indices of the samples it trained on and its
predictions, for the test to compare across processes.
"""

import sys
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs
from conftest import SMALL, make_small_data
from skorch.callbacks import Callback
from skorch.helper import SliceDict

from braindecode_m2s import M2S
from braindecode_m2s.training.distributed import (
    AcceleratedM2MCPCPretrainer,
    AcceleratedM2SClassifier,
)


class SeenSamples(Callback):
    """Record the initial parameters and, epoch by epoch, the sample ids (the
    first EEG value) trained on."""

    def initialize(self):
        self.seen_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.initial_ = state(net.model)
        self.initial_objective_ = state(net.accelerator.unwrap_model(net.criterion_))

    def on_epoch_begin(self, net, **kwargs):
        self.seen_.append([])

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self.seen_[-1].extend(int(i) for i in batch[0]["x"][:, 0, 0, 0].tolist())


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def main(out):
    out = Path(out)
    torch.set_num_threads(1)
    accelerator = Accelerator(
        cpu=True,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    rank = accelerator.process_index
    x, eye, y = make_small_data(n=48)
    x[:, 0, 0, 0] = torch.arange(len(x)).numpy()  # a sample id the callback reads
    X = SliceDict(x=x, eye=eye)

    seen = SeenSamples()
    pretrainer = AcceleratedM2MCPCPretrainer(
        M2S(**SMALL),
        accelerator=accelerator,
        max_epochs=2,
        batch_size=8,
        random_state=0,
        callbacks=[seen],
        verbose=0,
    )
    pretrainer.fit(X)
    classifier = AcceleratedM2SClassifier(
        M2S(**SMALL),
        accelerator=accelerator,
        pretrain_epochs=1,
        pretrain_batch_size=8,
        max_epochs=2,
        batch_size=8,
        random_state=0,
        train_split=None,
        verbose=0,
    )
    classifier.fit(X, y)

    # stage 2 end to end on EEG alone: the eye encoder gets no gradient in any step
    finetuned = AcceleratedM2SClassifier(
        pretrainer.model,
        accelerator=accelerator,
        pretrain_epochs=0,
        freeze_encoders=False,
        train_modalities=["x"],
        test_modalities=["x"],
        max_epochs=2,
        batch_size=8,
        random_state=0,
        train_split=None,
        verbose=0,
    ).fit(X, y)

    # without find_unused_parameters, DDP would fail at the second step: refused at once
    plain = Accelerator(cpu=True)
    try:
        AcceleratedM2MCPCPretrainer(M2S(**SMALL), accelerator=plain, max_epochs=1).fit(X)
        refusal = None
    except ValueError as error:
        refusal = str(error)
    torch.save(
        {
            "world": accelerator.num_processes,
            "distributed_type": str(accelerator.distributed_type),
            "initial": seen.initial_,
            "pretrained": state(pretrainer.module_),
            "initial_objective": seen.initial_objective_,
            "objective": state(pretrainer.criterion_),
            "objective_type": type(pretrainer.criterion_).__name__,
            "pretrainer_module_type": type(pretrainer.module_).__name__,
            "seen": seen.seen_,
            "classifier": state(classifier.module_),
            "finetuned": state(finetuned.module_),
            "proba": classifier.predict_proba(SliceDict(eye=eye)),
            "embedding": pretrainer.transform(SliceDict(x=x)),
            "refusal": refusal,
            "stage_one_batches": len(classifier.pretrain_history_[-1, "batches"]),
        },
        out / f"rank{rank}.pt",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
