"""m2s evaluate / reproduce: unusable output paths, a killed run, --status, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from braindecode_m2s.cli import main

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "evaluate",
    "--dataset",
    "synthetic",
    "--quick",
    "--pipelines",
    "DE+LR,DE+SVM",
    "--seeds",
    "0",
    "1",
    "2",
    "3",
    "--no-progress",
    "--no-m2s-plots",
]


@pytest.mark.parametrize("command", ["evaluate", "reproduce"])
def test_output_path_that_is_a_file_is_one_line_error(command, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("")
    rc = main([command, "--dataset", "synthetic", "--quick", "--out", str(target)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "is a file" in err[0]
    rc = main([command, "--dataset", "synthetic", "--quick", "--out", str(target / "sub")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "not writable" in err[0]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions do not bind root")
def test_read_only_output_folder_is_one_line_error(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        rc = main(["evaluate", "--dataset", "synthetic", "--quick", "--out", str(folder)])
    finally:
        folder.chmod(0o700)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "not writable" in err[0]


def _done(store):
    n = 0
    for p in store.rglob("*.json") if store.exists() else []:
        try:
            n += json.loads(p.read_text()).get("status") == "done"
        except ValueError:  # pragma: no cover - records are atomic
            pass
    return n


def test_killed_command_leaves_a_partial_table_and_resumes(tmp_path, capsys):
    out = tmp_path / "killed"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "braindecode_m2s", *ARGS, "--out", str(out)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while (
        _done(out / "store" / "tasks") < 3 and proc.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _done(out / "store" / "tasks")
    assert not (out / "results.csv").exists()  # nothing that looks complete
    assert json.loads((out / "run_status.json").read_text())["state"] == "running"
    partial = pd.read_csv(out / "results.partial.csv")
    assert len(partial) <= done < 48
    assert main([*ARGS, "--out", str(out), "--status"]) == 0
    status = capsys.readouterr().out
    assert f"done {done}, pending {48 - done}, failed 0" in status
    assert main([*ARGS, "--out", str(out)]) == 0
    assert json.loads((out / "run_status.json").read_text())["state"] == "complete"
    assert not (out / "results.partial.csv").exists()
    fresh = tmp_path / "fresh"
    assert main([*ARGS, "--out", str(fresh)]) == 0
    resumed = pd.read_csv(out / "results.csv").drop(columns="time")
    pd.testing.assert_frame_equal(resumed, pd.read_csv(fresh / "results.csv").drop(columns="time"))
    assert len(resumed) == 48
