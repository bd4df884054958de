"""registry init/status/export, station enroll and audit verify through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from credline.provenance import ProvenanceLog
from credline.registry import open_registry
from credline.station.identity import load_station_key
from credline.station.ledger import seal_batch
from tests.conftest import PASSPHRASE, CliResult, subprocess_env

Cli = Callable[..., CliResult]


def test_init_status_export(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    assert cli("registry", "init", url).exit_code == 0
    with open_registry(url) as reg:
        reg.open_batch("B1", "acme-cam", "e98c6960947e8461", "p", "st1")
        reg.reserve("B1", "acme-cam", "SN1", "st1")
    status = cli("registry", "status", url, "--batch", "B1")
    assert status.exit_code == 0 and "reserved 1" in status.stdout
    out = tmp_path / "b.csv"
    assert cli("registry", "export", url, "--batch", "B1", "--out", str(out)).exit_code == 0
    assert out.read_text().startswith("serial,product,generation,key_id,fingerprint")
    missing = cli("registry", "export", url, "--batch", "nope", "--out", str(tmp_path / "x"))
    assert missing.exit_code == 2 and "'nope'" in missing.stderr
    assert not (tmp_path / "x").exists()


def test_enroll_sign_and_audit(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINE_PASSPHRASE", PASSPHRASE)
    url, key = f"sqlite:///{tmp_path / 'f.db'}", tmp_path / "st1.key"
    assert cli("registry", "init", url).exit_code == 0
    enrolled = cli("station", "enroll", "--out", str(key), "--station-id", "st1",
                   "--registry", url)
    assert enrolled.exit_code == 0, enrolled.output
    station_id, signer = load_station_key(key, PASSPHRASE)
    log_path = tmp_path / "p.log"
    with open_registry(url) as reg:
        reg.open_batch("B1", "acme-cam", "e98c6960947e8461", "p", station_id)
        log = ProvenanceLog.open(log_path, signer, station_id)
        log.append("batch.opened", batch="B1")
        assert seal_batch(reg, log, "B1")
    ok = cli("audit", "verify", str(log_path), "--registry", url)
    assert ok.exit_code == 0 and "intact: 2 entries" in ok.stdout
    assert cli("audit", "verify", str(log_path)).exit_code == 1  # no key to trust
    log_path.write_bytes(log_path.read_bytes().replace(b'"B1"', b'"B2"', 1))
    bad = cli("audit", "verify", str(log_path), "--registry", url)
    assert bad.exit_code == 1 and "p.log:1: edited" in bad.stdout


def test_wrong_station_key_passphrase(tmp_path: Path) -> None:
    from credline.keystore import keyfile
    from credline.station.identity import enroll

    enroll(tmp_path / "k", "st1", PASSPHRASE, params=keyfile.ScryptParams(n=2**12))
    from credline.core.errors import KeystoreError

    with pytest.raises(KeystoreError, match="wrong passphrase"):
        load_station_key(tmp_path / "k", "nope")
    with pytest.raises(KeystoreError, match="holds a 'credline-station-key'"):
        keyfile.load(tmp_path / "k", PASSPHRASE)


FULL_DISK = r"""
import resource, sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from credline.core.errors import CredlineError
from credline.provenance import ProvenanceLog
path = Path(sys.argv[1])
log = ProvenanceLog.open(path, Ed25519PrivateKey.generate(), "st1")
log.append("station.started")
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 100,) * 2)
try:
    for i in range(100):
        log.append("device.locked", serial=f"SN{i}", batch="B1")
except CredlineError as exc:
    print(exc)
    sys.exit(2)
"""


def test_full_disk_is_a_clear_error_and_leaves_whole_entries(tmp_path: Path) -> None:
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    result = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path / "p.log")],
                            env=subprocess_env(), capture_output=True, text=True, timeout=60,
                            check=False, preexec_fn=lambda: signal.signal(signal.SIGXFSZ,
                                                                          signal.SIG_IGN))
    assert result.returncode == 2, result.stderr
    assert "cannot append to the provenance log" in result.stdout
    data = (tmp_path / "p.log").read_bytes()
    assert data.endswith(b"\n")  # only whole entries stay on disk
    seqs = [json.loads(line)["seq"] for line in data.splitlines()]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 1
