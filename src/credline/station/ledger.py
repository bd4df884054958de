"""The station's ledger: the registry and the provenance log as one, for one batch, one run.

Write-ahead order, everywhere a password's fate changes: the signed log entry is appended
(and fsynced) first, then the registry moves and acknowledges that entry as the station's
log head. After a crash the log may be one step ahead of the registry, never behind it,
which is what ``audit verify`` checks. (A reservation is the exception: the registry
decides who wins a serial, so its row comes first and its entry after; a reserved row
holds no password, and a reserved row without an entry is allowed by the audit. The entry
goes to the log together with the device's next one, ``device.written`` as a rule, in one
write and one fsync, and so before any password is bound.)

Rows in flight are held under a lease that a background thread renews for the devices this
run is working on; a device that goes away mid-way is *parked* (its lease lapses at once), so
the same device can be finished on any station of the cell.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from credline.core.errors import BadInput, CredlineError, os_failure
from credline.core.lifecycle import DeviceState
from credline.provenance import ProvenanceLog, line_hash_of
from credline.registry import (
    Ack,
    ClaimRefused,
    Device,
    Holder,
    IllegalTransition,
    Registry,
    SerialTaken,
)
from credline.registry.devices import Finished, InProgress
from credline.station.contracts import AlreadyDone, Busy, LeaseLost, Refused
from credline.station.queue import Pending

DEFAULT_LEASE = 30.0  # seconds; renewed every third of it


class RunLock:
    """One run per station log at a time: an exclusive lock on ``LOG.lock`` beside it.

    The registry's holder rules let a station resume its own rows whatever their lease; two
    runs of one station at once would both be "its own". The OS drops the lock when the
    process dies, so a station killed with SIGKILL can start again at once.
    """

    def __init__(self, log_path: Path, station_id: str) -> None:
        self.path = log_path.with_name(log_path.name + ".lock")
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise os_failure(exc, f"{self.path}: cannot create the station's run lock"
                             ) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise BadInput(f"station {station_id!r} is already running on {log_path} (another "
                           "'credline station run' holds it): one run per station") from None

    def release(self) -> None:
        os.close(self._fd)  # closing the descriptor drops the lock


def seal_batch(registry: Registry, log: ProvenanceLog, batch_id: str) -> bool:
    """Close the batch with a checkpoint in ``log``, if nothing of it is in flight on any
    station; the checkpoint is written under the registry's lock on the batch row."""
    def seal() -> tuple[int, str, Ack]:
        entry = log.checkpoint(batch_id)
        fields = entry["fields"]
        ack = Ack(log.station_id, int(entry["seq"]), line_hash_of(entry))
        return int(fields["entries"]), str(fields["head"]), ack

    return registry.close_batch(batch_id, log.station_id, seal)


@dataclass(frozen=True)
class Scope:
    """Who writes, for what: the batch, product and key, this station and its operator."""

    batch: str
    product: str
    key_id: str
    station_id: str
    operator: str = ""


class RegistryLedger:
    """Registry rows and signed log entries for one batch, one station run."""

    def __init__(self, registry: Registry, log: ProvenanceLog, scope: Scope, *,
                 closed: bool = False, lease: float = DEFAULT_LEASE, ports: int = 1) -> None:
        self.registry = registry
        self.log = log
        self.scope = scope
        self.closed = closed  # a rerun of a finished batch: nothing may be added to it
        self.holder = Holder(scope.station_id, secrets.token_hex(8), lease)
        # Guards the set of devices in flight. The log has its own writer lock; registry
        # moves happen outside both: the write-ahead rule is per device.
        self._lock = threading.Lock()
        self._active: set[str] = set()
        # What each device this run bound or claimed holds (key id, generation, fingerprint,
        # hardware id): every later entry repeats them, without a registry read each time.
        self._facts: dict[str, dict[str, object]] = {}
        self._reserved: dict[str, Device] = {}  # rows reserve() returned, until assign()
        # Reservations whose entry waits for the device's next entry (see the module).
        self._unlogged: dict[str, dict[str, object]] = {}
        registry.prepare_for_station(ports)
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name="lease renewal",
                                         daemon=True)
        self._renewer.start()

    @property
    def station_id(self) -> str:
        return self.scope.station_id

    # -- plumbing ----------------------------------------------------------------------------
    def _record(self, event: str, serial: str | None = None, **fields: object) -> Ack:
        """Append the entry (after the serial's reservation entry, if that still waits);
        returns the acknowledgement of the last one."""
        items = []
        if serial is not None:
            fields["serial"] = serial
            reserved = self._unlogged.pop(serial, None)
            if reserved is not None:
                items.append(("device.reserved", self._stamped(reserved)))
        items.append((event, self._stamped(fields)))
        # The log orders its writers itself, and ports that append at once share one fsync.
        last = self.log.append_all(items)[-1]
        return Ack(self.scope.station_id, last.seq, last.line_hash)

    def _stamped(self, fields: dict[str, object]) -> dict[str, object]:
        return {"batch": self.scope.batch, "product": self.scope.product,
                "operator": self.scope.operator, **fields}

    def flush(self) -> None:
        """Write the reservation entries still waiting for a next entry (a run that ends
        between a reservation and its device's next step)."""
        waiting = [self._unlogged.pop(serial) for serial in list(self._unlogged)]
        if waiting:
            self.log.append_all([("device.reserved", self._stamped(fields))
                                 for fields in waiting])

    def _renew(self) -> None:
        period = self.holder.lease / 3
        while not self._stop.wait(period):
            with self._lock:
                serials = set(self._active)
            # A registry that went away shows on the next move; the lease then lapses,
            # which is the safe outcome.
            with contextlib.suppress(Exception):
                self.registry.renew(self.holder, serials)

    def close(self) -> None:
        self._stop.set()
        self._renewer.join(timeout=5)
        # Best effort: a reservation's entry is one the audit can do without, and a log
        # that cannot be written has already stopped the run with its own message.
        with contextlib.suppress(CredlineError):
            self.flush()

    def _working(self, serial: str, on: bool) -> None:
        with self._lock:
            (self._active.add if on else self._active.discard)(serial)

    # -- the batch ---------------------------------------------------------------------------
    def resume(self) -> tuple[list[Pending], list[str]]:
        """(this station's unfinished devices, serials already done in the batch).

        Reservations this station left behind are released first: no password went out for
        them (a password is bound to its device before it is sent).
        """
        rows = self.registry.devices(self.scope.batch)
        mine = [d for d in rows if d.station_id == self.scope.station_id]
        for device in mine:
            if device.state is DeviceState.RESERVED:
                self.release(device.serial, device.port, "left reserved by an earlier run")
        pending = [Pending(d.serial, d.state, d.generation) for d in mine
                   if d.state.bound and d.state is not DeviceState.LOCKED]
        return pending, _done(rows)

    def done(self) -> list[str]:
        return _done(self.registry.devices(self.scope.batch))

    def unfinished(self) -> list[Pending]:
        """This station's written or verified devices, still waiting for their device."""
        return [Pending(d.serial, d.state, d.generation)
                for d in self.registry.devices(self.scope.batch,
                                               station_id=self.scope.station_id)
                if d.state in (DeviceState.WRITTEN, DeviceState.VERIFIED)]

    def finish(self, complete: bool) -> str:
        """End of run: close the batch with a signed checkpoint when nothing of it is in
        flight on any station; otherwise say why it stays open."""
        self.flush()
        if self.closed:
            return "batch was already closed"
        if complete:
            sealed = seal_batch(self.registry, self.log, self.scope.batch)
            if sealed:
                self.closed = True
                return "batch closed"
        busy = self.registry.in_flight(self.scope.batch)
        if busy:
            stations = sorted({d.station_id or "nobody" for d in busy})
            return (f"batch left open: {len(busy)} device(s) in flight (held by "
                    f"{', '.join(stations)})")
        batch = self.registry.batch(self.scope.batch)
        if batch is not None and batch["state"] == "closed":
            self.closed = True
            return f"batch closed by station {batch['closed_by']}"
        return "batch left open: run again to resume"

    # -- one device --------------------------------------------------------------------------
    def reserve(self, serial: str, port: str, hardware_id: str,
                fingerprint_at: Callable[[int], str] | None = None) -> None:
        """Hold ``serial`` for this device; with ``fingerprint_at``, a new row gets its
        generation and fingerprint in the same transaction (``assign`` then reads nothing)."""
        if self.closed:
            raise Refused(f"batch {self.scope.batch} is closed: start a new batch for more "
                          "devices")
        try:
            row = self.registry.reserve(self.scope.batch, self.scope.product, serial,
                                        self.holder, port, hardware_id,
                                        fingerprint_at=fingerprint_at)
        except InProgress as exc:
            raise Busy(str(exc)) from None
        except Finished as exc:
            raise AlreadyDone(str(exc)) from None
        except SerialTaken as exc:
            raise Refused(str(exc)) from None
        self._working(serial, True)
        self._reserved[serial] = row
        self._unlogged[serial] = {"serial": serial, "port": port, "hardware_id": hardware_id}

    def assign(self, serial: str, fingerprint_at: Callable[[int], str]) -> tuple[int, str]:
        return self.registry.assign_fingerprint(self.scope.batch, self.scope.product, serial,
                                                fingerprint_at,
                                                current=self._reserved.pop(serial, None))

    def bind(self, serial: str, port: str, hardware_id: str, generation: int,
             fingerprint: str) -> None:
        """written: the password now belongs to this device alone (before it is sent)."""
        facts: dict[str, object] = {"key_id": self.scope.key_id, "generation": generation,
                                    "fingerprint": fingerprint, "hardware_id": hardware_id}
        ack = self._record("device.written", serial, port=port, **facts)
        self._facts[serial] = facts
        self._guard(lambda: self.registry.mark_written(
            self.scope.product, serial, hardware_id, holder=self.holder, ack=ack), serial)

    def claim(self, hardware_id: str, port: str) -> Pending | None:
        """The unfinished row bound to this device, now ours; None when it has none."""
        try:
            device = self.registry.claim(self.scope.batch, self.scope.product, hardware_id,
                                         self.holder, port)
        except ClaimRefused as exc:
            raise Busy(str(exc)) from None
        if device is None:
            return None
        self._working(device.serial, True)
        self._facts[device.serial] = _facts_of(device)
        # Registry first (it decides who may take the row), then the entry, as a reservation.
        self._record("device.claimed", device.serial, port=port, hardware_id=hardware_id)
        return Pending(device.serial, device.state, device.generation)

    def release(self, serial: str, port: str, reason: str) -> None:
        ack = self._record("device.released", serial, port=port, reason=reason)
        self._working(serial, False)
        self._reserved.pop(serial, None)
        self._guard(lambda: self.registry.release(
            self.scope.batch, self.scope.product, serial, holder=self.holder, ack=ack), serial)

    def advance(self, serial: str, state: DeviceState, port: str, **fields: object) -> None:
        """written -> verified -> locked, each after its signed entry."""
        facts = self._facts.get(serial)
        if facts is None:  # not bound or claimed by this run: the registry has them
            device = self.registry.device(self.scope.product, serial)
            facts = {} if device is None else _facts_of(device)
        ack = self._record(f"device.{state}", serial, port=port, **facts, **fields)
        move = {DeviceState.VERIFIED: self.registry.mark_verified,
                DeviceState.LOCKED: self.registry.mark_locked}[state]
        self._guard(lambda: move(self.scope.product, serial, holder=self.holder, ack=ack),
                    serial, already=state)
        if state is DeviceState.LOCKED:
            self._working(serial, False)
            self._facts.pop(serial, None)

    def fail(self, serial: str, port: str, reason: str) -> None:
        ack = self._record("device.failed", serial, port=port, reason=reason)
        self._working(serial, False)
        self._facts.pop(serial, None)
        self._guard(lambda: self.registry.mark_failed(
            self.scope.product, serial, reason, holder=self.holder, ack=ack), serial,
            already=DeviceState.FAILED)

    def park(self, serial: str) -> None:
        """The device went away mid-way: let any station that sees it again finish it."""
        self._working(serial, False)
        self.registry.park(self.scope.product, serial, self.holder)

    def _guard(self, move: Callable[[], Device | None], serial: str,
               already: DeviceState | None = None) -> None:
        """Run a registry move; a row another station took over is left alone."""
        try:
            move()
        except IllegalTransition:
            current = self.registry.device(self.scope.product, serial)
            if current is not None and already is not None and current.state is already \
                    and current.station_id == self.scope.station_id:
                return  # a resumed step the registry had already taken
            self._working(serial, False)
            holder = "nobody" if current is None else current.station_id
            state = "gone" if current is None else current.state
            raise LeaseLost(f"serial {serial} is now {state} and held by {holder}: this "
                            "station lost its lease and leaves it alone") from None

    # -- looking up --------------------------------------------------------------------------
    def row(self, serial: str) -> Device | None:
        return self.registry.device(self.scope.product, serial)

    def locked(self) -> list[tuple[str, int]]:
        """(serial, generation) of every device locked in this batch, by any station."""
        return sorted((d.serial, d.generation)
                      for d in self.registry.devices(self.scope.batch, DeviceState.LOCKED))


def _done(rows: list[Device]) -> list[str]:
    return [d.serial for d in rows if not d.state.in_flight]


def _facts_of(device: Device) -> dict[str, object]:
    return {"key_id": device.key_id, "generation": device.generation,
            "fingerprint": device.fingerprint, "hardware_id": device.hardware_id}
