"""Where labels go: owner-only files, a printer device, or a network Zebra printer.

Label files carry passwords, so every file is created 0600 and written whole or not at all
(:func:`write_private`, over :mod:`credline.files.atomic`). A printer is a character device or
FIFO path (for example ``/dev/usb/lp0``) written in place, or ``tcp://host:9100`` (a Zebra's
raw port).
"""

from __future__ import annotations

import socket
import stat
from pathlib import Path
from urllib.parse import urlsplit

from credline.core.errors import PrinterError
from credline.files.atomic import Staged, stage

PRINTER_TIMEOUT = 10.0


def write_private(path: Path, data: bytes) -> None:
    """Write a label file atomically, owner-only (0600)."""
    stage_private(path, data).publish()


def stage_private(path: Path, data: bytes) -> Staged:
    """A label file written owner-only (0600) and fsynced, named when published."""
    return stage(path, data, what="label file")


def send_to_printer(printer: str, zpl: str) -> None:
    """Send one label to a printer: ``tcp://host[:port]`` or a device/FIFO path."""
    data = zpl.encode("utf-8")
    if printer.startswith("tcp://"):
        parts = urlsplit(printer)
        host, port = parts.hostname or "", parts.port or 9100
        try:
            with socket.create_connection((host, port), timeout=PRINTER_TIMEOUT) as conn:
                conn.sendall(data)
        except OSError as exc:
            raise PrinterError(f"label printer {printer} did not take the label: "
                               f"{exc.strerror or exc}", hint="check it is on and online") from None
        return
    path = Path(printer)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise PrinterError(f"label printer {printer} not found: {exc.strerror}",
                           hint="check the printer cable and the profile's [label] printer"
                           ) from None
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise PrinterError(f"label printer {printer} is not a device or FIFO; to collect "
                           "label files give a label directory instead")
    try:
        with path.open("wb", buffering=0) as handle:
            handle.write(data)
    except OSError as exc:
        raise PrinterError(f"label printer {printer} refused the label: {exc.strerror}",
                           hint="check paper and ribbon") from None
