"""What a provisioning station reports while it works: events in, a summary model out.

The station emits :class:`PortEvent` and :class:`BatchEvent`; anything that shows progress
(the operator screen, a log, a test) consumes them. :class:`BatchModel` folds events into the
state of every port and the batch counts. Pure and thread-safe; no terminal, no clock of its
own (times ride on the events). Reasons are plain words for an operator, never a password.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum


class Phase(StrEnum):
    """Where a port is. PASS and FAIL are the results an operator acts on."""

    WAITING = "waiting for device"
    HELLO = "connecting"
    RESERVING = "reserving serial"
    WRITING = "writing"
    VERIFYING = "verifying"
    LOCKING = "locking"
    LABEL = "printing label"
    PASS = "PASS"  # noqa: S105 - a test result, not a password
    FAIL = "FAIL"
    GONE = "unplugged"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class PortEvent:
    port: str
    phase: Phase
    serial: str | None = None
    reason: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """Batch-level news: started (with the work size), a note, finished."""

    kind: str  # "started", "note", "finished"
    message: str = ""
    total: int | None = None  # devices the work order asks for (None: as many as come)
    done_before: int = 0  # devices already finished in earlier runs of this batch
    at: float = field(default_factory=time.monotonic)


Event = PortEvent | BatchEvent


@dataclass(slots=True)
class PortRow:
    port: str
    phase: Phase = Phase.WAITING
    serial: str | None = None
    reason: str | None = None
    passed: int = 0
    failed: int = 0


class BatchModel:
    """Everything the operator screen shows, folded from events."""

    def __init__(self, batch: str) -> None:
        self.batch = batch
        self.rows: dict[str, PortRow] = {}
        self.passed = 0
        self.failed = 0
        self.total: int | None = None
        self.done_before = 0
        self.started_at: float | None = None
        self.finished = False
        self.notes: list[str] = []
        self._lock = threading.Lock()

    def apply(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, BatchEvent):
                self._apply_batch(event)
                return
            row = self.rows.setdefault(event.port, PortRow(event.port))
            row.phase = event.phase
            if event.serial is not None or event.phase is Phase.WAITING:
                row.serial = event.serial
            row.reason = event.reason
            if event.phase is Phase.PASS:
                row.passed += 1
                self.passed += 1
            elif event.phase is Phase.FAIL:
                row.failed += 1
                self.failed += 1

    def _apply_batch(self, event: BatchEvent) -> None:
        if event.kind == "started":
            self.started_at = event.at
            self.total = event.total
            self.done_before = event.done_before
        elif event.kind == "finished":
            self.finished = True
        if event.message:
            self.notes.append(event.message)

    def rate_per_hour(self, now: float | None = None) -> float:
        """Devices passed per hour in this run, from its start (0 until the first PASS)."""
        if self.started_at is None or not self.passed:
            return 0.0
        elapsed = (time.monotonic() if now is None else now) - self.started_at
        return self.passed * 3600.0 / elapsed if elapsed > 0 else 0.0

    @property
    def remaining(self) -> int | None:
        if self.total is None:
            return None
        return max(0, self.total - self.done_before - self.passed)

    def snapshot(self) -> list[PortRow]:
        with self._lock:
            return [PortRow(r.port, r.phase, r.serial, r.reason, r.passed, r.failed)
                    for r in sorted(self.rows.values(), key=lambda r: r.port)]
