"""The demo: a whole provisioning run on virtual devices, from nothing, in one call.

Creates (in a work directory marked as DEMO) a DEMO master key, a DEMO station identity, a
SQLite registry and N virtual devices running the real C hook on pseudo-terminals; runs the
station over all of them with a work order of DEMO serials; verifies the provenance log
against the registry; and returns a summary. Everything here is public by design: never use
the demo key or station for products.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from credline.core.errors import BadInput
from credline.files.profiles import load_profile
from credline.keystore import keyfile
from credline.provenance import AuditReport, verify_log
from credline.registry import open_registry
from credline.station.assembly import StationOptions, build_station
from credline.station.identity import enroll
from credline.station.screen import open_screen
from credline.transport.esp_double import EspBench
from credline.transport.virtual import HOOKS, Bench

DEMO_PASSPHRASE = "DEMO-ONLY-not-for-production"  # noqa: S105 - the demo key is public by design
MARKER = ".credline-demo"
PROFILE = HOOKS.parent / "factory" / "profiles" / "demo-device.toml"
PROFILES = {"hook": PROFILE, "esp": HOOKS.parent / "factory" / "profiles" / "demo-esp.toml"}


@dataclass
class DemoResult:
    workdir: Path
    devices: int
    passed: int
    failed: int
    seconds: float
    status: dict[str, int]
    audit: AuditReport
    key_id: str
    log: Path
    labels: Path
    registry: str


def prepare(workdir: Path) -> None:
    """An empty DEMO work directory: a previous demo's is cleared, anything else refused."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            raise BadInput(f"{workdir} exists and is not a credline demo directory; choose "
                           "another --workdir")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("created by credline demo; safe to delete\n")


def run_demo(count: int, workdir: Path, stream: IO[str] = sys.stdout,
             plain: bool | None = None, kind: str = "hook") -> DemoResult:
    """``kind`` hook: the C hook on ptys; esp: ESP32 ROM loader doubles, through esptool."""
    before = os.environ.get("CREDLINE_STATION_PASSPHRASE")
    try:
        return _run_demo(count, workdir, stream, plain, kind)
    finally:  # the demo's passphrase is for its own station only
        if before is None:
            os.environ.pop("CREDLINE_STATION_PASSPHRASE", None)


def _run_demo(count: int, workdir: Path, stream: IO[str], plain: bool | None,
              kind: str) -> DemoResult:
    prepare(workdir)
    # The station key is opened the way every station's is (CREDLINE_STATION_PASSPHRASE), so
    # it is made with the passphrase found there: the user's, when the shell exports one.
    station_passphrase = os.environ.setdefault("CREDLINE_STATION_PASSPHRASE", DEMO_PASSPHRASE)
    key = keyfile.create(workdir / "DEMO-master.key", os.urandom(32), DEMO_PASSPHRASE)
    url = f"sqlite:///{workdir / 'registry.db'}"
    with open_registry(url) as registry:
        enroll(workdir / "DEMO-station.key", "DEMO-station", station_passphrase, registry)
    order = workdir / "DEMO-work-order.txt"
    order.write_text("".join(f"DEMO-{i:05d}\n" for i in range(1, count + 1)))
    profile = load_profile(PROFILES[kind])
    batch = "DEMO-batch-1"
    options = StationOptions(batch=batch, work_order=order, registry_url=url,
                             log_path=workdir / "provenance.jsonl",
                             station_key=workdir / "DEMO-station.key", operator="demo",
                             label_dir=workdir / "labels", idle_exit=5.0)
    started = time.monotonic()
    bench: Bench | EspBench
    with (EspBench(workdir / "devices", count) if kind == "esp"
          else Bench(workdir / "devices", count)) as bench:
        options.ports = tuple(bench.ports)
        screen = open_screen(batch, stream, plain=plain)
        try:
            built = build_station(profile, key, options, screen)
            try:
                built.station.run()
            finally:
                built.close()
        finally:
            screen.close()
    seconds = time.monotonic() - started
    with open_registry(url) as registry:
        audit = verify_log(options.log_path, registry)
        status = registry.status(batch)
    station = built.station
    return DemoResult(workdir, count, station.passed, station.failed, seconds, status, audit,
                      key.key_id, options.log_path, workdir / "labels", url)
