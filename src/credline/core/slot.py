"""The flash slot a device keeps its record in, byte for byte as the C hook reads it. Pure.

The twin of the "Slot layout" section of firmware-hooks/include/credline_hook.h: what
``credline image hex`` places in a firmware image, and what tests compare the hook's own writes
against (tests/vectors/slots.txt). Two layouts:

* ``CLS2`` (written today), for a program unit U of 1, 2, 4, 8, 16 or 32 bytes::

      0 "CLS2" | 4 seq u32le | 8 len u16le | 10 flags | 11 U | 12 FF*4 | 16 record |
      16+n CRC-32 LE of bytes 0..16+n-1 | FF padding to a multiple of U | commit: U bytes 00

* ``CLR1`` (hook 1.0/1.1, byte-programmed; still read, never written)::

      0 "CLR1" | 4 seq u32le | 8 len u16le | 10 flags | 11 FF*4 | 15 commit 00 | 16 record |
      16+n CRC-32 LE of bytes 0..14 then the record

Flags are active-low: bit 0 clear means locked. Never sees a key; the record it carries may
hold a password, so callers treat encoded slots as secret.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from credline.core.errors import RecordError
from credline.core.record import MAX_RECORD

HEADER = 16
UNITS = (1, 2, 4, 8, 16, 32)
MAGIC = b"CLS2"
LEGACY_MAGIC = b"CLR1"
_LOCKED = 0x01


def _check_unit(unit: int) -> None:
    if unit not in UNITS:
        raise RecordError(f"program unit {unit} is not one of {', '.join(map(str, UNITS))}")


def commit_offset(record_len: int, unit: int) -> int:
    """Where the commit word starts: header, record and CRC rounded up to the unit."""
    _check_unit(unit)
    return -(-(HEADER + record_len + 4) // unit) * unit


def slot_size(record_len: int, unit: int) -> int:
    """Bytes a slot takes (``credline_slot_size`` in the C hook)."""
    return commit_offset(record_len, unit) + unit


@dataclass(frozen=True)
class Slot:
    """A decoded slot: the record bytes, its sequence number, the lock flag and the layout."""

    record: bytes
    seq: int = 1
    locked: bool = False
    unit: int = 1
    legacy: bool = False  # CLR1

    def encode(self) -> bytes:
        """The slot's bytes from its first to its last programmed byte (erased bytes as 0xFF)."""
        n = len(self.record)
        if not 0 < n <= MAX_RECORD:
            raise RecordError(f"a record of {n} bytes cannot go into a slot (1..{MAX_RECORD})")
        if not 0 <= self.seq < 1 << 32:
            raise RecordError(f"slot sequence number {self.seq} is outside 0..2^32-1")
        flags = 0xFF & ~_LOCKED if self.locked else 0xFF
        head = bytearray(b"\xff" * HEADER)
        head[8:10] = n.to_bytes(2, "little")
        head[4:8] = self.seq.to_bytes(4, "little")
        head[10] = flags
        if self.legacy:
            if self.unit != 1:
                raise RecordError("a CLR1 (legacy) slot is byte-programmed: unit 1 only")
            head[0:4] = LEGACY_MAGIC
            crc = zlib.crc32(self.record, zlib.crc32(bytes(head[:15])))
            head[15] = 0
            return bytes(head) + self.record + crc.to_bytes(4, "little")
        _check_unit(self.unit)
        head[0:4] = MAGIC
        head[11] = self.unit
        body = bytes(head) + self.record
        body += zlib.crc32(body).to_bytes(4, "little")
        at = commit_offset(n, self.unit)
        return body + b"\xff" * (at - len(body)) + b"\x00" * self.unit

    @classmethod
    def decode(cls, data: bytes) -> Slot:
        """Read a slot from a sector's bytes (more may follow), as the hook does at boot."""
        if len(data) < HEADER:
            raise RecordError(f"a slot needs {HEADER} header bytes, {len(data)} given")
        magic, n = data[:4], int.from_bytes(data[8:10], "little")
        if not 0 < n <= MAX_RECORD:
            raise RecordError(f"slot record length {n} is outside 1..{MAX_RECORD}")
        seq, locked = int.from_bytes(data[4:8], "little"), not data[10] & _LOCKED
        record = data[HEADER:HEADER + n]
        crc = data[HEADER + n:HEADER + n + 4]
        if len(crc) != 4:
            raise RecordError("slot is cut short before its CRC")
        if magic == LEGACY_MAGIC:
            if data[15] != 0:
                raise RecordError("slot not committed (torn or never written)")
            if zlib.crc32(record, zlib.crc32(data[:15])).to_bytes(4, "little") != crc:
                raise RecordError("slot CRC mismatch")
            return cls(record, seq, locked, 1, legacy=True)
        if magic != MAGIC:
            raise RecordError(f"no slot here (magic {magic.hex()})")
        unit = data[11]
        if unit not in UNITS:
            raise RecordError(f"slot program unit {unit} is not one of {UNITS}")
        at = commit_offset(n, unit)
        if data[at:at + unit] != b"\x00" * unit:
            raise RecordError("slot not committed (torn or never written)")
        if zlib.crc32(data[:HEADER + n]).to_bytes(4, "little") != crc:
            raise RecordError("slot CRC mismatch")
        return cls(record, seq, locked, unit)
