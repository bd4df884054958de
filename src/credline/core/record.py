"""The credential record a device stores (docs/protocol.md, "The record"). Pure.

    version u8 (1 or 2) ‖ kind u8 (0 password, 1 verifier) ‖ [v2: reading u8] ‖
    len u8 ‖ scheme ‖ len u8 ‖ serial ‖
    key id (8 bytes) ‖ generation u32be ‖
      kind 0: len u8 ‖ password
      kind 1: iterations u32be ‖ salt (16) ‖ PBKDF2-HMAC-SHA256(password, salt, iterations, 32)
    ‖ CRC-32 LE of all the above

Version 2 adds the reading rules the device applies to a typed password (0 exact, 1 Crockford:
hyphens, spaces and case ignored, O as 0, I and L as 1). A record with exact reading is
written as version 1, byte for byte what hooks before 1.2 accept.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from dataclasses import dataclass

from credline.core.encoding import CROCKFORD32, constant_time_equal, normalize_typed
from credline.core.errors import RecordError
from credline.core.secret import Password

RECORD_VERSION = 1
RECORD_VERSION_READING = 2
READING_EXACT = 0
READING_CROCKFORD = 1
READINGS = {READING_EXACT: "exact", READING_CROCKFORD: "crockford"}
MAX_RECORD = 256
SALT_BYTES = 16
DEFAULT_ITERATIONS = 10_000


@dataclass(frozen=True)
class Record:
    serial: str
    key_id: str  # 16 hex characters
    generation: int
    scheme: str = "credline-v1"
    password: Password | None = None
    verifier: tuple[int, bytes, bytes] | None = None  # iterations, salt, hash
    reading: int = READING_EXACT  # how the device reads a typed password

    @classmethod
    def with_verifier(cls, serial: str, key_id: str, generation: int, password: Password,
                      salt: bytes, iterations: int = DEFAULT_ITERATIONS,
                      reading: int = READING_EXACT) -> Record:
        digest = hashlib.pbkdf2_hmac("sha256", password.reveal().encode(), salt, iterations)
        return cls(serial, key_id, generation, verifier=(iterations, salt, digest),
                   reading=reading)

    def accepts(self, typed: str) -> bool:
        """Whether the device takes ``typed`` for this record's password (its reading rules,
        as the hook's ``credline_check_password`` applies them)."""
        text = normalize_typed(typed, CROCKFORD32) if self.reading == READING_CROCKFORD else typed
        if self.verifier is not None:
            iterations, salt, digest = self.verifier
            return hmac.compare_digest(
                hashlib.pbkdf2_hmac("sha256", text.encode(), salt, iterations), digest)
        if self.password is None:
            return False
        return constant_time_equal(text, self.password.reveal())

    def encode(self) -> bytes:
        scheme, serial = self.scheme.encode(), self.serial.encode()
        if self.reading not in READINGS:
            raise RecordError(f"reading rule {self.reading} is not one of {sorted(READINGS)}")
        kind = 0 if self.verifier is None else 1
        head = ([RECORD_VERSION, kind] if self.reading == READING_EXACT
                else [RECORD_VERSION_READING, kind, self.reading])
        out = bytearray([*head, len(scheme)]) + scheme + bytes([len(serial)]) + serial
        out += bytes.fromhex(self.key_id) + self.generation.to_bytes(4, "big")
        if self.verifier is None:
            if self.password is None:
                raise RecordError("a record needs a password or a verifier")
            secret = self.password.reveal().encode()
            out += bytes([len(secret)]) + secret
        else:
            iterations, salt, digest = self.verifier
            out += iterations.to_bytes(4, "big") + salt + digest
        out += zlib.crc32(bytes(out)).to_bytes(4, "little")
        if len(out) > MAX_RECORD:
            raise RecordError(f"record of {len(out)} bytes exceeds {MAX_RECORD}")
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Record:
        if len(data) < 20 or len(data) > MAX_RECORD:
            raise RecordError(f"record of {len(data)} bytes has an impossible size")
        if zlib.crc32(data[:-4]).to_bytes(4, "little") != data[-4:]:
            raise RecordError("record CRC mismatch")
        body = data[:-4]
        if body[0] not in (RECORD_VERSION, RECORD_VERSION_READING):
            raise RecordError(f"record version {body[0]} is not supported")
        reading, start = READING_EXACT, 2
        if body[0] == RECORD_VERSION_READING:
            reading, start = body[2], 3
            if reading not in READINGS:
                raise RecordError(f"record reading rule {reading} is not supported")
        try:
            at = start + 1 + body[start]
            scheme = body[start + 1:at].decode()
            serial_len = body[at]
            serial = body[at + 1: at + 1 + serial_len].decode()
            at += 1 + serial_len
            key_id, generation = body[at:at + 8].hex(), int.from_bytes(body[at + 8:at + 12], "big")
            at += 12
            if body[1] == 0:
                size = body[at]
                if at + 1 + size != len(body) or size == 0:
                    raise RecordError("password length does not match the record")
                return cls(serial, key_id, generation, scheme,
                           password=Password(body[at + 1:].decode()), reading=reading)
            if body[1] == 1 and at + 4 + SALT_BYTES + 32 == len(body):
                iterations = int.from_bytes(body[at:at + 4], "big")
                salt, digest = body[at + 4:at + 4 + SALT_BYTES], body[at + 4 + SALT_BYTES:]
                return cls(serial, key_id, generation, scheme,
                           verifier=(iterations, salt, digest), reading=reading)
        except (IndexError, UnicodeDecodeError):
            pass
        raise RecordError("malformed record")
