"""Provisioning frames on the wire: SLIP-delimited, CRC-32-checked (docs/protocol.md).

    frame = END ‖ SLIP(version u8 ‖ seq u8 ‖ cmd u8 ‖ body ‖ CRC-32 LE of the preceding) ‖ END

Pure: bytes in, bytes out; the firmware hook implements the same layout in C and both are held
to tests/vectors/protocol.txt.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from credline.core.errors import FrameError

PROTOCOL_VERSION = 1
MAX_FRAME = 512  # decoded bytes, header and CRC included
END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD
_END = bytes([END])
_ESC = bytes([ESC])


__all__ = ["END", "ESC", "MAX_FRAME", "PROTOCOL_VERSION", "Deframer", "Frame", "FrameError",
           "decode", "unslip"]


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    cmd: int
    body: bytes = b""
    version: int = PROTOCOL_VERSION

    def encode(self) -> bytes:
        raw = bytes([self.version, self.seq & 0xFF, self.cmd]) + self.body
        if len(raw) + 4 > MAX_FRAME:
            raise FrameError(f"frame of {len(raw) + 4} bytes exceeds {MAX_FRAME}")
        raw += zlib.crc32(raw).to_bytes(4, "little")
        escaped = raw.replace(bytes([ESC]), bytes([ESC, ESC_ESC])).replace(
            bytes([END]), bytes([ESC, ESC_END]))
        return bytes([END]) + escaped + bytes([END])


def unslip(data: bytes) -> bytes:
    """A frame's bytes with SLIP's escapes undone; a bad escape raises FrameError."""
    pieces = bytes(data).split(_ESC)  # the text between escapes, a chunk at a time
    out = bytearray(pieces[0])
    for i in range(1, len(pieces)):
        piece = pieces[i]
        if not piece:  # the escape is the last byte, or another escape follows it
            if i == len(pieces) - 1:
                raise FrameError("frame ends inside an escape")
            raise FrameError(f"bad SLIP escape 0x{ESC:02x}")
        if piece[0] == ESC_END:
            out.append(END)
        elif piece[0] == ESC_ESC:
            out.append(ESC)
        else:
            raise FrameError(f"bad SLIP escape 0x{piece[0]:02x}")
        out += piece[1:]
    return bytes(out)


def decode(data: bytes) -> Frame:
    """Decode one frame's bytes between two END markers."""
    raw = unslip(data)
    if len(raw) < 7:
        raise FrameError(f"frame of {len(raw)} bytes is too short")
    if len(raw) > MAX_FRAME:
        raise FrameError(f"frame of {len(raw)} bytes exceeds {MAX_FRAME}")
    if zlib.crc32(raw[:-4]).to_bytes(4, "little") != raw[-4:]:
        raise FrameError("frame CRC mismatch")
    return Frame(seq=raw[1], cmd=raw[2], body=raw[3:-4], version=raw[0])


_BUFFER_LIMIT = 2 * MAX_FRAME + 3  # every byte of a fully escaped frame, and one more


class Deframer:
    """Splits a byte stream into frames; a damaged frame is reported in place, not fatal."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        found: list[Frame | FrameError] = []
        pieces = data.split(_END)  # what lies between END bytes, a chunk at a time
        for i, piece in enumerate(pieces):
            # A frame longer than any valid one (escaped) is kept only as far as needed to
            # be refused as too long: the buffer stays bounded whatever the line sends.
            self._buffer += piece[:_BUFFER_LIMIT - len(self._buffer)]
            if i == len(pieces) - 1:
                break  # no END after this piece yet: the frame goes on
            if self._buffer:
                try:
                    found.append(decode(bytes(self._buffer)))
                except FrameError as exc:
                    found.append(exc)
                self._buffer.clear()
        return found

    def partial(self) -> tuple[int, bytes]:
        """The frame under way: (bytes of it received, as sent on the line; its first bytes
        unescaped, as far as they read cleanly). What a reader needs to tell how much of
        the frame is still to come."""
        raw = bytes(self._buffer)
        clean = raw[:-1] if raw.endswith(_ESC) else raw  # an escape half received
        try:
            return len(raw), unslip(clean)
        except FrameError:
            return len(raw), b""
