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

# A station's write order, through the real ledger: the log entry first (fsynced), then the
# registry, so after a crash the log may be ahead of the registry, never behind it. On each
# start the worker resumes as a station does: its reservations released, its written and
# verified devices finished.
WORKER = r"""
import sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from credline.ledger import RegistryLedger, Scope
from credline.lifecycle import DeviceState
from credline.provenance import ProvenanceLog, check_log_head
from credline.registry import open_registry

url, log_path, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
signer = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
reg = open_registry(url)
if (reg.batch("B1") or {}).get("state") == "closed":
    print("done")
    sys.exit(0)
reg.open_batch("B1", "acme-cam", "e98c6960947e8461", "p.toml", "st1")
log = ProvenanceLog.open(log_path, signer, "st1", repair=True)
check_log_head(log, reg.station_heads().get("st1"))
ledger = RegistryLedger(reg, log, Scope("B1", "acme-cam", "e98c6960947e8461", "st1"))
pending, done = ledger.resume()
states = {p.serial: p.state for p in pending}
for i in range(count):
    serial = f"SN{i:03d}"
    if serial in done:
        continue
    state = states.get(serial)
    if state is None:
        ledger.reserve(serial, "p", f"hw{i}")
        generation, fingerprint = ledger.assign(serial, lambda g: f"{i:060x}{g:04x}")
        ledger.bind(serial, "p", f"hw{i}", generation, fingerprint)
        state = DeviceState.WRITTEN
    if state is DeviceState.WRITTEN:
        ledger.advance(serial, DeviceState.VERIFIED, "p")
    ledger.advance(serial, DeviceState.LOCKED, "p")
print(ledger.finish(True))
ledger.close()
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
