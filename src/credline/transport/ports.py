"""Finding serial ports: the ones named, those matching globs, and USB adapters as they come.

A station watches for ports appearing and disappearing so the operator only plugs devices in.
Ports come from pyserial's listing (USB-serial adapters: anything with a USB vendor id) and
from glob patterns over device paths or symlinks (``/dev/credline/*`` from our udev rules,
``DIR/*`` for the links ``credline sim --links DIR`` makes). Only names are handled here;
nothing is opened.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from serial.tools import list_ports


def usb_serial_ports() -> set[str]:
    """Device paths of USB-serial adapters pyserial sees (built-in UARTs left out)."""
    return {port.device for port in list_ports.comports() if port.vid is not None}


def glob_ports(patterns: Iterable[str]) -> set[str]:
    """Paths matching ``patterns`` that exist now (a dangling symlink is a gone device)."""
    found: set[str] = set()
    for pattern in patterns:
        found.update(path for path in glob.glob(pattern) if os.path.exists(path))
    return found


@dataclass
class PortWatcher:
    """Reports ports appearing and disappearing between polls.

    ``fixed`` ports are always present (given with ``--port``); ``patterns`` are globbed on
    every poll; ``usb`` adds pyserial's USB adapters (``--auto``).
    """

    fixed: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    usb: bool = False
    lister: Callable[[], set[str]] = usb_serial_ports
    known: set[str] = field(default_factory=set)

    def current(self) -> set[str]:
        ports = set(self.fixed) | glob_ports(self.patterns)
        if self.usb:
            ports |= self.lister()
        return ports

    def poll(self) -> tuple[list[str], list[str]]:
        """(appeared, disappeared) since the last poll, each sorted."""
        now = self.current()
        appeared = sorted(now - self.known)
        gone = sorted(self.known - now)
        self.known = now
        return appeared, gone
