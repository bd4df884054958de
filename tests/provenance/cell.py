"""A cell built for audit tests: enrolled stations, their logs and ledgers, one registry.

Devices move through the real :class:`credline.station.ledger.RegistryLedger` (write-ahead, as a
station does), never through ``credline.station``; tampering goes straight to the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from credline.core.lifecycle import DeviceState
from credline.keystore import keyfile
from credline.provenance import AuditReport, Finding, ProvenanceLog, verify_cell
from credline.registry import Registry, open_registry
from credline.registry.connect import engine_for
from credline.station.identity import enroll, load_station_key
from credline.station.ledger import RegistryLedger, Scope
from tests.conftest import PASSPHRASE

PRODUCT = "acme-cam"
KEY_ID = "e98c6960947e8461"
FAST = keyfile.ScryptParams(n=2**12)


def fingerprint_at(serial: str) -> Callable[[int], str]:
    return lambda generation: hashlib.sha256(f"{serial}/{generation}".encode()).hexdigest()


class Cell:
    """Stations ``names`` enrolled in the registry at ``url``, each with a log in ``root``."""

    def __init__(self, url: str, root: Path, names: tuple[str, ...] = ("st1", "st2")) -> None:
        self.url, self.root = url, root
        self.registry: Registry = open_registry(url)
        self.ledgers: dict[tuple[str, str], RegistryLedger] = {}
        for name in names:
            enroll(self.key_path(name), name, PASSPHRASE, self.registry, params=FAST)

    def key_path(self, station: str) -> Path:
        return self.root / f"{station}.key"

    def log_path(self, station: str) -> Path:
        return self.root / f"{station}.jsonl"

    def log(self, station: str) -> ProvenanceLog:
        _, signer = load_station_key(self.key_path(station), PASSPHRASE)
        return ProvenanceLog.open(self.log_path(station), signer, station)

    def start(self, station: str, batch: str = "B1") -> RegistryLedger:
        """A station run on ``batch`` (a new run replaces the station's last one)."""
        old = self.ledgers.pop((station, batch), None)
        if old is not None:
            old.close()
        state = self.registry.open_batch(batch, PRODUCT, KEY_ID, "acme-cam.toml", station,
                                         allow_closed=True)
        log = self.log(station)
        log.append("station.started", batch=batch, product=PRODUCT, key_id=KEY_ID,
                   profile="acme-cam.toml", operator="ann", firmware="1.0")
        ledger = RegistryLedger(self.registry, log, Scope(batch, PRODUCT, KEY_ID, station,
                                                          "ann"), closed=state == "closed")
        self.ledgers[(station, batch)] = ledger
        return ledger

    def audit(self, *stations: str) -> AuditReport:
        names = stations or tuple(sorted({s for s, _ in self.ledgers}))
        return verify_cell([self.log_path(s) for s in names], self.registry)

    def sql(self, statement: str, **params: Any) -> int:
        """Tamper with the registry behind credline's back; returns the rows changed."""
        engine = engine_for(self.url)
        try:
            with engine.begin() as conn:
                return conn.execute(text(statement), params).rowcount
        finally:
            engine.dispose()

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()
        self.registry.close()


def provision(ledger: RegistryLedger, serial: str, until: DeviceState = DeviceState.LOCKED,
              hardware_id: str | None = None) -> None:
    """Walk one device as a station does: reserve, bind, verify, lock (up to ``until``)."""
    port, hardware = f"/dev/pts/{len(serial)}", hardware_id or f"hw-{serial}"
    ledger.reserve(serial, port, hardware)
    if until is DeviceState.RESERVED:
        return
    generation, fingerprint = ledger.assign(serial, fingerprint_at(serial))
    ledger.bind(serial, port, hardware, generation, fingerprint)
    for state in (DeviceState.VERIFIED, DeviceState.LOCKED):
        if until in (DeviceState.WRITTEN, DeviceState.FAILED) or (
                state is DeviceState.LOCKED and until is DeviceState.VERIFIED):
            break
        ledger.advance(serial, state, port)
    if until is DeviceState.FAILED:
        ledger.fail(serial, port, "verify mismatch")


def line_of(path: Path, event: str, serial: str | None = None, batch: str | None = None,
            last: bool = False) -> int:
    """The line number of the first (or last) ``event`` entry about ``serial``/``batch``."""
    found = [number for number, raw in enumerate(path.read_bytes().splitlines(), 1)
             if _matches(json.loads(raw), event, serial, batch)]
    assert found, (path, event, serial, batch)
    return found[-1] if last else found[0]


def _matches(entry: dict[str, Any], event: str, serial: str | None, batch: str | None) -> bool:
    fields = entry["fields"]
    return entry["event"] == event and (serial is None or fields.get("serial") == serial) and (
        batch is None or fields.get("batch") == batch)


def first(report: AuditReport) -> tuple[str, int | None, str]:
    """(file name, line, kind) of the first finding."""
    assert not report.ok, "the audit passed"
    finding: Finding = report.findings[0]
    return Path(finding.path).name, finding.line, finding.kind
