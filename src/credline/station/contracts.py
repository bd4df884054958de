"""What the station needs of its ledger (registry + provenance log), and how the ledger
says no. The real ledger is :mod:`credline.station.ledger`; tests may bring their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from credline.core.errors import Failed
from credline.core.lifecycle import DeviceState
from credline.station.queue import Pending

if TYPE_CHECKING:
    from credline.registry import Device


class Refused(Failed):
    """The registry will not give this serial (or row) to this station; says who has it."""


class Busy(Refused):
    """Another station of the cell has the serial in flight: try it again later."""


class AlreadyDone(Refused):
    """Another station of the cell finished (or set aside) this serial of the batch."""


class LeaseLost(Refused):
    """Another station took the row over while this one stalled: leave it alone."""


class Ledger(Protocol):
    """The registry and the provenance log together: each call is one durable transition.

    Refusals are :class:`Refused` (a serial someone else has), :class:`Busy` (in flight on
    another station) or :class:`LeaseLost`; any other exception stops the station.
    """

    @property
    def station_id(self) -> str: ...

    def resume(self) -> tuple[list[Pending], list[str]]:
        """(this station's unfinished devices, serials already done in the batch)."""
        ...

    def unfinished(self) -> list[Pending]: ...

    def done(self) -> list[str]:
        """Serials the batch is done with (locked, failed or retired), on any station."""
        ...

    def reserve(self, serial: str, port: str, hardware_id: str,
                fingerprint_at: Callable[[int], str] | None = None) -> None:
        """Hold ``serial`` for this device (Busy, AlreadyDone or Refused if it may not);
        ``fingerprint_at`` lets a ledger assign generation 0 in the same step."""
        ...

    def assign(self, serial: str, fingerprint_at: Callable[[int], str]) -> tuple[int, str]:
        """Generation and fingerprint for ``serial`` (generation + 1 on a collision)."""
        ...

    def bind(self, serial: str, port: str, hardware_id: str, generation: int,
             fingerprint: str) -> None:
        """written: the password belongs to this device alone, before it is sent."""
        ...

    def claim(self, hardware_id: str, port: str) -> Pending | None:
        """The unfinished row bound to this device, now held by this station."""
        ...

    def release(self, serial: str, port: str, reason: str) -> None:
        """The device failed before its password was bound: the serial is free again."""
        ...

    def advance(self, serial: str, state: DeviceState, port: str, **fields: object) -> None:
        """written -> verified -> locked."""
        ...

    def fail(self, serial: str, port: str, reason: str) -> None: ...

    def park(self, serial: str) -> None:
        """The device went away mid-way: any station that sees it again may finish it."""
        ...

    def row(self, serial: str) -> Device | None: ...

    def locked(self) -> list[tuple[str, int]]:
        """(serial, generation) of every device locked in this batch."""
        ...

    def finish(self, complete: bool) -> str:
        """End of run: close the batch if nothing is in flight anywhere; says what it did."""
        ...


@dataclass
class StationConfig:
    batch: str
    poll: float = 0.2  # seconds between looks at an idle port
    count: int | None = None  # stop after this many PASSes (no work order)
    keep_running: bool = False  # --auto: wait for more devices until interrupted
    idle_exit: float | None = None  # end once every port has been quiet this long (seconds)
