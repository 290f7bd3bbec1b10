"""Model files read as untrusted input: hub folders, skorch weights and histories.

Every case was reproduced before the fixes: a ``config.json`` naming
``tempfile.mkdtemp`` or ``os.abort`` as the activation imported and called
it; declared sizes reached torch unchecked (``RuntimeError``, ``TypeError``,
18.6 GiB asked for); deep nesting or a list raised ``RecursionError`` /
``AttributeError``; a ``model.safetensors`` that is a FIFO blocked forever;
a hostile skorch history raised ``RecursionError`` / ``TypeError``.

Each case runs in a child process (:func:`isolation.run_isolated`) under an
address-space limit, a CPU limit and a per-case alarm, so a hang, a crash
or a runaway allocation fails the case instead of the test run; the child
reports each case's outcome, the peak resident memory and CPU seconds its
read took. A refusal must be a ``ValueError`` (``FileNotFoundError`` for a
missing file) naming the file.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import hostile_models as H
import numpy as np
import pytest
from isolation import LIMIT_MEMORY, describe, reset_peak, run_isolated, status

#: Peak memory and CPU seconds any case's read may take (the small model's
#: file is 80 kB; a refusal must come before any large allocation).
PEAK_LIMIT = 256 * 2**20
SECONDS_LIMIT = 10.0
#: Seconds a case may take before the child's alarm ends it (a hang).
CASE_ALARM = 60


# -- the cases: each sets its files up in ``tmp`` and returns the read to measure -----
def _folder(tmp, **sizes):
    folder = tmp / "model"
    H.save_small(folder, **sizes)
    return folder


def _from_pretrained(folder, **kwargs):
    from braindecode_m2s import M2S

    def read():
        model = M2S.from_pretrained(folder, **kwargs)
        return {"class": type(model).__name__, "n_chans": model.n_chans}

    return read


def _config(**changes):
    """A case: the small model's folder, its config.json updated by ``changes``."""

    def case(tmp):
        folder = _folder(tmp)
        path = folder / "config.json"
        config = json.loads(path.read_text())
        config.update(changes)
        path.write_text(json.dumps(config))
        return _from_pretrained(folder)

    return case


def _config_file(kind, data=None):
    """A case: config.json replaced by ``data`` or by a link, FIFO, sparse file, nothing."""

    def case(tmp):
        from braindecode_m2s.models._config import MAX_CONFIG_BYTES

        folder = _folder(tmp)
        H.place(folder / "config.json", kind, data, sparse_size=MAX_CONFIG_BYTES)
        return _from_pretrained(folder)

    return case


def _activation_mkdtemp(tmp):
    folder = _folder(tmp)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "activation": "tempfile.mkdtemp"}))
    scratch = tmp / "tempdir"
    scratch.mkdir()
    tempfile.tempdir = str(scratch)  # where mkdtemp() would create its folder
    load = _from_pretrained(folder)

    def read():
        try:
            return load()
        finally:
            tempfile.tempdir = None
            if os.listdir(scratch):
                print(json.dumps({"note": f"a folder was created: {os.listdir(scratch)}"}))

    return read


def _weights(kind, change=None, name="model.safetensors", remove=(), **kwargs):
    """A case: the weights file changed by ``change(bytes, model)`` or replaced by ``kind``.

    ``remove``: other files of the folder deleted first.
    """

    def case(tmp):
        from braindecode_m2s.models._weights import max_weights_bytes

        folder = _folder(tmp)
        model = H.save_small(tmp / "again")  # the same weights, for the changes
        for other in remove:
            (folder / other).unlink()
        path = folder / name
        if name == "pytorch_model.bin":  # what the Hub serves when it has no safetensors
            (folder / "model.safetensors").unlink()
        data = path.read_bytes()
        data = change(data, model) if change else data
        H.place(path, kind, data, sparse_size=max_weights_bytes(model))
        if name == "model.safetensors":
            return _from_pretrained(folder, **kwargs)

        def read():
            with H.simulated_hub(folder) as repo:
                return _from_pretrained(repo, **kwargs)()

        return read

    return case


def _state(change):
    """A weights change: ``change(state)`` on the model's state dict, saved as safetensors."""

    def rewrite(data, model):
        state = {k: v.clone() for k, v in model.state_dict().items()}
        change(state)
        return H.safetensors_bytes(state)

    return rewrite


def _first_float(state):
    return next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)


def _nan(state):
    state[_first_float(state)][0] = float("nan")


def _shape(state):
    state[_first_float(state)] = state[_first_float(state)][:1].clone()


def _ints(state):
    key = _first_float(state)
    state[key] = state[key].round().long()


def _extra(state):
    state["stowaway"] = state[_first_float(state)].clone()


def _drop(state):
    del state[_first_float(state)]


def _classifier():
    from braindecode_m2s import M2S, M2SClassifier

    return M2SClassifier(M2S(**H.SMALL), verbose=0, train_split=None).initialize()


def _history(kind, data=None, via="path"):
    """A case: ``load_params(f_history=...)`` of a file holding ``data`` (or a link...)."""

    def case(tmp):
        from skorch.callbacks import Checkpoint

        from braindecode_m2s.utils.history import MAX_HISTORY_BYTES

        clf = _classifier()
        before = len(clf.history)
        path = tmp / "history.json"
        H.place(path, kind, data, sparse_size=MAX_HISTORY_BYTES)

        def read():
            if via == "file":
                with open(path, "rb") as f:
                    clf.load_params(f_history=f)
            elif via == "checkpoint":
                checkpoint = Checkpoint(
                    dirname=str(tmp), f_params=None, f_optimizer=None, f_criterion=None
                )
                clf.load_params(checkpoint=checkpoint)
            else:
                clf.load_params(f_history=path)
            return {"epochs": len(clf.history), "epochs_before": before}

        return read

    return case


def _params(kind, change=None):
    """A case: ``load_params(f_params=...)`` of the small classifier's state, changed."""

    def case(tmp):
        import torch

        clf = _classifier()
        path = tmp / "params.pt"
        state = clf.module_.state_dict()
        if change:
            change(state._metadata)
        H.place(path, kind, H.torch_save_bytes(state) if kind == "regular" else b"")

        def read():
            _classifier().load_params(f_params=path)
            return {"torch": torch.__version__}

        return read

    return case


def _labels(dtype, values):
    def change(metadata):
        metadata[""]["braindecode_m2s.classes"] = {"dtype": dtype, "values": values}

    return change


def _version(version):
    def change(metadata):
        metadata["head.2"] = {"version": version}

    return change


def _garbage_params(tmp):
    path = tmp / "params.pt"
    path.write_bytes(b"garbage" * 10)
    return lambda: _classifier().load_params(f_params=path)


def _json(value):
    return json.dumps(value).encode()


VALID = H.valid_history()
#: Case name -> (case, expected outcome: "loaded", "refused" or "missing").
CASES = {
    # config.json: code named in it
    "activation_tempfile_mkdtemp": (_activation_mkdtemp, "refused"),
    "activation_os_abort": (_config(activation="os.abort"), "refused"),
    "activation_builtins_exec": (_config(activation="builtins.exec"), "refused"),
    "activation_relative_name": (_config(activation=".ReLU"), "refused"),  # found by fuzzing
    "activation_torch_module_path": (
        _config(activation="torch.nn.modules.activation.GELU"),
        "loaded",
    ),
    # config.json: sizes
    "n_chans_negative": (_config(n_chans=-3), "refused"),
    "n_chans_string": (_config(n_chans="62"), "refused"),
    "n_chans_float": (_config(n_chans=4.5), "refused"),
    "n_chans_bool": (_config(n_chans=True), "refused"),
    "n_outputs_zero": (_config(n_outputs=0), "refused"),
    "n_chans_billion": (_config(n_chans=10**9), "refused"),
    "embed_dim_ten_million": (_config(embed_dim=10**7), "refused"),
    "parameters_over_max": (_config(n_chans=4096, n_bands=256, ff_dim=65536), "refused"),
    "n_heads_not_dividing": (_config(n_heads=3), "refused"),
    "modality_negative": (_config(modalities={"eye": -1}), "refused"),
    "club_hidden_zero": (_config(club_hidden=0), "refused"),  # not a parameter of M2S
    "bands_empty": (_config(sfreq=128.0, bands={}), "refused"),  # fuzzing found these
    "bands_not_pairs": (_config(sfreq=128.0, bands=[[1, "a"]]), "refused"),
    "window_samples_huge": (_config(sfreq=1e6, window_seconds=9000.0), "refused"),
    "chs_info_other_length": (_config(chs_info=[{"ch_name": "C1"}] * 5), "refused"),
    "drop_prob_beyond_float64": (_config(drop_prob=10**400), "refused"),  # fuzzing found it
    "band_beyond_float64": (_config(sfreq=128.0, bands=[[1, 10**400]]), "refused"),
    # config.json: the file itself
    "config_deep_nesting": (
        _config_file("regular", b'{"n_chans": ' + H.deep_json(400_000) + b"}"),
        "refused",
    ),
    "config_json_list": (_config_file("regular", _json([H.SMALL])), "refused"),
    "config_json_string": (_config_file("regular", _json("n_chans")), "refused"),
    "config_invalid_utf8": (_config_file("regular", b'{"n_chans": 6, "x": "\xff"}'), "refused"),
    "config_huge_integer": (
        _config_file("regular", b'{"n_chans": ' + b"9" * 5000 + b"}"),
        "refused",
    ),
    "config_link_dev_zero": (_config_file("link_dev_zero"), "refused"),
    "config_fifo": (_config_file("fifo"), "refused"),
    "config_folder": (_config_file("folder"), "refused"),
    "config_over_the_cap": (_config_file("sparse"), "refused"),
    "config_missing": (_config_file("missing"), "missing"),
    # model.safetensors
    "weights_valid": (_weights("regular"), "loaded"),
    "weights_link_to_regular": (_weights("link_regular"), "loaded"),
    "weights_link_dev_zero": (_weights("link_dev_zero"), "refused"),
    "weights_fifo": (_weights("fifo"), "refused"),
    "weights_folder": (_weights("folder"), "refused"),
    "weights_over_the_cap": (_weights("sparse"), "refused"),
    "weights_missing": (_weights("missing", remove=["pytorch_model.bin"]), "missing"),
    # save_pretrained writes both; pytorch_model.bin is read (checked) without safetensors
    "weights_safetensors_missing": (_weights("missing"), "loaded"),
    "weights_truncated_half": (_weights("regular", lambda d, m: d[: len(d) // 2]), "refused"),
    "weights_truncated_header": (_weights("regular", lambda d, m: d[:12]), "refused"),
    "weights_empty_file": (_weights("regular", lambda d, m: b""), "refused"),
    "weights_huge_tensor": (
        _weights("regular", lambda d, m: H.safetensors_huge_tensor(d)),
        "refused",
    ),
    "weights_huge_header_length": (
        _weights("regular", lambda d, m: H.safetensors_header_length(d)),
        "refused",
    ),
    "weights_no_tensors": (_weights("regular", lambda d, m: H.safetensors_bytes({})), "refused"),
    "weights_lacks_a_tensor": (_weights("regular", _state(_drop)), "refused"),
    "weights_lacks_a_tensor_not_strict": (
        _weights("regular", _state(_drop), strict=False),
        "loaded",
    ),
    "weights_extra_tensor": (_weights("regular", _state(_extra)), "refused"),
    "weights_wrong_shape": (_weights("regular", _state(_shape)), "refused"),
    "weights_integer_values": (_weights("regular", _state(_ints)), "refused"),
    "weights_nan": (_weights("regular", _state(_nan)), "refused"),
    # pytorch_model.bin (from the Hub, when it has no model.safetensors)
    "bin_valid": (_weights("regular", name="pytorch_model.bin"), "loaded"),
    "bin_link_dev_zero": (_weights("link_dev_zero", name="pytorch_model.bin"), "refused"),
    "bin_fifo": (_weights("fifo", name="pytorch_model.bin"), "refused"),
    "bin_over_the_cap": (_weights("sparse", name="pytorch_model.bin"), "refused"),
    "bin_missing_too": (_weights("missing", name="pytorch_model.bin"), "missing"),
    "bin_truncated": (
        _weights("regular", lambda d, m: d[: len(d) // 2], name="pytorch_model.bin"),
        "refused",
    ),
    "bin_huge_storages": (
        _weights("regular", lambda d, m: H.archive_huge_storage(d), name="pytorch_model.bin"),
        "refused",
    ),
    "bin_zip_bomb": (
        _weights("regular", lambda d, m: H.archive_zip_bomb(d), name="pytorch_model.bin"),
        "refused",
    ),
    "bin_pickle_calls_code": (
        _weights("regular", lambda d, m: H.archive_calling(d), name="pytorch_model.bin"),
        "refused",
    ),
    "bin_legacy_format": (
        _weights("regular", lambda d, m: b"\x80\x02}q\x00.", name="pytorch_model.bin"),
        "refused",
    ),
    # f_params of save_params (labels in its metadata)
    "params_valid": (_params("regular"), "loaded"),
    "params_valid_labels": (_params("regular", _labels("<i8", [2**53 + 1, 3, 4])), "loaded"),
    "params_fifo": (_params("fifo"), "refused"),
    "params_link_dev_zero": (_params("link_dev_zero"), "refused"),
    "params_folder": (_params("folder"), "refused"),
    "params_garbage": (_garbage_params, "refused"),
    "params_labels_huge_unicode": (
        _params("regular", _labels("<U1000000000", ["a", "b"])),
        "refused",
    ),
    "params_labels_wrong_kind": (_params("regular", _labels("<i8", ["a", "b"])), "refused"),
    "params_labels_beyond_int64": (_params("regular", _labels("<i8", [2**70, 1])), "refused"),
    "params_labels_not_a_dtype": (_params("regular", _labels("x", [1, 2])), "refused"),
    "params_labels_datetime": (_params("regular", _labels("<M8[ns]", [1, 2])), "refused"),
    "params_metadata_version_string": (_params("regular", _version("x")), "refused"),
    "params_metadata_not_a_dict": (
        _params("regular", lambda m: m.__setitem__("head", None)),
        "refused",
    ),
    # skorch history
    "history_valid": (_history("regular", _json(VALID)), "loaded"),
    "history_nan_loss": (
        _history("regular", _json([{**VALID[0], "train_loss": float("nan")}])),
        "loaded",
    ),
    "history_valid_file_object": (_history("regular", _json(VALID), via="file"), "loaded"),
    "history_deep_nesting": (_history("regular", H.deep_json(1_000_000)), "refused"),
    "history_deep_nesting_file_object": (
        _history("regular", H.deep_json(1_000_000), via="file"),
        "refused",
    ),
    "history_deep_nesting_checkpoint": (
        _history("regular", H.deep_json(1_000_000), via="checkpoint"),
        "refused",
    ),
    "history_number": (_history("regular", b"5"), "refused"),
    "history_string": (_history("regular", b'"epochs"'), "refused"),
    "history_object": (_history("regular", _json({"epoch": 1})), "refused"),
    "history_epoch_not_object": (_history("regular", _json([1, 2])), "refused"),
    "history_epoch_number_string": (_history("regular", _json([{"epoch": "1"}])), "refused"),
    "history_batches_not_list": (_history("regular", _json([{"batches": 3}])), "refused"),
    "history_batch_not_object": (_history("regular", _json([{"batches": ["b"]}])), "refused"),
    "history_loss_string": (_history("regular", _json([{"train_loss": "low"}])), "refused"),
    "history_best_not_bool": (_history("regular", _json([{"train_loss_best": 1}])), "refused"),
    "history_best_of_a_string": (
        _history("regular", _json([{"valid_acc": "high", "valid_acc_best": True}])),
        "refused",
    ),
    "history_mixed_types": (
        _history("regular", _json([{"valid_acc": 0.5}, {"valid_acc": "0.6"}])),
        "refused",
    ),
    "history_invalid_utf8": (_history("regular", b'[{"note": "\xff"}]'), "refused"),
    "history_link_dev_zero": (_history("link_dev_zero"), "refused"),
    "history_fifo": (_history("fifo"), "refused"),
    "history_over_the_cap": (_history("sparse"), "refused"),
    "history_missing": (_history("missing"), "missing"),
}


# -- the child ---------------------------------------------------------------------------
def run_case(name, tmp):
    """One case in this process: its outcome, message and the read's peak memory and time."""
    import time

    tmp.mkdir()
    read = CASES[name][0](tmp)
    reset_peak()
    start, t0 = status("VmRSS:"), time.process_time()
    out = {}
    try:
        out.update(result="loaded", **(read() or {}))
    except FileNotFoundError as err:
        out.update(result="missing", message=str(err))
    except ValueError as err:
        out.update(result="refused", message=str(err))
    except BaseException as err:  # noqa: BLE001 - reported, the test fails
        out.update(result="error", message=f"{type(err).__name__}: {str(err)[:500]}")
    out.update(seconds=time.process_time() - t0, peak=max(0, status("VmHWM:") - start))
    out["tmp"] = str(tmp)
    return out


def child_main(folder, names):
    """Run ``names`` one by one, printing a line when each starts and ends."""
    import signal

    for name in names:
        print(json.dumps({"start": name}), flush=True)
        signal.alarm(CASE_ALARM)  # its default action ends the process: a hang
        out = run_case(name, Path(folder) / name)
        signal.alarm(0)
        print(json.dumps({name: out}), flush=True)


_CHILD = (
    textwrap.dedent("""
    import os, resource, sys, warnings
    sys.path.insert(0, os.path.join(os.getcwd(), "tests"))
    warnings.simplefilter("ignore")
    import test_model_files as T
    from braindecode_m2s import M2S, M2SClassifier  # every import done before the limits
    import safetensors.torch, skorch.callbacks
    T.run_case("weights_valid", T.Path(sys.argv[1]) / "warm-up")
""")
    + LIMIT_MEMORY
    + textwrap.dedent("""
    resource.setrlimit(resource.RLIMIT_CPU, (300, 300))
    T.child_main(sys.argv[1], sys.argv[2:])
""")
)


def _lines(text):
    for line in (text or "").splitlines():
        if line.startswith("{"):
            yield json.loads(line)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case's outcome; a case that ends its child is recorded and the rest rerun."""
    folder = tmp_path_factory.mktemp("model_files")
    found, remaining, runs = {}, list(CASES), 0
    while remaining and runs < 10:
        runs += 1
        where = folder / f"run{runs}"
        where.mkdir()
        try:
            proc = run_isolated(_CHILD, where, *remaining, timeout=600)
            stdout, ended = proc.stdout, describe(proc)
        except subprocess.TimeoutExpired as err:
            stdout, ended = err.stdout, "the child ran past 600 s"
            stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
        started = None
        for line in _lines(stdout):
            if "start" in line:
                started = line["start"]
            elif "note" in line:
                found.setdefault("notes", []).append(line["note"])
            else:
                found.update(line)
        if started is not None and started not in found:  # it ended the child
            found[started] = {"result": "died", "message": ended}
        done = [name for name in remaining if name in found]
        if not done:
            pytest.fail(f"the child ran no case: {ended}")
        remaining = [name for name in remaining if name not in found]
    return found


@pytest.mark.parametrize("name", list(CASES))
def test_model_file_case(outcomes, name):
    out = outcomes[name]
    expected = CASES[name][1]
    assert out["result"] == expected, out
    if expected != "loaded":  # one sentence naming the file (or the Hub repository)
        assert out["tmp"] in out["message"] or H.HUB_REPO in out["message"], out
        assert "\n" not in out["message"] and "Traceback" not in out["message"], out
    assert out["peak"] <= PEAK_LIMIT, f"{out['peak'] / 2**20:.0f} MiB: {out}"
    assert out["seconds"] <= SECONDS_LIMIT, out


def test_no_code_ran_and_no_folder_was_created(outcomes):
    assert "notes" not in outcomes, outcomes["notes"]
    assert not (Path(outcomes["bin_pickle_calls_code"]["tmp"]).parent.parent / "pwned").exists()
    for name in ("activation_tempfile_mkdtemp", "activation_os_abort", "activation_builtins_exec"):
        assert "not one of" in outcomes[name]["message"], outcomes[name]


def test_sizes_are_refused_before_any_allocation(outcomes):
    for name in ("n_chans_billion", "embed_dim_ten_million", "parameters_over_max"):
        assert outcomes[name]["peak"] < 64 * 2**20, outcomes[name]
    assert "MAX_PARAMETERS" in outcomes["parameters_over_max"]["message"]


def test_a_refused_history_leaves_the_estimator_as_it_was(tmp_path):
    clf = _classifier()
    path = tmp_path / "history.json"
    path.write_bytes(_json(VALID))
    clf.load_params(f_history=path)
    path.write_bytes(b"5")
    with pytest.raises(ValueError, match="history.json"):
        clf.load_params(f_history=path)
    assert clf.history.to_list() == VALID


@pytest.mark.parametrize("value", [0, -1, 4.5, 4.0, "62", None, True, [16], 2**17])
def test_objective_sizes_are_checked(value):
    from braindecode_m2s.objectives import M2SObjective

    with pytest.raises(ValueError, match=r"`club_hidden` must be an integer in \[1, 65536\]"):
        M2SObjective({"x": 30, "eye": 4}, embed_dim=16, club_hidden=value)


# -- labels (item 3), in this process ------------------------------------------------------
def test_labels_beyond_float64_round_trip_exactly(small_data, tmp_path):
    from skorch.helper import SliceDict

    from braindecode_m2s import M2S, M2SClassifier

    x, eye, y = small_data
    values = np.array([2**53, 2**53 + 1, 2**63 - 1])  # 2**53 + 1 has no float64
    labels = values[y]
    kwargs = dict(pretrain_epochs=0, freeze_encoders=False, max_epochs=1, batch_size=16)
    clf = M2SClassifier(M2S(**H.SMALL), verbose=0, train_split=None, **kwargs)
    clf.fit(SliceDict(x=x, eye=eye), labels)
    clf.save_params(f_params=tmp_path / "params.pt", f_history=tmp_path / "history.json")
    fresh = _classifier()
    fresh.load_params(f_params=tmp_path / "params.pt", f_history=tmp_path / "history.json")
    assert fresh.classes_.tolist() == values.tolist()
    assert fresh.classes_.dtype == np.int64
    predicted = fresh.predict(SliceDict(x=x, eye=eye))
    assert set(predicted.tolist()) <= set(values.tolist())
    np.testing.assert_array_equal(predicted, clf.predict(SliceDict(x=x, eye=eye)))
    assert len(fresh.history) == 1


if __name__ == "__main__":  # one case by hand: python tests/test_model_files.py NAME
    print(run_case(sys.argv[1], Path(tempfile.mkdtemp()) / sys.argv[1]))


def test_a_config_swapped_after_its_check_is_never_read(tmp_path, monkeypatch):
    """The model is built from the checked content: nothing opens config.json again."""
    import torch

    from braindecode_m2s import M2S
    from braindecode_m2s.models import m2s as m2s_module

    folder = tmp_path / "model"
    saved = H.save_small(folder)
    checked = m2s_module.check_pretrained_config

    def check_then_swap(cls, model_id, kwargs):
        out = checked(cls, model_id, kwargs)
        # what a second reader would get: not JSON, and an activation to import
        (folder / "config.json").write_text('{"activation": "os.abort", ')
        return out

    monkeypatch.setattr(m2s_module, "check_pretrained_config", check_then_swap)
    loaded = M2S.from_pretrained(folder)
    assert loaded.get_config() == saved.get_config()
    for (name, a), b in zip(saved.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_from_pretrained_replaces_the_head_for_other_classes(tmp_path):
    from braindecode_m2s import M2S

    saved = H.save_small(tmp_path / "model")
    loaded = M2S.from_pretrained(tmp_path / "model", n_outputs=saved.n_outputs + 3)
    assert loaded.n_outputs == saved.n_outputs + 3
    assert loaded.final_layer.out_features == saved.n_outputs + 3
    assert loaded.get_config()["n_outputs"] == saved.n_outputs + 3
    enc = {k: v for k, v in saved.state_dict().items() if not k.startswith(("head", "final"))}
    for name, tensor in enc.items():
        assert (loaded.state_dict()[name] == tensor).all(), name
