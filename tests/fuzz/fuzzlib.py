"""Generators of hostile inputs and a crash-proof runner, for tests and campaigns.

Six families of cases:

- ``pickle``: structured pickles built from the globals and opcodes numpy
  pickles use (valid arrays, wrong states, odd dtypes, memo tricks, BUILD on
  anything, huge sizes, hash-colliding keys, deep nesting, big integers,
  memo indices), byte mutations of real numpy pickles and of the hostile
  pickles of ``tests/datasets/hostile_files.py``;
- ``file``: byte mutations of every format the package reads (MATLAB v5
  plain and compressed, MATLAB v7.3, Python-2 and modern pickles, SEED-V
  ``.npz`` archives, NeuroScan ``.cnt``) and of the hostile files of
  ``tests/datasets/hostile_files.py`` (zip bombs, HDF5 files with external storage, links and
  virtual datasets pointing at a FIFO or a secret file outside the tree,
  unallocated datasets, reference DAGs and cycles), each read through the
  package's readers;
- ``transform``: random shapes, magnitudes, NaN/Inf and parameters for the
  feature transformers, the raw DE front end and ``trials_to_samples``;
- ``record``: task records of the evaluation store, built valid and mutated
  once (types, nesting, sizes, encodings, keys, configurations, scores,
  numbers; links, FIFOs, folders and sparse files in their place; the
  store's ``STORE.json``), read through
  :meth:`~braindecode_m2s.evaluation.store.ResultStore.read`: each must be
  accepted (``ok``, its scores scikit-learn's of its predictions) or
  treated as missing with one warning naming it (``refused``);
- ``model`` and ``history`` (:mod:`fuzz_models`): a model folder of
  ``M2S.save_pretrained`` (``config.json``, ``model.safetensors``,
  ``pytorch_model.bin``) and a skorch history, built valid and changed once,
  read by ``M2S.from_pretrained`` and ``load_params(f_history=...)``: each
  must load or be refused with a ``ValueError`` / ``FileNotFoundError``
  naming the file.

Cases run in a worker process (:class:`Runner`); a case that kills the worker
is counted as a ``crash`` and the worker is restarted, so a crash is a
finding, not the end of the run. Each case ends as one of:

``ok``
    read or computed, output finite;
``refused``
    an allowed error: ``ValueError`` or ``OSError`` (the package's promise);
``wrong_exception``
    any other exception type (``TypeError``, ``MemoryError``...);
``non_finite``
    a transformer returned NaN/Inf;
``budget_breach``
    a read (pickle or file family) took more than :func:`time_budget`
    seconds or more than :func:`memory_budget` bytes of peak resident
    memory above where it started;
``outside_read``
    a read opened the canary FIFO outside the tree (the runner watches it:
    opening it for writing succeeds only while a reader holds it open), or
    its result or message holds the canary file's secret bytes;
``crash`` / ``hang``
    the worker died, or did not answer within the time limit.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS_TESTS = HERE.parent / "datasets"
for _p in (str(DATASETS_TESTS), str(HERE.parent), str(HERE.parents[1])):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import numpy as np  # noqa: E402
import pickle_asm as A  # noqa: E402
from isolation import reset_peak as _reset_peak  # noqa: E402
from isolation import status as _status  # noqa: E402

#: Every family of cases, in the order a campaign runs them.
FAMILIES = ("pickle", "file", "transform", "record", "model", "history")
FAILURES = ("crash", "hang", "wrong_exception", "non_finite", "budget_breach", "outside_read")
OUTCOMES = ("ok", "refused") + FAILURES


def memory_budget(size):
    """Peak bytes a read of a ``size``-byte input may add: 64 MiB + 16 x its size."""
    return (64 << 20) + 16 * size


def time_budget(size):
    """CPU seconds a read of a ``size``-byte input may take: 5 s + 1 s per MB."""
    return 5.0 + size / 1e6


# --------------------------------------------------------------------------
# pickle family
# --------------------------------------------------------------------------

_GLOBALS = [
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
    ("builtins", "bytearray"),
    ("builtins", "bytes"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "tuple"),
    ("builtins", "set"),
    ("builtins", "str"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "complex"),
    ("numpy", "bool_"),
    ("__builtin__", "long"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("os", "system"),
    ("builtins", "getattr"),
    ("numpy", "frombuffer"),
    ("builtins", "eval"),
]
_DTYPE_SPECS = [
    "f8",
    "f4",
    "i8",
    "u1",
    "b1",
    "c16",
    "U3",
    "S5",
    "O",
    "V8",
    "M8",
    "m8",
    "f16",
    "i4",
    "<f8",
    ">i2",
    "",
    "f9",
    "U0",
    "S0",
    "x",
    "U999999999",
]


def _random_int(rng):
    return rng.choice(
        [
            0,
            1,
            -1,
            2,
            3,
            7,
            8,
            255,
            256,
            2**31 - 1,
            2**31,
            -(2**31),
            2**33,
            2**62,
            2**64 + 5,
            -4096,
            rng.randrange(-(10**6), 10**6),
        ]
    )


def _random_leaf(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return A.integer(_random_int(rng))
    if kind == 1:
        return A.text(rng.choice(["", "a", "latin1", "utf-8", "base64", "f8", "<", "|"]))
    if kind == 2:
        return A.binary(bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 4, 8, 16, 24]))))
    if kind == 3:
        return A.none()
    if kind == 4:
        return A.boolean(rng.random() < 0.5)
    if kind == 5:
        return A.glob(*rng.choice(_GLOBALS))
    if kind == 6:
        return _random_dtype(rng)
    return A.tup(*[A.integer(_random_int(rng) % 9) for _ in range(rng.randrange(4))])


def _random_dtype(rng):
    spec = rng.choice(_DTYPE_SPECS)
    if rng.random() < 0.5:
        return A.dtype(spec)
    state = A.dtype_state(
        rng.choice(["<", ">", "|", "=", "!"]),
        rng.choice([-1, 0, 1, 4, 8, 12, 2**40]),
        rng.choice([0, 8, 63, 1, 16]),
    )
    if rng.random() < 0.2:
        state = A.tup(*[_random_leaf(rng) for _ in range(rng.randrange(10))])
    return A.dtype(spec, state)


def _random_array(rng):
    shape = tuple(rng.choice([0, 1, 2, 3, 5, 10**6, 2**31]) for _ in range(rng.randrange(4)))
    itemsize = rng.choice([1, 2, 4, 8])
    count = 1
    for d in shape:
        count *= d
    n = count * itemsize if count * itemsize < 4096 and rng.random() < 0.6 else rng.randrange(64)
    data = A.binary(bytes(rng.randrange(256) for _ in range(n)))
    if rng.random() < 0.2:
        data = A.lst(*[_random_leaf(rng) for _ in range(rng.randrange(4))])
    dt = _random_dtype(rng) if rng.random() < 0.5 else A.dtype(rng.choice(["f8", "u1", "i4"]))
    obj = A.call(
        A.glob("numpy.core.multiarray", "_reconstruct"),
        A.glob(*rng.choice([("numpy", "ndarray")] * 4 + _GLOBALS)),
        A.tup(A.integer(0)),
        A.binary(b"b"),
    )
    if rng.random() < 0.1:
        return obj  # no state
    state = A.tup(
        A.integer(1), A.tup(*map(A.integer, shape)), dt, A.boolean(rng.random() < 0.3), data
    )
    if rng.random() < 0.15:
        state = A.tup(*[_random_leaf(rng) for _ in range(rng.randrange(7))])
    out = A.build(obj, state)
    if rng.random() < 0.05:
        out = A.build(out, state)  # a second state
    return out


def _random_value(rng, depth=0):
    kind = rng.randrange(9 if depth < 4 else 2)
    if kind in (0, 1):
        return _random_leaf(rng)
    if kind == 2:
        return _random_array(rng)
    if kind == 3:
        return A.lst(*[_random_value(rng, depth + 1) for _ in range(rng.randrange(4))])
    if kind == 4:
        return A.tup(*[_random_value(rng, depth + 1) for _ in range(rng.randrange(4))])
    if kind == 5:
        return A.dct(**{f"k{i}": _random_value(rng, depth + 1) for i in range(rng.randrange(4))})
    if kind == 6:  # REDUCE of a random global with random arguments
        return A.call(
            A.glob(*rng.choice(_GLOBALS)),
            *[_random_value(rng, depth + 1) for _ in range(rng.randrange(4))],
        )
    if kind == 7:  # BUILD on anything
        target = _random_value(rng, depth + 1)
        state = rng.choice(
            [
                A.tup(A.none(), A.dct(__name__=A.text("x"), __defaults__=A.none())),
                A.dct(a=A.integer(1)),
                _random_value(rng, depth + 1),
            ]
        )
        return A.build(target, state)
    # memo tricks: store a value and reuse it
    slot = rng.randrange(1, 5)
    value = _random_value(rng, depth + 1)
    return A.lst(value + A.put(slot), A.get(slot), A.get(slot))


def _hostile_value(rng, depth=0):
    """Values aimed at the readers' budgets: collisions, nesting, sizes, memo."""
    kind = rng.randrange(7)
    m61 = (1 << 61) - 1
    if kind == 0:  # keys that hash alike (a few, then many)
        n = rng.choice([3, 100, 1100])
        keys = [
            A.integer(k * m61 * rng.choice([1, -1])) if rng.random() < 0.8 else A.binary(b"\x00")
            for k in range(1, n)
        ]
        op = rng.choice(
            [
                b"\x8f(" + b"".join(keys) + b"\x90",
                b"}(" + b"".join(k + A.none() for k in keys) + b"u",
                A.call(
                    A.glob("builtins", rng.choice(["set", "frozenset", "dict"])),
                    A.lst(*(A.tup(k, A.none()) for k in keys)),
                ),
            ]
        )
        return op
    if kind == 1:  # deep nesting, by marks or by appends, with a stub inside
        n = rng.choice([50, 99, 100, 101, 150])
        inner = rng.choice([A.dtype("f8"), A.none(), A.glob("numpy", "dtype")])
        if rng.random() < 0.5:
            return b"(" * n + inner + b"t" * n
        return b"]" * n + inner + b"a" * n
    if kind == 2:  # a stub as a dict key or set member, at some depth
        item = rng.choice(
            [
                A.dtype("f8"),
                A.glob("numpy", "dtype"),
                A.reconstruct((1,), A.dtype("f8"), A.binary(b"x" * 8)),
            ]
        )
        for _ in range(rng.choice([0, 1, 5, 101])):
            item = A.tup(item)
        return rng.choice([b"}" + item + A.none() + b"s", b"\x8f(" + item + b"\x90"])
    if kind == 3:  # big integers in a shape, an int(), a memo index
        big = 2 ** (8 * rng.choice([8, 255, 256, 300, 5000]) - 9)
        return rng.choice(
            [
                A.reconstruct((big, 2), A.dtype("f8"), A.binary(b"")),
                A.call(A.glob("builtins", "int"), A.text("9" * rng.choice([10, 4300, 5000]))),
                A.none() + b"r" + rng.choice([2**27, 5, 2**31]).to_bytes(4, "little"),
            ]
        )
    if kind == 4:  # memo reuse: DUP / BINGET runs
        return (
            A.none()
            + A.put(0)
            + (b"2" if rng.random() < 0.5 else b"h\x00") * rng.choice([10, 1000, 300000])
            + b"0" * 0
        )
    if kind == 5:  # strings that cannot be encoded
        return rng.choice(
            [
                b"X\x03\x00\x00\x00\xed\xa0\x80",
                A.reconstruct(
                    (1,),
                    A.dtype("U1", A.dtype_state("<", 4, 8)),
                    A.binary(rng.choice([0xD800, 0xDFFF, 0x41]).to_bytes(4, "little")),
                ),
            ]
        )
    return _random_value(rng, depth)


def _hostile_pickles():
    import hostile_files as H

    return [builder() for name, builder in sorted(H.PICKLES.items()) if name not in _BIG_HOSTILE]


#: Hostile files too big to mutate at a useful rate (each is also tested as is).
_BIG_HOSTILE = {
    "dup_binget_20mb",
    "v5_zeros_after_matrix_6gb",
    "nested_list_marks",
    "nested_list_appends",
    "v5_bomb_beyond_memory",
}
_HOSTILE_PICKLES = []


def _numpy_pickles():
    arrays = {
        "a": np.arange(12.0).reshape(3, 4),
        "f": np.asfortranarray(np.ones((2, 3), ">f4")),
        "u": np.array(["ab", "c"]),
        "s": np.float32(2.5),
        "i": np.arange(5, dtype=np.int16),
        "b": np.array([True, False]),
        "n": [1, (2.0, "x"), {3}, b"raw"],
    }
    return [pickle.dumps(arrays, protocol=p) for p in (0, 2, 4, 5)]


def pickle_case(rng):
    """One pickle: structured (50 %), aimed at the budgets (20 %), a mutated
    numpy pickle (20 %) or a mutated hostile pickle of ``hostile_files.py`` (10 %)."""
    draw = rng.random()
    if draw < 0.5:
        body = _random_value(rng)
        return {"family": "pickle", "kind": "structured", "data": A.done(body)}
    if draw < 0.7:
        return {"family": "pickle", "kind": "budget", "data": A.done(_hostile_value(rng))}
    if draw < 0.9:
        base = rng.choice(_numpy_pickles())
        return {"family": "pickle", "kind": "mutated", "data": mutate(rng, base, start=2)}
    if not _HOSTILE_PICKLES:
        _HOSTILE_PICKLES.extend(_hostile_pickles())
    base = rng.choice(_HOSTILE_PICKLES)
    return {"family": "pickle", "kind": "mutated_hostile", "data": mutate(rng, base, start=2)}


# --------------------------------------------------------------------------
# record family: task records of the evaluation store
# --------------------------------------------------------------------------

_RECORD_KINDS = (
    "valid",
    "type_swap",
    "drop_key",
    "add_key",
    "nesting",
    "size",
    "encoding",
    "bytes",
    "other_key",
    "config",
    "forged_scores",
    "consistent_forgery",
    "numbers",
    "not_regular",
    "marker",
)


def _valid_record(rng):
    """A record :func:`~braindecode_m2s.evaluation.tasks.run_task` could have written."""
    from braindecode_m2s.evaluation.records import prediction_scores
    from braindecode_m2s.evaluation.store import digest

    kind = rng.choice(["fit"] * 6 + ["pretrain", "failed"])
    config = dict(
        version="0.0",
        dataset=rng.choice(["SEED-IV", "DEAP", "synthetic"]),
        protocol=rng.choice(["within-session", "loso"]),
        subject=rng.choice([1, 2, 15, "s01"]),
        session=rng.choice(["0", "1"]),
        fold=rng.randrange(4),
        data="d" * 64,
        split="s" * 64,
        seed=rng.randrange(5),
        kind="pretrain" if kind == "pretrain" else "fit",
    )
    if kind == "pretrain":
        config.update(n_outputs=rng.randrange(2, 6), stage1={"lr": 1e-3, "epochs": 2})
    else:
        config.update(
            pipeline=rng.choice(["M2S", "de_svm", "LR"]),
            setting=rng.choice(["eeg2eeg", "multimodal"]),
            train_modalities=rng.choice([["x"], ["x", "eye"]]),
            test_modalities=rng.choice([["x"], ["eye"]]),
            estimator={"class": "sklearn.svm.SVC", "params": {"C": rng.random()}},
            pretrain=None,
        )
    key = digest(config)
    record = dict(key=key, kind=config["kind"], config=config, wall_time=rng.random() * 10)
    if kind == "failed":
        record.update(status="failed", traceback=rng.choice(["", "Traceback\nValueError: x\n"]))
    elif kind == "pretrain":
        row = dict(time=rng.random(), samples=rng.randrange(1, 500), n_outputs=config["n_outputs"])
        record.update(status="done", row=row, predictions=None)
    else:
        n = rng.choice([1, 2, 8, 16, 100])
        classes = rng.choice([[0, 1, 2, 3], ["neutral", "sad", "fear", "happy"], [1.0, -1.0], [7]])
        y_true = [rng.choice(classes) for _ in range(n)]
        y_pred = [rng.choice(classes) if rng.random() < 0.8 else t for t in y_true]
        names = ("dataset", "protocol", "pipeline", "setting", "seed", "subject", "session")
        row = {name: config[name] for name in (*names, "fold")}
        row.update({m: "+".join(config[m]) for m in ("train_modalities", "test_modalities")})
        row.update(prediction_scores(y_true, y_pred), time=rng.random() * 100)
        row.update(samples=rng.randrange(1, 1000), samples_test=n, n_classes=len(set(y_true)))
        record.update(status="done", row=row, predictions={"y_true": y_true, "y_pred": y_pred})
    return record


def _paths(obj, prefix=()):
    """Every (path, value) of a JSON tree."""
    out = [(prefix, obj)]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _set_path(obj, path, value):
    if not path:
        return value
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return obj


def _odd_value(rng):
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -1,
            2**63,
            10**400,
            0.5,
            -0.0,
            float("nan"),
            float("inf"),
            -float("inf"),
            1e308,
            "",
            "done",
            "failed",
            "x" * rng.randrange(1, 5000),
            [],
            [1, "a", None],
            {},
            {"status": "done"},
        ]
    )


_NUMBER_TEXTS = [
    b"1e999999",
    b"-1e999999",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e-400",
    b"-0",
    b"9" * 4300,
    b"9" * 4301,
    b"1" + b"0" * 100_000 + b".5",
    b"0." + b"3" * 10_000,
    b"1E+308",
    b"4.9e-324",
    b"123456789012345678901234567890",
]


def _dumps(obj, rng=None):
    import json

    if rng is not None and rng.random() < 0.3:
        return json.dumps(obj, allow_nan=True).encode()  # spaces
    return json.dumps(obj, separators=(",", ":"), allow_nan=True).encode()


def record_case(rng):
    """A task record (bytes) built from a valid one by one mutation, and its file's key."""
    import re

    from braindecode_m2s.evaluation.records import prediction_scores
    from braindecode_m2s.evaluation.store import digest

    record = _valid_record(rng)
    key = record["key"]
    kind = rng.choice(_RECORD_KINDS)
    case = {"family": "record", "kind": kind, "key": key, "file": "regular"}
    if kind == "type_swap":
        path, _ = rng.choice(_paths(record))
        record = _set_path(record, path, _odd_value(rng))
    elif kind == "drop_key":
        dicts = [(p, v) for p, v in _paths(record) if isinstance(v, dict) and v]
        path, d = rng.choice(dicts)
        d.pop(rng.choice(list(d)))
    elif kind == "add_key":
        dicts = [v for _, v in _paths(record) if isinstance(v, dict)]
        rng.choice(dicts)[rng.choice(["extra", "status", "row", "key", ""])] = _odd_value(rng)
    elif kind == "nesting":
        depth = rng.choice([2, 10, 60, 64, 65, 200, 10_000, 1_000_000])
        if rng.random() < 0.5:
            case["data"] = b"[" * depth + b"]" * depth
            return case
        path, value = rng.choice(_paths(record))
        for _ in range(min(depth, 300)):
            value = [value] if rng.random() < 0.5 else {"k": value}
        record = _set_path(record, path, value)
    elif kind == "size":
        n = rng.choice([1_000, 30_000, 100_000])
        if record.get("predictions"):
            p = record["predictions"]
            p["y_true"] = (p["y_true"] * (n // len(p["y_true"]) + 1))[:n]
            p["y_pred"] = (p["y_pred"] * (n // len(p["y_pred"]) + 1))[: n + rng.randrange(2)]
            record["row"].update(samples_test=n)
            if len(p["y_pred"]) == n:  # a valid large record
                record["row"].update(prediction_scores(p["y_true"], p["y_pred"]))
        else:
            record["traceback" if "traceback" in record else "extra"] = "t" * n * 10
    elif kind == "encoding":
        text = _dumps(record, rng).decode()
        choice = rng.randrange(5)
        if choice == 0:
            case["data"] = text.encode("utf-16")
        elif choice == 1:
            case["data"] = b"\xef\xbb\xbf" + text.encode()  # a byte-order mark
        elif choice == 2:
            k = rng.randrange(len(text))
            case["data"] = (
                text[:k].encode()
                + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"])
                + (text[k:].encode())
            )
        elif choice == 3:  # a lone surrogate, escaped
            case["data"] = text.replace('"done"', '"d\\ud800one"').encode()
        else:  # a key twice: the last one wins in json
            case["data"] = text[:-1].encode() + b',"status":"done"}'
        return case
    elif kind == "bytes":
        case["data"] = mutate(rng, _dumps(record, rng))
        return case
    elif kind == "other_key":
        other = _valid_record(rng)
        case["key"] = other["key"]  # saved under another task's name
    elif kind == "config":
        path, _ = rng.choice(_paths(record["config"]))
        record["config"] = _set_path(record["config"], path, _odd_value(rng))
        if rng.random() < 0.5:  # renamed after its new configuration (may be JSON-invalid)
            try:
                record["key"] = case["key"] = digest(record["config"])
            except (TypeError, ValueError):
                pass
    elif kind == "forged_scores" and record.get("row"):
        field = rng.choice(["score", "balanced_accuracy", "kappa", "time", "samples_test"])
        record["row"][field] = rng.choice([0.99, 1.0, 0.0, -1.0, record["row"].get(field, 0)])
    elif kind == "consistent_forgery" and record.get("predictions"):
        y_pred = record["predictions"]["y_true"][:]  # perfect predictions, scores to match
        record["predictions"]["y_pred"] = y_pred
        record["row"].update(prediction_scores(record["predictions"]["y_true"], y_pred))
    elif kind == "numbers":
        data = _dumps(record)
        spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", data)]
        for _ in range(rng.randint(1, 3)):
            a, b = rng.choice(spans)
            data = data[:a] + rng.choice(_NUMBER_TEXTS) + data[b:]
            spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", data)]
        case["data"] = data
        return case
    elif kind == "not_regular":
        case["file"] = rng.choice(["link_dev_zero", "link_record", "fifo", "folder", "sparse"])
    elif kind == "marker":
        marker = {"format": "braindecode-m2s task store", "version": 1}
        data = _dumps(marker)
        case["data"] = data if rng.random() < 0.3 else mutate(rng, data)
        case["file"] = rng.choice(["regular"] * 4 + ["link_dev_zero", "fifo", "sparse"])
        return case
    case["data"] = _dumps(record, rng)
    return case


def _place(case, path, sparse_size):
    """Put the case's file at ``path``: bytes, or a link, FIFO, folder or sparse file."""
    kind = case["file"]
    if kind == "regular":
        path.write_bytes(case["data"])
    elif kind == "link_dev_zero":
        os.symlink("/dev/zero", path)
    elif kind == "link_record":
        target = path.with_name("target.json")
        target.write_bytes(case["data"])
        os.symlink(target, path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        with open(path, "wb") as f:
            f.truncate(sparse_size + 1)


def _expected_scores(record):
    """scikit-learn's scores of an accepted done record's predictions."""
    import warnings

    from sklearn.metrics import accuracy_score, balanced_accuracy_score, cohen_kappa_score

    p = record["predictions"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(
            score=accuracy_score(p["y_true"], p["y_pred"]),
            balanced_accuracy=balanced_accuracy_score(p["y_true"], p["y_pred"]),
            kappa=cohen_kappa_score(p["y_true"], p["y_pred"]),
        )


def _fresh_store(tmp):
    """The worker's store folder, emptied of records and artifacts."""
    import shutil

    from braindecode_m2s.evaluation.store import ResultStore

    root = Path(tmp) / "store"
    for name in ("tasks", "artifacts"):
        if (root / name).exists():
            shutil.rmtree(root / name)
    return ResultStore(root)  # its STORE.json is written once


def _run_record(case, tmp):
    """Read the case's record through the store: valid (``ok``) or missing (``refused``).

    The first read is metered (the read's budget); the checks after it
    (the counts, a second read, scikit-learn's scores of the predictions)
    are not.
    """
    import warnings

    from braindecode_m2s.evaluation import store as store_module
    from braindecode_m2s.evaluation.store import ResultStore

    store = _fresh_store(tmp)
    if case["kind"] == "marker":
        marker = store.root / "STORE.json"
        marker.unlink()
        _place(case, marker, store_module.MAX_MARKER_BYTES)
        try:
            ResultStore(store.root)
        except ValueError as err:
            return "refused", f"ValueError: {str(err)[:200]}"
        finally:
            marker.unlink()  # the next case's store writes a good one
        return "ok", ""
    key = case["key"]
    path = store.root / "tasks" / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True)
    artifact = store.root / "artifacts" / key[:2] / f"{key}.pt"
    artifact.parent.mkdir(parents=True)
    artifact.write_bytes(b"")  # a stage-1 record's artifact, there
    _place(case, path, store_module.MAX_RECORD_BYTES)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = store.read(key)
        return _off_meter(_judge_record, store, key, path, record, caught)


def _judge_record(store, key, path, record, caught):
    import math

    from braindecode_m2s.evaluation.store import RecordWarning

    counts, _ = store.status([key])
    again = store.read(key)
    ours = [w for w in caught if issubclass(w.category, RecordWarning)]
    others = [w for w in caught if not issubclass(w.category, RecordWarning)]
    if others:
        return "wrong_exception", f"an unexpected warning: {others[0].message!s:.200}"
    if record is None:
        if len(ours) != 1 or str(path) not in str(ours[0].message) or again is not None:
            return "wrong_exception", f"refused with {len(ours)} warnings (expected 1 naming it)"
        if counts != dict(done=0, failed=0, pending=1, total=1):
            return "wrong_exception", f"refused but counted as {counts}"
        return "refused", f"{ours[0].message!s:.200}"
    if ours or again != record or counts[record["status"]] != 1:
        return "wrong_exception", "accepted, yet warned about or counted otherwise"
    if record["status"] == "done" and record["kind"] == "fit":
        for name, value in _expected_scores(record).items():
            got = record["row"][name]
            if math.isnan(value) != (isinstance(got, float) and math.isnan(got)):
                return "non_finite", f"accepted {name}={got!r}; its predictions give {value!r}"
            if not math.isnan(value) and abs(got - value) > 1e-9:
                return "wrong_exception", f"accepted {name}={got!r}; predictions give {value!r}"
    return "ok", ""


# --------------------------------------------------------------------------
# file family
# --------------------------------------------------------------------------

_INTERESTING = [0, 1, 8, 10, 11, 14, 15, 16, 0x7F, 0x80, 0xFF]


def mutate(rng, data, start=0):
    """Flip, set, overwrite, cut, duplicate or drop bytes of ``data``."""
    raw = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if len(raw) <= start + 1:
            break
        op = rng.randrange(6)
        k = rng.randrange(start, len(raw))
        if op == 0:
            raw[k] ^= 1 << rng.randrange(8)
        elif op == 1:
            raw[k] = rng.choice(_INTERESTING)
        elif op == 2:
            word = rng.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 8, 2**20])
            raw[k : k + 4] = word.to_bytes(4, "little")
        elif op == 3:
            del raw[rng.randrange(start, len(raw)) :]
        elif op == 4:
            n = rng.randrange(1, 64)
            raw[k:k] = raw[k : k + n]
        else:
            del raw[k : k + rng.randrange(1, 64)]
    return bytes(raw)


def _mat_bytes(arrays, compress):
    import scipy.io

    buf = io.BytesIO()
    scipy.io.savemat(buf, arrays, do_compression=compress)
    return buf.getvalue()


def base_files(folder):
    """Small valid files of every format the readers take: {kind: bytes}."""
    from braindecode_m2s.datasets.fixtures import layout_physio as P
    from braindecode_m2s.datasets.fixtures import layout_seed as L

    rng = np.random.default_rng(0)
    cell = np.empty((2, 1), dtype=object)
    cell[0, 0], cell[1, 0] = rng.standard_normal((4, 3)), "text"
    struct = {"a": rng.standard_normal((2, 2)), "b": np.array([[1, 2]], np.int16), "c": cell}
    mat_vars = {
        "de_LDS1": rng.standard_normal((62, 3, 5)),
        "label": np.array([[1, 0, -1]]),
        "s": struct,
        "z": np.array([[1 + 2j]]),
    }
    out = {
        "mat_v5": _mat_bytes(mat_vars, False),
        "mat_v5_compressed": _mat_bytes(mat_vars, True),
    }
    folder = Path(folder)
    P.write_mat73(
        folder / "v73.mat",
        {"data": rng.standard_normal((3, 4)), "c": cell, "s": {"a": np.ones((1, 2))}},
    )
    out["mat_v73"] = (folder / "v73.mat").read_bytes()
    data, labels = P.deap_subject_arrays(1, n_trials=1)
    out["deap_dat_py2"] = P.py2_pickle_dict({"labels": labels, "data": data[:, :, :]})
    out["deap_dat_py3"] = pickle.dumps({"labels": labels, "data": data}, protocol=4)
    subjects = P.dreamer_arrays(n_subjects=1, n_videos=18, stim_seconds=(2,), baseline_seconds=1)
    P.write_dreamer(folder / "dreamer", subjects=subjects)
    out["dreamer_mat"] = (folder / "dreamer" / "DREAMER.mat").read_bytes()
    L.write_seed_v(folder / "seedv", subjects=(1,), base=1, cnt=False)
    out["seedv_npz"] = (folder / "seedv" / "EEG_DE_features" / "1_123.npz").read_bytes()
    L.write_cnt(folder / "x.cnt", n_seconds=4, sfreq=5)
    out["cnt"] = (folder / "x.cnt").read_bytes()
    out.update(hostile_bases(folder / "hostile"))
    return out


def hostile_bases(folder):
    """The hostile files of ``hostile_files.py`` that are small enough to mutate: {kind: bytes}.

    Their canaries (a FIFO, a secret file) are written beside ``folder``
    and must exist while the cases run; :func:`canaries` lists the FIFOs.
    """
    import hostile_files as H

    out = {}
    for name in H.REFUSED + H.LOADED:
        if name in _BIG_HOSTILE:
            continue
        sub = Path(folder) / name
        sub.mkdir(parents=True, exist_ok=True)
        path, call = H.write(name, sub)
        out[f"hostile:{call}:{name}"] = path.read_bytes()
    return out


def canaries(folder):
    """The FIFOs that the hostile bases written under ``folder`` point at."""
    return sorted(str(p) for p in Path(folder).rglob("fifo"))


def file_case(rng, bases):
    kind = rng.choice(sorted(bases))
    data = bases[kind]
    # keep the headers of the big DEAP pickles mostly intact: mutate near tags
    return {"family": "file", "kind": kind, "data": mutate(rng, data, start=0)}


# --------------------------------------------------------------------------
# transform family
# --------------------------------------------------------------------------

_TRANSFORMS = ("de", "psd", "lds", "movingave", "frontend", "trials_to_samples")


def transform_case(rng):
    return {"family": "transform", "kind": rng.choice(_TRANSFORMS), "seed": rng.randrange(2**32)}


def _pick(rng, options):
    """One of ``options`` (any objects) with a numpy Generator."""
    return options[int(rng.integers(len(options)))]


def _random_signal(rng, ndim_choices=(3,)):
    ndim = int(rng.choice(ndim_choices))
    shape = [int(rng.choice([0, 1, 2, 3, 64, 300, 600])) for _ in range(ndim)]
    while np.prod(shape) > 200_000:  # keep inputs small: the code is under test
        shape[int(np.argmax(shape))] //= 4
    scale = 10.0 ** rng.uniform(-300, 300) if rng.random() < 0.5 else 1.0
    X = rng.standard_normal(shape) * scale
    if X.size and rng.random() < 0.15:
        X.flat[int(rng.integers(X.size))] = rng.choice([np.nan, np.inf, -np.inf, 1e308])
    if rng.random() < 0.05:
        X = X.astype(_pick(rng, [np.float32, np.int16, np.complex64, object]))
    return X


def _run_transform(case):
    from braindecode_m2s.features import (
        DifferentialEntropy,
        LinearDynamicalSystem,
        MovingAverage,
        PowerSpectralDensity,
    )

    rng = np.random.default_rng(case["seed"])
    kind = case["kind"]
    sfreq = float(rng.choice([0.0, -1.0, 1.0, 64.0, 128.0, 200.0, 1e9, np.inf, np.nan]))
    window = float(rng.choice([0.0, 0.01, 0.5, 1.0, 4.0, 1e6]))
    if kind in ("de", "psd"):
        cls = DifferentialEntropy if kind == "de" else PowerSpectralDensity
        bands = _pick(rng, [None, [(1, 4)], [(0, 1)], [(4, 2)], [(30, 60)]])
        kwargs = {} if bands is None else {"bands": bands}
        return cls(sfreq=sfreq, window_seconds=window, **kwargs).fit_transform(_random_signal(rng))
    if kind in ("lds", "movingave"):
        X = _random_signal(rng, (1, 2, 3, 4))
        axis = int(rng.choice([2, 1, -1, 5])) if X.ndim > 2 else 1
        if kind == "lds":
            params = {
                k: float(rng.choice([1.0, 1e-300, 1e300, 0.0, -1.0]))
                for k in ("transition", "observation", "process_noise")
            }
            return LinearDynamicalSystem(axis=axis, **params).fit_transform(X)
        return MovingAverage(window=int(rng.choice([1, 3, 5, 0])), axis=axis).fit_transform(X)
    if kind == "frontend":
        import torch

        from braindecode_m2s.modules.frontends import BandDifferentialEntropy

        front = BandDifferentialEntropy(
            sfreq=float(rng.choice([128.0, 200.0])), window_seconds=float(rng.choice([0.5, 1.0]))
        )
        X = _random_signal(rng, (2, 3, 4))
        if X.dtype.kind not in "fiu":
            X = X.astype(np.float64)
        with np.errstate(all="ignore"):
            X = X.astype(np.float32)
        out = front(torch.as_tensor(X)).detach().numpy()
        # garbage in (NaN/Inf samples), garbage out: only finite inputs must
        # give finite features
        return out if np.all(np.isfinite(X)) else np.zeros(1)
    from braindecode_m2s.datasets.base import EmotionTrial
    from braindecode_m2s.paradigms import MultimodalEmotion

    trials = []
    for t in range(int(rng.integers(1, 4))):
        mods = {"x": _random_signal(rng, (1, 2, 3, 4)), "eye": _random_signal(rng, (1, 2, 3))}
        trials.append(
            EmotionTrial(
                subject=1, session="0", trial=t, label=0, modalities=mods, window_seconds=4.0
            )
        )
    X, y, _ = MultimodalEmotion(sequence_length=int(rng.choice([1, 2, 5]))).trials_to_samples(
        trials
    )
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in X.values()])


# --------------------------------------------------------------------------
# running one case (in the worker)
# --------------------------------------------------------------------------

_FILE_NAMES = {
    "mat_v5": "x.mat",
    "mat_v5_compressed": "x.mat",
    "mat_v73": "x.mat",
    "deap_dat_py2": "s01.dat",
    "deap_dat_py3": "s01.dat",
    "dreamer_mat": "DREAMER.mat",
    "seedv_npz": "1_123.npz",
    "cnt": "1_1_20180804.cnt",
}


#: The canary file's bytes (``hostile_files.SECRET``): never in a result.
_SECRET = b"SECRET-OUTSIDE-THE-DATASET-TREE-"


class OutsideRead(Exception):
    """A result holds bytes of the canary file outside the tree."""


#: The read's meter (see :func:`measured_case`): peak bytes and seconds spent
#: reading, not touching the results (numpy's repr of an empty array of shape
#: (3, 1000000, 0) alone takes seconds and hundreds of MiB).
_METER = {}


def _touch(obj):
    """Walk a loaded object the way user code would (repr, sums), once per object.

    Raises :class:`OutsideRead` if it holds the canary's secret bytes. Its
    own time and memory are kept out of the read's meter.
    """
    _off_meter(_walk, obj)


def _off_meter(fn, *args):
    """``fn(*args)``, its time and memory (peak, and what it keeps) out of the read's meter."""
    if _METER:
        _METER["peak"] = max(_METER["peak"], _status("VmHWM:") - _METER["start"])
        rss, t0 = _status("VmRSS:"), time.process_time()
    try:
        return fn(*args)
    finally:
        if _METER:
            _METER["touch"] += time.process_time() - t0
            _METER["start"] += max(0, _status("VmRSS:") - rss)
            _reset_peak()


def _walk(obj):
    seen = set()
    stack = [(obj, 0)]
    while stack:
        obj, depth = stack.pop()
        if id(obj) in seen or depth > 200:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind != "O":  # an object array's repr recurses (shared cells)
                repr(obj)
            if obj.dtype.kind in "biufc":
                obj.sum()
                if obj.dtype.kind in "iub" and _SECRET in obj.tobytes():
                    raise OutsideRead("the result holds the canary's bytes")
            elif obj.dtype.kind == "O":
                stack.extend((item, depth + 1) for item in obj.flat)
            elif obj.dtype.names:
                stack.extend((obj[name], depth + 1) for name in obj.dtype.names)
            elif obj.dtype.kind in "SU" and _SECRET.decode() in str(obj.tolist()):
                raise OutsideRead("the result holds the canary's bytes")
        elif isinstance(obj, dict):
            stack.extend((value, depth + 1) for value in obj.values())
            stack.extend((key, depth + 1) for key in obj)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend((value, depth + 1) for value in obj)
        else:
            text = repr(obj)
            if _SECRET.decode() in text or (
                isinstance(obj, (bytes, bytearray)) and _SECRET in obj
            ):
                raise OutsideRead("the result holds the canary's bytes")


def _run_file(case, tmp):
    from braindecode_m2s.datasets import DEAP, DREAMER
    from braindecode_m2s.datasets.io import (
        load_mat,
        mat_selection_digest,
        mat_variable_names,
        safe_pickle_load,
    )
    from braindecode_m2s.datasets.seed_v import _read_cnt, _read_trials

    kind = case["kind"]
    if kind.startswith("hostile:"):
        import hostile_files as H

        _, call, name = kind.split(":", 2)
        folder = Path(tmp) / "hostile"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.{ {'pickle': 'pkl', 'npz': 'npz'}.get(call, 'mat') }"
        path.write_bytes(case["data"])
        _touch(H.read(path, call))
        return
    folder = Path(tmp) / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _FILE_NAMES[kind]
    path.write_bytes(case["data"])
    if kind.startswith("mat"):
        mat_variable_names(path)
        mat_selection_digest(path, r"(?s:.*?)[13579]")  # the cache key of a partial load
        _touch(load_mat(path))
    elif kind.startswith("deap"):
        _touch(safe_pickle_load(path))
        root = folder / "root"
        (root / "data_preprocessed_python").mkdir(parents=True, exist_ok=True)
        os.replace(path, root / "data_preprocessed_python" / "s01.dat")
        _touch(DEAP(path=root, cache_dir=False)._read(1)[:2])
    elif kind == "dreamer_mat":
        dataset = DREAMER(path=folder, cache_dir=False)
        rec = dataset._read(1)
        _touch([v for k, v in rec.items() if k != "path"])
    elif kind == "seedv_npz":
        _touch(_read_trials(path, "x"))
    elif kind == "cnt":
        _read_cnt(path).get_data()


def run_case(case, tmp):
    """Outcome of one case: (outcome, detail)."""
    if case["family"] == "selftest":  # proves that the runner counts crashes
        import signal

        os.kill(os.getpid(), signal.SIGSEGV)
    if case["family"] in ("model", "history"):  # a ValueError naming the file, or nothing
        import fuzz_models

        return fuzz_models.run(case, tmp)
    if case["family"] == "record":  # the store promises no exception at all
        try:
            return _run_record(case, tmp)
        except Exception as err:  # noqa: BLE001 - a finding
            tb = traceback.format_exc(limit=-3)
            return "wrong_exception", f"{type(err).__name__}: {str(err)[:200]}\n{tb}"
    try:
        if case["family"] == "pickle":
            from braindecode_m2s.datasets.io import safe_pickle_loads

            _touch(safe_pickle_loads(case["data"]))
        elif case["family"] == "file":
            _run_file(case, tmp)
        else:
            with np.errstate(all="ignore"):
                out = _run_transform(case)
            if not np.all(np.isfinite(np.asarray(out, dtype=np.complex128))):
                return "non_finite", f"{case['kind']}: output holds NaN/Inf"
        return "ok", ""
    except OutsideRead as err:
        return "outside_read", str(err)
    except (ValueError, OSError) as err:
        if _SECRET.decode() in str(err):
            return "outside_read", f"the error message holds the canary's bytes: {err!s:.200}"
        return "refused", f"{type(err).__name__}: {str(err)[:200]}"
    except Exception as err:  # noqa: BLE001 - every other type is a finding
        tb = traceback.format_exc(limit=-3)
        return "wrong_exception", f"{type(err).__name__}: {str(err)[:200]}\n{tb}"


def _limit_memory(extra=3 << 30):
    import resource

    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + extra, resource.RLIM_INFINITY))


#: Families whose reads are held to :func:`time_budget` and :func:`memory_budget`.
_METERED = ("pickle", "file", "record", "model", "history")


def measured_case(case, tmp):
    """:func:`run_case`, with the read's budget checked: (outcome, detail).

    The read's CPU time and peak memory exclude :func:`_touch`'s walk of the
    results.
    """
    _reset_peak()
    _METER.update(start=_status("VmRSS:"), peak=0, touch=0.0)
    # CPU time of the worker, not wall time: a campaign shares the machine, and a
    # starved worker must not count as a read over its time budget (a read that
    # blocks is caught by the runner's wall-clock timeout as a hang instead)
    t0 = time.process_time()
    try:
        outcome, detail = run_case(case, tmp)
        seconds = time.process_time() - t0 - _METER["touch"]
        peak = max(_METER["peak"], _status("VmHWM:") - _METER["start"])
    finally:
        _METER.clear()
    if case["family"] in _METERED and outcome in ("ok", "refused"):
        if case["family"] in ("model", "history"):
            import fuzz_models

            size = fuzz_models.budget_size(case)  # its files, and the model it builds
        else:
            size = len(case["data"])
        if seconds > time_budget(size) or peak > memory_budget(size):
            return "budget_breach", (
                f"{case['kind']}: {seconds:.1f} s, {peak / 2**20:.0f} MiB "
                f"at its peak for {size} bytes ({outcome}: {detail})"
            )
    return outcome, detail


def worker_main(conn, families=None):
    """Worker loop: receive cases, send outcomes, until ``None`` arrives.

    ``families`` (None: all) are those the worker prepares for (the
    ``model`` and ``history`` families import PyTorch and skorch first).
    """
    import warnings

    warnings.simplefilter("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # import every reader once, before the limit and outside the cases' meters
    # (the package's names are imported on first use: touch them all)
    import sklearn.metrics  # noqa: F401

    import braindecode_m2s.datasets as datasets
    import braindecode_m2s.datasets.io  # noqa: F401
    import braindecode_m2s.evaluation.records  # noqa: F401
    import braindecode_m2s.evaluation.store  # noqa: F401
    import braindecode_m2s.features  # noqa: F401
    import braindecode_m2s.modules.frontends  # noqa: F401
    import braindecode_m2s.paradigms  # noqa: F401

    for name in datasets.__all__:
        getattr(datasets, name)
    if families is None or {"model", "history"} & set(families):
        import fuzz_models

        fuzz_models.prepare()

    _limit_memory()
    with tempfile.TemporaryDirectory() as tmp:
        conn.send("ready")
        while True:
            case = conn.recv()
            if case is None:
                return
            conn.send(measured_case(case, tmp))


# --------------------------------------------------------------------------
# the runner (in the parent)
# --------------------------------------------------------------------------


class Runner:
    """Runs cases in a worker process; restarts it after a crash or hang.

    Parameters
    ----------
    timeout : float
        Seconds a case may take before it counts as a hang.
    """

    def __init__(self, timeout=30.0, canaries=(), families=None):
        self.timeout = timeout
        self.canaries = list(canaries)
        self.families = None if families is None else tuple(families)
        self._ctx = multiprocessing.get_context("spawn")
        self._proc = None
        self._conn = None
        self.restarts = 0

    def _canary_opened(self):
        """True if a process holds a canary FIFO open for reading (then lets it go)."""
        opened = False
        for fifo in self.canaries:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader
                continue
            os.close(fd)  # the reader sees end of file
            opened = True
        return opened

    def _start(self):
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(
            target=worker_main, args=(child, self.families), daemon=True
        )
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(300) or parent.recv() != "ready":
            raise RuntimeError("the fuzz worker did not start")

    def _stop(self, kill=False):
        if self._proc is None:
            return
        if kill:
            self._proc.kill()
        else:
            try:
                self._conn.send(None)
            except OSError:
                pass
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._proc = self._conn = None

    def run(self, case):
        """(outcome, detail) of one case."""
        if self._proc is None:
            self._start()
        try:
            self._conn.send(case)
            deadline = time.monotonic() + self.timeout
            outside = False
            while not self._conn.poll(0.02 if self.canaries else self.timeout):
                outside |= self._canary_opened()
                if time.monotonic() > deadline:
                    self._stop(kill=True)
                    self.restarts += 1
                    if outside:
                        return "outside_read", "a canary FIFO outside the tree was opened"
                    return "hang", f"no answer within {self.timeout:g} s"
            answer = self._conn.recv()
            if outside or self._canary_opened():
                return "outside_read", "a canary FIFO outside the tree was opened"
            return answer
        except (EOFError, OSError):
            self._proc.join(5)
            code = self._proc.exitcode
            self._proc = self._conn = None
            self.restarts += 1
            return "crash", f"worker died with exit code {code}"

    def close(self):
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fuzz_models():
    import fuzz_models

    return fuzz_models


def campaign(
    budget=None,
    seed=0,
    families=FAMILIES,
    runner=None,
    report_every=None,
    bases=None,
    n_cases=None,
    timeout=30.0,
):
    """Run cases of ``families`` round-robin: ``n_cases`` of them, or for ``budget`` seconds.

    ``n_cases`` (with a fixed ``seed``) makes a run reproducible whatever the
    machine's speed; ``budget`` is for long campaigns.

    Returns
    -------
    counts : dict of (family, outcome) -> int
    findings : list of (family, kind, outcome, detail, case)
        Every case whose outcome is in :data:`FAILURES`.
    """
    if (budget is None) == (n_cases is None):
        raise ValueError("give exactly one of `budget` (seconds) and `n_cases`.")
    rng = random.Random(seed)
    counts = {(f, o): 0 for f in families for o in OUTCOMES}
    findings = []
    with tempfile.TemporaryDirectory() as tmp:
        if "file" in families and bases is None:
            bases = base_files(tmp)
        own_runner = runner is None
        runner = runner or Runner(timeout=timeout, canaries=canaries(tmp), families=families)
        makers = {
            "pickle": pickle_case,
            "file": lambda r: file_case(r, bases),
            "transform": transform_case,
            "record": record_case,
            "model": lambda r: _fuzz_models().model_case(r),
            "history": lambda r: _fuzz_models().history_case(r),
        }
        try:
            runner.run(transform_case(random.Random(0)))  # start the worker outside the budget
            start = last = time.monotonic()
            i = 0
            while (i < n_cases) if n_cases is not None else (time.monotonic() - start < budget):
                family = families[i % len(families)]
                i += 1
                case = makers[family](rng)
                outcome, detail = runner.run(case)
                counts[(family, outcome)] += 1
                if outcome in FAILURES:
                    findings.append((family, case["kind"], outcome, detail, case))
                if report_every and time.monotonic() - last > report_every:
                    last = time.monotonic()
                    print(
                        f"  {time.monotonic() - start:6.0f} s: {i} cases, "
                        f"{len(findings)} failures",
                        flush=True,
                    )
        finally:
            if own_runner:
                runner.close()
    return counts, findings
