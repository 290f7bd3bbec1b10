"""Runs survive faults: interruptions, full disks, corrupt records and crashed workers.

A failed task is recorded and the others run, ending with the "N task(s)
failed" report and exit code 1; a full disk (simulated: every atomic write
after the first ``k`` raises ``OSError(ENOSPC)``) leaves ``run_status.json``
saying ``failed`` with the counts, and no temporary file; Ctrl-C while a
figure is saved leaves no part of it, and ``complete`` is written after every
output.
"""

import contextlib
import errno
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from braindecode_m2s.cli import main
from braindecode_m2s.evaluation import runs
from braindecode_m2s.evaluation.evaluations import plan
from braindecode_m2s.utils import files

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _grid_run  # noqa: E402

KW = dict(dataset="SEED-IV", settings=["eeg2eeg", "eye2eye"], seeds=[0])


def grid():
    X, y, meta = _grid_run.data()
    return _grid_run.pipelines(LogisticRegression), X, y, meta


def run(out, **kw):
    pipes, X, y, meta = grid()
    return runs.run_and_report(pipes, X, y, meta, out, **{**KW, **kw})


def status(out):
    return json.loads((out / "run_status.json").read_text())


def leftovers(folder):
    """Temporary files of atomic writes (``.<name>.<random><suffix>[.tmp]``)."""
    return sorted(
        str(p)
        for p in Path(folder).rglob(".*")
        if p.is_file() and not p.name.startswith(".m2s-write-check")
    )


# -- item 5: one failed task does not stop the run ---------------------------------------
def test_failed_tasks_are_reported_and_the_others_run(tmp_path, capsys, monkeypatch):
    from braindecode_m2s.training import M2SClassifier

    def lost_device(self, *args, **kwargs):  # a device lost while the run goes on
        raise RuntimeError("CUDA error: no CUDA-capable device is detected")

    monkeypatch.setattr(M2SClassifier, "pretrain", lost_device)
    args = ["evaluate", "--dataset", "synthetic", "--quick", "--pipelines", "DE+LR,M2S"]
    args += ["--settings", "eeg2eeg", "--no-progress"]
    rc = main([*args, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("m2s: error: 4 task(s) failed; the 2 done are in"), err
    failed = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 4 and all("M2S" in line for line in failed), err
    assert status(tmp_path)["state"] == "partial"
    assert status(tmp_path) | {"failed_tasks": None} == dict(
        state="partial", done=2, failed=4, pending=0, total=6, failed_tasks=None
    )
    partial = pd.read_csv(tmp_path / "results.partial.csv")
    assert len(partial) == 2 and set(partial["pipeline"]) == {"DE+LR"}
    assert not (tmp_path / "results.csv").exists()


def test_a_damaged_split_fails_its_tasks_only(tmp_path, capsys):
    pipes, X, y, meta = grid()
    the_plan = plan(pipes, X, y, meta, store=tmp_path / "store", **KW)
    split = sorted((tmp_path / "store" / "data").rglob("*.npz"))[0]
    split.write_bytes(b"PK\x03\x04 not an archive")
    report = run(tmp_path)
    assert report.state == "partial" and report.exit_code == 1
    assert report.counts == dict(done=2, failed=2, pending=0, total=4)
    assert {r["config"]["split"] for r in report.failed} == {split.stem}
    assert "2 task(s) failed" in report.error
    err = capsys.readouterr().err
    assert err.count("failed: LR") == 2
    assert the_plan.status()[0]["done"] == 2


# -- item 9: a full disk -------------------------------------------------------------------
class FullDisk:
    """Every atomic write after the first ``room`` raises ENOSPC, half written."""

    def __init__(self, room):
        self.room = room
        self.writes = 0
        self.real = files.atomic_path

    @contextlib.contextmanager
    def __call__(self, path, *args, **kwargs):
        with self.real(path, *args, **kwargs) as tmp:
            self.writes += 1
            if self.writes > self.room:
                tmp.write_bytes(b"half")
                raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
            yield tmp


def fill_disk(monkeypatch, room):
    disk = FullDisk(room)
    from braindecode_m2s.evaluation import store, tasks

    for module in (files, store, tasks):
        monkeypatch.setattr(module, "atomic_path", disk)
    return disk


def test_run_without_a_full_disk_counts_its_writes(tmp_path, monkeypatch):
    disk = fill_disk(monkeypatch, 10**6)
    assert run(tmp_path).state == "complete"
    assert disk.writes == 25  # ROOMS below are chosen among them


#: Writes that succeed before the disk is full: the first status, the store's marker,
#: data, splits, the first partial table, task records and partial tables, the tables,
#: the figures, the last status (25 writes in all).
ROOMS = [0, 1, 3, 6, 8, 10, 13, 17, 19, 22, 23, 24]


@pytest.mark.parametrize("room", ROOMS)
def test_full_disk_leaves_a_truthful_status_and_no_temporary_file(tmp_path, monkeypatch, room):
    fill_disk(monkeypatch, room)
    report = run(tmp_path)
    if room == 0:  # not even the first status fits: there is none
        assert report.state == "failed" and not (tmp_path / "run_status.json").exists()
        return
    found = status(tmp_path)
    if report.state == "complete":  # the disk had room for everything
        assert found["state"] == "complete"
        return
    assert report.state == "failed" and report.exit_code == 1
    assert "No space left on device" in report.error
    assert found["state"] == "failed" and "No space left on device" in found["error"]
    counts = {k: found.get(k) for k in ("done", "failed", "pending", "total")}
    if found.get("total") is not None:  # planned before the disk filled
        assert counts["done"] + counts["failed"] + counts["pending"] == counts["total"] == 4
    if (tmp_path / "results.csv").exists():  # written whole, every task done
        assert len(pd.read_csv(tmp_path / "results.csv")) == 4
    assert leftovers(tmp_path) == []


def test_full_disk_in_the_command_line_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    fill_disk(monkeypatch, 12)
    args = ["evaluate", "--dataset", "synthetic", "--quick", "--pipelines", "DE+LR"]
    rc = main([*args, "--no-progress", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1, err
    assert err[0].startswith("m2s: error: the run stopped: ") and "No space left" in err[0]
    assert status(tmp_path)["state"] == "failed"
    assert leftovers(tmp_path) == []


def test_status_is_written_in_place_when_no_new_file_fits(tmp_path, monkeypatch):
    runs.write_run_status(tmp_path, "running", dict(done=0, failed=0, pending=4, total=4))
    fill_disk(monkeypatch, 0)
    runs.write_run_status(tmp_path, "failed", dict(done=1, failed=0, pending=3, total=4))
    assert status(tmp_path)["state"] == "failed" and status(tmp_path)["done"] == 1
    assert leftovers(tmp_path) == []


# -- item 10: "complete" after every output; Ctrl-C while a figure is saved --------------
def test_complete_is_written_after_every_output(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    seen = []
    real = Figure.savefig

    def savefig(self, path, *args, **kwargs):
        seen.append(status(tmp_path)["state"])
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    report = run(tmp_path, extra_outputs=lambda out: seen.append(status(out)["state"]))
    assert report.state == "complete" and seen == ["running"] * 3
    assert status(tmp_path)["state"] == "complete"
    assert not (tmp_path / "results.partial.csv").exists()
    assert (tmp_path / "confusion_matrices.png").read_bytes()[:4] == b"\x89PNG"


def test_ctrl_c_while_a_figure_is_saved_leaves_no_part_of_it(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def savefig(self, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89PNG" + b"\0" * 120)  # the 124 bytes of the issue
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", savefig)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path)
    found = status(tmp_path)
    assert found["state"] == "interrupted" and found["done"] == found["total"] == 4
    assert not list(tmp_path.glob("*.png"))
    assert leftovers(tmp_path) == []


def test_stale_outputs_of_an_earlier_run_are_removed(tmp_path):
    for name in runs.FINAL_OUTPUTS:
        (tmp_path / name).write_text("old")
    pipes, X, y, meta = grid()
    runs.run_and_report(pipes, X, y, meta, tmp_path, status_only=True, **KW)
    assert all((tmp_path / n).read_text() == "old" for n in runs.FINAL_OUTPUTS)  # --status
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs, "_write_outputs", _raise_keyboard_interrupt)
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path)
    assert not any((tmp_path / n).exists() for n in runs.FINAL_OUTPUTS)


def _raise_keyboard_interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_store_folder_that_is_not_a_store_is_one_line_and_exit_1(tmp_path, capsys):
    (tmp_path / "store").mkdir()
    os.symlink("/dev/zero", tmp_path / "store" / "STORE.json")  # refused unread
    args = ["evaluate", "--dataset", "synthetic", "--quick", "--pipelines", "DE+LR"]
    rc = main([*args, "--no-progress", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "STORE.json" in err[0], err
    assert status(tmp_path)["state"] == "failed"
