"""The ``esp`` transport: an ESP32 provisioned through its ROM loader with esptool's Python
API (never a subprocess), the credential as an NVS partition (:mod:`credline.image.nvs`).

Per device: connect and detect the chip (``detect_chip``), attach its flash, read the MAC
(the hardware id) and the partition's first page (what it holds: blank, or a credential);
PUT writes the partition at its offset (``write_flash``); VERIFY has the chip hash the
partition (``verify_flash``) and reads the first page back byte for byte; LOCK hard-resets
the chip into its firmware (an ESP32 has no write-once flag: the registry's ``locked`` is
the record that it is done). esptool's FatalError, serial and OS errors, and the errors
esptool's own code raises on a reply it cannot parse, become one-line :class:`DeviceFault`
messages for the operator, so one port fails alone (the same errors raised by credline's
code stay bugs); esptool's own output goes to each port's route
(:mod:`credline.transport.esp_log`), never to stdout.
"""

from __future__ import annotations

import contextlib
import os
import struct
import termios
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import serial
from esptool import cmds
from esptool.loader import ESPLoader
from esptool.util import FatalError

from credline.core.device import (
    Connect,
    Credential,
    DeviceFault,
    DeviceHello,
    HookState,
    VerifyMismatch,
)
from credline.core.escape import escape_text
from credline.core.policy import Profile
from credline.image.layout import EspLayout, esp_layout
from credline.image.nvs import PAGE, NvsBuilder, read_credential
from credline.transport.esp_log import routed

ROM_BAUD = 115200
RESETS = {"rts": ("default-reset", "hard-reset"), "none": ("no-reset", "no-reset")}


@dataclass(frozen=True)
class EspSettings:
    """The profile's ``[esp]`` and ``[device]`` settings the transport uses."""

    layout: EspLayout
    baud: int = 460800
    reset: str = "rts"
    attempts: int = 3
    chip: str = "auto"

    @classmethod
    def of(cls, profile: Profile) -> EspSettings:
        esp, device = profile.section("esp"), profile.section("device")
        return cls(layout=esp_layout(profile), baud=int(esp.get("baud", cls.baud)),
                   reset=str(esp.get("reset", cls.reset)),
                   attempts=max(1, int(device.get("retries", cls.attempts))),
                   chip=str(esp.get("chip", cls.chip)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return escape_text(text[0] if text else type(exc).__name__)


@contextlib.contextmanager
def _faults(port: str, doing: str) -> Iterator[None]:
    """esptool's and the line's errors as one operator line naming the port and the step."""
    try:
        yield
    except DeviceFault:
        raise
    except FatalError as exc:
        raise DeviceFault(f"{port}: {doing} failed: {_first_line(exc)}") from None
    except (serial.SerialException, OSError, termios.error) as exc:
        raise DeviceFault(f"{port}: {doing} failed: the serial line went away "
                          f"({_first_line(exc)}); check the cable") from None
    except (ValueError, IndexError, KeyError, TypeError, struct.error) as exc:
        if not _raised_by_esptool(exc):
            raise  # a bug of credline's own (a callback esptool called, say): reported as one
        # esptool met a reply it could not parse: noise on the line
        raise DeviceFault(f"{port}: {doing} failed: the device answered garbage "
                          f"({_first_line(exc)})") from None


def _raised_by_esptool(exc: BaseException) -> bool:
    """Whether the innermost frame of esptool's or credline's own code in ``exc``'s
    traceback is esptool's: a reply it could not parse, not credline calling it wrongly or
    failing in a callback (the frames of the libraries either calls are looked through)."""
    owner = None
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        top = module.partition(".")[0]
        if top in ("esptool", "credline"):
            owner = top
        tb = tb.tb_next
    return owner == "esptool"


def mac_text(mac: tuple[int, ...] | bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


class EspLink:
    """A :class:`~credline.core.device.Link` to one ESP32 in download mode."""

    def __init__(self, port: str, settings: EspSettings) -> None:
        self.port = port
        self.settings = settings
        self._loader: ESPLoader | None = None
        self._builders: dict[str, NvsBuilder] = {}
        self._progress: Callable[[int, int], None] | None = None

    @property
    def _esp(self) -> ESPLoader:
        if self._loader is None:
            self._loader = self._open(self.port, self.settings)
        return self._loader

    @staticmethod
    def _open(port: str, settings: EspSettings) -> ESPLoader:
        """Connect, detect the chip, attach its flash: what HELLO needs first."""
        before, _ = RESETS[settings.reset]
        with routed(port), _faults(port, "connecting (is the chip in download mode?)"):
            esp = cmds.detect_chip(port, ROM_BAUD, before, connect_attempts=settings.attempts)
        try:
            with routed(port), _faults(port, "attaching the flash"):
                if settings.chip != "auto" and esp.CHIP_NAME.lower().replace("-", "") \
                        != settings.chip:
                    raise DeviceFault(f"{port}: the chip is an {esp.CHIP_NAME}, the profile "
                                      f"says {settings.chip}: wrong board?")
                cmds.attach_flash(esp)
                if settings.baud != ROM_BAUD:
                    esp.change_baud(settings.baud)
        except DeviceFault:
            with contextlib.suppress(Exception):
                esp._port.close()
            raise
        return esp

    def watch(self, progress: Callable[[int, int], None] | None) -> None:
        """Report write progress (bytes done, total) to ``progress`` from now on."""
        self._progress = progress

    def _builder(self, key_id: str) -> NvsBuilder:
        if key_id not in self._builders:
            self._builders[key_id] = NvsBuilder(self.settings.layout.size, key_id=key_id)
        return self._builders[key_id]

    def _image(self, credential: Credential) -> bytes:
        return self._builder(credential.key_id).build(
            credential.serial, credential.password.reveal(), credential.generation)

    def _first_page(self) -> bytes:
        return bytes(self._esp.read_flash(self.settings.layout.offset, PAGE))

    def hello(self) -> DeviceHello:
        with routed(self.port), _faults(self.port, "reading the MAC and the partition"):
            mac = mac_text(self._esp.read_mac())
            page = self._first_page()
        stored = read_credential(page)
        if stored is not None:
            # Finished: an ESP32's "lock" is the complete record (see the module docstring).
            return DeviceHello(mac, HookState.LOCKED, stored.serial, stored.key_id)
        if page == b"\xff" * PAGE:
            return DeviceHello(mac, HookState.BLANK)
        return DeviceHello(mac, HookState.PROVISIONED)  # torn or foreign: writable

    def put(self, credential: Credential) -> None:
        image = self._image(credential)
        with routed(self.port, self._progress), _faults(self.port, "writing the partition"):
            try:
                cmds.write_flash(self._esp, [(self.settings.layout.offset, image)])
            except FatalError as exc:
                # esptool hashes what it wrote: a mismatch is the flash, not the line
                if "MD5" not in str(exc) and "flash region is empty" not in str(exc):
                    raise
                raise VerifyMismatch(f"{self.port}: the partition at "
                                     f"0x{self.settings.layout.offset:x} differs from the "
                                     "image written (flash fault?): set the board "
                                     "aside") from None

    def verify(self, credential: Credential) -> None:
        image = self._image(credential)
        offset = self.settings.layout.offset
        with routed(self.port), _faults(self.port, "reading the partition back"):
            try:
                cmds.verify_flash(self._esp, [(offset, image)])
            except FatalError as exc:
                if "verify" not in str(exc).lower() and "md5" not in str(exc).lower():
                    raise
                raise VerifyMismatch(f"{self.port}: the partition at 0x{offset:x} differs "
                                     "from the image written") from None
            if self._first_page() != image[:PAGE]:
                raise VerifyMismatch(f"{self.port}: the partition's first page read back "
                                     "differs from the image written")

    def lock(self) -> None:
        _, after = RESETS[self.settings.reset]
        with routed(self.port), _faults(self.port, "resetting the chip"):
            cmds.reset_chip(self._esp, after)

    def close(self) -> None:
        if self._loader is not None:
            with contextlib.suppress(Exception):
                self._loader._port.close()


def connector(profile: Profile, *, hwid_is_serial: bool = False) -> Connect:
    """The ``esp`` transport for ``profile`` (its layout checked now, before any batch)."""
    settings = EspSettings.of(profile)
    if hwid_is_serial:
        from credline.core.errors import ProfileError
        raise ProfileError(f"{profile.source}: [device] serial_source = 'device' does not go "
                           "with transport 'esp' (a MAC is no serial): use a work order")

    def connect(port: str) -> EspLink:
        # esptool opens the port itself, at HELLO: a board that answers garbage or nothing
        # then fails on its port's row, as a hook device does; a missing port is waited for.
        if "://" not in port and not os.path.exists(port):
            raise DeviceFault(f"{port}: no such port")
        return EspLink(port, settings)

    return connect
