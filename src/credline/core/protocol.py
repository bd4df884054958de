"""Provisioning commands and replies (docs/protocol.md). Pure: no port, no clock.

Every reply parser here is total: any bytes a device sends become a typed result or a
:class:`~credline.core.errors.BadReply` naming where they came from (``origin``, e.g. "device on
/dev/ttyUSB0") and what was wrong. Messages carry lengths and single bytes, never a reply's
body: a hostile device could echo the PUT request, and that holds the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from credline.core.errors import BadReply
from credline.core.escape import escape_bytes
from credline.core.framing import PROTOCOL_VERSION, Frame

HELLO, PUT, VERIFY, LOCK = 0x01, 0x02, 0x03, 0x04
REPLY_OK = 0x80
REPLY_ERROR = 0xFF
NONCE_BYTES = 32
MAC_BYTES = 32  # HMAC-SHA256
NAMES = {HELLO: "HELLO", PUT: "PUT", VERIFY: "VERIFY", LOCK: "LOCK"}


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

    @property
    def resend(self) -> bool:
        """The line damaged the request: send the same frame again.

        CRC covers a bad CRC and (hook 1.1 on) a bad SLIP escape. TOO_BIG too: the station
        never sends a frame over the limit, so the line merged it with noise or lost an END,
        and hooks before 1.1 answered a bad escape with it.
        """
        return self in (WireError.CRC, WireError.TOO_BIG)


# Decoded sizes: version, seq and cmd, then the body, then the CRC.
_HEADER, _CRC = 3, 4
_FIXED_REPLY_BODY = {REPLY_ERROR: 2, PUT | REPLY_OK: 1, LOCK | REPLY_OK: 1,
                     VERIFY | REPLY_OK: MAC_BYTES}
_HELLO_FIXED = 6  # version, major, minor, state, hwid length, serial length
_MIN_FRAME = 7


def reply_size_at_least(head: bytes) -> int:
    """The fewest bytes (unescaped) the reply frame that starts with ``head`` can have.

    What a reader needs to sleep through the rest of a reply instead of waking for every
    byte: exact once the header says which reply it is (and, for HELLO, once its two length
    bytes are in), a lower bound before. Any bytes are accepted; whether they make a valid
    reply is for :func:`parse_reply` to say.
    """
    if len(head) < _HEADER:
        return _MIN_FRAME
    cmd = head[2]
    if cmd in _FIXED_REPLY_BODY:
        return _HEADER + _FIXED_REPLY_BODY[cmd] + _CRC
    if cmd != HELLO | REPLY_OK:
        return _MIN_FRAME
    size = _HEADER + _HELLO_FIXED + _CRC
    hwid_length = _HEADER + 4  # the body's fifth byte
    if len(head) > hwid_length:
        size += head[hwid_length]
        serial_length = hwid_length + 1 + head[hwid_length]
        if len(head) > serial_length:
            size += head[serial_length]
    return size


def parse_reply(frame: Frame, cmd: int, origin: str) -> bytes | WireError:
    """The body of an OK reply to ``cmd``, or the code of an error reply; else BadReply."""
    if frame.version != PROTOCOL_VERSION:
        raise BadReply(f"{origin} answered in protocol version {frame.version}; this station "
                       f"speaks version {PROTOCOL_VERSION}",
                       hint="update the station or the device's credline hook")
    if frame.cmd == cmd | REPLY_OK:
        return frame.body
    if frame.cmd != REPLY_ERROR:
        raise BadReply(f"{origin} answered {_name(cmd)} with command 0x{frame.cmd:02x}",
                       hint="is this a credline device?")
    return _error_code(frame.body, cmd, origin)


def _error_code(body: bytes, cmd: int, origin: str) -> WireError:
    if len(body) != 2:
        raise BadReply(f"{origin} answered {_name(cmd)} with an error reply of {len(body)} "
                       "bytes (2 expected)")
    try:
        code = WireError(body[1])
    except ValueError:
        raise BadReply(f"{origin} answered {_name(cmd)} with unknown error code "
                       f"{body[1]}") from None
    # A frame damaged on the line may have had its cmd byte damaged too: only a deliberate
    # refusal must name the command it refuses.
    if body[0] != cmd and not code.resend:
        raise BadReply(f"{origin} answered {_name(cmd)} with an error for command "
                       f"0x{body[0]:02x}")
    return code


def parse_state(body: bytes, cmd: int, origin: str) -> DeviceState:
    """The device state a PUT or LOCK reply carries (one byte)."""
    if len(body) != 1:
        raise BadReply(f"{origin} answered {_name(cmd)} with {len(body)} bytes (1 expected: "
                       "its state)", hint="is this a credline device?")
    return _state(body[0], cmd, origin)


def parse_mac(body: bytes, origin: str) -> bytes:
    """The HMAC a VERIFY reply carries."""
    if len(body) != MAC_BYTES:
        raise BadReply(f"{origin} answered VERIFY with {len(body)} bytes ({MAC_BYTES} "
                       "expected)", hint="is this a credline device?")
    return body


def _state(value: int, cmd: int, origin: str) -> DeviceState:
    try:
        return DeviceState(value)
    except ValueError:
        raise BadReply(f"{origin} answered {_name(cmd)} with state {value} (0 empty, "
                       "1 provisioned or 2 locked expected)",
                       hint="is this a credline device?") from None


def _name(cmd: int) -> str:
    return NAMES.get(cmd, f"command 0x{cmd:02x}")


@dataclass(frozen=True)
class Hello:
    """A HELLO reply. ``hardware_id`` and ``serial`` are escaped (:mod:`credline.core.escape`):
    printable text, safe on any screen or in any file; a valid id comes through unchanged."""

    protocol: int
    hook_version: str
    state: DeviceState
    hardware_id: str
    serial: str  # the stored record's serial, or ""

    @classmethod
    def parse(cls, body: bytes, origin: str) -> Hello:
        """version, hook major, minor, state, hwid length, hwid, serial length, serial."""
        def bad(what: str) -> BadReply:
            return BadReply(f"{origin} sent a malformed HELLO reply: {what}",
                            hint="is this a credline device?")

        if len(body) < 6:
            raise bad(f"{len(body)} bytes, at least 6 expected")
        if body[0] != PROTOCOL_VERSION:
            raise BadReply(f"{origin} speaks protocol version {body[0]}; this station speaks "
                           f"version {PROTOCOL_VERSION}",
                           hint="update the station or the device's credline hook")
        hw_end = 5 + body[4]
        if hw_end >= len(body):
            raise bad(f"a hardware id of {body[4]} bytes and a serial length announced, "
                      f"{len(body) - 5} bytes follow")
        serial_len = body[hw_end]
        if hw_end + 1 + serial_len != len(body):
            raise bad(f"a serial of {serial_len} bytes announced, {len(body) - hw_end - 1} "
                      "bytes follow")
        return cls(body[0], f"{body[1]}.{body[2]}", _state(body[3], HELLO, origin),
                   escape_bytes(body[5:hw_end]), escape_bytes(body[hw_end + 1:]))
