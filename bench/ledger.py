"""Where a device's bookkeeping goes: the station's ledger alone, without devices.

    python bench/ledger.py [--devices 300] [--profile]

Runs the steps the station takes for each device (reserve, assign, bind = written, verified,
locked) through the real RegistryLedger on a SQLite registry and a signed, fsynced log, and
prints the time per device against a baseline measured in the same run: the durable writes
those steps cannot avoid (4 fsynced log appends and 4 SQLite commits of a one-row update).
``--profile`` adds the cProfile functions that take the most time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from credline.core.lifecycle import DeviceState
from credline.provenance import ProvenanceLog, public_bytes
from credline.registry import open_registry
from credline.station.ledger import RegistryLedger, Scope

KEY_ID = "e98c6960947e8461"
# Per device: reserved (with its fingerprint, as the station reserves), written, verified, locked.
LOG_APPENDS, COMMITS = 4, 4


def ledger_run(root: Path, devices: int) -> float:
    registry = open_registry(f"sqlite:///{root / 'ledger.db'}")
    signer = Ed25519PrivateKey.generate()
    registry.register_station("st1", public_bytes(signer))
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
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="credline-bench-") as tmp:
        root = Path(tmp)
        bare = bare_run(root, args.devices)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        per_device = ledger_run(root, args.devices)
        if profiler:
            profiler.disable()
    print(f"devices                    {args.devices}")
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
