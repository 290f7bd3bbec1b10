"""Hostile pickles: the restricted unpickler refuses them without harm.

Every known hostile pickle is here. Payloads that crashed the
interpreter before the fix run in a child process, so a segfault fails the
test instead of killing pytest.
"""

import json
import pickle
import textwrap

import numpy as np
import pickle_asm as A
import pytest
from isolation import LIMIT_MEMORY, describe, run_isolated

from braindecode_m2s.datasets.io import UnsafePickleError, safe_pickle_loads

#: The 53-byte reproducer: numpy.ndarray((1,), dtype("O"), b"AAAAAAAA")
#: called directly, an object array whose pointers are the bytes "AAAAAAAA".
OBJECT_NDARRAY_53 = b"\x80\x02cnumpy\nndarray\n(K\x01\x85cnumpy\ndtype\n(U\x01OtRC\x08AAAAAAAAtR."
#: The 33-byte reproducer: bytearray(2**33), an 8 GiB allocation.
BYTEARRAY_33 = b"\x80\x02cbuiltins\nbytearray\n(\x8a\x05\x00\x00\x00\x00\x02tR."

_OBJECT_STATE = A.dtype_state("|", -1, 63)

HOSTILE = {
    "object_ndarray_53": OBJECT_NDARRAY_53,
    "bytearray_33": BYTEARRAY_33,
    # _reconstruct + an object dtype whose list is shorter than the shape
    "object_state_short_list": A.done(
        A.reconstruct((10,), A.dtype("O", _OBJECT_STATE), A.lst(A.integer(1)))
    ),
    # a float dtype re-flagged as holding objects
    "reflagged_dtype": A.done(
        A.reconstruct((1,), A.dtype("f8", A.dtype_state("<", -1, 63)), A.binary(b"A" * 8))
    ),
    # ndarray(shape, f8, buffer, offset=-4096): memory before the buffer
    "ndarray_negative_offset": A.done(
        A.call(
            A.glob("numpy", "ndarray"),
            A.tup(A.integer(2)),
            A.dtype("f8"),
            A.binary(b"x" * 16),
            A.integer(-4096),
        )
    ),
    # ndarray((2, 40, 8064), f8) without a state: never-written memory
    "ndarray_uninitialised": A.done(
        A.call(
            A.glob("numpy", "ndarray"),
            A.tup(A.integer(2), A.integer(40), A.integer(8064)),
            A.dtype("f8"),
        )
    ),
    # the same through _reconstruct, BUILD never given
    "reconstruct_without_state": A.done(
        A.call(
            A.glob("numpy.core.multiarray", "_reconstruct"),
            A.glob("numpy", "ndarray"),
            A.tup(A.integer(0)),
            A.binary(b"b"),
        )
    ),
    # a shape far larger than the data
    "huge_shape": A.done(A.reconstruct((10**6, 10**6), A.dtype("f8"), A.binary(b"x" * 8))),
    "negative_shape": A.done(A.reconstruct((-1,), A.dtype("f8"), A.binary(b""))),
    "bytes_8gib": A.done(A.call(A.glob("builtins", "bytes"), A.integer(2**33))),
    # one 1 MiB string referenced by 64 arrays: 64 MiB from a 1 MiB pickle
    "memo_amplified": A.done(
        A.binary(b"\0" * 2**20)
        + A.put(1)
        + b"0"
        + A.lst(*[A.reconstruct((2**17,), A.dtype("f8"), A.get(1)) for _ in range(64)])
    ),
    # str() of a container: its repr can be far larger than the pickle
    "str_of_list": A.done(A.call(A.glob("builtins", "str"), A.lst(A.integer(1)))),
    # a pickle renaming the unpickler's own helper for the whole process
    "rename_helper": A.done(
        A.build(
            A.glob("numpy.core.multiarray", "_reconstruct"),
            A.tup(A.none(), A.dct(__name__=A.text("pwned"))),
        )
    ),
    "mutate_dtype_global": A.done(
        A.build(A.glob("numpy", "dtype"), A.tup(A.none(), A.dct(__call__=A.none())))
    ),
    "datetime_dtype": A.done(A.reconstruct((1,), A.dtype("M8"), A.binary(b"x" * 8))),
    "void_dtype": A.done(A.reconstruct((1,), A.dtype("V8"), A.binary(b"x" * 8))),
    "structured_dtype_state": A.done(
        A.reconstruct(
            (1,),
            A.dtype(
                "V8",
                A.tup(
                    A.integer(3),
                    A.text("|"),
                    A.none(),
                    A.tup(A.text("a")),
                    A.dct(a=A.none()),
                    A.integer(8),
                    A.integer(1),
                    A.integer(0),
                ),
            ),
            A.binary(b"x" * 8),
        )
    ),
    "scalar_short_data": A.done(
        A.call(A.glob("numpy.core.multiarray", "scalar"), A.dtype("f8"), A.binary(b"x"))
    ),
    "frame_claims_too_much": b"\x80\x04\x95" + (2**62).to_bytes(8, "little") + b"N.",
    "binbytes8_claims_too_much": b"\x80\x04\x8e" + (2**62).to_bytes(8, "little") + b"x.",
}


_CHILD = (
    textwrap.dedent("""
    import json, sys
    import numpy as np
    from braindecode_m2s.datasets.io import safe_pickle_loads
""")
    + LIMIT_MEMORY
    + textwrap.dedent("""
    payloads = json.load(open(sys.argv[1]))
    for name, hexdata in payloads.items():
        try:
            obj = safe_pickle_loads(bytes.fromhex(hexdata))
            repr(obj)  # the 53-byte payload crashed here
            if isinstance(obj, np.ndarray):
                obj.sum()
            outcome = {"result": type(obj).__name__}
        except Exception as err:
            outcome = {"error": [c.__name__ for c in type(err).__mro__], "msg": str(err)}
        print(json.dumps({name: outcome}), flush=True)
""")
)


@pytest.fixture(scope="module")
def hostile_outcomes(tmp_path_factory):
    path = tmp_path_factory.mktemp("payloads") / "payloads.json"
    path.write_text(json.dumps({k: v.hex() for k, v in HOSTILE.items()}))
    proc = run_isolated(_CHILD, path)
    assert proc.returncode == 0, f"the child died: {describe(proc)}"
    outcomes = {}
    for line in proc.stdout.splitlines():
        outcomes.update(json.loads(line))
    return outcomes


def test_reproducers_have_their_sizes():
    assert len(OBJECT_NDARRAY_53) == 53
    assert len(BYTEARRAY_33) == 33


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_pickle_refused(hostile_outcomes, name):
    outcome = hostile_outcomes[name]
    assert "error" in outcome, f"{name} loaded as {outcome}"
    assert "UnsafePickleError" in outcome["error"] and "ValueError" in outcome["error"]


def test_refusals_say_why(hostile_outcomes):
    msg = {k: v["msg"] for k, v in hostile_outcomes.items()}
    assert "dtype 'O' is not allowed" in msg["object_ndarray_53"]
    assert "calling numpy.ndarray is refused" in msg["ndarray_uninitialised"]
    assert "at most" in msg["bytearray_33"]
    assert "dtype" in msg["object_state_short_list"]
    assert "flags" in msg["reflagged_dtype"]
    assert "data never given" in msg["reconstruct_without_state"]
    assert "needs 8000000000000 bytes" in msg["huge_shape"]
    assert "non-negative" in msg["negative_shape"]
    assert "cannot receive" in msg["rename_helper"] or "modified" in msg["rename_helper"]


def test_helpers_unchanged_after_hostile_pickles():
    for name in ("rename_helper", "mutate_dtype_global"):
        with pytest.raises(UnsafePickleError):
            safe_pickle_loads(HOSTILE[name])
    data = np.arange(6.0).reshape(2, 3)
    out = safe_pickle_loads(pickle.dumps(data, protocol=2))
    np.testing.assert_array_equal(out, data)
    assert np.dtype("f8").hasobject is False


def test_loaded_arrays_own_writable_copies():
    arrays = {
        "be": np.arange(5, dtype=">i4"),
        "f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "u": np.array(["ab", "c"]),
        "s": np.array([b"xy"]),
        "c": np.array([1 + 2j], dtype=np.complex64),
        "b": np.array([True, False]),
        "empty": np.zeros((0, 3)),
    }
    for protocol in (0, 2, 5):
        out = safe_pickle_loads(pickle.dumps(arrays, protocol=protocol))
        for key, value in arrays.items():
            assert type(out[key]) is np.ndarray
            assert out[key].dtype == value.dtype and out[key].shape == value.shape
            np.testing.assert_array_equal(out[key], value)
            assert out[key].flags.owndata or out[key].base is not None
            assert out[key].flags.writeable
        assert out["f"].flags.f_contiguous


def test_where_names_the_source():
    with pytest.raises(ValueError, match=r"s07\.dat.*Forbidden global os\.system"):
        safe_pickle_loads(
            A.done(A.call(A.glob("os", "system"), A.text("true"))), where="DEAP file 's07.dat'"
        )
    with pytest.raises(ValueError, match=r"s07\.dat.*truncated or corrupt"):
        safe_pickle_loads(pickle.dumps({"a": 1})[:-3], where="DEAP file 's07.dat'")


def test_unicode_beyond_code_space_refused():
    # found by the fuzz campaign: repr of such an array raised SystemError
    payload = A.done(
        A.reconstruct(
            (1,),
            A.dtype("U1", A.dtype_state("<", 4, 8)),
            A.binary((0x110000).to_bytes(4, "little")),
        )
    )
    with pytest.raises(UnsafePickleError, match="beyond U\\+10FFFF"):
        safe_pickle_loads(payload)
