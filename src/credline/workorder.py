"""The station's work: which serial goes to the next device, and what an earlier run left.

A :class:`WorkQueue` hands out serials in work-order order to many port workers at once,
takes back a serial whose device failed before anything reached the registry as written,
and holds the *resume pool*: devices an earlier run reserved or wrote but did not finish.
A device that reports a pooled serial is adopted (re-verified, locked, committed); pooled
serials only *reserved* (never confirmed written) go back to the queue once every port has
said hello, so a serial is neither skipped nor given to two devices. Pure and thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pending:
    """A device of this batch an earlier run left unfinished."""

    serial: str
    state: str  # "reserved", "written" or "verified"
    generation: int


class WorkQueue:
    """Serials still to provision, and the earlier run's unfinished devices."""

    def __init__(self, serials: Iterable[str] | None, pending: Iterable[Pending] = (),
                 done: Iterable[str] = ()) -> None:
        finished = set(done)
        self._pending = {p.serial: p for p in pending}
        self.from_device = serials is None
        order = [] if serials is None else [s for s in serials
                                            if s not in finished and s not in self._pending]
        self._queue: deque[str] = deque(order)
        self._order = {s: i for i, s in enumerate(serials or ())}
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self.total = None if serials is None else len(self._order)
        self.done_before = len(finished)

    def claim_pending(self, serial: str) -> Pending | None:
        """Take the earlier run's record for ``serial`` if a device reports it (once)."""
        with self._lock:
            found = self._pending.pop(serial, None)
            if found is not None:
                self._in_flight.add(serial)
            return found

    def release_reserved(self) -> list[str]:
        """After the hello sweep: pooled serials never confirmed written go back in order."""
        with self._lock:
            back = sorted((p.serial for p in self._pending.values() if p.state == "reserved"),
                          key=lambda s: self._order.get(s, -1))
            for serial in back:
                del self._pending[serial]
            if not self.from_device:
                self._queue.extendleft(reversed(back))
            return back

    def take(self) -> str | None:
        """The next serial of the work order, or None when it is used up."""
        with self._lock:
            if not self._queue:
                return None
            serial = self._queue.popleft()
            self._in_flight.add(serial)
            return serial

    def start(self, serial: str) -> None:
        """Mark a device-reported serial as in flight."""
        with self._lock:
            self._in_flight.add(serial)

    def give_back(self, serial: str) -> None:
        """A device failed before its serial was written: the next device gets it."""
        with self._lock:
            self._in_flight.discard(serial)
            if not self.from_device:
                position = self._order.get(serial, 0)
                index = sum(1 for s in self._queue if self._order.get(s, 0) < position)
                self._queue.insert(index, serial)

    def finish(self, serial: str) -> None:
        """The serial's device is done (passed, or failed after its serial was written)."""
        with self._lock:
            self._in_flight.discard(serial)

    def hold(self, pending: Pending) -> None:
        """A device left mid-way (unplugged after its record was written): adopt it later."""
        with self._lock:
            self._in_flight.discard(pending.serial)
            self._pending[pending.serial] = pending

    @property
    def left(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def unfinished(self) -> list[Pending]:
        """Earlier-run devices not yet seen (written, so not to be reissued)."""
        with self._lock:
            return sorted(self._pending.values(), key=lambda p: self._order.get(p.serial, -1))

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing in flight."""
        with self._lock:
            return not self._queue and not self._in_flight
