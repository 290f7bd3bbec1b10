"""Tests of the shared readers: MATLAB v5/v7.3, restricted unpickling, cache."""

import os
import pickle
import re

import numpy as np
import pytest
import scipy.io

from braindecode_m2s.datasets.fixtures.layout_physio import (
    StructArray,
    py2_pickle_dict,
    write_mat73,
)
from braindecode_m2s.datasets.io import (
    ArrayCache,
    MatVariables,
    load_mat,
    load_npz_pickled,
    mat_selection_digest,
    mat_variable_names,
    safe_pickle_load,
    safe_pickle_loads,
)
from braindecode_m2s.utils import files

RNG = np.random.default_rng(42)


# -- MATLAB -----------------------------------------------------------------
@pytest.fixture
def v5_file(tmp_path):
    path = tmp_path / "v5.mat"
    arrays = {
        "djc_eeg1": RNG.standard_normal((4, 7)),
        "djc_eeg12": RNG.standard_normal((4, 3)),
        "label": np.array([[1, 0, -1]]),
    }
    scipy.io.savemat(path, arrays)
    return path, arrays


def test_load_mat_v5_all_list_regex(v5_file):
    path, arrays = v5_file
    everything = load_mat(path)
    assert set(everything) == set(arrays)
    np.testing.assert_array_equal(everything["djc_eeg1"], arrays["djc_eeg1"])
    assert set(load_mat(path, ["label"])) == {"label"}
    assert set(load_mat(path, r".*_eeg(\d+)")) == {"djc_eeg1", "djc_eeg12"}
    # fullmatch, not search: "eeg1" alone matches nothing
    assert load_mat(path, re.compile(r"eeg1")) == {}
    assert mat_variable_names(path) == ["djc_eeg1", "djc_eeg12", "label"]


def test_load_mat_missing_truncated_and_foreign(tmp_path, v5_file):
    path, _ = v5_file
    with pytest.raises(FileNotFoundError, match="nope.mat"):
        load_mat(tmp_path / "nope.mat")
    truncated = tmp_path / "truncated.mat"
    truncated.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"truncated\.mat.*truncated or corrupt"):
        load_mat(truncated)
    foreign = tmp_path / "foreign.mat"
    foreign.write_text("this is not a MATLAB file at all " * 20)
    with pytest.raises(ValueError, match="foreign.mat"):
        load_mat(foreign)
    with pytest.raises(ValueError, match="foreign.mat"):
        mat_variable_names(foreign)
    with pytest.raises(ValueError, match="`variables`"):
        load_mat(path, 3)


def test_load_mat_v73_numeric_cell_struct(tmp_path):
    path = tmp_path / "v73.mat"
    data = RNG.standard_normal((3, 5, 7))
    cell = np.empty((2, 1), dtype=object)
    cell[0, 0] = np.arange(6.0).reshape(3, 2)
    cell[1, 0] = np.arange(4.0).reshape(1, 4)
    write_mat73(
        path,
        {
            "data": data,
            "labels": np.arange(8.0).reshape(2, 4),
            "flags": np.array([[True, False, True]]),
            "name": "hello",
            "cells": cell,
            "s": {"a": np.array([[1.0, 2.0]]), "inner": {"b": "x"}},
            "arr": StructArray([[{"v": np.array([[1.0]])}, {"v": np.array([[2.0, 3.0]])}]]),
        },
    )
    # the written file is HDF5 behind MATLAB's 512-byte text header
    assert path.read_bytes()[:10] == b"MATLAB 7.3"
    assert sorted(mat_variable_names(path)) == sorted(
        ["data", "labels", "flags", "name", "cells", "s", "arr"]
    )
    out = load_mat(path)
    assert "#refs#" not in out
    np.testing.assert_array_equal(out["data"], data)  # shape as MATLAB shows it
    assert out["labels"].shape == (2, 4)
    assert out["flags"].dtype == bool and out["flags"].tolist() == [[True, False, True]]
    assert out["name"] == "hello"
    assert out["cells"].shape == (2, 1)
    np.testing.assert_array_equal(out["cells"][0, 0], cell[0, 0])
    np.testing.assert_array_equal(out["cells"][1, 0], cell[1, 0])
    assert out["s"].shape == (1, 1)
    np.testing.assert_array_equal(out["s"][0, 0]["a"], [[1.0, 2.0]])
    assert out["s"][0, 0]["inner"][0, 0]["b"] == "x"
    assert out["arr"].shape == (1, 2)
    np.testing.assert_array_equal(out["arr"][0, 1]["v"], [[2.0, 3.0]])
    assert set(load_mat(path, r"la.*")) == {"labels"}


def test_load_mat_v73_truncated(tmp_path):
    path = tmp_path / "big73.mat"
    write_mat73(path, {"data": RNG.standard_normal((50, 50))})
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="big73.mat"):
        load_mat(path)


# -- restricted unpickling --------------------------------------------------
class _Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _EvalEvil:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def test_safe_pickle_reads_python2_numpy_pickle():
    data = RNG.standard_normal((2, 3, 5))
    labels = RNG.uniform(1, 9, (2, 4))
    raw = py2_pickle_dict({"labels": labels, "data": data})
    assert b"numpy.core.multiarray\n_reconstruct" in raw
    out = safe_pickle_loads(raw)
    np.testing.assert_array_equal(out["data"], data)
    np.testing.assert_array_equal(out["labels"], labels)


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_safe_pickle_reads_modern_numpy_pickles(protocol, tmp_path):
    obj = {
        "a": RNG.standard_normal((3, 4)),
        "f": np.asfortranarray(RNG.standard_normal((3, 4))),
        "i": np.arange(5, dtype=np.int16),
        "s": np.float32(2.5),
        "nested": [1, (2.0, "x"), {3}, frozenset({4}), b"raw"],
    }
    path = tmp_path / "obj.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    out = safe_pickle_load(path)
    for key in ("a", "f", "i"):
        np.testing.assert_array_equal(out[key], obj[key])
    assert out["s"] == np.float32(2.5) and out["nested"] == obj["nested"]
    with open(path, "rb") as f:
        assert safe_pickle_load(f)["i"].dtype == np.int16


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_safe_pickle_refuses_code_execution(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payloads = [
        (_Evil(f"touch {marker}"), r"posix\.system|nt\.system|os\.system"),
        (_EvalEvil(f"open({str(marker)!r}, 'w').write('x')"), r"(__)?builtins?(__)?\.eval"),
    ]
    for evil, forbidden in payloads:
        raw = pickle.dumps({"data": np.zeros(3), "evil": evil}, protocol=protocol)
        with pytest.raises(pickle.UnpicklingError, match=forbidden):
            safe_pickle_loads(raw)
        file = tmp_path / "evil.dat"
        file.write_bytes(raw)
        with pytest.raises(pickle.UnpicklingError, match="Forbidden global"):
            safe_pickle_load(file)
    assert not marker.exists()
    # the same payload does run with the plain unpickler (so the test is real)
    pickle.loads(pickle.dumps(_EvalEvil(f"open({str(marker)!r}, 'w').write('x')")))
    assert marker.exists()


def test_safe_pickle_restricts_allowed_helpers():
    # _reconstruct may only build plain ndarrays
    raw = (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nc__builtin__\ndict\nK\x00\x85U\x01b\x87R."
    )
    with pytest.raises(pickle.UnpicklingError, match="only numpy.ndarray"):
        safe_pickle_loads(raw)
    # _codecs.encode only with latin-1
    raw = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x06\x00\x00\x00base64\x86R."
    with pytest.raises(pickle.UnpicklingError, match="only latin-1"):
        safe_pickle_loads(raw)
    # copy_reg._reconstructor is not needed by numpy pickles: refused
    raw = b"\x80\x02ccopy_reg\n_reconstructor\nc__builtin__\ndict\nc__builtin__\ndict\nN\x87R."
    with pytest.raises(pickle.UnpicklingError, match="Forbidden global copy_reg"):
        safe_pickle_loads(raw)
    with pytest.raises(FileNotFoundError, match="missing.dat"):
        safe_pickle_load("missing.dat")


# -- npz with pickled entries (SEED-V style) --------------------------------
def test_load_npz_pickled(tmp_path):
    trials = {k: RNG.standard_normal((3, 310)) for k in range(3)}
    path = tmp_path / "1_123.npz"
    np.savez(
        path,
        data=np.array(pickle.dumps(trials)),
        plain=np.arange(4.0),
        evil=np.array(pickle.dumps(_Evil("true"))),
    )
    out = load_npz_pickled(path, "data")
    assert sorted(out) == [0, 1, 2]
    np.testing.assert_array_equal(out[1], trials[1])
    np.testing.assert_array_equal(load_npz_pickled(path, "plain"), np.arange(4.0))
    with pytest.raises(ValueError, match=r"1_123\.npz.*'label'.*\['data', 'evil', 'plain'\]"):
        load_npz_pickled(path, "label")
    with pytest.raises(pickle.UnpicklingError, match="Forbidden global"):
        load_npz_pickled(path, "evil")
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_npz_pickled(tmp_path / "absent.npz", "data")
    obj = tmp_path / "obj.npz"
    np.savez(obj, data=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="object array"):
        load_npz_pickled(obj, "data")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="broken.npz"):
        load_npz_pickled(broken, "data")


# -- cache --------------------------------------------------------------------
class _Counter:
    def __init__(self, arrays):
        self.arrays = arrays
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.arrays


def test_array_cache_hits_and_invalidates(tmp_path):
    source = tmp_path / "s01.dat"
    source.write_bytes(b"0" * 10)
    compute = _Counter({"x": RNG.standard_normal((2, 3)), "y": np.arange(2)})
    cache = ArrayCache(tmp_path / "cache")
    first = cache.get_or_compute("DEAP/s1/de", compute, sources=[source])
    second = cache.get_or_compute("DEAP/s1/de", compute, sources=[source])
    assert compute.calls == 1
    for key in ("x", "y"):
        np.testing.assert_array_equal(first[key], second[key])
    assert sorted(second) == ["x", "y"]
    # a different key is a different entry
    cache.get_or_compute("DEAP/s1/psd", compute, sources=[source])
    assert compute.calls == 2
    # a changed source invalidates the entry
    source.write_bytes(b"0" * 11)
    cache.get_or_compute("DEAP/s1/de", compute, sources=[source])
    assert compute.calls == 3
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_array_cache_round_trips_every_numeric_kind(tmp_path):
    arrays = {
        "flags": np.array([True, False, True]),
        "complex": np.arange(4) * (1 + 2j),
        "big_endian": np.arange(5, dtype=">f8").reshape(5, 1),
        "int16": np.arange(7, dtype=np.int16),
        "empty": np.zeros((0, 3)),
        "scalar": np.float32(3.5),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "strided": np.arange(20.0)[::2],
    }
    cache = ArrayCache(tmp_path)
    cache.get_or_compute("k", lambda: arrays)
    out = cache.get_or_compute("k", lambda: pytest.fail("served from the cache"))
    assert sorted(out) == sorted(arrays)
    for name, value in arrays.items():
        value = np.asarray(value)
        native = value.dtype.newbyteorder("=")  # stored in the machine's byte order
        assert out[name].shape == value.shape and out[name].dtype == native, name
        np.testing.assert_array_equal(out[name], value)
        assert out[name].flags.c_contiguous


def test_array_cache_discards_corrupt_files(tmp_path):
    compute = _Counter({"x": np.arange(1000.0)})
    cache = ArrayCache(tmp_path)
    cache.get_or_compute("k", compute)
    path = cache.path_for("k")
    raw = path.read_bytes()
    for broken in (raw[: len(raw) // 2], raw[:-30], b"garbage"):
        path.write_bytes(broken)
        with pytest.warns(UserWarning, match="Treating cache entry 'k' as missing"):
            out = cache.get_or_compute("k", compute)
        np.testing.assert_array_equal(out["x"], np.arange(1000.0))
    assert compute.calls == 4
    # flipping a byte inside the stored data is caught by the zip CRC
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="Bad CRC"):
        cache.get_or_compute("k", compute)
    assert compute.calls == 5


def test_array_cache_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    cache = ArrayCache(tmp_path)
    compute = _Counter({"x": np.arange(3.0)})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.get_or_compute("k", compute)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    cache.get_or_compute("k", compute)
    assert compute.calls == 2 and cache.path_for("k").is_file()


def test_array_cache_disabled_and_validation(tmp_path):
    compute = _Counter({"x": np.arange(3.0)})
    cache = ArrayCache(None)
    cache.get_or_compute("k", compute)
    cache.get_or_compute("k", compute)
    assert compute.calls == 2 and cache.path_for("k") is None
    cache = ArrayCache(tmp_path)
    with pytest.raises(ValueError, match="only numeric arrays"):
        cache.get_or_compute("k", lambda: {"x": np.array(["a"])})
    with pytest.raises(ValueError, match="must return a dict"):
        cache.get_or_compute("k", lambda: [np.zeros(2)])
    with pytest.raises(ValueError, match="non-empty string"):
        cache.get_or_compute("", compute)
    assert list(tmp_path.iterdir()) == []


def test_array_cache_sees_same_size_rewrite_with_restored_mtime(tmp_path):
    # a DEAP .dat rewritten with other data of the same size and its
    # modification time restored was served stale
    source = tmp_path / "s01.dat"
    source.write_bytes(b"a" * 64)
    cache = ArrayCache(tmp_path / "cache")
    first = cache.get_or_compute(
        "k", lambda: {"x": np.frombuffer(source.read_bytes(), np.uint8)}, sources=[source]
    )
    st = source.stat()
    source.write_bytes(b"b" * 64)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert source.stat().st_size == st.st_size and source.stat().st_mtime_ns == st.st_mtime_ns
    second = cache.get_or_compute(
        "k", lambda: {"x": np.frombuffer(source.read_bytes(), np.uint8)}, sources=[source]
    )
    assert first["x"][0] == ord("a") and second["x"][0] == ord("b")


def test_array_cache_keeps_entries_of_unchanged_content(tmp_path):
    source = tmp_path / "s01.dat"
    source.write_bytes(b"a" * 64)
    cache = ArrayCache(tmp_path / "cache")
    compute = _Counter({"x": np.arange(3.0)})
    cache.get_or_compute("k", compute, sources=[source])
    source.chmod(0o600)  # changes the change time, not the content
    os.utime(source)
    cache.get_or_compute("k", compute, sources=[source])
    assert compute.calls == 1


@pytest.mark.parametrize("compressed", [False, True])
def test_mat_selection_digest_covers_what_a_load_reads(tmp_path, compressed):
    path = tmp_path / "features.mat"
    arrays = {f"{f}_LDS{k}": RNG.standard_normal((3, 4, 5)) for f in ("de", "psd") for k in (1, 2)}

    def save(**changed):
        scipy.io.savemat(path, {**arrays, **changed}, do_compression=compressed)

    save()
    picked = re.compile(r"de_LDS\d+")
    digest = mat_selection_digest(path, picked)
    assert mat_selection_digest(path, ["de_LDS1", "de_LDS2"]) == digest
    assert mat_selection_digest(path, None) != digest
    # a variable the load does not read, rewritten with other values
    save(psd_LDS1=arrays["psd_LDS1"] + 1.0)
    assert mat_selection_digest(path, picked) == digest
    # one bit of a variable it reads
    nudged = arrays["de_LDS2"].copy()
    nudged.flat[7] = np.nextafter(nudged.flat[7], np.inf)
    save(de_LDS2=nudged)
    assert mat_selection_digest(path, picked) != digest
    # a variable renamed into the selection changes what it picks
    save()
    renamed = {("de_LDS3" if k == "psd_LDS2" else k): v for k, v in arrays.items()}
    scipy.io.savemat(path, renamed, do_compression=compressed)
    assert mat_selection_digest(path, picked) != digest


def test_array_cache_keys_mat_sources_on_the_variables_read(tmp_path):
    path = tmp_path / "features.mat"
    arrays = {"de_LDS1": RNG.standard_normal((3, 4, 5)), "psd_LDS1": RNG.standard_normal((3, 4))}
    scipy.io.savemat(path, arrays)
    cache = ArrayCache(tmp_path / "cache")
    source = MatVariables(path, re.compile(r"de_LDS\d+"))

    def compute():
        compute.calls += 1
        return {"x": load_mat(path, source.variables)["de_LDS1"]}

    compute.calls = 0
    cache.get_or_compute("k", compute, sources=[source])
    scipy.io.savemat(path, {**arrays, "psd_LDS1": arrays["psd_LDS1"] * 2})
    cache.get_or_compute("k", compute, sources=[source])
    assert compute.calls == 1  # only an unread variable changed
    scipy.io.savemat(path, {**arrays, "de_LDS1": arrays["de_LDS1"] * 2})
    out = cache.get_or_compute("k", compute, sources=[source])
    assert compute.calls == 2
    np.testing.assert_array_equal(out["x"], arrays["de_LDS1"] * 2)
    # the whole file as a source is another entry
    cache.get_or_compute("k", compute, sources=[path])
    assert compute.calls == 3


def test_array_cache_removes_orphaned_temporary_files(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    folder = tmp_path / "cache"
    folder.mkdir()
    orphan = folder / f".DEAP_s01-0123.pid{dead}.abc123.tmp"  # utils.files.atomic_path's
    orphan.write_bytes(b"x" * 1000)
    (folder / ".digests").mkdir()
    memo = folder / ".digests" / f".0a1b.pid{dead}.k_9.tmp"
    memo.write_bytes(b"x")
    earlier = folder / f"DEAP_s04.npz.pid{dead}.abc123.tmp"  # the cache's earlier naming
    earlier.write_bytes(b"x")
    old = folder / "DEAP_s02.npz.xyz.tmp"  # older naming, no process id
    old.write_bytes(b"x")
    os.utime(old, (0, 0))
    live = folder / f".DEAP_s03-4567.pid{os.getppid()}.def456.tmp"  # a writer still running
    live.write_bytes(b"x")
    ArrayCache._swept.discard(str(folder))
    ArrayCache(folder).get_or_compute("k", lambda: {"x": np.arange(2)})
    assert not [p for p in (orphan, memo, earlier, old) if p.exists()] and live.exists()


def test_array_cache_unwritable_folder_warns_and_returns(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    cache = ArrayCache(blocker / "cache")
    with pytest.warns(UserWarning, match=r"Cannot write cache entry 'k'.*without caching"):
        out = cache.get_or_compute("k", lambda: {"x": np.arange(4.0)})
    np.testing.assert_array_equal(out["x"], np.arange(4.0))
