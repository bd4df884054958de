"""Several processes race for overlapping serials on one registry: no duplicate, no loss."""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

from credline.registry import Holder, SerialTaken, open_registry

WORKERS = 4
SERIALS = [f"SN{i:03d}" for i in range(40)]


def _station(url: str, index: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    station, batch = f"st{index}", f"B{index}"
    won, lost = [], []
    with open_registry(url) as reg:
        reg.open_batch(batch, "acme-cam", "e98c6960947e8461", "p.toml", station)
        # Each station walks the same serials from a different starting point.
        order = SERIALS[index * 7:] + SERIALS[:index * 7]
        for serial in order:
            try:
                reg.reserve(batch, "acme-cam", serial, station)
            except SerialTaken as exc:
                lost.append((serial, str(exc)))
                continue
            # Every station derives the same fingerprint for a serial, and station 0 also
            # collides deliberately on generation 0 with a shared value.
            digest = hashlib.sha256(serial.encode()).hexdigest()[:32]
            reg.assign_fingerprint(batch, "acme-cam", serial,
                                   lambda g, d=digest: f"{g:032x}{d}" if g or index else "c" * 64)
            reg.mark_written("acme-cam", serial)
            reg.mark_verified("acme-cam", serial)
            reg.mark_locked("acme-cam", serial)
            won.append(serial)
    queue.put((station, won, lost))


def test_racing_stations_never_duplicate_or_lose_a_device(registry_url: str) -> None:
    shared_url = registry_url  # one database (SQLite file or PostgreSQL schema) for all
    open_registry(shared_url).close()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [context.Process(target=_station, args=(shared_url, i, queue))
             for i in range(WORKERS)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    won = [serial for _, serials, _ in results for serial in serials]
    assert sorted(won) == sorted(SERIALS)  # every serial provisioned exactly once
    for _station_id, serials, lost in results:
        for serial, message in lost:
            assert serial not in serials and "already held by batch" in message
    with open_registry(shared_url) as reg:
        fingerprints = [fp for _, fp in reg.fingerprints("acme-cam")]
        assert len(fingerprints) == len(set(fingerprints)) == len(SERIALS)
        assert sum(reg.status().values()) == reg.status()["locked"] == len(SERIALS)


def test_a_station_of_many_ports_asks_from_all_of_them_at_once(registry_url: str) -> None:
    # More ports than SQLAlchemy's default pool (5 + 10): a SQLite registry lends readers it
    # keeps, so a capped pool once made the 16th port wait 30 s, then fail.
    ports = 24
    with open_registry(registry_url) as reg:
        reg.open_batch("B1", "acme-cam", "e98c6960947e8461", "p.toml", "st1")
        reg.prepare_for_station(ports)
        holder = Holder("st1", "run-1", 30.0)
        start = threading.Barrier(ports)

        def hello(port: int) -> object:
            start.wait(timeout=20)
            return reg.claim("B1", "acme-cam", f"hw-{port}", holder, f"port{port}")

        with ThreadPoolExecutor(max_workers=ports) as pool:
            answers = list(pool.map(hello, range(ports), timeout=25))
    assert answers == [None] * ports  # no device has a row to finish
