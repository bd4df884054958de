"""docs/qa-guide.md's worked example runs, as QA would run it: a pytest file of its own."""

from __future__ import annotations

import re
import subprocess
import sys

from qa_helpers import REPO, subprocess_env


def test_worked_example_passes(tmp_path):
    guide = (REPO / "docs" / "qa-guide.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 1
    (tmp_path / "test_our_batches.py").write_text(blocks[0], encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                            env=subprocess_env(), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_guide_quotes_the_measured_rates():
    guide = (REPO / "docs" / "qa-guide.md").read_text(encoding="utf-8")
    for figure in ("5.2e-08", "2.7e-08", "0.028", "4.3e-07", "1.2e-05"):
        assert figure in guide
