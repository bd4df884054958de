"""The station's work: which serial goes to the next device.

A :class:`WorkQueue` hands out serials in work-order order to many port workers at once,
takes back a serial whose device failed before its password was bound to it, and keeps
aside (*defers*) serials another station of the cell has in flight, offering them again once
the work order is used up, in case that station let them lapse. Serials done in the batch and
this station's unfinished ones (finished when their own device comes back) are never handed
out. Pure and thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from credline.core.lifecycle import DeviceState


@dataclass(frozen=True, slots=True)
class Pending:
    """A device of this batch whose password is bound to it but which is not finished."""

    serial: str
    state: DeviceState  # written or verified
    generation: int


class WorkQueue:
    """Serials still to provision, in order; the registry decides who really gets each."""

    def __init__(self, serials: Iterable[str] | None, done: Iterable[str] = (),
                 held: Iterable[str] = ()) -> None:
        skip = set(done) | set(held)
        self.from_device = serials is None
        self._order = {s: i for i, s in enumerate(serials or ())}
        self._queue: deque[str] = deque(s for s in self._order if s not in skip)
        self._deferred: deque[str] = deque()
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self.total = None if serials is None else len(self._order)
        self.done_before = len(set(done) & set(self._order)) if serials is not None \
            else len(set(done))

    def take(self) -> str | None:
        """The next serial of the work order (then the deferred ones), or None."""
        with self._lock:
            source = self._queue or self._deferred
            if not source:
                return None
            serial = source.popleft()
            self._in_flight.add(serial)
            return serial

    def start(self, serial: str) -> None:
        """Mark a device-reported serial, or an adopted one, as in flight."""
        with self._lock:
            self._in_flight.add(serial)

    claimed = start

    def give_back(self, serial: str) -> None:
        """A device failed before its password was bound: the next device gets the serial."""
        with self._lock:
            self._in_flight.discard(serial)
            if not self.from_device:
                position = self._order.get(serial, 0)
                index = sum(1 for s in self._queue if self._order.get(s, 0) < position)
                self._queue.insert(index, serial)

    def defer(self, serial: str) -> None:
        """Another station has it in flight: offer it again after the rest."""
        with self._lock:
            self._in_flight.discard(serial)
            if serial not in self._deferred and not self.from_device:
                self._deferred.append(serial)

    def drop(self, serials: Iterable[str]) -> None:
        """The batch is done with these elsewhere (another station of the cell): never hand
        them out, and do not count them as left."""
        gone = set(serials)
        with self._lock:
            self._queue = deque(s for s in self._queue if s not in gone)
            self._deferred = deque(s for s in self._deferred if s not in gone)

    def finish(self, serial: str) -> None:
        """The serial's device is done here (passed, failed, or parked for its device)."""
        with self._lock:
            self._in_flight.discard(serial)

    @property
    def left(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def deferred(self) -> list[str]:
        with self._lock:
            return list(self._deferred)

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing in flight (deferred serials are others' work)."""
        with self._lock:
            return not self._queue and not self._in_flight
