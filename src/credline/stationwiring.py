"""The station's adapters: opening the ledger (:mod:`credline.ledger`), and the serial hook
transport as :class:`Link`\\s."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from credline.derive import SCHEME
from credline.errors import BadInput, BadReply
from credline.ids import ID_RULE, is_valid_id
from credline.ledger import RegistryLedger, RunLock, Scope
from credline.policy import Profile, Storage
from credline.protocol import DeviceState as WireState
from credline.provenance import ProvenanceLog, check_log_head
from credline.record import DEFAULT_ITERATIONS, Record
from credline.registry import open_registry
from credline.secret import Password
from credline.station import (
    Connect,
    Credential,
    DeviceFault,
    DeviceHello,
    HookState,
    VerifyMismatch,
)
from credline.station_identity import check_enrolled, load_station_key
from credline.transport.serial_hook import DeviceError, HookLink, VerifyFailed

if TYPE_CHECKING:
    from credline.stationrun import StationOptions

_STATES = {WireState.EMPTY: HookState.BLANK, WireState.PROVISIONED: HookState.PROVISIONED,
           WireState.LOCKED: HookState.LOCKED}


def open_ledger(profile: Profile, key_id: str, options: StationOptions,
                closers: list[Callable[[], None]]) -> RegistryLedger:
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
    closers.append(RunLock(options.log_path, station_id).release)
    check_enrolled(registry, station_id, signer)
    log = ProvenanceLog.open(options.log_path, signer, station_id, repair=True)
    check_log_head(log, registry.station_heads().get(station_id))
    state = registry.open_batch(options.batch, profile.product, key_id, profile.source,
                                station_id, allow_closed=True)
    log.append("station.started", batch=options.batch, product=profile.product,
               key_id=key_id, profile=profile.source, operator=options.operator,
               firmware=str(profile.section("product").get("firmware", "")))
    scope = Scope(options.batch, profile.product, key_id, station_id, options.operator)
    ledger = RegistryLedger(registry, log, scope, closed=state == "closed",
                            lease=options.lease)
    closers.append(ledger.close)
    return ledger


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


class Untrustworthy(VerifyMismatch):
    """A device whose replies break the protocol (:class:`BadReply`) once its record went out.

    Nothing it says about what it holds can be believed, so the station fails its serial as
    it does on a VERIFY mismatch, rather than keep the serial for a resume that would ask the
    same device again. At HELLO or PUT it is handled as any other DeviceFault.
    """


def _fault(exc: DeviceError) -> DeviceFault:
    if isinstance(exc, VerifyFailed):
        return VerifyMismatch(str(exc))
    if isinstance(exc, BadReply):
        return Untrustworthy(str(exc))
    return DeviceFault(str(exc))


@contextlib.contextmanager
def _as_fault() -> Iterator[None]:
    """The transport's DeviceErrors as the station's DeviceFaults, the same for every call."""
    try:
        yield
    except DeviceError as exc:
        raise _fault(exc) from None


class HookDevice:
    """A :class:`~credline.station.Link` over the serial hook transport.

    ``hwid_is_serial``: the profile takes each device's serial from its hardware id, so a
    hardware id that is no valid serial fails that device at HELLO, before anything is
    reserved for it.
    """

    def __init__(self, link: HookLink, storage: Storage, iterations: int, *,
                 hwid_is_serial: bool = False) -> None:
        self._link = link
        self._storage = storage
        self._iterations = iterations
        self._hwid_is_serial = hwid_is_serial
        self._records: dict[str, Record] = {}

    def _record(self, credential: Credential) -> Record:
        if credential.serial not in self._records:
            self._records[credential.serial] = device_record(
                self._storage, credential.serial, credential.key_id, credential.generation,
                credential.password, self._iterations, credential.scheme)
        return self._records[credential.serial]

    def hello(self) -> DeviceHello:
        with _as_fault():
            hello = self._link.hello()
        if self._hwid_is_serial and not is_valid_id(hello.hardware_id):
            raise DeviceFault(f"{self._link.origin} reports hardware id '{hello.hardware_id}', "
                              f"which cannot be its serial ({ID_RULE}): set it aside")
        return DeviceHello(hello.hardware_id, _STATES[hello.state], hello.serial or None)

    def put(self, credential: Credential) -> None:
        with _as_fault():
            self._link.put(self._record(credential))

    def verify(self, credential: Credential) -> None:
        with _as_fault():
            self._link.verify(self._record(credential))

    def lock(self) -> None:
        with _as_fault():
            self._link.lock()

    def close(self) -> None:
        self._link.close()


def connector(profile: Profile, *, hwid_is_serial: bool = False) -> Connect:
    settings = DeviceSettings.of(profile)

    def connect(port: str) -> HookDevice:
        with _as_fault():
            link = settings.link(port)
        return HookDevice(link, profile.storage, settings.iterations,
                          hwid_is_serial=hwid_is_serial)

    return connect
