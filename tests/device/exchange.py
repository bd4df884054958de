"""The bare hook exchange (HELLO, PUT, VERIFY, LOCK) on one port, for tests only.

No registry, no log, no policy check: it makes "foreign" devices (locked by someone else)
and tests the link itself. Products are provisioned by the station (``credline station run``
or ``credline provision``), never like this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from credline.core.protocol import DeviceState, WireError
from credline.core.record import Record
from credline.transport.serial_hook import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DeviceRefused,
    HookLink,
)


@dataclass(frozen=True)
class ProvisionResult:
    port: str
    serial: str
    hardware_id: str
    state: DeviceState
    seconds: float
    bytes_sent: int
    bytes_received: int


def provision_device(port: str, record: Record, *, lock: bool = True, baud: int = 115200,
                     timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES
                     ) -> ProvisionResult:
    """HELLO, PUT, VERIFY and (by default) LOCK one device."""
    start = time.monotonic()
    with HookLink(port, baud=baud, timeout=timeout, retries=retries) as link:
        hello = link.hello()
        if hello.state is DeviceState.LOCKED:
            raise DeviceRefused(f"{link.origin} is already locked (serial "
                                f"'{hello.serial}')", WireError.LOCKED)
        link.put(record)
        link.verify(record)
        state = link.lock() if lock else DeviceState.PROVISIONED
        return ProvisionResult(port, record.serial, hello.hardware_id, state,
                               time.monotonic() - start, link.bytes_sent, link.bytes_received)
