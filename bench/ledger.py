"""Where a device's bookkeeping goes: the station's ledger alone, without devices.

    python bench/ledger.py [--devices 300] [--rows 0] [--profile]

Runs the steps the station takes for each device (the HELLO's claim probe; reserve, assign,
bind = written, verified, locked) through the real RegistryLedger on a SQLite registry and a
signed, fsynced log, and prints the time per device against a baseline measured in the same
run: the durable writes those steps cannot avoid (3 fsynced log appends, the reservation's
entry going with the binding's, and 4 SQLite commits of a one-row update). ``--rows N``
first fills the registry with N devices of the same product from earlier batches, as a line
some months old has: a device's moves must not cost more as the registry grows. ``--profile``
adds the cProfile functions that take the most time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, text

from credline.core.lifecycle import DeviceState
from credline.provenance import ProvenanceLog, public_bytes
from credline.registry import Registry, open_registry
from credline.registry import schema as s
from credline.station.ledger import RegistryLedger, Scope

KEY_ID = "e98c6960947e8461"
# Per device: reserved and written in one append, verified, locked; reserved (with its
# fingerprint, as the station reserves), written, verified, locked in the registry.
LOG_APPENDS, COMMITS = 3, 4


def fill(registry: Registry, rows: int) -> None:
    """``rows`` locked devices of the product in an earlier batch, written in bulk."""
    if not rows:
        return
    registry.open_batch("B0", "bench", KEY_ID, "p.toml", "st1")
    stamp = dt.datetime.now(dt.UTC)
    with registry._tx() as conn:
        conn.execute(insert(s.devices), [
            dict(product="bench", serial=f"OLD{i:08d}", batch_id="B0", generation=0,
                 key_id=KEY_ID, fingerprint=f"f{i:063x}", state=DeviceState.LOCKED.value,
                 station_id="st1", run_id="", lease_until=None, hardware_id=f"OLDHW{i:08d}",
                 port="p0", reason="", created_at=stamp, updated_at=stamp)
            for i in range(rows)])


def ledger_run(root: Path, devices: int, rows: int) -> float:
    registry = open_registry(f"sqlite:///{root / 'ledger.db'}")
    signer = Ed25519PrivateKey.generate()
    registry.register_station("st1", public_bytes(signer))
    fill(registry, rows)
    registry.open_batch("B1", "bench", KEY_ID, "p.toml", "st1")
    log = ProvenanceLog.open(root / "ledger.jsonl", signer, "st1")
    ledger = RegistryLedger(registry, log, Scope("B1", "bench", KEY_ID, "st1"))
    start = time.perf_counter()
    for i in range(devices):
        serial, hwid = f"SN{i:06d}", f"HW{i:06d}"
        ledger.claim(hwid, "p0")  # what every HELLO asks first
        fingerprint_at = lambda g, i=i: f"{i:056x}{g:08x}"  # noqa: E731
        ledger.reserve(serial, "p0", hwid, fingerprint_at)  # as the station reserves
        generation, fingerprint = ledger.assign(serial, fingerprint_at)
        ledger.bind(serial, "p0", hwid, generation, fingerprint)
        ledger.advance(serial, DeviceState.VERIFIED, "p0")
        ledger.advance(serial, DeviceState.LOCKED, "p0", seconds=0.1)
    elapsed = time.perf_counter() - start
    ledger.close()
    registry.close()
    return elapsed / devices


def bare_run(root: Path, devices: int) -> float:
    """The same number of durable writes, with no bookkeeping around them."""
    registry = open_registry(f"sqlite:///{root / 'bare.db'}")
    log = ProvenanceLog.open(root / "bare.jsonl", Ed25519PrivateKey.generate(), "st1")
    start = time.perf_counter()
    for i in range(devices):
        for _ in range(LOG_APPENDS):
            log.append("bench", serial=f"SN{i:06d}")
        for _ in range(COMMITS):
            with registry._tx() as conn:
                conn.execute(text("UPDATE credline_schema SET version = version"))
    elapsed = time.perf_counter() - start
    registry.close()
    return elapsed / devices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--rows", type=int, default=0,
                        help="devices of earlier batches already in the registry")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="credline-bench-") as tmp:
        root = Path(tmp)
        bare = bare_run(root, args.devices)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        per_device = ledger_run(root, args.devices, args.rows)
        if profiler:
            profiler.disable()
    print(f"devices                    {args.devices} (registry holding {args.rows} more)")
    print(f"bare durable writes        {bare * 1000:.2f} ms/device "
          f"({LOG_APPENDS} log appends + {COMMITS} commits)")
    print(f"ledger bookkeeping         {per_device * 1000:.2f} ms/device")
    print(f"ratio to the bare writes   {per_device / bare:.2f}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print(out.getvalue())


if __name__ == "__main__":
    main()
