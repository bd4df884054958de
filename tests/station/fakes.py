"""In-memory devices and ledger for testing the station's orchestration without ports or disk.

Real fakes, not mocks: a :class:`FakeDevice` keeps a record and a lock bit and refuses a PUT
once locked; a :class:`FakeLedger` keeps rows with states and refuses a second holder of a
serial. A shared :class:`World` counts every operation and can freeze at operation N, which
is what a kill -9 looks like from the outside: nothing after N happens.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from credline.progress import Phase, PortEvent
from credline.station import (
    Credential,
    DeviceFault,
    DeviceHello,
    DeviceState,
    Refused,
    VerifyMismatch,
)
from credline.workorder import Pending


class Crash(BaseException):
    """The station process died (kill -9): nothing after this point happened."""


@dataclass
class World:
    crash_at: int | None = None
    steps: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def step(self) -> None:
        with self.lock:
            self.steps += 1
            if self.crash_at is not None and self.steps >= self.crash_at:
                raise Crash(f"killed at step {self.crash_at}")


def record_digest(credential: Credential) -> str:
    text = (f"{credential.product}|{credential.serial}|{credential.password.reveal()}|"
            f"{credential.key_id}|{credential.generation}")
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class FakeDevice:
    hardware_id: str
    world: World
    record: Credential | None = None
    locked: bool = False
    fault: str | None = None  # "garbage", "unplug-on-put", "corrupt"
    puts: int = 0

    def hello(self) -> DeviceHello:
        self.world.step()
        if self.fault == "garbage":
            raise DeviceFault("device answered with garbage: is it in provisioning mode?")
        state = (DeviceState.LOCKED if self.locked else
                 DeviceState.PROVISIONED if self.record else DeviceState.BLANK)
        return DeviceHello(self.hardware_id, state,
                           self.record.serial if self.record else None,
                           self.record.key_id if self.record else None)


class FakeLink:
    def __init__(self, device: FakeDevice) -> None:
        self.device = device

    def hello(self) -> DeviceHello:
        return self.device.hello()

    def put(self, credential: Credential) -> None:
        device = self.device
        device.world.step()
        if device.locked:
            raise DeviceFault("device refused the write: it is locked")
        if device.fault == "unplug-on-put":
            device.fault = "gone"
            raise DeviceFault("device stopped answering during the write: check the cable")
        device.record = credential
        device.puts += 1

    def verify(self, credential: Credential) -> None:
        self.device.world.step()
        if self.device.fault == "corrupt":
            raise VerifyMismatch("device stored something else than was written: faulty flash")
        if self.device.record is None or (
                record_digest(self.device.record) != record_digest(credential)):
            raise VerifyMismatch("device's stored record does not match: faulty flash")

    def lock(self) -> None:
        self.device.world.step()
        self.device.locked = True

    def close(self) -> None:
        pass


class Bench:
    """Ports, each with a line of devices behind it: when one is done the next is plugged."""

    def __init__(self, world: World, lines: dict[str, list[FakeDevice]]) -> None:
        self.world = world
        self.lines = lines
        self.lock = threading.Lock()
        self.removed: list[FakeDevice] = []
        self.takes_devices_off = True

    def connect(self, port: str) -> FakeLink:
        with self.lock:
            line = self.lines.get(port, [])
            if not line or line[0].fault == "gone":
                raise DeviceFault("no device answers on this port")
            return FakeLink(line[0])

    def operator(self, event: object) -> None:
        """Take a device off its port once the screen says PASS, FAIL or done."""
        if not self.takes_devices_off:
            return
        if isinstance(event, PortEvent) and event.phase in (Phase.PASS, Phase.FAIL, Phase.DONE):
            with self.lock:
                line = self.lines.get(event.port, [])
                if line:
                    self.removed.append(line.pop(0))

    @property
    def devices(self) -> list[FakeDevice]:
        return self.removed + [d for line in self.lines.values() for d in line]


@dataclass
class Row:
    serial: str
    state: str
    generation: int = 0
    fingerprint: str = ""
    batch: str = "B1"


class FakeLedger:
    """Rows keyed by serial; one holder per serial and per fingerprint, like the database."""

    def __init__(self, world: World, batch: str = "B1") -> None:
        self.world = world
        self.batch = batch
        self.rows: dict[str, Row] = {}
        self.log: list[tuple[str, str]] = []
        self.closed = False
        self.lock = threading.Lock()

    def _step(self) -> None:
        self.world.step()

    def resume(self) -> tuple[list[Pending], list[str]]:
        mine = [r for r in self.rows.values() if r.batch == self.batch]
        return ([Pending(r.serial, r.state, r.generation) for r in mine
                 if r.state in ("reserved", "written", "verified")],
                [r.serial for r in mine if r.state == "locked"])

    def reserve(self, serial: str, port: str, hardware_id: str) -> None:
        self._step()
        with self.lock:
            row = self.rows.get(serial)
            if row is not None and row.batch == self.batch and row.state == "reserved":
                return  # this batch's own reservation from a run that died: take it up again
            if row is not None:
                raise Refused(f"held by batch {row.batch} ({row.state})")
            self.rows[serial] = Row(serial, "reserved", batch=self.batch)
            self.log.append(("reserved", serial))

    def assign(self, serial: str, fingerprint_at: Callable[[int], str]) -> tuple[int, str]:
        self._step()
        with self.lock:
            taken = {r.fingerprint for r in self.rows.values()}
            generation = 0
            while (fp := fingerprint_at(generation)) in taken:
                generation += 1
            row = self.rows[serial]
            row.generation, row.fingerprint = generation, fp
            return generation, fp

    def release(self, serial: str, port: str, reason: str) -> None:
        self._step()
        with self.lock:
            assert self.rows[serial].state == "reserved"
            del self.rows[serial]
            self.log.append(("released", serial))

    def advance(self, serial: str, state: str, port: str, **fields: object) -> None:
        self._step()
        with self.lock:
            row = self.rows[serial]
            order = ["reserved", "written", "verified", "locked"]
            assert order.index(state) == order.index(row.state) + 1, (serial, row.state, state)
            row.state = state
            self.log.append((state, serial))

    def fail(self, serial: str, port: str, reason: str) -> None:
        self._step()
        with self.lock:
            self.rows[serial].state = "failed"
            self.log.append(("failed", serial))

    def owner(self, serial: str) -> str | None:
        row = self.rows.get(serial)
        return None if row is None else f"batch {row.batch}, {row.state}"

    def locked(self) -> list[tuple[str, int]]:
        return sorted((r.serial, r.generation) for r in self.rows.values()
                      if r.batch == self.batch and r.state == "locked")

    def finish(self, complete: bool) -> None:
        self._step()
        self.closed = complete
