"""A hostile or corrupt cache entry is a miss: warned about, removed, recomputed.

Before the fix, an entry whose array header declared 8 TiB (a file of a few
hundred bytes) raised ``MemoryError`` from the cache's read and was never
removed, so every later run failed the same way. The entry is untrusted
input like a dataset file: its declared arrays are checked before numpy
allocates them (``datasets.io.npz.check_npz_member``).
"""

import hashlib
import io
import json
import textwrap
import zipfile

import hostile_files as H
import numpy as np
import pytest
from isolation import LIMIT_MEMORY, describe, run_isolated

from braindecode_m2s.datasets import DEAP
from braindecode_m2s.datasets.fixtures import layout_physio as P
from braindecode_m2s.datasets.io import ArrayCache


def _npy(shape, dtype="<f8", data=b""):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue() + data


def _zip(path, members, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)


def _bad_index(path):
    # a well-formed archive whose index sends an array past its pack
    index = json.dumps([["x", 0, [1000], 0]]).encode()
    _zip(
        path,
        {
            "__pack_0__.npy": _npy((3,), data=bytes(24)),
            "__index__.npy": _npy((len(index),), "|u1", index),
            "__cache_key__.npy": _npy((1,), "|u1", b"k"),
        },
    )


ENTRIES = {
    "declares_8_tib": lambda path: H.cache_entry_declaring(path),
    "declares_32_tib_2d": lambda path: H.cache_entry_declaring(path, shape=(1 << 32, 1 << 10)),
    "bare_npy_declaring_8_tib": lambda path: path.write_bytes(_npy((1 << 40,))),
    "truncated": lambda path: path.write_bytes(b"PK\x03\x04" + bytes(40)),
    "empty": lambda path: path.write_bytes(b""),
    "index_past_pack": _bad_index,
    "other_key": lambda path: _zip(path, {"__cache_key__.npy": _npy((1,), "|u1", b"j")}),
    "deflated_bomb": lambda path: _zip(
        path, {"__pack_0__.npy": _npy((1 << 17,), data=bytes(1 << 20))}, zipfile.ZIP_DEFLATED
    ),
}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_unreadable_entry_is_a_miss(tmp_path, name):
    cache = ArrayCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(3.0)}

    path = cache.path_for("k")
    tmp_path.mkdir(exist_ok=True)
    ENTRIES[name](path)
    hostile = path.read_bytes()
    with pytest.warns(UserWarning, match=r"Treating cache entry 'k' as missing: removed it"):
        out = cache.get_or_compute("k", compute)
    np.testing.assert_array_equal(out["x"], np.arange(3.0))
    assert calls == [1] and path.read_bytes() != hostile  # replaced by a good entry
    again = cache.get_or_compute("k", compute)  # served, without a warning
    np.testing.assert_array_equal(again["x"], np.arange(3.0))
    assert calls == [1]


def test_warning_names_the_entry_and_the_declaration(tmp_path):
    cache = ArrayCache(tmp_path)
    H.cache_entry_declaring(cache.path_for("k"))
    with pytest.warns(UserWarning) as caught:
        cache.get_or_compute("k", lambda: {"x": np.arange(3.0)})
    assert len(caught) == 1
    message = str(caught[0].message)
    assert str(cache.path_for("k")) in message
    assert "declares an array of shape (1099511627776,)" in message


_CHILD = (
    textwrap.dedent("""
    import hashlib, sys, warnings
    from pathlib import Path
    import numpy as np
    from braindecode_m2s.datasets import DEAP
    """)
    + LIMIT_MEMORY
    + textwrap.dedent("""
    root, cache = Path(sys.argv[1]), Path(sys.argv[2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trials = DEAP(path=root, cache_dir=cache).get_trial_features(1)
    x = np.ascontiguousarray(trials[0].modalities["x"])
    print(len(trials), hashlib.sha256(x.tobytes()).hexdigest())
    print(sum("Treating cache entry" in str(w.message) for w in caught))
    """)
)


def test_dataset_load_recovers_from_an_8_tib_entry_under_a_memory_limit(tmp_path):
    P.write_deap(tmp_path / "deap", subjects=(1,))
    cache = tmp_path / "cache"
    trials = DEAP(path=tmp_path / "deap", cache_dir=cache).get_trial_features(1)
    (entry,) = cache.glob("*.npz")
    H.cache_entry_declaring(entry)
    hostile = entry.read_bytes()
    assert len(hostile) < 400

    proc = run_isolated(_CHILD, tmp_path / "deap", cache)
    assert proc.returncode == 0, describe(proc)
    assert "MemoryError" not in proc.stderr
    count_digest, warned = proc.stdout.split("\n")[:2]
    x = np.ascontiguousarray(trials[0].modalities["x"])
    assert count_digest == f"{len(trials)} {hashlib.sha256(x.tobytes()).hexdigest()}"
    assert warned == "1"
    # the hostile entry is gone: a good one took its place, and serves the next load
    assert entry.read_bytes() != hostile
    again = DEAP(path=tmp_path / "deap", cache_dir=cache).get_trial_features(1)
    np.testing.assert_array_equal(again[0].modalities["x"], trials[0].modalities["x"])


@pytest.mark.parametrize(
    "index", [b"[" * 100_000 + b"]" * 100_000, b"5", b'[["a", 0, [1], 0]] x', b"\xff"]
)
def test_an_entry_index_from_elsewhere_is_a_value_error(index):
    from braindecode_m2s.datasets.io.cache import _unpack

    stored = {"__index__": np.frombuffer(index, dtype=np.uint8)}
    with pytest.raises(ValueError, match="has an index that does not match its arrays"):
        _unpack(stored, "Cache entry file 'x.npz'")  # deep nesting was a RecursionError
