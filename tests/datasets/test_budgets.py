"""Hostile files are refused within their budget, and read nothing outside the tree.

Every reproducer of a file that cost gigabytes or minutes
(``hostile_files.py`` builds them) is read in its own child process, forked
from one interpreter that imported the readers once, under an address-space
limit (``RLIMIT_AS``) of :data:`MEMORY_LIMIT` bytes above what the child
started with (less for some, ``hostile_files.MEMORY``) and a wall-clock limit
of :data:`TIME_LIMIT` seconds (the reproducers took 1-2 GB, or 14 s to
minutes, before the fix). A file must be refused with a ValueError naming it, or, for the files
whose junk the
readers must never touch, load with the right content. The files that point
outside their folder point at a FIFO (opening it would block until the time
limit) or at a file holding :data:`hostile_files.SECRET`.
"""

import json
import textwrap

import hostile_files as H
import pytest
from isolation import describe, run_isolated

#: Bytes a read may add to the child's address space.
MEMORY_LIMIT = 640 << 20
#: Seconds a read may take (a limit against hangs, not a speed claim).
TIME_LIMIT = 20
#: Peak resident memory a read may add (the reproducers reached 1-2 GB).
PEAK_LIMIT = 256 << 20

_CHILD = textwrap.dedent("""
    import json, os, resource, signal, sys, time, types
    # the readers alone, without the package's __init__ (torch, braindecode)
    for name, sub in (("braindecode_m2s", ""), ("braindecode_m2s.datasets", "datasets")):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(os.getcwd(), "braindecode_m2s", sub)]
        sys.modules[name] = module
    import numpy, scipy.io, h5py
    import hostile_files as H
    import braindecode_m2s.datasets.io  # every reader, before the limits

    folder, memory, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

    def rss(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024

    def child(path, call, name, out):
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        limit = used + H.MEMORY.get(name, memory)
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # peak RSS := current RSS
        except OSError:
            pass
        start = rss("VmRSS:")
        t0 = time.perf_counter()
        try:
            value = H.read(path, call)
            check = H.CHECKS.get(name)
            res = {"result": "loaded", "check": bool(check(value)) if check else None}
        except BaseException as err:
            res = {"error": [c.__name__ for c in type(err).__mro__], "msg": str(err)[:3000]}
        res["seconds"] = time.perf_counter() - t0
        res["peak"] = rss("VmHWM:") - start
        os.write(out, json.dumps(res).encode())

    for name in sys.argv[4:]:
        sub = os.path.join(folder, name)
        os.makedirs(sub)
        path, call = H.write(name, sub)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                child(path, call, name, w)
            finally:
                os._exit(0)
        os.close(w)
        deadline, chunks = time.monotonic() + seconds, []
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = "timeout"
                break
            time.sleep(0.01)
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(r)
        raw = b"".join(chunks)
        res = json.loads(raw) if raw else {"died": str(status)}
        res["size"] = os.path.getsize(path)
        print(json.dumps({name: res}), flush=True)
""")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    proc = run_isolated(
        _CHILD, folder, MEMORY_LIMIT, TIME_LIMIT, *H.REFUSED, *H.LOADED, timeout=600
    )
    assert proc.returncode == 0, f"the driver died: {describe(proc)}"
    found = {}
    for line in proc.stdout.splitlines():
        found.update(json.loads(line))
    return found


def _within_limits(name, outcome):
    assert "died" not in outcome, f"{name}: the child died ({outcome['died']})"
    assert outcome["peak"] < PEAK_LIMIT, (
        f"{name}: the read took {outcome['peak'] / 2**20:.0f} MiB at its peak"
    )


@pytest.mark.parametrize("name", H.REFUSED)
def test_hostile_file_refused_within_budget(outcomes, name):
    outcome = outcomes[name]
    _within_limits(name, outcome)
    assert "error" in outcome, f"{name}: loaded ({outcome})"
    assert "ValueError" in outcome["error"], f"{name}: {outcome['error'][0]}: {outcome['msg']}"
    assert name in outcome["msg"], f"{name}: the message does not name the file: {outcome['msg']}"
    assert H.SECRET.decode() not in outcome["msg"]


@pytest.mark.parametrize("name", H.LOADED)
def test_hostile_junk_never_read(outcomes, name):
    outcome = outcomes[name]
    _within_limits(name, outcome)
    assert outcome.get("result") == "loaded", f"{name}: {outcome}"
    assert outcome["check"] is not False, f"{name}: loaded wrong content"


def test_reproducers_have_their_sizes(tmp_path):
    def size(name):
        (tmp_path / name).mkdir()
        return H.write(name, tmp_path / name)[0].stat().st_size

    assert size("memo_index_2_27") == 11
    assert 700_000 < size("set_hash_collisions") < 750_000
    assert size("v73_unallocated_chunked") < 8000
    assert size("v73_empty_cell_huge_dims") < 8000
    assert size("v5_zeros_after_matrix") < 1_100_000


@pytest.mark.parametrize(
    "name, why",
    [
        ("memo_index_2_27", "memo slot 134217728"),
        ("set_hash_collisions", "collide"),
        ("dict_hash_collisions", "collide"),
        ("set_call_hash_collisions", "collide"),
        ("huge_int_shape", "integer of 3000000 bytes"),
        ("dup_binget_20mb", "opcodes"),
        ("nested_list_marks", "opcodes"),
        ("nested_list_150", "nest deeper"),
        ("v5_zeros_after_matrix", "after its matrix"),
        ("v5_zeros_after_matrix_6gb", "after its matrix"),
        ("placeholder_key_1", "keys"),
        ("lone_surrogate_str", "surrogate"),
        ("lone_surrogate_array", "surrogate"),
        ("v5_impossible_ratio", "zlib cannot inflate"),
        ("v5_bomb_beyond_memory", "memory"),
        ("v73_external_secret", "external files"),
        ("v73_external_fifo", "external files"),
        ("v73_external_dev_zero", "external files"),
        ("v73_external_link", "external link"),
        ("v73_soft_link_to_external", "external link"),
        ("v73_virtual_dataset", "virtual dataset"),
        ("v73_unallocated_chunked", "fill value"),
        ("v73_unallocated_deflated", "fill value"),
        ("v73_unallocated_contiguous", "fill value"),
        ("v73_empty_cell_huge_dims", "zero dimension"),
        ("v73_reference_cycle", "reference cycle"),
        ("v73_plugin_filter", "plugin"),
        ("npz_declared_shape", "declares an array"),
    ],
)
def test_refusals_say_why(outcomes, name, why):
    assert why in outcomes[name].get("msg", ""), outcomes[name]


def _header_of(path, name):
    import mmap

    import h5py

    from braindecode_m2s.datasets.io.matv73 import _check_header

    with (
        h5py.File(path, "r") as f,
        open(path, "rb") as fh,
        mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as raw,
    ):
        plist = f.id.get_create_plist()
        addr = f.id.links.get_info(name.encode()).u
        _check_header(raw, plist.get_userblock(), addr, *plist.get_sizes(), name)


def test_virtual_layout_refused_from_the_header_before_hdf5_opens_it(tmp_path):
    # found by the campaign: a damaged virtual layout took HDF5 minutes and
    # hundreds of MiB to decode when the dataset was opened
    (tmp_path / "v").mkdir()
    path, _ = H.write("v73_virtual_dataset", tmp_path / "v")
    with pytest.raises(Exception, match="virtual dataset"):
        _header_of(path, "x")


def test_headers_of_ordinary_v73_files_pass(tmp_path):
    import numpy as np

    from braindecode_m2s.datasets.fixtures.layout_physio import write_mat73

    path = tmp_path / "ok.mat"
    cell = np.empty((2, 1), dtype=object)
    cell[0, 0], cell[1, 0] = np.ones((2, 2)), "text"
    write_mat73(path, {"data": np.ones((3, 4)), "c": cell, "s": {"a": np.ones((1, 2))}})
    for name in ("data", "c", "s", "#refs#"):
        _header_of(path, name)
