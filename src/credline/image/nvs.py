"""The credential as an ESP-IDF NVS partition (format version 2), byte-identical to what
Espressif's ``esp-idf-nvs-partition-gen`` writes for the same entries (tested against it).

Namespace ``credline``, entries in this order: ``serial``, ``password``, ``key_id``,
``scheme`` (strings) and ``gen`` (u32). Page 0 holds them; every other page is erased
(0xFF), the last one the reserved page NVS needs for garbage collection.

Fast by construction: the page is laid out once per serial length, with everything that does
not change from device to device (the namespace, key id, scheme, the bitmap, the page header)
already in place; each device patches its serial, password, generation and their CRCs.
Pure computation: no file, no port.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from credline.core.derive import MAX_GENERATION, SCHEME
from credline.core.errors import BadInput

PAGE = 4096
ENTRY = 32
MIN_SIZE = 3 * PAGE  # a read/write NVS partition: two pages and the reserved page
MAX_SIZE = 0x100000  # 1 MiB; NVS partitions are tens of kilobytes
DEFAULT_SIZE = 0x6000
NAMESPACE = "credline"
MAX_STRING = 4000  # bytes with the NUL (NVS v2 limit for strings)

_VERSION2 = 0xFE
_ACTIVE = 0xFFFFFFFE
_U8, _U32, _SZ = 0x01, 0x04, 0x21
_FIRST_ENTRY = 64
_ANY_CHUNK = 0xFF


def _crc(data: bytes) -> int:
    return zlib.crc32(data, 0xFFFFFFFF) & 0xFFFFFFFF


def size_problem(size: int) -> str | None:
    """What is wrong with ``size`` as an NVS partition size, or None."""
    if size % PAGE:
        return f"must be a multiple of 0x{PAGE:x} (one flash sector)"
    if not MIN_SIZE <= size <= MAX_SIZE:
        return f"must be between 0x{MIN_SIZE:x} and 0x{MAX_SIZE:x}"
    return None


def _header() -> bytes:
    head = bytearray(b"\xff" * 32)
    struct.pack_into("<II", head, 0, _ACTIVE, 0)
    head[8] = _VERSION2
    struct.pack_into("<I", head, 28, _crc(bytes(head[4:28])))
    return bytes(head)


def _entry(ns: int, kind: int, span: int, key: str, data: bytes) -> bytearray:
    """One entry header: ns, type, span, chunk, CRC(header less the CRC), key, 8 data bytes."""
    entry = bytearray(b"\xff" * ENTRY)
    entry[0:4] = bytes((ns, kind, span, _ANY_CHUNK))
    entry[8:24] = key.encode().ljust(16, b"\x00")
    entry[24:24 + len(data)] = data
    _seal(entry)
    return entry


def _seal(entry: bytearray | memoryview) -> None:
    struct.pack_into("<I", entry, 4, _crc(bytes(entry[0:4]) + bytes(entry[8:32])))


def _string_span(length: int) -> int:
    """Entries a string of ``length`` bytes takes, its NUL included, header included."""
    return 1 + (length + 1 + ENTRY - 1) // ENTRY


@dataclass(frozen=True)
class _Slot:
    """Where one string entry sits on page 0 (byte offsets in the page)."""

    header: int
    data: int


class NvsBuilder:
    """Images for one product: the partition ``size``, the master key's id, the scheme.

    ``build`` is called once per device; the page layout for a serial length is made the
    first time that length is seen and reused after.
    """

    def __init__(self, size: int = DEFAULT_SIZE, *, key_id: str, scheme: str = SCHEME) -> None:
        problem = size_problem(size)
        if problem is not None:
            raise BadInput(f"NVS partition size 0x{size:x}: {problem}")
        self.size = size
        self.key_id = key_id
        self.scheme = scheme
        self._tail = b"\xff" * (size - PAGE)
        self._layouts: dict[tuple[int, int], tuple[bytes, _Slot, _Slot, int]] = {}

    def _layout(self, serial_len: int, password_len: int) -> tuple[bytes, _Slot, _Slot, int]:
        page = bytearray(b"\xff" * PAGE)
        page[0:32] = _header()
        entries: list[bytes] = [bytes(_entry(0, _U8, 1, NAMESPACE, b"\x01"))]
        slots: list[_Slot] = []
        strings = (("serial", b"\x00" * serial_len, True), ("password", b"\x00" * password_len,
                   True), ("key_id", self.key_id.encode(), False),
                   ("scheme", self.scheme.encode(), False))
        for key, value, patched in strings:
            if len(value) + 1 > MAX_STRING:
                raise BadInput(f"NVS entry {key}: {len(value)} bytes is more than NVS holds")
            at = _FIRST_ENTRY + ENTRY * len(entries)
            if patched:
                slots.append(_Slot(at, at + ENTRY))
            data = value + b"\x00"
            head = _entry(1, _SZ, _string_span(len(value)), key,
                          struct.pack("<HH", len(data), 0xFFFF) + struct.pack("<I", _crc(data)))
            entries.append(bytes(head))
            body = data.ljust((len(data) + ENTRY - 1) // ENTRY * ENTRY, b"\xff")
            entries.extend(body[i:i + ENTRY] for i in range(0, len(body), ENTRY))
        gen_at = _FIRST_ENTRY + ENTRY * len(entries)
        entries.append(bytes(_entry(1, _U32, 1, "gen", b"\x00\x00\x00\x00")))
        if len(entries) > 126:
            raise BadInput("the credential does not fit one NVS page")
        page[_FIRST_ENTRY:_FIRST_ENTRY + ENTRY * len(entries)] = b"".join(entries)
        # Bitmap: two bits per entry, 0b10 = written (the generator clears the low bit).
        bitmap = bytearray(b"\xff" * 32)
        for index in range(len(entries)):
            bitmap[index // 4] &= ~(1 << (index % 4 * 2)) & 0xFF
        page[32:64] = bitmap
        return bytes(page), slots[0], slots[1], gen_at

    def build(self, serial: str, password: str, generation: int) -> bytes:
        """The partition image for one device."""
        if not 0 <= generation <= MAX_GENERATION:
            raise BadInput(f"generation {generation}: outside 0..{MAX_GENERATION}")
        serial_bytes, password_bytes = serial.encode(), password.encode()
        shape = (len(serial_bytes), len(password_bytes))
        layout = self._layouts.get(shape)
        if layout is None:
            layout = self._layouts[shape] = self._layout(*shape)
        template, serial_slot, password_slot, gen_at = layout
        page = bytearray(template)
        for slot, value in ((serial_slot, serial_bytes), (password_slot, password_bytes)):
            page[slot.data:slot.data + len(value)] = value
            struct.pack_into("<I", page, slot.header + 28, _crc(value + b"\x00"))
            _seal(memoryview(page)[slot.header:slot.header + ENTRY])
        struct.pack_into("<I", page, gen_at + 24, generation)
        _seal(memoryview(page)[gen_at:gen_at + ENTRY])
        return bytes(page) + self._tail


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """What a credential partition holds, read back (its password is not kept here)."""

    serial: str
    key_id: str
    scheme: str
    generation: int


def read_credential(page: bytes) -> StoredCredential | None:
    """The credential on the partition's first page, or None when that page holds no
    complete, CRC-correct ``credline`` namespace (erased, torn or foreign)."""
    if len(page) < PAGE or page[0:32] != _header():
        return None
    strings: dict[str, str] = {}
    generation: int | None = None
    index, ns = 0, None
    while index < 126:
        at = _FIRST_ENTRY + ENTRY * index
        entry = page[at:at + ENTRY]
        if entry == b"\xff" * ENTRY:
            break
        if struct.unpack_from("<I", entry, 4)[0] != _crc(entry[0:4] + entry[8:32]):
            return None
        kind, span = entry[1], max(entry[2], 1)
        key = entry[8:24].split(b"\x00", 1)[0].decode("ascii", "replace")
        if entry[0] == 0 and kind == _U8 and key == NAMESPACE:
            ns = entry[24]
        elif ns is not None and entry[0] == ns and kind == _SZ:
            size, _, data_crc = struct.unpack_from("<HHI", entry, 24)
            data = page[at + ENTRY:at + ENTRY + size]
            if len(data) != size or _crc(data) != data_crc or not data.endswith(b"\x00"):
                return None
            strings[key] = data[:-1].decode("utf-8", "replace")
        elif ns is not None and entry[0] == ns and kind == _U32 and key == "gen":
            generation = struct.unpack_from("<I", entry, 24)[0]
        index += span
    if generation is None or not {"serial", "password", "key_id", "scheme"} <= set(strings):
        return None
    return StoredCredential(strings["serial"], strings["key_id"], strings["scheme"], generation)
