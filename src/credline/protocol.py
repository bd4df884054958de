"""Provisioning commands and replies (docs/protocol.md). Pure: no port, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

HELLO, PUT, VERIFY, LOCK = 0x01, 0x02, 0x03, 0x04
REPLY_OK = 0x80
REPLY_ERROR = 0xFF
NONCE_BYTES = 32


class DeviceState(IntEnum):
    EMPTY = 0
    PROVISIONED = 1
    LOCKED = 2


class WireError(IntEnum):
    """The hook's error codes as sent on the wire (the C enum's absolute values)."""

    IO = 1
    CORRUPT = 2
    TOO_BIG = 3
    LOCKED = 4
    NOT_PROVISIONED = 5
    BUFFER = 6
    INVALID = 7
    VERSION = 8
    CRC = 9
    UNKNOWN = 10

    @property
    def plain(self) -> str:
        return {
            WireError.IO: "its flash could not be written",
            WireError.CORRUPT: "its stored record is damaged",
            WireError.TOO_BIG: "the frame was too large for it",
            WireError.LOCKED: "it is already locked",
            WireError.NOT_PROVISIONED: "it holds no credential",
            WireError.INVALID: "it refused the record as malformed",
            WireError.VERSION: "it speaks another protocol version",
            WireError.CRC: "the frame was damaged on the line",
            WireError.UNKNOWN: "it does not know the command",
            WireError.BUFFER: "its buffer was too small",
        }[self]


@dataclass(frozen=True)
class Hello:
    protocol: int
    hook_version: str
    state: DeviceState
    hardware_id: str
    serial: str  # the stored record's serial, or ""

    @classmethod
    def parse(cls, body: bytes) -> Hello:
        if len(body) < 6:
            raise ValueError("HELLO reply too short")
        hw_len = body[4]
        hwid = body[5:5 + hw_len].decode("ascii", "replace")
        at = 5 + hw_len
        serial_len = body[at]
        serial = body[at + 1:at + 1 + serial_len].decode("ascii", "replace")
        if at + 1 + serial_len != len(body):
            raise ValueError("HELLO reply has the wrong length")
        return cls(body[0], f"{body[1]}.{body[2]}", DeviceState(body[3]), hwid, serial)
