"""The station's adapters to the registry, the provenance log and the serial hook transport.

Placeholder until the registry/provenance and transport branches land on main.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from credline.errors import BadInput
from credline.policy import Profile
from credline.station import Connect, Ledger

if TYPE_CHECKING:
    from credline.stationrun import StationOptions


def open_ledger(profile: Profile, key_id: str, options: StationOptions,
                closers: list[Callable[[], None]]) -> Ledger:
    raise BadInput("this build has no registry yet")


def connector(profile: Profile) -> Connect:
    raise BadInput("this build has no serial transport yet")
