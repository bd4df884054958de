"""The provisioning station: many ports at once, each device end to end, resumable after a crash.

One worker thread per port. For each device: HELLO; if the registry holds an unfinished row
bound to this device's hardware id (an earlier run's, or another station's that let go of
it), finish that one; else pick a serial (the work order's next, or the one the device
reports), reserve it, derive, check the password against the profile, bind it to the device
(written), PUT, VERIFY, LOCK, commit, label, PASS. Every step is recorded through a
:class:`Ledger` (registry + provenance log, durable before the next step; the verified step
while LOCK flashes), so the same command run again after any crash carries on. A password is
bound to one hardware id before it leaves the station, so it can only ever be finished on
that device: nothing is skipped, nothing is given to two devices, by this station or any
other station of the cell.

The station owns the order of steps and nothing else: devices are reached through a
:class:`Link` (the serial hook transport), the registry and log through a :class:`Ledger`,
the operator through events (:mod:`credline.station.events`). It never prints, never opens a port
itself and never writes a password anywhere but the device and the label.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from credline.core.derive import Deriver
from credline.core.device import (
    Connect,
    DeviceFault,
    DeviceHello,
    HookState,
    Link,
)
from credline.core.errors import CredlineError
from credline.core.escape import escape_text
from credline.core.lifecycle import DeviceState
from credline.core.policy import Profile
from credline.labels import LabelSink
from credline.station.contracts import AlreadyDone, Busy, Ledger, Refused, StationConfig
from credline.station.events import BatchEvent, Event, Phase, PortEvent
from credline.station.queue import WorkQueue
from credline.station.steps import DeviceSteps
from credline.transport.ports import PortWatcher

if TYPE_CHECKING:
    from credline.registry import Device


@dataclass
class PortStatus:
    busy: bool = False
    settled: bool = False  # the current device needs nothing more (or there is none)
    last: tuple[str, str] | None = None  # (hardware id, outcome) last reported, to not repeat



class Station(DeviceSteps):
    """Runs one batch over whatever ports the watcher reports."""

    aside: ThreadPoolExecutor  # always: a station has devices that flash

    def __init__(self, config: StationConfig, profile: Profile, deriver: Deriver,
                 ledger: Ledger, connect: Connect, watcher: PortWatcher,
                 labels: LabelSink | None, emit: Callable[[Event], None],
                 serials: Iterable[str] | None) -> None:
        self.config = config
        self.profile = profile
        self.deriver = deriver
        self.ledger = ledger
        self.connect = connect
        self.watcher = watcher
        self.labels = labels
        # Work done while devices flash: label drafts, verified steps recorded during LOCK.
        # Threads made on first use; each task takes a millisecond or two, a LOCK 15.
        self.aside = ThreadPoolExecutor(max_workers=4, thread_name_prefix="aside")
        self.emit = emit
        pending, done = ledger.resume()
        self.queue = WorkQueue(serials, done, held=[p.serial for p in pending])
        self._resumed = len(pending)
        self._ports: dict[str, PortStatus] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._gone: set[str] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._fatal: BaseException | None = None
        self.passed = 0
        self.failed = 0
        self.interrupted = False
        self._last_activity = time.monotonic()

    # -- the run -------------------------------------------------------------------------

    def run(self) -> bool:
        """Provision until the work is done (or interrupted); True when nothing is left over."""
        self.emit(BatchEvent("started", self._start_message(), total=self.queue.total,
                             done_before=self.queue.done_before))
        self._discover()
        try:
            while not self._stop.is_set():
                if self._fatal is not None or self._finished():
                    break
                time.sleep(self.config.poll)
                self._discover()
        except KeyboardInterrupt:
            self.interrupted = True
            self.emit(BatchEvent("note", "interrupted: finishing the devices in flight"))
        finally:
            self._stop.set()
            for thread in list(self._threads.values()):
                thread.join()
            self.aside.shutdown()
        if self._fatal is not None:
            raise self._fatal
        return self._wrap_up()

    def stop(self) -> None:
        """Finish devices in flight, then end the run (Ctrl-C)."""
        self._stop.set()

    def _start_message(self) -> str:
        left = "devices as they come" if self.queue.total is None else (
            f"{self.queue.left + self._resumed} of {self.queue.total} to go")
        extra = (f", resuming {self._resumed} unfinished from an earlier run"
                 if self._resumed else "")
        return (f"batch {self.config.batch}: {self.profile.product}, key "
                f"{self.deriver.key_id}, {left}{extra}")

    def _discover(self) -> None:
        appeared, gone = self.watcher.poll()
        with self._lock:
            self._gone.update(gone)
            self._gone.difference_update(appeared)
        for port in gone:
            self.emit(PortEvent(port, Phase.GONE, reason="port disappeared"))
        for port in appeared:
            if port in self._threads and self._threads[port].is_alive():
                continue
            self._ports[port] = PortStatus()
            thread = threading.Thread(target=self._serve_port, args=(port,),
                                      name=f"port {port}", daemon=True)
            self._threads[port] = thread
            thread.start()

    def _finished(self) -> bool:
        with self._lock:
            statuses = list(self._ports.values())
        if any(s.busy for s in statuses):
            return False
        settled = all(s.settled for s in statuses)
        if self.config.count is not None and self.passed >= self.config.count:
            return True
        if self.config.keep_running:
            return False
        idle_for = time.monotonic() - self._last_activity
        if self.config.idle_exit is not None and settled and idle_for > self.config.idle_exit:
            return True
        if self.queue.from_device:
            return settled and bool(statuses)
        return self.queue.idle and settled and bool(statuses)

    def _wrap_up(self) -> bool:
        unfinished = self.ledger.unfinished()
        if self.queue.left or self.queue.deferred:
            # Other stations of the cell may have done the rest of the work order meanwhile:
            # the last station to finish must see it, or nobody closes the batch.
            self.queue.drop(self.ledger.done())
        mine_done = (not self.queue.from_device and self.queue.left == 0 and not unfinished)
        outcome = self.ledger.finish(mine_done)
        sheet = self._write_sheet()
        notes = []
        if unfinished:
            serials = ", ".join(p.serial for p in unfinished[:10])
            notes.append(f"{len(unfinished)} device(s) written but not finished were not "
                         f"seen again: plug them in and run the same command again "
                         f"({serials})")
        if self.queue.left:
            notes.append(f"{self.queue.left} serial(s) of the work order not used yet")
        if self.queue.deferred:
            notes.append(f"{len(self.queue.deferred)} serial(s) in progress on other stations")
        if sheet:
            notes.append(f"label sheet {sheet}")
        notes.append(outcome)
        self.emit(BatchEvent("finished", "; ".join(notes), outcome=outcome, sheet=sheet or ""))
        nothing_left = mine_done or (self.queue.from_device and not unfinished)
        return nothing_left and self.failed == 0

    def _write_sheet(self) -> str | None:
        if self.labels is None:
            return None
        labels = [self._label(serial, generation) for serial, generation in self.ledger.locked()]
        path = self.labels.write_sheet(labels)
        return None if path is None else str(path)

    # -- one port ------------------------------------------------------------------------

    def _serve_port(self, port: str) -> None:
        status = self._ports[port]
        try:
            while not self._stop.is_set() and not self._is_gone(port):
                self._attempt(port, status)
                if status.settled:
                    self._stop.wait(self.config.poll)
        except Exception as exc:
            # Device faults never get here: each step turns them into that device's FAIL.
            # What does is the registry, the log, the key, the printer or a bug: nothing may
            # go on, but the operator hears which port met it. A bug's text is not shown: it
            # could hold anything, a password included.
            self._fatal = exc
            self._stop.set()
            what = (escape_text(str(exc)) if isinstance(exc, CredlineError) else
                    f"internal error ({type(exc).__name__}), a bug in credline: please report it")
            self.emit(PortEvent(port, Phase.FAIL, None, f"{what}; the station stops once the "
                                "devices in flight on other ports are done"))
        except BaseException as exc:
            self._fatal = exc
            self._stop.set()

    def _is_gone(self, port: str) -> bool:
        with self._lock:
            return port in self._gone

    def _attempt(self, port: str, status: PortStatus) -> None:
        try:
            link = self.connect(port)
        except DeviceFault as exc:
            self._settle(port, status, ("", "absent"), Phase.WAITING, None, str(exc))
            return
        try:
            self._handle(port, status, link)
        finally:
            link.close()

    def _handle(self, port: str, status: PortStatus, link: Link) -> None:
        try:
            hello = link.hello()
        except DeviceFault as exc:
            # Keyed by what happened, not the message: noise on the line garbles each
            # reply differently, and the operator needs to hear about it once.
            self._settle(port, status, ("?", "no hello"), Phase.FAIL, None, str(exc))
            return
        if status.last in ((hello.hardware_id, "passed"), (hello.hardware_id, "failed")):
            with self._lock:  # the device just reported stays until the operator takes it
                status.settled = True
            return
        try:
            pending = self.ledger.claim(hello.hardware_id, port)
        except Busy as exc:
            self._settle(port, status, (hello.hardware_id, "busy"), Phase.FAIL, hello.serial,
                         str(exc))
            return
        if pending is not None:
            self.queue.claimed(pending.serial)
            self._run_device(status, hello.hardware_id,
                             lambda: self._adopt(port, link, hello, pending))
        elif hello.state is HookState.LOCKED:
            self._locked_device(port, status, hello)
        elif hello.serial and self._claims_anothers(port, status, hello):
            return
        else:
            self._new_device(port, status, link, hello)

    def _claims_anothers(self, port: str, status: PortStatus, hello: DeviceHello) -> bool:
        """A device holding a serial of this batch that is bound to another device: set it
        aside and change nothing (its claim cannot be proven, and the row is not its own)."""
        assert hello.serial is not None
        row = self.ledger.row(hello.serial)
        if row is None or row.batch_id != self.config.batch or not row.state.bound:
            return False
        self._set_aside_claim(port, status, hello, row, "holds")
        return True

    def _set_aside_claim(self, port: str, status: PortStatus, hello: DeviceHello,
                         row: Device, holds: str) -> None:
        self._settle(port, status, (hello.hardware_id, "claims"), Phase.FAIL, row.serial,
                     f"device {hello.hardware_id} {holds} serial {row.serial}, which this "
                     f"batch gave to device {row.hardware_id} ({row.state}): set it aside; "
                     "the registry is unchanged")

    def _locked_device(self, port: str, status: PortStatus, hello: DeviceHello) -> None:
        serial = hello.serial or "?"
        row = self.ledger.row(serial) if hello.serial else None
        if row is not None and row.batch_id == self.config.batch:
            if row.state is DeviceState.LOCKED and row.hardware_id == hello.hardware_id:
                if row.station_id == self.ledger.station_id:  # its label was printed here
                    self._reprint_if_missing(port, serial)
                self._settle(port, status, (hello.hardware_id, "done"), Phase.DONE, serial,
                             "already provisioned in this batch: take it off")
            else:
                self._set_aside_claim(port, status, hello, row, "is locked with")
            return
        where = ("" if row is None else
                 f" (batch {row.batch_id} on station {row.station_id}, {row.state})")
        self._settle(port, status, (hello.hardware_id, "foreign"), Phase.FAIL, serial,
                     f"device is already locked with serial {serial}{where}, not by this batch: "
                     "set it aside")

    def _new_device(self, port: str, status: PortStatus, link: Link, hello: DeviceHello) -> None:
        if self._stop.is_set():
            return
        serial = self._reserve_next(port, status, hello)
        if serial is not None:
            chosen = serial
            self._run_device(status, hello.hardware_id,
                             lambda: self._provision(port, link, hello, chosen))

    def _reserve_next(self, port: str, status: PortStatus, hello: DeviceHello) -> str | None:
        """The serial for a blank device, reserved; None (and reported) when there is none."""
        tried: set[str] = set()
        while True:
            if self.queue.from_device:
                serial: str | None = hello.hardware_id
                self.queue.start(hello.hardware_id)
            else:
                serial = self.queue.take()
            if serial is None or serial in tried:
                if serial is not None:
                    self.queue.defer(serial)
                busy = len(self.queue.deferred)
                extra = f" ({busy} in progress on other stations)" if busy else ""
                self._settle(port, status, (hello.hardware_id, "no-work"), Phase.DONE, None,
                             f"work order complete: no serial left for this device{extra}")
                return None
            tried.add(serial)
            self.emit(PortEvent(port, Phase.RESERVING, serial))
            try:
                self.ledger.reserve(serial, port, hello.hardware_id,
                                    self._fingerprint_at(serial))
                return serial
            except Busy:
                self.queue.defer(serial)  # another station's; it may lapse back to us
                if self.queue.from_device:
                    self._settle(port, status, (hello.hardware_id, "taken"), Phase.FAIL,
                                 serial, f"serial {serial} is in progress on another station")
                    return None
            except AlreadyDone:
                self.queue.finish(serial)  # another station of the cell did it: move on
                if self.queue.from_device:
                    self._settle(port, status, (hello.hardware_id, "taken"), Phase.FAIL,
                                 serial, f"the device's serial {serial} is already done in "
                                 "this batch: set it aside")
                    return None
            except Refused as exc:
                self.queue.finish(serial)
                if self.queue.from_device:
                    self._settle(port, status, (hello.hardware_id, "taken"), Phase.FAIL,
                                 serial, f"the device's serial {serial} is already "
                                 f"registered ({exc}): set it aside")
                    return None
                self.emit(BatchEvent("note", f"serial {serial} skipped: {exc}"))

    def _run_device(self, status: PortStatus, hardware_id: str,
                    job: Callable[[], bool]) -> None:
        with self._lock:
            status.busy = True
            status.settled = False
        try:
            ok = job()
        finally:
            with self._lock:
                status.busy = False
        with self._lock:
            if ok:
                self.passed += 1
            else:
                self.failed += 1
            status.settled = False  # settled once the next look finds nothing to do
            status.last = (hardware_id, "passed" if ok else "failed")
            self._last_activity = time.monotonic()

    def _settle(self, port: str, status: PortStatus, key: tuple[str, str], phase: Phase,
                serial: str | None, reason: str | None) -> None:
        """Report a device that needs nothing done, once (not on every poll)."""
        with self._lock:
            status.settled = True
            repeat = status.last == key
            status.last = key
            if phase is Phase.FAIL and not repeat:
                self.failed += 1
            if not repeat and phase is not Phase.WAITING:
                self._last_activity = time.monotonic()
        if not repeat:
            self.emit(PortEvent(port, phase, serial, reason))
