"""Per-device Intel HEX images for gang programmers: the base firmware with the credential slot.

Each image is the product's base firmware plus slot A holding the record, byte for byte as
the C hook reads it at boot (:mod:`credline.core.slot`, with the profile's program unit), at
the profile's ``[hex] address``; slot B (the next sector) stays erased. The base is checked
once: both slot sectors must lie inside the profile's flash and hold no firmware data (any
byte the base gives there must be 0xFF). Every written file is parsed again with intelhex and
compared: the slot's bytes, and every other byte equal to the base's, nothing added.

Never sees the master key; the images hold plaintext passwords (or verifiers), so files are
written owner-only and atomically (:mod:`credline.files.atomic`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from intelhex import IntelHex, IntelHexError  # type: ignore[import-untyped]

from credline.core.encoding import CROCKFORD32
from credline.core.errors import BadInput, ProfileError
from credline.core.policy import Profile
from credline.core.record import (
    DEFAULT_ITERATIONS,
    MAX_RECORD,
    READING_CROCKFORD,
    READING_EXACT,
    Record,
)
from credline.core.secret import Password
from credline.core.slot import UNITS, Slot, slot_size
from credline.files.atomic import write_atomic
from credline.transport.hook_device import device_record

DEFAULT_SECTOR = 4096


@dataclass(frozen=True)
class HexLayout:
    """Where the slots go: the profile's ``[hex]`` section."""

    address: int  # slot A; slot B is the next sector
    sector_size: int = DEFAULT_SECTOR
    prog_size: int = 1
    flash_start: int = 0
    flash_size: int = 1 << 32
    origin: str = "[hex]"

    @property
    def end(self) -> int:
        return self.address + 2 * self.sector_size

    @classmethod
    def of(cls, profile: Profile) -> HexLayout:
        section = profile.section("hex")
        where = f"{profile.source}: [hex]"
        if "address" not in section:
            raise ProfileError(f"{where} address is missing: where the credential slot goes "
                               "in flash (the hook's slot_a)")
        layout = cls(int(section["address"]), int(section.get("sector_size", DEFAULT_SECTOR)),
                     int(section.get("prog_size", 1)), int(section.get("flash_start", 0)),
                     int(section.get("flash_size", 1 << 32)), where)
        layout.check()
        return layout

    def check(self) -> None:
        where = self.origin
        if self.prog_size not in UNITS:
            raise ProfileError(f"{where} prog_size = {self.prog_size}: must be one of "
                               f"{', '.join(map(str, UNITS))}")
        need = slot_size(MAX_RECORD, self.prog_size)
        if self.sector_size < need:
            raise ProfileError(f"{where} sector_size = {self.sector_size}: the hook needs at "
                               f"least {need} bytes per slot sector")
        if self.address % self.prog_size or self.address % self.sector_size:
            raise ProfileError(f"{where} address = {self.address:#x}: not on a sector "
                               f"boundary ({self.sector_size:#x}) and program unit")
        if self.address < self.flash_start or self.end > self.flash_start + self.flash_size:
            raise ProfileError(
                f"{where} address = {self.address:#x}: the two slot sectors "
                f"({self.address:#x}-{self.end - 1:#x}) lie outside the flash "
                f"({self.flash_start:#x}-{self.flash_start + self.flash_size - 1:#x})")


def read_base(path: Path, layout: HexLayout) -> IntelHex:
    """The base firmware, refused when it puts data where the slots go."""
    base = IntelHex()
    try:
        base.loadhex(str(path))
    except FileNotFoundError:
        raise BadInput(f"--base {path}: no such file") from None
    except (IntelHexError, ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"--base {path}: not an Intel HEX file ({exc})") from None
    except OSError as exc:
        raise BadInput(f"--base {path}: cannot be read ({exc.strerror})") from None
    check_base(base, layout, f"--base {path}")
    return base


def check_base(base: IntelHex, layout: HexLayout, origin: str) -> None:
    addresses = base.addresses()
    if addresses and (addresses[0] < layout.flash_start
                      or addresses[-1] >= layout.flash_start + layout.flash_size):
        raise BadInput(f"{origin}: firmware data at {addresses[0]:#x}-{addresses[-1]:#x} lies "
                       f"outside the profile's flash ({layout.origin} flash_start/flash_size)")
    inside = [a for a in addresses if layout.address <= a < layout.end]
    data = [a for a in inside if base[a] != 0xFF]
    if data:
        raise BadInput(f"{origin}: firmware data at {data[0]:#x} overlaps the credential "
                       f"slots ({layout.address:#x}-{layout.end - 1:#x}, {layout.origin} "
                       "address): move the slots or the firmware")


def hex_record(profile: Profile, serial: str, key_id: str, generation: int,
               password: Password, iterations: int = DEFAULT_ITERATIONS) -> Record:
    """The record for an image, as the station builds it for a hook 1.2 or later (the first
    to read slots with a program unit): Crockford reading rules for the Crockford alphabet."""
    reading = READING_CROCKFORD if profile.format.alphabet == CROCKFORD32 else READING_EXACT
    return device_record(profile.storage, serial, key_id, generation, password, iterations,
                         reading=reading)


class HexBuilder:
    """Builds and checks one device's HEX text from the base (read once)."""

    def __init__(self, base: IntelHex, layout: HexLayout, profile: Profile, key_id: str,
                 ) -> None:
        self.base = base
        self.layout = layout
        self.profile = profile
        self.key_id = key_id

    def slot(self, serial: str, password: Password | str, generation: int) -> bytes:
        if isinstance(password, str):
            password = Password(password)
        record = hex_record(self.profile, serial, self.key_id, generation, password)
        return Slot(record.encode(), 1, False, self.layout.prog_size).encode()

    def build(self, serial: str, password: Password | str, generation: int) -> bytes:
        """The image's HEX text (the same call as NvsBuilder.build, so the image batch that
        records NVS images can record HEX images too)."""
        image = IntelHex(self.base)
        slot = self.slot(serial, password, generation)
        image.puts(self.layout.address, slot)
        out = io.StringIO()
        image.write_hex_file(out)
        data = out.getvalue().encode("ascii")
        self.check(data, slot, f"the image for {serial}")
        return data

    def check(self, data: bytes, slot: bytes, origin: str) -> None:
        """Parse ``data`` again: the slot where it belongs, every other byte as in the base."""
        parsed = IntelHex()
        try:
            parsed.loadhex(io.StringIO(data.decode("ascii")))
        except (IntelHexError, ValueError, UnicodeDecodeError) as exc:
            raise BadInput(f"{origin}: does not parse as Intel HEX ({exc})") from None
        start = self.layout.address
        if parsed.tobinstr(start, size=len(slot)) != slot:
            raise BadInput(f"{origin}: the slot at {start:#x} is not the one built")
        want = set(self.base.addresses()) | set(range(start, start + len(slot)))
        if set(parsed.addresses()) != want:
            raise BadInput(f"{origin}: holds other addresses than the base and the slot")
        for address in self.base.addresses():
            if not start <= address < start + len(slot) and parsed[address] != self.base[address]:
                raise BadInput(f"{origin}: byte {address:#x} differs from the base")

    def write(self, out: Path, serial: str, password: Password, generation: int) -> Path:
        path = out / f"{serial}.hex"
        data = self.build(serial, password, generation)
        write_atomic(path, data, what="HEX image")
        self.check(path.read_bytes(), self.slot(serial, password, generation), str(path))
        return path


def flash_bytes(data: bytes, layout: HexLayout) -> bytes:
    """The two slot sectors of a HEX image as a device's flash holds them (absent = 0xFF): what
    a virtual device or a board's storage callbacks see after programming."""
    parsed = IntelHex()
    parsed.loadhex(io.StringIO(data.decode("ascii")))
    parsed.padding = 0xFF
    return bytes(parsed.tobinstr(layout.address, size=2 * layout.sector_size))
