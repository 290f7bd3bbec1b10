"""The ``model`` and ``history`` fuzz families: model files from elsewhere.

- ``model``: a folder written by ``M2S.save_pretrained`` (a few small
  configurations), changed once: its ``config.json`` (types, sizes, keys,
  activation names, nesting, encodings, numbers, bytes; a link, FIFO,
  folder, sparse file or nothing in its place) or its weights
  (``model.safetensors``: header fields, tensors of other shapes, kinds or
  values, truncation, bytes; ``pytorch_model.bin`` served by a simulated
  Hub: bytes, zip bombs, huge storages, pickles that call code; links,
  FIFOs...), read by :meth:`M2S.from_pretrained`. Some cases are valid
  models of other sizes.
- ``history``: a skorch history (``load_params(f_history=...)`` of an
  initialised :class:`M2SClassifier`, by path, open file or checkpoint),
  built valid and changed once (types, keys, nesting, sizes, encodings,
  numbers, bytes; links, FIFOs, folders, sparse files). One accepted case in
  ten then trains an epoch on top of it (``partial_fit``): what skorch's
  callbacks make of the history.

Each case must end ``ok`` (a model with this configuration's parameters,
finite; a history skorch keeps) or ``refused`` (``ValueError`` or
``FileNotFoundError`` whose message names the file); any other exception, a
refusal that does not name the file, a hang, a crash or a read over its
budget is a finding. A case's budget counts the bytes of its files and 4
bytes per parameter or buffer value the model it builds allocates.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import traceback
from pathlib import Path

import fuzzlib
import hostile_models as H

#: What the worker allocated in the current case: parameter and buffer values.
ALLOCATED = {"values": 0}
_WORKER = {}

_SIZE_KEYS = (
    "n_outputs", "n_chans", "n_times", "n_bands", "embed_dim", "proj_dim", "n_layers",
    "n_heads", "head_dim", "ff_dim", "classifier_hidden",
)  # fmt: skip
_SIZES = [
    0, 1, 2, 3, 4, 5, 7, 8, 16, 31, 64, -1, -3, 4096, 4097, 8192, 8193, 65536, 10**5,
    10**6, 10**7, 10**9, 2**31, 2**63, 10**30,
]  # fmt: skip
_ODD = [
    None, True, False, "62", "", 4.5, 8.0, -0.0, float("nan"), float("inf"), 1e308, [], [6],
    {}, {"eye": 4}, "x" * 5000, [[[[[[[[[[0]]]]]]]]]],
]  # fmt: skip
_ACTIVATIONS = [
    "ReLU", "GELU", "ELU", "torch.nn.ReLU", "torch.nn.modules.activation.GELU",
    "torch.nn.modules.activation.SiLU", "torch.nn.Mish", "os.abort", "tempfile.mkdtemp",
    "builtins.exec", "builtins.breakpoint", "subprocess.call", "torch.nn.Module",
    "torch.nn.Linear", "torch.nn.modules.linear.Identity", "torch.nn.Softmax",
    "braindecode_m2s.M2S", "relu", " ReLU", "ReLU\x00", "torch..ReLU", ".ReLU", "ReLU.",
    "numpy.ReLU", "torch.nn.activation.ReLU", "a" * 10_000, "", 5, None, ["ReLU"],
    {"ReLU": 1},
]  # fmt: skip
_FILE_KINDS = ["link_dev_zero", "fifo", "folder", "sparse", "missing", "link_regular"]
_DTYPES = ["F16", "BF16", "F32", "F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", "C64", "X", 3]
_SHAPES = [[], [0], [1], [2**20, 2**20], [-1], [2**63], [1, 2, 3, 4, 5, 6, 7, 8], ["a"], None]
_OFFSETS = [[0, 0], [0, 2**42], [2**63, 0], [-1, 4], [8, 4], [0], None, ["0", "4"], [4, 4]]

_BASES = []


# -- generators (in the parent) ----------------------------------------------------
def _save(folder, seed=0, **sizes):
    H.save_small(folder, seed=seed, **sizes)
    folder = Path(folder)
    config = (folder / "config.json").read_bytes()
    return {
        "config": config,
        "safetensors": (folder / "model.safetensors").read_bytes(),
        "bin": (folder / "pytorch_model.bin").read_bytes(),
    }


def _bases():
    """Valid small folders (bytes of their files), built once per process."""
    if not _BASES:
        import tempfile

        variants = [
            {},
            {"modalities": {}},
            {"activation": "GELU", "n_layers": 2, "n_outputs": 2},
            {"modalities": {"eye": 3, "ecg": 2}, "n_bands": 4},
            {"sfreq": 128.0, "n_times": 256, "window_seconds": 0.5, "modalities": {}},
        ]
        with tempfile.TemporaryDirectory() as tmp:
            for i, sizes in enumerate(variants):
                _BASES.append(_save(Path(tmp) / str(i), seed=i, **sizes))
    return _BASES


def _random_sizes(rng):
    """Small sizes of a valid M2S (a model of another shape, for an accepted case)."""
    heads = rng.choice([1, 2, 4])
    sizes = dict(
        n_chans=rng.randrange(1, 12),
        n_outputs=rng.randrange(2, 7),
        n_bands=rng.randrange(1, 6),
        embed_dim=heads * rng.choice([2, 4, 8]),
        n_heads=heads,
        proj_dim=rng.choice([2, 8, 16]),
        n_layers=rng.randrange(1, 3),
        head_dim=rng.choice([2, 8]),
        ff_dim=rng.choice([4, 16, 32]),
        classifier_hidden=rng.choice([4, 16]),
        modalities=rng.choice([{}, {"eye": rng.randrange(1, 6)}, {"a": 2, "b": 3}]),
        activation=rng.choice(["ReLU", "GELU", "Tanh", "torch.nn.modules.activation.ELU"]),
    )
    return sizes


def _mutate_config(rng, config, kind):
    """``config`` (a dict) changed as ``kind`` says; bytes when the change is textual."""
    keys = list(config)
    if kind == "config_type":
        config[rng.choice(keys)] = rng.choice(_ODD)
    elif kind == "config_size":
        config[rng.choice(_SIZE_KEYS)] = rng.choice(_SIZES)
        if rng.random() < 0.3:
            config[rng.choice(_SIZE_KEYS)] = rng.choice(_SIZES)
    elif kind == "config_modalities":
        config["modalities"] = rng.choice(
            [
                {"x": 3},
                {"eye": 0},
                {"eye": 10**9},
                {"": 1},
                {"return_features": 2},
                {"1eye": 3},
                {f"m{i}": 1 for i in range(65)},
                [["eye", 4]],
                "eye",
                {"eye": "4"},
                {"eye": [4]},
            ]
        )
    elif kind == "config_frontend":
        key = rng.choice(["bands", "sfreq", "window_seconds", "n_times", "input_window_seconds"])
        config[key] = rng.choice(
            {
                "bands": [
                    [], {}, [[1, 4]], [[4, 1]], [[0, 64]], [[1, 2, 3]], [[1, "a"]], [[None, 2]],
                    [[1, 4]] * 256, [[1, 4]] * 257, [[1e308, 1e309]], "delta", [[0.5, 0.6]],
                    [[[1, 4]]], [[True, 4]],
                ],
                "sfreq": [1e-9, 0.5, 256.0, 1e6, 1e7, -128.0, 0, None, "128"],
                "window_seconds": [1e-6, 0.01, 2.0, 9999.0, 1e4, 0],
                "n_times": [0, 1, 63, 64, 10**7, 10**8, None],
                "input_window_seconds": [None, 0.5, 2.0, 1e5, 1e6],
            }[key]
        )  # fmt: skip
    elif kind == "config_chs_info":
        loc = [0.0] * 12
        config["chs_info"] = rng.choice(
            [
                [{"ch_name": f"C{i}", "loc": loc} for i in range(config.get("n_chans") or 6)],
                [{"ch_name": "C1", "loc": loc}] * 5,
                [{"ch_name": "C1", "loc": [[1], [2, 3]]}] * 6,
                [{"ch_name": "C1", "loc": "x"}] * 6,
                [{"loc": loc}, 1, 2, 3, 4, 5],
                [[], [], [], [], [], []],
                [{}] * 6,
                [{"ch_name": 5, "loc": None}] * 6,
                {"C1": loc},
                [{"ch_name": "C", "loc": loc}] * 4097,
            ]
        )
    elif kind == "config_key":
        op = rng.randrange(3)
        if op == 0:
            config.pop(rng.choice(keys))
        elif op == 1:
            config[rng.choice(["club_hidden", "x", "", "__class__", "self", "n_chans "])] = 1
        else:
            key = rng.choice(keys)
            config[key.upper()] = config.pop(key)
    elif kind == "config_activation":
        config["activation"] = rng.choice(_ACTIVATIONS)
    elif kind == "config_nesting":
        depth = rng.choice([2, 7, 8, 9, 50, 100_000, 400_000])
        if rng.random() < 0.3:
            return H.deep_json(depth, rng.choice([b"0", b"{}", b'"x"']))
        key = rng.choice(keys)
        value = config[key]
        for _ in range(min(depth, 200)):
            value = [value] if rng.random() < 0.5 else {"k": value}
        config[key] = value
    elif kind == "config_encoding":
        text = fuzzlib._dumps(config, rng).decode()
        choice = rng.randrange(5)
        if choice == 0:
            return text.encode("utf-16")
        if choice == 1:
            return b"\xef\xbb\xbf" + text.encode()
        if choice == 2:
            k = rng.randrange(len(text))
            return (
                text[:k].encode()
                + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"])
                + text[k:].encode()
            )
        if choice == 3:
            return text.replace('"n_chans"', '"n_\\ud800chans"').encode()
        return text[:-1].encode() + b',"n_chans":-3}'  # a key twice: the last one wins
    elif kind == "config_numbers":
        import re

        data = fuzzlib._dumps(config)
        spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", data)]
        for _ in range(rng.randint(1, 3)):
            a, b = rng.choice(spans)
            data = data[:a] + rng.choice(fuzzlib._NUMBER_TEXTS) + data[b:]
            spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", data)]
        return data
    elif kind == "config_json":
        return rng.choice(
            [json.dumps([config]), "null", "6", '"config"', "", " ", "{}", "{} {}", "{"]
        ).encode()
    return fuzzlib._dumps(config, rng)


def _mutate_header(rng, data):
    header, body = H.split_safetensors(data)
    names = [k for k in header if k != "__metadata__"]
    name = rng.choice(names)
    op = rng.randrange(7)
    if op == 0:
        header[name]["dtype"] = rng.choice(_DTYPES)
    elif op == 1:
        header[name]["shape"] = rng.choice(_SHAPES)
    elif op == 2:
        header[name]["data_offsets"] = rng.choice(_OFFSETS)
    elif op == 3:
        header["__metadata__"] = rng.choice([{"a": 1}, {"format": "pt"}, [], "x", {"a": {"b": 1}}])
    elif op == 4:
        header.pop(name)
    elif op == 5:
        header[name + "_again"] = dict(header[name])
    else:
        header[name] = rng.choice([None, [], "x", {"dtype": "F32"}, {**header[name], "x": 1}])
    if rng.random() < 0.2:
        text = json.dumps(header).encode()
        length = len(text) + rng.choice([-9, -1, 1, 8, 2**32])
        return length.to_bytes(8, "little", signed=length < 0) + text + body
    return H.join_safetensors(header, body, pad=rng.random() < 0.8)


def _mutate_state(rng, base):
    """A safetensors file of the base model's state changed once."""
    import torch
    from safetensors.torch import load

    state = load(base["safetensors"])
    names = sorted(state)
    name = rng.choice(names)
    tensor = state[name]
    op = rng.randrange(8)
    if op == 0 and tensor.is_floating_point() and tensor.numel():
        tensor.view(-1)[rng.randrange(tensor.numel())] = rng.choice(
            [float("nan"), float("inf"), -float("inf"), 3e38]
        )
    elif op == 1:
        state[name] = tensor.to(rng.choice([torch.float16, torch.float64, torch.bfloat16]))
    elif op == 2:
        state[name] = tensor.to(rng.choice([torch.int64, torch.bool, torch.uint8]))
    elif op == 3:
        state[name] = tensor.reshape(-1)[: max(tensor.numel() - 1, 0)].clone()
    elif op == 4:
        state[name] = torch.zeros(*(tuple(tensor.shape) + (2,)))
    elif op == 5:
        state.pop(name)
    elif op == 6:
        state[rng.choice(["extra", name + ".x", ""])] = torch.zeros(3)
    else:
        state[name] = tensor.to(torch.complex64) if tensor.is_floating_point() else tensor
    return H.safetensors_bytes(state)


def _mutate_metadata(rng, data):
    """``torch.save``'s archive ``data`` with its state dict's ``_metadata`` changed once."""
    import io

    import torch

    state = torch.load(io.BytesIO(data), weights_only=True)
    metadata = state._metadata
    name = rng.choice(sorted(metadata))
    metadata[name] = rng.choice(
        [
            {"version": rng.choice(["2", None, 2.0, True, [2], 10**30, -1])},
            None,
            "x",
            [],
            {"version": 2, "braindecode_m2s.classes": {"dtype": "<U99999999", "values": []}},
        ]
    )
    if rng.random() < 0.2:
        state._metadata = rng.choice([None, [], "x", {1: {}}])
    return H.torch_save_bytes(state)


_MODEL_KINDS = (
    "valid",
    "resized",
    "config_type",
    "config_size",
    "config_modalities",
    "config_frontend",
    "config_chs_info",
    "config_key",
    "config_activation",
    "config_nesting",
    "config_encoding",
    "config_numbers",
    "config_json",
    "config_bytes",
    "config_file",
    "weights_header",
    "weights_state",
    "weights_bytes",
    "weights_cut",
    "weights_file",
    "bin",
)


def model_case(rng):
    """A model folder (bytes of its files, or the kinds of files in their place)."""
    bases = _bases()
    base = rng.choice(bases)
    kind = rng.choice(_MODEL_KINDS)
    case = {
        "family": "model",
        "kind": kind,
        "config": base["config"],
        "config_file": "regular",
        "weights": base["safetensors"],
        "weights_file": "regular",
        "weights_name": "model.safetensors",
    }
    if kind == "resized":
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            files = _save(Path(tmp) / "m", seed=rng.randrange(1000), **_random_sizes(rng))
        case.update(config=files["config"], weights=files["safetensors"])
    elif kind == "config_bytes":
        case["config"] = fuzzlib.mutate(rng, base["config"])
    elif kind == "config_file":
        case["config_file"] = rng.choice(_FILE_KINDS)
    elif kind.startswith("config_"):
        case["config"] = _mutate_config(rng, json.loads(base["config"]), kind)
    elif kind == "weights_header":
        case["weights"] = _mutate_header(rng, base["safetensors"])
    elif kind == "weights_state":
        case["weights"] = _mutate_state(rng, base)
    elif kind == "weights_bytes":
        case["weights"] = fuzzlib.mutate(rng, base["safetensors"])
    elif kind == "weights_cut":
        data = base["safetensors"]
        k = rng.randrange(len(data) + 1)
        case["weights"] = data[:k] + (b"" if rng.random() < 0.7 else os.urandom(rng.randrange(64)))
    elif kind == "weights_file":
        case["weights_file"] = rng.choice(_FILE_KINDS)
    elif kind == "bin":
        case["weights_name"] = "pytorch_model.bin"
        data = base["bin"]
        op = rng.randrange(8)
        if op == 0:
            data = fuzzlib.mutate(rng, data)
        elif op == 1:
            data = H.archive_zip_bomb(data, size=rng.choice([2**20, 64 * 2**20]))
        elif op == 2:
            data = H.archive_huge_storage(data)
        elif op == 3:
            data = H.archive_calling(
                data, rng.choice([("os", "system"), ("builtins", "exec"), ("os", "abort")])
            )
        elif op == 4:
            data = data[: rng.randrange(len(data))]
        elif op == 5:
            case["weights_file"] = rng.choice(_FILE_KINDS)
        elif op == 6:  # the modules' metadata saved with the state
            data = _mutate_metadata(rng, data)
        case["weights"] = data  # op 7: valid
    return case


def _random_history(rng):
    history = H.valid_history(rng.randrange(0, 5), rng.randrange(0, 4), seed=rng.randrange(99))
    for epoch in history:
        if rng.random() < 0.5:
            epoch.update(valid_acc=rng.random(), valid_acc_best=rng.random() < 0.5)
        if rng.random() < 0.3:
            epoch.update(event_lr=rng.choice([0.1, 1e-3]), note="x", extra=[1, {"a": None}])
    return history


_HISTORY_KINDS = (
    "valid",
    "type_swap",
    "drop_key",
    "add_key",
    "nesting",
    "size",
    "encoding",
    "bytes",
    "numbers",
    "json",
    "not_regular",
)
_HISTORY_KEYS = [
    "epoch", "batches", "dur", "train_loss", "valid_loss", "train_loss_best", "valid_acc",
    "valid_acc_best", "train_batch_size", "train_batch_count", "event_lr", "", "x_best",
]  # fmt: skip


def history_case(rng):
    """A skorch history file built valid and changed once."""
    history = _random_history(rng)
    kind = rng.choice(_HISTORY_KINDS)
    case = {
        "family": "history",
        "kind": kind,
        "file": "regular",
        "via": rng.choice(["path"] * 6 + ["binary", "text", "checkpoint"]),
        "continue": rng.random() < 0.1,
    }
    data = None
    if kind == "type_swap" and history:
        path, _ = rng.choice(fuzzlib._paths(history))
        history = fuzzlib._set_path(history, path, fuzzlib._odd_value(rng))
    elif kind == "drop_key":
        dicts = [v for _, v in fuzzlib._paths(history) if isinstance(v, dict) and v]
        if dicts:
            d = rng.choice(dicts)
            d.pop(rng.choice(list(d)))
    elif kind == "add_key":
        dicts = [v for _, v in fuzzlib._paths(history) if isinstance(v, dict)]
        if dicts:
            value = rng.choice([fuzzlib._odd_value(rng), 0, 1, 0.5, True, "x", [], {}])
            rng.choice(dicts)[rng.choice(_HISTORY_KEYS)] = value
    elif kind == "nesting":
        depth = rng.choice([2, 15, 16, 17, 100, 10_000, 1_000_000])
        if rng.random() < 0.5 or not history:
            data = H.deep_json(depth, rng.choice([b"0", b"{}", b""]))
        else:
            path, value = rng.choice(fuzzlib._paths(history))
            for _ in range(min(depth, 300)):
                value = [value] if rng.random() < 0.5 else {"k": value}
            history = fuzzlib._set_path(history, path, value)
    elif kind == "size":
        history = H.valid_history(rng.choice([100, 1000]), rng.choice([0, 10, 50]))
    elif kind == "encoding":
        text = fuzzlib._dumps(history, rng).decode()
        choice = rng.randrange(4)
        if choice == 0:
            data = text.encode("utf-16")
        elif choice == 1:
            data = b"\xef\xbb\xbf" + text.encode()
        elif choice == 2:
            k = rng.randrange(len(text) + 1)
            data = text[:k].encode() + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"])
            data += text[k:].encode()
        else:
            data = text.replace('"epoch"', '"ep\\udc80och"').encode()
    elif kind == "bytes":
        data = fuzzlib.mutate(rng, fuzzlib._dumps(history, rng))
    elif kind == "numbers":
        import re

        data = fuzzlib._dumps(history)
        spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", data)]
        for _ in range(rng.randint(1, 3) if spans else 0):
            a, b = rng.choice(spans)
            data = data[:a] + rng.choice(fuzzlib._NUMBER_TEXTS) + data[b:]
            spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", data)]
    elif kind == "json":
        data = rng.choice([b"5", b'"h"', b"{}", b"null", b"", b"[] []", b"[", b"true", b"[{}]"])
    elif kind == "not_regular":
        case["file"] = rng.choice(_FILE_KINDS)
    case["data"] = data if data is not None else fuzzlib._dumps(history, rng)
    return case


# -- running a case (in the worker) ----------------------------------------------------------
def prepare():
    """Import what the cases use and count allocations (before the worker's limits)."""
    import safetensors.torch  # noqa: F401
    import skorch.callbacks  # noqa: F401
    import torch
    from torch.nn.modules import module

    from braindecode_m2s import M2S, M2SClassifier
    from braindecode_m2s.models import _weights  # noqa: F401

    torch.set_num_threads(1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - huggingface_hub prints per load

    def count(_module, _name, value):
        if value is not None:
            ALLOCATED["values"] += value.numel()

    module.register_module_parameter_registration_hook(count)
    module.register_module_buffer_registration_hook(count)
    _WORKER["classifier"] = M2SClassifier(
        M2S(**H.SMALL),
        verbose=0,
        train_split=None,
        max_epochs=1,
        batch_size=8,
        pretrain_epochs=0,
        freeze_encoders=False,
    ).initialize()
    _bases()  # the bases' models come from the same code, once


def budget_size(case):
    """Bytes a case may count on: its files, and 4 per value of what it allocated."""
    files = sum(len(case.get(k) or b"") for k in ("config", "weights", "data"))
    return files + 4 * ALLOCATED["values"]


def _fresh(tmp, name):
    folder = Path(tmp) / name
    if folder.exists() or folder.is_symlink():
        shutil.rmtree(folder)
    folder.mkdir()
    return folder


def _run_model(case, tmp):
    import torch

    from braindecode_m2s import M2S
    from braindecode_m2s.models._config import MAX_CONFIG_BYTES

    folder = _fresh(tmp, "model")
    H.place(folder / "config.json", case["config_file"], case["config"], MAX_CONFIG_BYTES)
    # a sparse weights file: over the cap of any model within MAX_PARAMETERS
    H.place(folder / case["weights_name"], case["weights_file"], case["weights"], 2**34)
    scratch = _fresh(tmp, "scratch")  # where tempfile.mkdtemp would create a folder
    import tempfile

    tempfile.tempdir = str(scratch)
    try:
        if case["weights_name"] == "model.safetensors":
            model = M2S.from_pretrained(folder)
        else:
            with H.simulated_hub(folder) as repo:
                model = M2S.from_pretrained(repo)
    finally:
        tempfile.tempdir = None
    if os.listdir(scratch) or os.path.exists("pwned"):
        return "wrong_exception", f"the file ran code: {os.listdir(scratch)}"
    if not isinstance(model, M2S):
        return "wrong_exception", f"from_pretrained gave a {type(model).__name__}"
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        return "non_finite", "a loaded model holds NaN or Inf weights"
    return "ok", ""


def _run_history(case, tmp):
    from skorch.callbacks import Checkpoint
    from skorch.history import History

    from braindecode_m2s.utils.history import MAX_HISTORY_BYTES

    clf = _WORKER["classifier"]
    clf.history = History()
    folder = _fresh(tmp, "history")
    path = folder / "history.json"
    H.place(path, case["file"], case["data"], MAX_HISTORY_BYTES)
    via = case["via"]
    if via in ("binary", "text") and case["file"] not in ("regular", "link_regular"):
        via = "path"  # an open file of a FIFO or a device is the caller's
    if via == "checkpoint":
        clf.load_params(
            checkpoint=Checkpoint(
                dirname=str(folder), f_params=None, f_optimizer=None, f_criterion=None
            )
        )
    elif via == "path":
        clf.load_params(f_history=path)
    else:
        text = dict(encoding="utf-8", errors="surrogateescape") if via == "text" else {}
        with open(path, "r" if text else "rb", **text) as f:
            clf.load_params(f_history=f)
    if case["continue"]:
        fuzzlib._off_meter(_continue, clf)
    return "ok", ""


def _continue(clf):
    """One more epoch on top of the loaded history (what skorch's callbacks make of it)."""
    import numpy as np
    from skorch.helper import SliceDict

    rng = np.random.default_rng(0)
    X = SliceDict(
        x=rng.normal(size=(8, 6, 2, 5)).astype("float32"),
        eye=rng.normal(size=(8, 4, 2)).astype("float32"),
    )
    clf.partial_fit(X, np.arange(8) % 3)


def run(case, tmp):
    """(outcome, detail) of a ``model`` or ``history`` case."""
    ALLOCATED["values"] = 0
    folder = str(Path(tmp) / case["family"])
    try:
        if case["family"] == "model":
            return _run_model(case, tmp)
        return _run_history(case, tmp)
    except (ValueError, FileNotFoundError) as err:
        message = str(err)
        if folder not in message and H.HUB_REPO not in message:
            return "wrong_exception", f"the message does not name the file: {message[:200]}"
        return "refused", f"{type(err).__name__}: {message[:200]}"
    except Exception as err:  # noqa: BLE001 - every other type is a finding
        tb = traceback.format_exc(limit=-4)
        return "wrong_exception", f"{type(err).__name__}: {str(err)[:200]}\n{tb}"


if __name__ == "__main__":  # a few cases by hand
    for seed in range(3):
        print(model_case(random.Random(seed))["kind"], history_case(random.Random(seed))["kind"])
