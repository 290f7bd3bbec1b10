"""Both estimators with DistributedDataParallel: ``accelerate launch`` of 2 CPU processes (gloo).

The child script (``_ddp_run.py``) pretrains an ``AcceleratedM2MCPCPretrainer``
and fits an ``AcceleratedM2SClassifier`` in each process; the processes must
end with the same parameters and buffers, each epoch split between them.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from braindecode_m2s import M2S

pytest.importorskip("accelerate")

HERE = Path(__file__).resolve().parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE / "datasets")])}
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",  # on a machine without GPUs: CPU processes, gloo
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_ip",
        "127.0.0.1",
        "--main_process_port",
        str(_free_port()),
        str(HERE / "_ddp_run.py"),
        str(out),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


def _differing(a, b):
    return [k for k in a if not torch.allclose(a[k].double(), b[k].double(), 0, 0, equal_nan=True)]


@pytest.mark.slow
def test_two_processes_train_one_model(ranks):
    first, second = ranks
    assert first["world"] == 2
    assert first["distributed_type"].endswith("MULTI_CPU")
    # every parameter and buffer the same in both processes: the model's and the
    # objective's (CLUB's own steps included: they run through the objective's DDP
    # forward), the running statistics averaged at the end of fit
    assert _differing(first["pretrained"], second["pretrained"]) == []
    assert _differing(first["objective"], second["objective"]) == []
    assert _differing(first["classifier"], second["classifier"]) == []
    assert _differing(first["finetuned"], second["finetuned"]) == []
    # after fit the module and the objective are plain again (savable, picklable)
    assert first["pretrainer_module_type"] == "M2S"
    assert first["objective_type"] == "M2SObjective"
    # identical predictions, on all the samples (gathered over the processes)
    assert first["proba"].shape == (48, 3)
    assert abs(first["proba"] - second["proba"]).max() == 0
    assert first["embedding"].shape == (48, 8)


@pytest.mark.slow
def test_each_process_trains_on_its_half_of_every_epoch(ranks):
    first, second = ranks
    assert len(first["seen"]) == 2  # epochs
    for mine, theirs in zip(first["seen"], second["seen"]):
        assert len(mine) == len(theirs) == 24
        assert set(mine).isdisjoint(theirs)
        assert set(mine) | set(theirs) == set(range(48))
    assert first["stage_one_batches"] == 3  # the classifier's stage 1 is sharded too


@pytest.mark.slow
def test_stage_one_trains_the_encoders_and_leaves_the_classifier(ranks):
    first = ranks[0]
    initial, pretrained = first["initial"], first["pretrained"]
    changed = set(_differing(initial, pretrained))
    assert any(k.startswith("er_encoders.x.") for k in changed)
    objective = set(_differing(first["initial_objective"], first["objective"]))
    assert any(k.startswith("club.") for k in objective)
    assert any(k.startswith("cpc.") for k in objective)
    assert not any(k.startswith(("head.", "final_layer.")) for k in changed)
    # fine-tuning on EEG alone trains the EEG encoder, leaves the eye encoder
    tuned = set(_differing(pretrained, first["finetuned"]))
    assert any(k.startswith("er_encoders.x.") for k in tuned)
    assert not any(k.startswith("er_encoders.eye.") for k in tuned)


@pytest.mark.slow
def test_ddp_without_find_unused_parameters_is_refused_naming_the_fix(ranks):
    assert "find_unused_parameters=True" in ranks[0]["refusal"]


def _params(net):
    """Every parameter, by identity (fit must leave the very objects given)."""
    return {key: id(value) for key, value in net.get_params(deep=False).items()}


def test_one_process_accelerated_equals_plain(small_data, small_kwargs):
    """Without a launcher, the accelerated estimators are the plain ones, to the bit;
    and fit leaves their parameters (the epoch table's sink included) as they were.

    The pretrainers do not shuffle: accelerate's DataLoader reads one batch ahead,
    so a shuffling sampler's last draw from torch's generator comes one batch
    earlier, and the dropout masks after it differ (same distribution).
    """
    from accelerate import Accelerator
    from skorch.helper import SliceDict

    from braindecode_m2s import (
        AcceleratedM2MCPCPretrainer,
        AcceleratedM2SClassifier,
        M2MCPCPretrainer,
        M2SClassifier,
    )

    x, eye, y = small_data
    X = SliceDict(x=x, eye=eye)
    common = dict(max_epochs=2, batch_size=16, random_state=0, verbose=0)
    accelerator = Accelerator(cpu=True)
    module = M2S(**small_kwargs)  # both start from its weights
    pretrainers = [
        M2MCPCPretrainer(module, iterator_train__shuffle=False, **common),
        AcceleratedM2MCPCPretrainer(
            module, accelerator=accelerator, iterator_train__shuffle=False, **common
        ),
    ]
    before = [_params(net) for net in pretrainers]
    plain, accelerated = (net.fit(X).transform(X) for net in pretrainers)
    assert (plain == accelerated).all()
    assert [_params(net) for net in pretrainers] == before

    pretrained = pretrainers[0].module_
    stage_two = dict(train_split=None, pretrain_epochs=0, **common)
    classifiers = [
        M2SClassifier(pretrained, **stage_two),
        AcceleratedM2SClassifier(pretrained, accelerator=accelerator, **stage_two),
    ]
    before = [_params(net) for net in classifiers]
    plain, accelerated = (net.fit(X, y).predict_proba(X) for net in classifiers)
    assert (plain == accelerated).all()
    assert [_params(net) for net in classifiers] == before
