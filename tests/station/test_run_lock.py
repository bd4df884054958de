"""One run per station at a time, and a killed run's lock is gone at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from credline.core.errors import BadInput
from credline.station.ledger import RunLock
from tests.conftest import subprocess_env


def test_a_second_run_of_a_station_is_refused_until_the_first_ends(tmp_path: Path) -> None:
    log = tmp_path / "provenance.jsonl"
    first = RunLock(log, "st1")
    with pytest.raises(BadInput, match="station 'st1' is already running"):
        RunLock(log, "st1")
    first.release()
    RunLock(log, "st1").release()


def test_a_killed_run_leaves_no_lock(tmp_path: Path) -> None:
    log = tmp_path / "provenance.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; from pathlib import Path; "
         "from credline.station.ledger import RunLock; RunLock(Path(sys.argv[1]), 'st1'); "
         "print('held', flush=True); time.sleep(60)", str(log)],
        env=subprocess_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BadInput):
            RunLock(log, "st1")
    finally:
        holder.kill()
        holder.wait()
    RunLock(log, "st1").release()
