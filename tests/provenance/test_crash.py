"""kill -9 in the middle of the real ledger's registry + log writes, then resume: the audit
passes, registry and log agree, every serial is locked on the one device it was bound to."""

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

# One station's run over 60 devices (device i has hardware id HW<i>), through the ledger the
# station uses: write-ahead log entries, registry moves acknowledging them. A rerun resumes:
# reservations left behind are released, rows bound to a device are claimed by that device.
WORKER = r"""
import sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from credline.station.ledger import RegistryLedger, Scope
from credline.core.lifecycle import DeviceState
from credline.provenance import ProvenanceLog
from credline.registry import open_registry
from credline.station.contracts import Refused

url, log_path, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
signer = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
reg = open_registry(url)
reg.open_batch("B1", "acme-cam", "e98c6960947e8461", "p.toml", "st1", allow_closed=True)
log = ProvenanceLog.open(log_path, signer, "st1", repair=True)
ledger = RegistryLedger(reg, log, Scope("B1", "acme-cam", "e98c6960947e8461", "st1"),
                        closed=reg.batch("B1")["state"] == "closed")
ledger.resume()
for i in range(count):
    serial, hwid = f"SN{i:03d}", f"HW{i:03d}"
    pending = ledger.claim(hwid, "p0")
    state = None if pending is None else pending.state
    if pending is None:
        try:
            ledger.reserve(serial, "p0", hwid)
        except Refused:
            continue  # locked already
        generation, fingerprint = ledger.assign(serial, lambda g: f"{i:060x}{g:04x}")
        ledger.bind(serial, "p0", hwid, generation, fingerprint)
        state = DeviceState.WRITTEN
    if state is DeviceState.WRITTEN:
        ledger.advance(serial, DeviceState.VERIFIED, "p0")
    ledger.advance(serial, DeviceState.LOCKED, "p0")
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
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True,
                              timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr
    with open_registry(url) as reg:
        report = verify_log(log, reg)
        assert report.ok, report.summary()
        assert reg.status("B1")["locked"] == 60 and reg.batch("B1")["state"] == "closed"
        rows = reg.devices("B1", "locked")
    assert {(d.serial, d.hardware_id) for d in rows} == {
        (f"SN{i:03d}", f"HW{i:03d}") for i in range(60)}
