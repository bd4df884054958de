"""The registry of transports: the profile's ``[device] transport`` names a Link factory.

As pyserial's ``serial_for_url`` picks a URL handler by scheme, the station picks how it
reaches a device by the name the profile gives (default ``hook``). A transport is a
:data:`Factory`: given the profile (and whether each device's hardware id is its serial), it
returns a :data:`~credline.core.device.Connect`, which turns a port name or URL into a
:class:`~credline.core.device.Link`. The station knows nothing else about it.

Registering a transport (the ESP transport will do this)::

    # src/credline/transport/esp.py
    def connector(profile: Profile, *, hwid_is_serial: bool = False) -> Connect: ...

    # here, next to the built-ins (or from a factory's own script before build_station):
    register("esp", esp.connector)

An unknown name is a :class:`~credline.core.errors.ProfileError` naming the profile file, the
value and the known names, raised by :func:`connector_for` before any batch opens. This module
never opens a port itself: a factory is called once per station, its Connect once per device.
"""

from __future__ import annotations

from typing import Protocol

from credline.core.device import Connect
from credline.core.errors import ProfileError
from credline.core.policy import Profile
from credline.transport import esp, hook_device

DEFAULT = "hook"


class Factory(Protocol):
    def __call__(self, profile: Profile, *, hwid_is_serial: bool = False) -> Connect: ...


_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory, *, aliases: tuple[str, ...] = ()) -> None:
    """Make ``factory`` reachable as ``[device] transport = name`` (and each alias).

    A name already taken is refused: two transports under one name would make a profile
    mean different things on different stations."""
    for key in (name, *aliases):
        if key in _FACTORIES and _FACTORIES[key] is not factory:
            raise ValueError(f"transport {key!r} is already registered")
        _FACTORIES[key] = factory


def names() -> tuple[str, ...]:
    """Every name a profile may give, sorted."""
    return tuple(sorted(_FACTORIES))


def transport_name(profile: Profile) -> str:
    """The profile's ``[device] transport``, checked against the registry."""
    name = profile.section("device").get("transport", DEFAULT)
    if not isinstance(name, str) or name not in _FACTORIES:
        raise ProfileError(f"{profile.source}: [device] transport = {name!r}: unknown "
                           f"transport; known: {', '.join(names())}")
    return name


def connector_for(profile: Profile, *, hwid_is_serial: bool = False) -> Connect:
    """The Connect of the transport the profile names; ProfileError if it names none."""
    return _FACTORIES[transport_name(profile)](profile, hwid_is_serial=hwid_is_serial)


register(DEFAULT, hook_device.connector, aliases=("serial",))
register("esp", esp.connector)
