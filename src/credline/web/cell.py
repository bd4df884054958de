"""A cell's live state from its shared registry: every station's counts in every batch.

Read only. One grouped count per look (:meth:`credline.registry.Registry.station_counts`),
plus the failed rows of open batches for the "last failures" list; looks are shared between
browser clients and made at most once a second, so any number of screens on the shop floor
cost the registry one query a second.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from credline.core.lifecycle import DeviceState
from credline.registry import Registry

MIN_INTERVAL = 1.0
LAST_FAILURES = 10


class CellState:
    """A callable giving the cell's state; cached for :data:`MIN_INTERVAL` seconds."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._lock = threading.Lock()
        self._cached: dict[str, Any] | None = None
        self._at = 0.0

    def __call__(self) -> dict[str, Any]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._at >= MIN_INTERVAL:
                self._cached = read_cell(self._registry)
                self._at = time.monotonic()
            return self._cached


def read_cell(registry: Registry) -> dict[str, Any]:
    """``{"stations": [...], "batches": [{batch, product, state, stations: [counts]}],
    "failures": [...]}`` from the registry as it is now."""
    batches = {b["batch_id"]: b for b in registry.batches()}
    per: dict[tuple[str, str], dict[str, int]] = {}
    for batch, station, state, count in registry.station_counts():
        per.setdefault((batch, station), {})[state] = count
    out: list[dict[str, Any]] = []
    for batch_id, info in batches.items():
        rows = [{"station": station, **_counts(counts)}
                for (b, station), counts in sorted(per.items()) if b == batch_id]
        out.append({"batch": batch_id, "product": info["product"], "state": info["state"],
                    "stations": rows})
    failures = []
    for batch_id, info in batches.items():
        if info["state"] != "open":
            continue
        for device in registry.devices(batch_id, DeviceState.FAILED)[-LAST_FAILURES:]:
            failures.append({"batch": batch_id, "station": device.station_id,
                             "serial": device.serial, "reason": device.reason})
    stations = sorted({station for (_, station) in per} | set(registry.station_keys()))
    return {"stations": stations, "batches": out, "failures": failures[-LAST_FAILURES:]}


def _counts(counts: dict[str, int]) -> dict[str, int]:
    in_flight = sum(counts.get(s.value, 0) for s in DeviceState if s.in_flight)
    return {"locked": counts.get(DeviceState.LOCKED.value, 0),
            "failed": counts.get(DeviceState.FAILED.value, 0),
            "retired": counts.get(DeviceState.RETIRED.value, 0), "in_flight": in_flight}
