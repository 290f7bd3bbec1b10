"""What the runners of a peer project's own tests share.

Reading the project's test files from a checkout or from a git directory
without a work tree, the directory they are written to, running pytest there
with a junit report, and reading each test's outcome from that report.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: This repository (put first on the tests' PYTHONPATH).
REPO = Path(__file__).resolve().parents[2]


def git_dir(source):
    """The git directory of a checkout (its ``.git``) or ``source`` itself."""
    source = Path(source)
    return source / ".git" if (source / ".git").exists() else source


def read(source, ref, path):
    """Text of ``path`` in a checkout's work tree, else ``git show REF:path``."""
    source = Path(source)
    if (source / path).is_file():
        return (source / path).read_text(encoding="utf-8")
    result = subprocess.run(
        ["git", "--git-dir", str(git_dir(source)), "show", f"{ref}:{path}"],
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"cannot read {path} from {source} at {ref}: {result.stderr.strip()}")
    return result.stdout


def source_revision(source, ref):
    """``<short hash> <date>`` of ``ref`` in ``source``."""
    result = subprocess.run(
        ["git", "--git-dir", str(git_dir(source)), "log", "-1", "--format=%h %ad", ref],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or "unknown revision"


@contextlib.contextmanager
def workdir(keep, prefix):
    """A fresh directory for the test tree: ``keep`` (emptied first, kept) or a
    temporary one (removed)."""
    if keep:
        path = Path(keep)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


def run_pytest(directory, paths, pytest_args, pythonpath=(), env_defaults=None):
    """Run pytest on ``paths`` in ``directory`` (this repository and ``pythonpath``
    importable); return its junit report, or None when pytest wrote none."""
    junit = Path(directory) / "junit.xml"
    env = dict(os.environ)
    for key, value in (env_defaults or {}).items():
        env.setdefault(key, value)
    paths_ = (str(REPO), *map(str, pythonpath), env.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths_ if p)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rN",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
        *map(str, paths),
        *pytest_args,
    ]
    print("running:", " ".join(command[2:]), flush=True)
    subprocess.run(command, cwd=directory, env=env)
    if not junit.exists():
        print("pytest wrote no results (see its output above).")
        return None
    return junit


def outcome(case):
    """``(result, reason)`` of a junit ``testcase``: PASSED, FAILED, ERROR, SKIPPED or
    XFAIL, and the first line of the message."""
    for tag in ("failure", "error"):
        node = case.find(tag)
        if node is not None:
            message = (node.get("message") or node.text or "").strip()
            return ("ERROR" if tag == "error" else "FAILED"), message.splitlines()[0][:160]
    node = case.find("skipped")
    if node is not None:
        message = (node.get("message") or "").strip()
        if message == "collection skipped":  # a whole module: the reason is in the text
            message = (node.text or "").rsplit("Skipped: ", 1)[-1].strip("')\" \n")
        kind = "XFAIL" if node.get("type", "") == "pytest.xfail" else "SKIPPED"
        return kind, message.splitlines()[0][:160] if message else ""
    return "PASSED", ""


def print_table(rows):
    """Print ``(module, test, result, reason)`` rows; return ``{result: count}``."""
    width = max((len(f"{m}::{n}") for m, n, _, _ in rows), default=20)
    print(f"\n{'test':<{width}}  result   reason")
    print("-" * (width + 60))
    for module, name, result, reason in rows:
        print(f"{module + '::' + name:<{width}}  {result:<7}  {reason}")
    counts = {}
    for _, _, result, _ in rows:
        counts[result] = counts.get(result, 0) + 1
    return counts


def argument_parser(description, project, modules):
    """The runners' command line: ``--<project> PATH``, ``--ref``, ``--modules``,
    ``--keep`` and, after ``--``, pytest's own arguments."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(f"--{project}", required=True, help="checkout or git directory")
    parser.add_argument("--ref", default="HEAD", help="revision, for a git directory")
    parser.add_argument("--modules", nargs="+", default=list(modules), choices=modules)
    parser.add_argument("--keep", default=None, help="write the test tree here and keep it")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed on to pytest")
    return parser
