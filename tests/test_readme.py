"""The README's first session runs as written: its block, cut out between the markers, is run
with bash in a fresh folder that looks like a checkout (``factory/`` and ``.venv/bin/credline``
of this tree), and every command in it must succeed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, subprocess_env
from tests.processes import virtual_devices

BLOCK = re.compile(r"<!-- first-session:begin -->\n```sh\n(.*?)```\n<!-- first-session:end -->",
                   re.S)


def first_session() -> str:
    match = BLOCK.search((REPO / "README.md").read_text())
    assert match, "README.md has no first-session block between the markers"
    return match.group(1)


def fake_checkout(root: Path) -> None:
    (root / "factory").symlink_to(REPO / "factory")
    (root / ".venv" / "bin").mkdir(parents=True)
    launcher = root / ".venv" / "bin" / "credline"
    launcher.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m credline \"$@\"\n")
    launcher.chmod(0o755)


def test_the_readme_first_session_runs_as_written(tmp_path: Path) -> None:
    fake_checkout(tmp_path)
    # The trap is the test's own: a failing command must not leave sim running (and holding
    # the output pipe open) behind the script.
    guard = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
    script = guard + first_session()
    temp = tmp_path / "tmp"  # sim's temporary flash folder goes here, to be seen removed
    temp.mkdir()
    env = subprocess_env(TMPDIR=str(temp))
    for name in ("CREDLINE_PASSPHRASE", "CREDLINE_STATION_PASSPHRASE"):
        env.pop(name, None)  # the block sets its own
    try:
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=180, check=False)
    finally:
        for pid in virtual_devices(temp):  # a failed run must not leave devices behind
            os.kill(pid, 9)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"[0-9a-f]{16}", lines[0]), lines[0]  # keys new: the key id
    assert re.fullmatch(r"[0-9A-Z]{12}", lines[1]), "derive --serial prints one password"
    assert "locked 4" in done.stdout  # registry status of B1: the four devices of the run
    assert (tmp_path / "batch.csv").read_text().count("\n") == 25  # header + 24 serials
    assert not (tmp_path / "sim-ports").exists(), "sim left its links behind"
    assert virtual_devices(temp) == {}
    assert not any(temp.iterdir()), "sim left its flash files (plaintext passwords) behind"
