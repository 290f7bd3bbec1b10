"""Corrupt and hostile dataset files give an error naming the file, never a crash.

Reproducers: scipy's MATLAB reader crashed on a reserved element
type, and hostile pickles inside SEED-V ``.npz`` archives, SEED eye files and
DEAP ``.dat`` files crashed or "loaded". Every scenario runs through the
dataset readers in one child interpreter, so a crash fails the test.
"""

import io
import json
import textwrap

import numpy as np
import pytest
import scipy.io
from isolation import LIMIT_MEMORY, describe, run_isolated


def reserved_type_mat():
    """A 2x3 array saved by scipy with its data type byte set to 8 (reserved)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"data": np.arange(6.0).reshape(2, 3)})
    raw = bytearray(buf.getvalue())
    at = raw.index(b"data") + 4
    assert raw[at] == 9  # miDOUBLE
    raw[at] = 8
    return bytes(raw)


def test_reserved_type_file_is_small():
    assert len(reserved_type_mat()) == 232


_CHILD = (
    textwrap.dedent("""
    import json, sys, warnings
    from pathlib import Path
    import numpy as np
    warnings.simplefilter("ignore")
    from braindecode_m2s.datasets.fixtures import layout_physio as P
    from braindecode_m2s.datasets.fixtures import layout_seed as L
    from braindecode_m2s.datasets import DEAP, DREAMER, SEED, SEEDIV, SEEDV, SEEDVII
    from braindecode_m2s.datasets.io import load_mat, mat_variable_names
""")
    + LIMIT_MEMORY
    + textwrap.dedent("""
    tmp = Path(sys.argv[1])
    bad_mat = bytes.fromhex(sys.argv[2])
    bad_pickle = bytes.fromhex(sys.argv[3])
    uninitialised = bytes.fromhex(sys.argv[4])

    def scenario_load_mat():
        (tmp / "plain.mat").write_bytes(bad_mat)
        load_mat(tmp / "plain.mat")

    def scenario_names():
        # names come from the variables' headers, checked; the corrupt body is
        # walked (and refused) when the variable is read
        names = mat_variable_names(tmp / "plain.mat")
        assert names == ["data"], names
        load_mat(tmp / "plain.mat", names)

    def scenario_deap_mat():
        root = tmp / "deap"
        P.write_deap(root, subjects=(1,), fmt="mat")
        (root / "data_preprocessed_matlab" / "s01.mat").write_bytes(bad_mat)
        DEAP(path=root, cache_dir=False).get_trial_features(1)

    def scenario_dreamer():
        root = tmp / "dreamer"
        root.mkdir()
        (root / "DREAMER.mat").write_bytes(bad_mat)
        DREAMER(path=root, cache_dir=False).get_trial_features(1)

    def scenario_seed_vii():
        root = L.write_seed_vii(tmp / "seedvii", subjects=(1,))
        (root / "EEG_features" / "1.mat").write_bytes(bad_mat)
        SEEDVII(path=root, cache_dir=False).get_trial_features(1)

    def scenario_seed_iv():
        root = L.write_seed_iv(tmp / "seediv", subjects=(1,))
        path = next((root / "eye_feature_smooth" / "2").glob("1_*.mat"))
        path.write_bytes(bad_mat)
        SEEDIV(path=root, cache_dir=False).get_trial_features(1)

    def scenario_seed_v_npz():
        root = L.write_seed_v(tmp / "seedv", subjects=(1,), cnt=False)
        np.savez(root / "EEG_DE_features" / "1_123.npz", data=np.array(bad_pickle),
                 label=np.array(bad_pickle))
        SEEDV(path=root, cache_dir=False).get_trial_features(1)

    def scenario_seed_eye():
        root = L.write_seed(tmp / "seed", subjects=(1,), layout="new", window_seconds=(1,))
        L.write_seed_multimodal(root, subjects=(1,))
        eye = root / "SEED_Multimodal" / "04-Eye-tracking-feature" / "eye_tracking_feature"
        (eye / "1_2").write_bytes(bad_pickle)
        SEED(path=root, cache_dir=False).get_trial_features(1)

    def scenario_deap_uninitialised():
        root = tmp / "deap2"
        P.write_deap(root, subjects=(1,))
        (root / "data_preprocessed_python" / "s01.dat").write_bytes(uninitialised)
        DEAP(path=root, cache_dir=False).get_trial_features(1)

    for name, func in list(globals().items()):
        if not name.startswith("scenario_"):
            continue
        try:
            func()
            outcome = {"result": "loaded"}
        except Exception as err:
            outcome = {"error": [c.__name__ for c in type(err).__mro__], "msg": str(err)}
        print(json.dumps({name[len("scenario_"):]: outcome}), flush=True)
""")
)

#: Where each scenario's error must point.
EXPECTED_FILE = {
    "load_mat": "plain.mat",
    "names": "plain.mat",
    "deap_mat": "s01.mat",
    "dreamer": "DREAMER.mat",
    "seed_vii": "1.mat",
    "seed_iv": "1_",
    "seed_v_npz": "1_123.npz",
    "seed_eye": "1_2",
    "deap_uninitialised": "s01.dat",
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    import pickle_asm as A
    from test_safe_pickle import OBJECT_NDARRAY_53

    uninitialised = A.done(
        A.dct(
            data=A.call(
                A.glob("numpy", "ndarray"),
                A.tup(A.integer(2), A.integer(40), A.integer(8064)),
                A.dtype("f8"),
            ),
            labels=A.call(
                A.glob("numpy", "ndarray"), A.tup(A.integer(2), A.integer(4)), A.dtype("f8")
            ),
        )
    )
    assert len(uninitialised) < 300
    proc = run_isolated(
        _CHILD,
        tmp_path_factory.mktemp("corrupt"),
        reserved_type_mat().hex(),
        OBJECT_NDARRAY_53.hex(),
        uninitialised.hex(),
    )
    assert proc.returncode == 0, f"the child died: {describe(proc)}"
    found = {}
    for line in proc.stdout.splitlines():
        found.update(json.loads(line))
    return found


@pytest.mark.parametrize("scenario", sorted(EXPECTED_FILE))
def test_corrupt_file_gives_value_error_naming_it(outcomes, scenario):
    outcome = outcomes[scenario]
    assert "error" in outcome, f"{scenario}: the corrupt file loaded"
    assert "ValueError" in outcome["error"], outcome
    assert EXPECTED_FILE[scenario] in outcome["msg"], outcome["msg"]
