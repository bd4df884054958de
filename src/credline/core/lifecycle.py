"""The one device lifecycle: the states a registry row passes through, and which move where.

A row is *reserved* (a serial held for a device, no password out yet), *written* (its
password is bound to one hardware id and may be on that device: from here the serial never
goes to another device), *verified* (the device proved it holds the record), *locked* (the
device refuses further writes: done). *failed* sets a device aside with a reason; *retired*
ends a serial whose device is lost, by an explicit, logged command. A reserved row that is
given up is *released*: the row goes away, the serial is free again.

Pure: no registry, no clock. The registry, the provenance log, the station and the audit all
read their states and moves from here, so no state is ever a bare string elsewhere.
"""

from __future__ import annotations

from enum import StrEnum


class DeviceState(StrEnum):
    RESERVED = "reserved"
    WRITTEN = "written"
    VERIFIED = "verified"
    LOCKED = "locked"
    FAILED = "failed"
    RETIRED = "retired"

    @property
    def in_flight(self) -> bool:
        """Neither done nor set aside: some station still has work to do on it."""
        return self in IN_FLIGHT

    @property
    def bound(self) -> bool:
        """Its password may be on a device: it must never be given to another one."""
        return self in BOUND


IN_FLIGHT = frozenset({DeviceState.RESERVED, DeviceState.WRITTEN, DeviceState.VERIFIED})
BOUND = frozenset({DeviceState.WRITTEN, DeviceState.VERIFIED, DeviceState.LOCKED})
FINAL = frozenset({DeviceState.LOCKED, DeviceState.FAILED, DeviceState.RETIRED})

# Where each state may go. Release (the row removed) is allowed from reserved only.
MOVES: dict[DeviceState, frozenset[DeviceState]] = {
    DeviceState.RESERVED: frozenset({DeviceState.WRITTEN, DeviceState.FAILED}),
    DeviceState.WRITTEN: frozenset({DeviceState.VERIFIED, DeviceState.FAILED,
                                    DeviceState.RETIRED}),
    DeviceState.VERIFIED: frozenset({DeviceState.LOCKED, DeviceState.FAILED,
                                     DeviceState.RETIRED}),
    DeviceState.LOCKED: frozenset(),
    DeviceState.FAILED: frozenset({DeviceState.RETIRED}),
    DeviceState.RETIRED: frozenset(),
}
RELEASABLE = frozenset({DeviceState.RESERVED})
# The states a station moves a device into on its own, each after a "device.<state>" entry.
STATION_MOVES = (DeviceState.WRITTEN, DeviceState.VERIFIED, DeviceState.LOCKED)


def sources(target: DeviceState) -> frozenset[DeviceState]:
    """Every state from which ``target`` can be reached in one move."""
    return frozenset(state for state, goes in MOVES.items() if target in goes)


def can_move(current: DeviceState, target: DeviceState) -> bool:
    return target in MOVES[current]
