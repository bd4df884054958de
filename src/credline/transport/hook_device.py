"""The serial hook as the station's :class:`~credline.core.device.Link`: the profile's
``[device]`` line settings, the record that goes onto the device, and one mapping from the
transport's errors to the station's device faults."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from credline.core.derive import SCHEME
from credline.core.device import (
    Connect,
    Credential,
    DeviceFault,
    DeviceHello,
    HookState,
    VerifyMismatch,
)
from credline.core.encoding import CROCKFORD32
from credline.core.errors import BadReply
from credline.core.ids import ID_RULE, is_valid_id
from credline.core.policy import Profile, Storage
from credline.core.protocol import DeviceState as WireState
from credline.core.record import (
    DEFAULT_ITERATIONS,
    READING_CROCKFORD,
    READING_EXACT,
    Record,
)
from credline.core.secret import Password
from credline.transport.serial_hook import DeviceError, HookLink, VerifyFailed

_STATES = {WireState.EMPTY: HookState.BLANK, WireState.PROVISIONED: HookState.PROVISIONED,
           WireState.LOCKED: HookState.LOCKED}


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


# The first hook version that reads version 2 records (reading rules) and honours them.
READING_RULES_SINCE = (1, 2)


def reading_for(alphabet: str, hook_version: str) -> int:
    """The reading rules a record states: Crockford's for the Crockford alphabet, on a hook
    that applies them (1.2 on); exact otherwise, so older hooks get the records they know."""
    try:
        major, minor = (int(part) for part in hook_version.split(".", 1))
    except ValueError:
        return READING_EXACT
    if alphabet == CROCKFORD32 and (major, minor) >= READING_RULES_SINCE:
        return READING_CROCKFORD
    return READING_EXACT


def device_record(storage: Storage, serial: str, key_id: str, generation: int,
                  password: Password, iterations: int, scheme: str = SCHEME,
                  reading: int = READING_EXACT) -> Record:
    """What goes onto the device: the password, or a verifier when the profile says so."""
    if storage is Storage.VERIFIER:
        # A salt unique per (key, serial, generation) and reproducible, so a device written
        # before a crash can be re-verified after it.
        salt = hashlib.sha256(b"credline/v1/verifier-salt" + key_id.encode() + serial.encode()
                              + generation.to_bytes(4, "big")).digest()[:16]
        return Record.with_verifier(serial, key_id, generation, password, salt, iterations,
                                    reading=reading)
    return Record(serial, key_id, generation, scheme, password=password, reading=reading)


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
    """A :class:`~credline.core.device.Link` over the serial hook transport.

    ``hwid_is_serial``: the profile takes each device's serial from its hardware id, so a
    hardware id that is no valid serial fails that device at HELLO, before anything is
    reserved for it.
    """

    def __init__(self, link: HookLink, storage: Storage, iterations: int, *,
                 hwid_is_serial: bool = False, alphabet: str = "") -> None:
        self._link = link
        self._alphabet = alphabet
        self._reading = READING_EXACT  # until HELLO says the hook applies reading rules
        self._storage = storage
        self._iterations = iterations
        self._hwid_is_serial = hwid_is_serial
        self._records: dict[str, Record] = {}

    def _record(self, credential: Credential) -> Record:
        if credential.serial not in self._records:
            self._records[credential.serial] = device_record(
                self._storage, credential.serial, credential.key_id, credential.generation,
                credential.password, self._iterations, credential.scheme, self._reading)
        return self._records[credential.serial]

    def hello(self) -> DeviceHello:
        with _as_fault():
            hello = self._link.hello()
        self._reading = reading_for(self._alphabet, hello.hook_version)
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
                          hwid_is_serial=hwid_is_serial, alphabet=profile.format.alphabet)

    return connect
