"""kill -9 in the middle of registry + log writes, then resume: audit passes, both agree."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from credline.provenance import public_bytes, verify_log
from credline.registry import open_registry
from tests.conftest import subprocess_env
from tests.provenance.test_log import SIGNER

# The write order every station follows: the log entry first (fsynced), then the registry,
# so after a crash the log may be ahead of the registry, never behind it.
WORKER = r"""
import sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from credline.provenance import ProvenanceLog
from credline.registry import open_registry

url, log_path, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
signer = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
reg = open_registry(url)
if (reg.batch("B1") or {}).get("state") == "closed":
    print("done")
    sys.exit(0)
reg.open_batch("B1", "acme-cam", "e98c6960947e8461", "p.toml", "st1")
log = ProvenanceLog.open(log_path, signer, "st1", repair=True)
for i in range(count):
    serial = f"SN{i:03d}"
    device = reg.reserve("B1", "acme-cam", serial, "st1")
    if device.state == "locked":
        continue
    if device.state == "reserved":
        log.append("device.reserved", batch="B1", serial=serial)
        reg.assign_fingerprint("B1", "acme-cam", serial, lambda g: f"{i:060x}{g:04x}")
        log.append("device.written", batch="B1", serial=serial)
        reg.mark_written("acme-cam", serial)
    if reg.device("acme-cam", serial).state == "written":
        log.append("device.verified", batch="B1", serial=serial)
        reg.mark_verified("acme-cam", serial)
    log.append("device.locked", batch="B1", serial=serial)
    reg.mark_locked("acme-cam", serial)
if reg.batch("B1")["state"] == "open":
    log.checkpoint("B1", reg)
print("done")
"""


@pytest.mark.parametrize("seed", range(6))
def test_kill_9_at_random_points_then_resume(tmp_path: Path, seed: int) -> None:
    url, log = f"sqlite:///{tmp_path / 'f.db'}", tmp_path / "p.log"
    with open_registry(url) as reg:
        reg.register_station("st1", public_bytes(SIGNER))
    rng = random.Random(seed)
    command = [sys.executable, "-c", WORKER, url, str(log), "60"]
    for _ in range(2):  # two crashes, then a run to the end
        proc = subprocess.Popen(command, env=subprocess_env(), stdout=subprocess.PIPE)
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True,
                              timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr
    with open_registry(url) as reg:
        report = verify_log(log, reg)
        assert report.ok, report.summary()
        assert reg.status("B1")["locked"] == 60 and reg.batch("B1")["state"] == "closed"
        locked = {d.serial for d in reg.devices("B1", "locked")}
    assert locked == {f"SN{i:03d}" for i in range(60)}
