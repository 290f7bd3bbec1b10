"""Run code in a fresh interpreter, so a crash fails a test instead of pytest."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: Prefix for child code: cap the address space at 3 GiB above what the
#: imports took, so a runaway allocation fails fast instead of swapping.
LIMIT_MEMORY = """
import resource
with open("/proc/self/statm") as _f:
    _used = int(_f.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (_used + (3 << 30), resource.RLIM_INFINITY))
"""


def run_isolated(code, *args, timeout=300):
    """Run ``code`` with ``args`` in a new interpreter; return the CompletedProcess.

    The child sees the repository and this folder on its ``PYTHONPATH``.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]))
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def describe(proc):
    """One line on how a child ended, with the tail of its output."""
    return (
        f"return code {proc.returncode}\nstdout: {proc.stdout[-1500:]}\n"
        f"stderr: {proc.stderr[-1500:]}"
    )


def status(field):
    """A ``/proc/self/status`` field in bytes (``"VmRSS:"``, ``"VmHWM:"``), 0 if absent."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    """Set this process's peak resident memory (``VmHWM``) to its current one, where Linux can."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
