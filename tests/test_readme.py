"""The README's quick start runs as printed and learns."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def quick_start():
    """The code between the README's quick-start markers (also included by the docs)."""
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- quick-start-begin -->\n```python\n(.*?)```", text, re.S)
    assert found, "README.md lost its quick-start markers"
    return found.group(1)


@pytest.mark.slow
def test_the_readme_quick_start_runs_and_every_mode_beats_chance(tmp_path):
    script = tmp_path / "quick_start.py"
    script.write_text(quick_start())
    run = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", str(script)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    printed = dict(re.findall(r"^(.+?): (\d+)%", run.stdout, re.M))
    assert set(printed) == {
        "eeg->eye",
        "stage 1's CLIP retrieval x->eye",
        "eye->eye",
        "joint variant, eeg+eye",
    }, run.stdout
    for mode in ("eeg->eye", "eye->eye", "joint variant, eeg+eye"):
        assert int(printed[mode]) >= 40, (mode, run.stdout)  # four classes: chance 25 %
    assert int(printed["stage 1's CLIP retrieval x->eye"]) >= 5  # chance under 1 %


def test_the_docs_quick_start_is_the_readme_s():
    text = (ROOT / "docs" / "quickstart.md").read_text()
    assert "quick-start-begin" in text and "README.md" in text
