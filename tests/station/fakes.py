"""In-memory devices and the real ledger, for testing the station's orchestration without
ports.

Real fakes, not mocks: a :class:`FakeDevice` keeps a record and a lock bit and refuses a PUT
once locked. The ledger is the real one (a SQLite registry and a signed log in a temporary
folder), so no copy of the state machine lives in the tests. A shared :class:`World` counts
every operation and can freeze at operation N, which is what a kill -9 looks like from the
outside: nothing after N happens.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credline.core.device import Credential, DeviceFault, DeviceHello, HookState, VerifyMismatch
from credline.core.lifecycle import DeviceState
from credline.provenance import ProvenanceLog, public_bytes
from credline.registry import Ack, Device, open_registry
from credline.station.events import Phase, PortEvent
from credline.station.ledger import RegistryLedger, Scope
from credline.station.queue import Pending


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
        state = (HookState.LOCKED if self.locked else
                 HookState.PROVISIONED if self.record else HookState.BLANK)
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


class CrashingLedger(RegistryLedger):
    """The real ledger (SQLite registry, signed log) with the world's kill switch before and
    after every log entry: a kill between a log entry and its registry move included."""

    def __init__(self, world: World, *args: Any, **kwargs: Any) -> None:
        self.world = world
        super().__init__(*args, **kwargs)

    def _record(self, event: str, serial: str | None = None, **fields: object) -> Ack:
        self.world.step()
        ack = super()._record(event, serial, **fields)
        self.world.step()
        return ack

    def resume(self) -> tuple[list[Pending], list[str]]:
        self.world.step()
        return super().resume()


class Ledgers:
    """One registry and one station's log in ``root``; :meth:`new` is one run's ledger."""

    def __init__(self, root: Path, world: World, batch: str = "B1", station: str = "st1",
                 product: str = "acme-cam") -> None:
        self.root, self.world, self.batch, self.product = root, world, batch, product
        root.mkdir(parents=True, exist_ok=True)
        self.url = f"sqlite:///{root / 'registry.db'}"
        self.registry = open_registry(self.url)
        self.signer = Ed25519PrivateKey.generate()
        self.station = station
        self.registry.register_station(station, public_bytes(self.signer))
        self.log_path = root / f"{station}.jsonl"
        self.runs: list[RegistryLedger] = []

    def new(self, key_id: str, lease: float = 30.0) -> RegistryLedger:
        log = ProvenanceLog.open(self.log_path, self.signer, self.station, repair=True)
        state = self.registry.open_batch(self.batch, self.product, key_id, "test.toml",
                                         self.station, allow_closed=True)
        ledger = CrashingLedger(self.world, self.registry, log,
                                Scope(self.batch, self.product, key_id, self.station),
                                closed=state == "closed", lease=lease)
        self.runs.append(ledger)
        return ledger

    def rows(self) -> dict[str, Device]:
        return {d.serial: d for d in self.registry.devices(self.batch)
                if d.state is not DeviceState.RETIRED}

    @property
    def closed(self) -> bool:
        batch = self.registry.batch(self.batch)
        return batch is not None and batch["state"] == "closed"

    def close(self) -> None:
        for ledger in self.runs:
            ledger.close()
        self.registry.close()
