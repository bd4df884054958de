"""What the station knows of a device, whatever the transport: what it says on HELLO, the
credential that goes onto it, how it fails, and the :class:`Link` every transport provides.

Pure types: no port, no registry. Transports (``credline.transport``) implement
:class:`Link` and raise :class:`DeviceFault`; the station (``credline.station``) uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from credline.core.derive import SCHEME
from credline.core.errors import DeviceError
from credline.core.secret import Password


class HookState(StrEnum):
    """What a device says of its own flash on HELLO (not the registry's lifecycle)."""

    BLANK = "blank"
    PROVISIONED = "provisioned"  # holds a record, still writable
    LOCKED = "locked"  # holds a record, write-once


@dataclass(frozen=True, slots=True)
class DeviceHello:
    """What a device says about itself. ``serial``/``key_id`` are those of its stored record."""

    hardware_id: str
    state: HookState
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


class DeviceFault(DeviceError):
    """The device or the line failed; the message is for the operator, in plain words."""


class VerifyMismatch(DeviceFault):
    """The device answered VERIFY, and its stored record is not the one written."""


class Link(Protocol):
    """An open connection to the device on one port (see ``credline.transport``)."""

    def hello(self) -> DeviceHello: ...

    def put(self, credential: Credential) -> None: ...

    def verify(self, credential: Credential) -> None: ...

    def lock(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Progressive(Protocol):
    """A Link that reports how far a write has got (the ESP transport: esptool's progress,
    per port). ``progress(done, total)``; None stops the reports."""

    def watch(self, progress: Callable[[int, int], None] | None) -> None: ...


Connect = Callable[[str], Link]  # port name or URL -> Link; DeviceFault when nothing answers
