"""The station's adapters: the registry + provenance log as one :class:`Ledger`, and the
serial hook transport as :class:`Link`\\s.

Write-ahead order, everywhere: the signed log entry is appended (and fsynced) first, then the
registry moves. After a crash the log may be one step ahead of the registry, never behind it,
which is what ``audit verify --registry`` checks.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from credline.derive import SCHEME
from credline.errors import BadInput
from credline.policy import Profile, Storage
from credline.protocol import DeviceState as WireState
from credline.provenance import ProvenanceLog
from credline.record import DEFAULT_ITERATIONS, Record
from credline.registry import IllegalTransition, Registry, SerialTaken, open_registry
from credline.secret import Password
from credline.station import (
    Connect,
    Credential,
    DeviceFault,
    DeviceHello,
    DeviceState,
    Ledger,
    Refused,
    VerifyMismatch,
)
from credline.station_identity import check_enrolled, load_station_key
from credline.transport.serial_hook import DeviceError, HookLink, VerifyFailed
from credline.workorder import Pending

if TYPE_CHECKING:
    from credline.stationrun import StationOptions

_STATES = {WireState.EMPTY: DeviceState.BLANK, WireState.PROVISIONED: DeviceState.PROVISIONED,
           WireState.LOCKED: DeviceState.LOCKED}


class RegistryLedger:
    """Registry rows and signed log entries for one batch, one station."""

    def __init__(self, registry: Registry, log: ProvenanceLog, batch: str, product: str,
                 key_id: str, station_id: str, operator: str, *, closed: bool = False) -> None:
        self.registry = registry
        self.key_id = key_id  # the batch's key (open_batch refuses any other)
        self.closed = closed  # a rerun of a finished batch: nothing may be added to it
        self.log = log
        self.batch = batch
        self.product = product
        self.station_id = station_id
        self.operator = operator
        # One writer to the log at a time, in order. Registry moves happen outside it:
        # SQLite and PostgreSQL order their own transactions, and the write-ahead rule
        # (log entry, then registry move) is per device, so ports overlap their fsyncs.
        self._lock = threading.Lock()
        self._assigned: dict[str, tuple[int, str]] = {}  # serial -> generation, fingerprint

    def _record(self, event: str, serial: str | None = None, **fields: object) -> None:
        if serial is not None:
            fields["serial"] = serial
        with self._lock:
            self.log.append(event, batch=self.batch, product=self.product,
                            operator=self.operator, **fields)

    def resume(self) -> tuple[list[Pending], list[str]]:
        devices = self.registry.devices(self.batch)
        pending = [Pending(d.serial, d.state, d.generation) for d in devices
                   if d.state in ("reserved", "written", "verified")]
        return pending, [d.serial for d in devices if d.state == "locked"]

    def reserve(self, serial: str, port: str, hardware_id: str) -> None:
        if self.closed:
            raise Refused(f"batch {self.batch} is closed: start a new batch for more devices")
        try:
            device = self.registry.reserve(self.batch, self.product, serial, self.station_id,
                                           port)
        except SerialTaken as exc:
            raise Refused(str(exc)) from None
        if device.state != "reserved":
            raise Refused(f"serial {serial!r} is already {device.state} in batch {self.batch}")
        self._record("device.reserved", serial, port=port, hardware_id=hardware_id)

    def assign(self, serial: str, fingerprint_at: Callable[[int], str]) -> tuple[int, str]:
        assigned = self.registry.assign_fingerprint(self.batch, self.product, serial,
                                                    fingerprint_at)
        self._assigned[serial] = assigned
        return assigned

    def release(self, serial: str, port: str, reason: str) -> None:
        self._record("device.released", serial, port=port, reason=reason)
        self.registry.release(self.batch, self.product, serial)

    def advance(self, serial: str, state: str, port: str, **fields: object) -> None:
        if serial in self._assigned:
            key_id: str | None = self.key_id
            generation: int | None
            fingerprint: str | None
            generation, fingerprint = self._assigned[serial]
        else:  # a device resumed from an earlier run: the registry has what it was given
            device = self.registry.device(self.product, serial)
            key_id = device.key_id if device else None
            generation = device.generation if device else None
            fingerprint = device.fingerprint if device else None
        self._record(f"device.{state}", serial, port=port, key_id=key_id,
                     generation=generation, fingerprint=fingerprint, **{
                         k: v for k, v in fields.items()
                         if k not in ("generation", "fingerprint")})
        move = {"written": self.registry.mark_written,
                "verified": self.registry.mark_verified,
                "locked": self.registry.mark_locked}[state]
        try:
            move(self.product, serial)
        except IllegalTransition:
            current = self.registry.device(self.product, serial)
            if current is None or current.state != state:
                raise

    def fail(self, serial: str, port: str, reason: str) -> None:
        self._record("device.failed", serial, port=port, reason=reason)
        # Already failed or locked: the log entry says what happened.
        with contextlib.suppress(IllegalTransition):
            self.registry.mark_failed(self.product, serial, reason)

    def owner(self, serial: str) -> str | None:
        device = self.registry.device(self.product, serial)
        if device is None:
            return None
        return f"batch {device.batch_id} on station {device.station_id}, {device.state}"

    def locked(self) -> list[tuple[str, int]]:
        return sorted((d.serial, d.generation)
                      for d in self.registry.devices(self.batch, "locked"))

    def finish(self, complete: bool) -> None:
        with self._lock:
            if complete and not self.closed:
                self.log.checkpoint(self.batch, self.registry)
                self.closed = True


def open_ledger(profile: Profile, key_id: str, options: StationOptions,
                closers: list[Callable[[], None]]) -> Ledger:
    """Registry, station identity and provenance log, checked before any device is touched."""
    key_path = options.station_key or options.log_path.parent / "station.key"
    if not Path(key_path).exists():
        # The URL stays out of the message: it may carry a database password.
        raise BadInput(f"no station key at {key_path}: enrol this station first with "
                       f"'credline station enroll --out {key_path} --station-id ID "
                       "--registry URL' (or give --station-key)")
    station_id, signer = load_station_key(Path(key_path))
    # Never create: a typo in --registry must not become a fresh, empty registry.
    registry = open_registry(options.registry_url, create=False)
    closers.append(registry.close)
    check_enrolled(registry, station_id, signer)
    state = registry.open_batch(options.batch, profile.product, key_id, profile.source,
                                station_id, allow_closed=True)
    log = ProvenanceLog.open(options.log_path, signer, station_id, repair=True)
    log.append("station.started", batch=options.batch, product=profile.product,
               key_id=key_id, profile=profile.source, operator=options.operator,
               firmware=str(profile.section("product").get("firmware", "")))
    return RegistryLedger(registry, log, options.batch, profile.product, key_id, station_id,
                          options.operator, closed=state == "closed")


@dataclass(frozen=True)
class DeviceSettings:
    """The profile's ``[device]`` line settings and verifier cost."""

    baud: int = 115200
    timeout: float = 2.0
    retries: int = 3
    iterations: int = DEFAULT_ITERATIONS

    @classmethod
    def of(cls, profile: Profile) -> DeviceSettings:
        device = profile.section("device")
        return cls(baud=int(device.get("baud", cls.baud)),
                   timeout=float(device.get("timeout", cls.timeout)),
                   retries=int(device.get("retries", cls.retries)),
                   iterations=int(device.get("verifier_iterations", cls.iterations)))

    def link(self, port: str) -> HookLink:
        return HookLink(port, baud=self.baud, timeout=self.timeout, retries=self.retries)


def device_record(storage: Storage, serial: str, key_id: str, generation: int,
                  password: Password, iterations: int, scheme: str = SCHEME) -> Record:
    """What goes onto the device: the password, or a verifier when the profile says so."""
    if storage is Storage.VERIFIER:
        # A salt unique per (key, serial, generation) and reproducible, so a device written
        # before a crash can be re-verified after it.
        salt = hashlib.sha256(b"credline/v1/verifier-salt" + key_id.encode() + serial.encode()
                              + generation.to_bytes(4, "big")).digest()[:16]
        return Record.with_verifier(serial, key_id, generation, password, salt, iterations)
    return Record(serial, key_id, generation, scheme, password=password)


class HookDevice:
    """A :class:`~credline.station.Link` over the serial hook transport."""

    def __init__(self, link: HookLink, storage: Storage, iterations: int) -> None:
        self._link = link
        self._storage = storage
        self._iterations = iterations
        self._records: dict[str, Record] = {}

    def _record(self, credential: Credential) -> Record:
        if credential.serial not in self._records:
            self._records[credential.serial] = device_record(
                self._storage, credential.serial, credential.key_id, credential.generation,
                credential.password, self._iterations, credential.scheme)
        return self._records[credential.serial]

    def hello(self) -> DeviceHello:
        try:
            hello = self._link.hello()
        except DeviceError as exc:
            raise DeviceFault(str(exc)) from None
        return DeviceHello(hello.hardware_id, _STATES[hello.state], hello.serial or None)

    def put(self, credential: Credential) -> None:
        try:
            self._link.put(self._record(credential))
        except DeviceError as exc:
            raise DeviceFault(str(exc)) from None

    def verify(self, credential: Credential) -> None:
        try:
            self._link.verify(self._record(credential))
        except VerifyFailed as exc:
            raise VerifyMismatch(str(exc)) from None
        except DeviceError as exc:
            raise DeviceFault(str(exc)) from None

    def lock(self) -> None:
        try:
            self._link.lock()
        except DeviceError as exc:
            raise DeviceFault(str(exc)) from None

    def close(self) -> None:
        self._link.close()


def connector(profile: Profile) -> Connect:
    settings = DeviceSettings.of(profile)

    def connect(port: str) -> HookDevice:
        try:
            link = settings.link(port)
        except DeviceError as exc:
            raise DeviceFault(str(exc)) from None
        return HookDevice(link, profile.storage, settings.iterations)

    return connect
