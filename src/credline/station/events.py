"""What a provisioning station reports while it works: events in, a summary model out.

The station emits :class:`PortEvent` and :class:`BatchEvent`; anything that shows progress
(the terminal screen, the browser view, a log, a test) consumes them. :class:`BatchModel`
folds events into the state of every port and the batch counts, and says what the operator
does next on each port (:func:`next_step`); :meth:`BatchModel.state` is the same as plain
data (what the browser view sends). Pure and thread-safe; no terminal, no clock of its own
(times ride on the events). Reasons are plain words for an operator, never a password.

Extending: a new kind of news is a new :class:`PortEvent` phase or a new
:class:`BatchEvent` kind; consumers ignore what they do not know, and ``detail`` carries
free-form per-port progress (for example a transport's "42% written") without a new field.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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
    detail: str | None = None  # progress within a phase ("42% written"); shown as is


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """Batch-level news: started (with the work size), a note, finished."""

    kind: str  # "started", "note", "finished"
    message: str = ""
    total: int | None = None  # devices the work order asks for (None: as many as come)
    done_before: int = 0  # devices already finished in earlier runs of this batch
    at: float = field(default_factory=time.monotonic)
    outcome: str = ""  # finished: "batch closed", "batch left open: ...", ...
    sheet: str = ""  # finished: the label sheet's path, if one was written


Event = PortEvent | BatchEvent


WORKING = frozenset({Phase.HELLO, Phase.RESERVING, Phase.WRITING, Phase.VERIFYING,
                     Phase.LOCKING, Phase.LABEL})
RESULTS = frozenset({Phase.PASS, Phase.FAIL})
LAST_FAILURES = 8


@dataclass(slots=True)
class PortRow:
    """A port: where it is now, and the last device's result, kept until the next device."""

    port: str
    phase: Phase = Phase.WAITING
    serial: str | None = None
    reason: str | None = None
    passed: int = 0
    failed: int = 0
    result: Phase | None = None  # PASS or FAIL of the last device, until the next one starts
    result_serial: str | None = None
    result_reason: str | None = None
    detail: str | None = None

    def copy(self) -> PortRow:
        return PortRow(self.port, self.phase, self.serial, self.reason, self.passed,
                       self.failed, self.result, self.result_serial, self.result_reason,
                       self.detail)


@dataclass(frozen=True, slots=True)
class Failure:
    port: str
    serial: str | None
    reason: str
    at: float


# A failure reason that already says what to do ends with one of these.
_ACTIONS = ("check", "set it aside", "plug", "take it off", "run ", "replace", "try",
            "give", "see ", "report", "remove", "wait", "carry on")
DEFAULT_FAIL_STEP = "set it aside, plug in the next one (two fails in a row: check the cable)"


def next_step(row: PortRow, finished: bool = False) -> str:
    """What the operator does next on this port, in plain words."""
    if row.phase in WORKING and not finished:
        return "working: leave the device plugged in"
    if row.phase is Phase.GONE:
        return "port unplugged: plug the adapter back in"
    if row.result is Phase.FAIL or row.phase is Phase.FAIL:
        reason = (row.result_reason or row.reason or "").rstrip(". ")
        tail = reason.rsplit(":", 1)[-1].rsplit(";", 1)[-1].strip().lower()
        if reason.endswith(")") and "(" in reason:  # "... after 4 tries (check the cable)"
            tail = reason.rsplit("(", 1)[-1].rstrip(")").strip().lower()
        return tail if tail.startswith(_ACTIONS) else DEFAULT_FAIL_STEP
    if row.result is Phase.PASS:
        return ("take it off and stick its label on: batch finished" if finished else
                "take it off, stick its label on, plug in the next device")
    if finished:
        return "batch finished: nothing to plug in"
    if row.phase is Phase.DONE and row.reason:
        return row.reason.rsplit(":", 1)[-1].strip()
    return "plug in the next device"


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
        self.failures: deque[Failure] = deque(maxlen=LAST_FAILURES)
        self.outcome = ""
        self.sheet = ""
        self._lock = threading.Lock()

    def apply(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, BatchEvent):
                self._apply_batch(event)
                return
            row = self.rows.setdefault(event.port, PortRow(event.port))
            if event.phase in WORKING and row.phase not in WORKING:
                row.result = row.result_serial = row.result_reason = None  # the next device
            row.phase = event.phase
            if event.serial is not None or event.phase is Phase.WAITING:
                row.serial = event.serial
            row.reason = event.reason
            row.detail = event.detail
            if event.phase in RESULTS:
                row.result, row.result_serial = event.phase, event.serial
                row.result_reason = event.reason
            if event.phase is Phase.PASS:
                row.passed += 1
                self.passed += 1
            elif event.phase is Phase.FAIL:
                row.failed += 1
                self.failed += 1
                self.failures.append(Failure(event.port, event.serial,
                                             event.reason or "failed", event.at))

    def _apply_batch(self, event: BatchEvent) -> None:
        if event.kind == "started":
            self.started_at = event.at
            self.total = event.total
            self.done_before = event.done_before
        elif event.kind == "finished":
            self.finished = True
            self.outcome, self.sheet = event.outcome, event.sheet
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
            return [r.copy() for r in sorted(self.rows.values(), key=lambda r: r.port)]

    def last_failures(self) -> list[Failure]:
        """The most recent failures, newest first."""
        with self._lock:
            return list(reversed(self.failures))

    def state(self, now: float | None = None) -> dict[str, Any]:
        """Everything a view shows, as plain data (strings unescaped: a view escapes them)."""
        rows = self.snapshot()
        return {
            "batch": self.batch, "passed": self.passed, "failed": self.failed,
            "left": self.remaining, "total": self.total, "done_before": self.done_before,
            "rate_per_hour": round(self.rate_per_hour(now)), "finished": self.finished,
            "outcome": self.outcome, "sheet": self.sheet,
            "ports": [{"port": r.port, "phase": r.phase.value, "serial": r.serial,
                       "reason": r.reason, "detail": r.detail,
                       "result": r.result.value if r.result else None,
                       "result_serial": r.result_serial, "result_reason": r.result_reason,
                       "passed": r.passed, "failed": r.failed,
                       "next": next_step(r, self.finished)} for r in rows],
            "failures": [{"port": f.port, "serial": f.serial, "reason": f.reason}
                         for f in self.last_failures()],
        }
