"""The provisioning station: many ports at once, each device end to end, resumable after a crash.

One worker thread per port. For each device: HELLO, pick a serial (the work order's next, or
the one the device reports), reserve it, derive, check the password against the profile,
PUT, VERIFY, LOCK, commit, label, PASS. Every step is recorded through a :class:`Ledger`
(registry + provenance log, durable before the next step), so the same command run again
after any crash carries on: a device reporting a serial an earlier run left unfinished is
re-verified and finished; serials only reserved go back to the queue after every port has
said hello; nothing is skipped, nothing is given to two devices.

The station owns the order of steps and nothing else: devices are reached through a
:class:`Link` (the serial hook transport), the registry and log through a :class:`Ledger`,
the operator through events (:mod:`credline.progress`). It never prints, never opens a port
itself and never writes a password anywhere but the device and the label.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from credline.derive import SCHEME, Deriver
from credline.errors import CheckFailed, CredlineError
from credline.escape import escape_text
from credline.ids import Serial
from credline.labels import Label, LabelSink, make_label
from credline.policy import Profile, policy_violations
from credline.ports import PortWatcher
from credline.progress import BatchEvent, Event, Phase, PortEvent
from credline.secret import Password
from credline.workorder import Pending, WorkQueue


class DeviceState(StrEnum):
    BLANK = "blank"
    PROVISIONED = "provisioned"  # holds a record, still writable
    LOCKED = "locked"  # holds a record, write-once


@dataclass(frozen=True, slots=True)
class DeviceHello:
    """What a device says about itself. ``serial``/``key_id`` are those of its stored record."""

    hardware_id: str
    state: DeviceState
    serial: str | None = None
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """What goes onto one device."""

    product: str
    serial: str
    password: Password = field(repr=False)
    key_id: str
    generation: int
    scheme: str = SCHEME


class DeviceFault(CredlineError):
    """The device or the line failed; the message is for the operator, in plain words."""

    exit_code = 1


class VerifyMismatch(DeviceFault):
    """The device answered VERIFY, and its stored record is not the one written."""


class Refused(CredlineError):
    """The registry will not give this serial to this station (another holds or has it)."""


class Link(Protocol):
    """An open connection to the device on one port (see ``credline.transport``)."""

    def hello(self) -> DeviceHello: ...

    def put(self, credential: Credential) -> None: ...

    def verify(self, credential: Credential) -> None: ...

    def lock(self) -> None: ...

    def close(self) -> None: ...


Connect = Callable[[str], Link]  # port name or URL -> Link; DeviceFault when nothing answers


class Ledger(Protocol):
    """The registry and the provenance log together: each call is one durable transition."""

    def resume(self) -> tuple[list[Pending], list[str]]:
        """(unfinished devices of this batch, serials already locked in it)."""
        ...

    def reserve(self, serial: str, port: str, hardware_id: str) -> None: ...

    def assign(self, serial: str, fingerprint_at: Callable[[int], str]) -> tuple[int, str]:
        """Generation and fingerprint for ``serial`` (generation + 1 on a collision)."""
        ...

    def release(self, serial: str, port: str, reason: str) -> None:
        """The device failed before anything was written: the serial is free again."""
        ...

    def advance(self, serial: str, state: str, port: str, **fields: object) -> None:
        """reserved -> written -> verified -> locked."""
        ...

    def fail(self, serial: str, port: str, reason: str) -> None: ...

    def owner(self, serial: str) -> str | None:
        """A plain description of who holds ``serial`` (batch and state), or None."""
        ...

    def locked(self) -> list[tuple[str, int]]:
        """(serial, generation) of every device locked in this batch."""
        ...

    def finish(self, complete: bool) -> None:
        """End of run; a complete batch is closed with a signed checkpoint."""
        ...


@dataclass
class StationConfig:
    batch: str
    poll: float = 0.2  # seconds between looks at an idle port
    sweep_timeout: float = 10.0  # how long blank devices wait for every port's first hello
    count: int | None = None  # stop after this many PASSes (no work order)
    keep_running: bool = False  # --auto: wait for more devices until interrupted
    idle_exit: float | None = None  # end once every port has been quiet this long (seconds)


@dataclass
class PortStatus:
    busy: bool = False
    settled: bool = False  # the current device needs nothing more (or there is none)
    last: tuple[str, str] | None = None  # (hardware id, outcome) last reported, to not repeat


class Station:
    """Runs one batch over whatever ports the watcher reports."""

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
        self.emit = emit
        pending, done = ledger.resume()
        self.queue = WorkQueue(serials, pending, done)
        self._done = set(done)
        self._ports: dict[str, PortStatus] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._gone: set[str] = set()
        self._stop = threading.Event()
        self._swept = threading.Event()
        self._sweep_left: set[str] = set()
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
        self._discover(initial=True)
        try:
            while not self._stop.is_set():
                if self._fatal is not None or self._finished():
                    break
                time.sleep(self.config.poll)
                self._discover(initial=False)
        except KeyboardInterrupt:
            self.interrupted = True
            self.emit(BatchEvent("note", "interrupted: finishing the devices in flight"))
        finally:
            self._stop.set()
            for thread in list(self._threads.values()):
                thread.join()
        if self._fatal is not None:
            raise self._fatal
        return self._wrap_up()

    def stop(self) -> None:
        """Finish devices in flight, then end the run (Ctrl-C)."""
        self._stop.set()

    def _start_message(self) -> str:
        left = "devices as they come" if self.queue.total is None else (
            f"{self.queue.left + len(self.queue.unfinished)} of {self.queue.total} to go")
        resumed = len(self.queue.unfinished)
        extra = f", resuming {resumed} unfinished from an earlier run" if resumed else ""
        return (f"batch {self.config.batch}: {self.profile.product}, key "
                f"{self.deriver.key_id}, {left}{extra}")

    def _discover(self, initial: bool) -> None:
        appeared, gone = self.watcher.poll()
        with self._lock:
            self._gone.update(gone)
            self._gone.difference_update(appeared)
            if initial:
                self._sweep_left = set(appeared)
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
        if initial and not appeared:
            self._end_sweep()

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
        return self.queue.idle and (settled or not self.queue.unfinished)

    def _wrap_up(self) -> bool:
        unfinished = self.queue.unfinished
        complete = (not self.queue.from_device and self.queue.left == 0 and not unfinished)
        self.ledger.finish(complete)
        sheet = self._write_sheet()
        notes = []
        if unfinished:
            serials = ", ".join(p.serial for p in unfinished[:10])
            notes.append(f"{len(unfinished)} device(s) written in an earlier run were not seen: "
                         f"plug them in and run the same command again ({serials})")
        if self.queue.left:
            notes.append(f"{self.queue.left} serial(s) of the work order not used yet")
        if sheet:
            notes.append(f"label sheet {sheet}")
        notes.append("batch closed" if complete else "batch left open: run again to resume")
        self.emit(BatchEvent("finished", "; ".join(notes)))
        nothing_left = complete or (self.queue.from_device and not unfinished)
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
        finally:
            self._arrive(port)

    def _is_gone(self, port: str) -> bool:
        with self._lock:
            return port in self._gone

    def _arrive(self, port: str) -> None:
        with self._lock:
            self._sweep_left.discard(port)
            empty = not self._sweep_left
        if empty:
            self._end_sweep()

    def _end_sweep(self) -> None:
        if not self._swept.is_set():
            self.queue.release_reserved()
            self._swept.set()

    def _attempt(self, port: str, status: PortStatus) -> None:
        try:
            link = self.connect(port)
        except DeviceFault as exc:
            self._arrive(port)
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
            self._arrive(port)
            # Keyed by what happened, not the message: noise on the line garbles each
            # reply differently, and the operator needs to hear about it once.
            self._settle(port, status, ("?", "no hello"), Phase.FAIL, None, str(exc))
            return
        self._arrive(port)  # first hello on this port: the resume sweep can count it
        if status.last in ((hello.hardware_id, "passed"), (hello.hardware_id, "failed")):
            with self._lock:  # the device just reported stays until the operator takes it
                status.settled = True
            return
        pending = self.queue.claim_pending(hello.serial) if hello.serial else None
        if pending is not None:
            self._run_device(status, hello.hardware_id,
                             lambda: self._adopt(port, link, hello, pending))
        elif hello.state is DeviceState.LOCKED:
            self._locked_device(port, status, hello)
        else:
            self._new_device(port, status, link, hello)

    def _locked_device(self, port: str, status: PortStatus, hello: DeviceHello) -> None:
        serial = hello.serial or "?"
        if serial in self._done:
            self._reprint_if_missing(port, serial)
            self._settle(port, status, (hello.hardware_id, "done"), Phase.DONE, serial,
                         "already provisioned in this batch: take it off")
            return
        owner = self.ledger.owner(serial) if hello.serial else None
        where = f" ({owner})" if owner else ""
        self._settle(port, status, (hello.hardware_id, "foreign"), Phase.FAIL, serial,
                     f"device is already locked with serial {serial}{where}, not by this batch: "
                     "set it aside")

    def _new_device(self, port: str, status: PortStatus, link: Link, hello: DeviceHello) -> None:
        if not self._swept.wait(self.config.sweep_timeout):
            self._end_sweep()
        if self._stop.is_set():
            return
        serial = self._reserve_next(port, status, hello)
        if serial is not None:
            chosen = serial
            self._run_device(status, hello.hardware_id,
                             lambda: self._provision(port, link, hello, chosen))

    def _reserve_next(self, port: str, status: PortStatus, hello: DeviceHello) -> str | None:
        """The serial for a blank device, reserved; None (and reported) when there is none."""
        while True:
            if self.queue.from_device:
                serial: str | None = hello.hardware_id
                self.queue.start(hello.hardware_id)
            else:
                serial = self.queue.take()
            if serial is None:
                self._settle(port, status, (hello.hardware_id, "no-work"), Phase.DONE, None,
                             "work order complete: no serial left for this device")
                return None
            self.emit(PortEvent(port, Phase.RESERVING, serial))
            try:
                self.ledger.reserve(serial, port, hello.hardware_id)
                return serial
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

    # -- one device ----------------------------------------------------------------------

    def _provision(self, port: str, link: Link, hello: DeviceHello, serial: str) -> bool:
        started = time.monotonic()
        credential, fingerprint = self._credential(serial)
        self.emit(PortEvent(port, Phase.WRITING, serial))
        try:
            link.put(credential)
        except DeviceFault as exc:
            self.ledger.release(serial, port, str(exc))
            self.queue.give_back(serial)
            return self._fail(port, serial, str(exc))
        self.ledger.advance(serial, "written", port, hardware_id=hello.hardware_id,
                            generation=credential.generation, fingerprint=fingerprint)
        return self._complete(port, link, credential, fingerprint, started, locked=False)

    def _adopt(self, port: str, link: Link, hello: DeviceHello, pending: Pending) -> bool:
        """A device an earlier run wrote (or may have): re-verify it and finish the job."""
        started = time.monotonic()
        if hello.key_id is not None and hello.key_id != self.deriver.key_id:
            self.queue.finish(pending.serial)
            self.ledger.fail(pending.serial, port, "device holds a record from another key")
            return self._fail(port, pending.serial,
                              f"device holds serial {pending.serial} from key {hello.key_id}, "
                              f"not this station's key {self.deriver.key_id}: wrong key?")
        credential = self._derive(pending.serial, pending.generation)
        fingerprint = self.deriver.fingerprint(credential.password)
        self.emit(PortEvent(port, Phase.VERIFYING, pending.serial, "resuming"))
        return self._complete(port, link, credential, fingerprint, started,
                              locked=hello.state is DeviceState.LOCKED,
                              verified=pending.state == "verified",
                              unwritten=pending.state == "reserved")

    def _complete(self, port: str, link: Link, credential: Credential, fingerprint: str,
                  started: float, *, locked: bool, verified: bool = False,
                  unwritten: bool = False) -> bool:
        """VERIFY, LOCK, commit, label, PASS: the steps after the record is on the device."""
        serial = credential.serial
        try:
            self.emit(PortEvent(port, Phase.VERIFYING, serial))
            link.verify(credential)
            if unwritten:
                self.ledger.advance(serial, "written", port, generation=credential.generation,
                                    fingerprint=fingerprint)
            if not verified:
                self.ledger.advance(serial, "verified", port)
            if not locked:
                self.emit(PortEvent(port, Phase.LOCKING, serial))
                link.lock()
        except VerifyMismatch as exc:
            self.queue.finish(serial)
            self.ledger.fail(serial, port, str(exc))
            return self._fail(port, serial, str(exc))
        except DeviceFault as exc:
            self._keep_for_resume(serial, credential.generation, unwritten)
            return self._fail(port, serial, f"{exc}; plug the device back in to finish it")
        self.ledger.advance(serial, "locked", port,
                            seconds=round(time.monotonic() - started, 3))
        self._print_label(port, serial, credential)
        with self._lock:
            self._done.add(serial)
        self.queue.finish(serial)
        self.emit(PortEvent(port, Phase.PASS, serial))
        return True

    def _keep_for_resume(self, serial: str, generation: int, unwritten: bool) -> None:
        """A device that went away after its record was written: finish it when it returns."""
        self.queue.hold(Pending(serial, "reserved" if unwritten else "written", generation))

    def _fail(self, port: str, serial: str, reason: str) -> bool:
        self.emit(PortEvent(port, Phase.FAIL, serial, reason))
        return False

    def _credential(self, serial: str) -> tuple[Credential, str]:
        product = self.profile.product

        def fingerprint_at(generation: int) -> str:
            return self.deriver.fingerprint(
                self.deriver.password(product, Serial(serial), generation))

        generation, fingerprint = self.ledger.assign(serial, fingerprint_at)
        credential = self._derive(serial, generation)
        problems = policy_violations(credential.password.reveal(), self.profile)
        if problems:
            self.ledger.fail(serial, "-", "password breaks the profile's policy")
            raise CheckFailed(f"the password derived for {serial} breaks the profile's policy "
                              f"({'; '.join(problems)}): stopping the batch")
        return credential, fingerprint

    def _derive(self, serial: str, generation: int) -> Credential:
        password = self.deriver.password(self.profile.product, Serial(serial), generation)
        return Credential(product=str(self.profile.product), serial=serial, password=password,
                          key_id=self.deriver.key_id, generation=generation)

    def _print_label(self, port: str, serial: str, credential: Credential) -> None:
        if self.labels is None:
            return
        self.emit(PortEvent(port, Phase.LABEL, serial))
        self.labels.emit(self._label(serial, credential.generation, credential.password))

    def _reprint_if_missing(self, port: str, serial: str) -> None:
        """A run killed between LOCK and the label: print the label the device never got."""
        if self.labels is None or self.labels.has(serial):
            return
        generation = dict(self.ledger.locked()).get(serial)
        if generation is not None:
            self.emit(PortEvent(port, Phase.LABEL, serial, "reprinting a missing label"))
            self.labels.emit(self._label(serial, generation))

    def _label(self, serial: str, generation: int,
               password: Password | None = None) -> Label:
        assert self.labels is not None
        if password is None:
            password = self.deriver.password(self.profile.product, Serial(serial), generation)
        return make_label(self.profile, self.labels.spec, serial=serial, password=password,
                          key_id=self.deriver.key_id, batch=self.config.batch,
                          generation=generation)
