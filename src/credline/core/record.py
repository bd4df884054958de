"""The credential record a device stores (docs/protocol.md, "The record"). Pure.

    version u8 (1) ‖ kind u8 (0 password, 1 verifier) ‖ len u8 ‖ scheme ‖ len u8 ‖ serial ‖
    key id (8 bytes) ‖ generation u32be ‖
      kind 0: len u8 ‖ password
      kind 1: iterations u32be ‖ salt (16) ‖ PBKDF2-HMAC-SHA256(password, salt, iterations, 32)
    ‖ CRC-32 LE of all the above
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from credline.core.errors import RecordError
from credline.core.secret import Password

RECORD_VERSION = 1
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

    @classmethod
    def with_verifier(cls, serial: str, key_id: str, generation: int, password: Password,
                      salt: bytes, iterations: int = DEFAULT_ITERATIONS) -> Record:
        digest = hashlib.pbkdf2_hmac("sha256", password.reveal().encode(), salt, iterations)
        return cls(serial, key_id, generation, verifier=(iterations, salt, digest))

    def encode(self) -> bytes:
        scheme, serial = self.scheme.encode(), self.serial.encode()
        out = bytearray([RECORD_VERSION, 0 if self.verifier is None else 1,
                         len(scheme)]) + scheme + bytes([len(serial)]) + serial
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
        if body[0] != RECORD_VERSION:
            raise RecordError(f"record version {body[0]} is not supported")
        try:
            at = 3 + body[2]
            scheme = body[3:at].decode()
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
                           password=Password(body[at + 1:].decode()))
            if body[1] == 1 and at + 4 + SALT_BYTES + 32 == len(body):
                iterations = int.from_bytes(body[at:at + 4], "big")
                salt, digest = body[at + 4:at + 4 + SALT_BYTES], body[at + 4 + SALT_BYTES:]
                return cls(serial, key_id, generation, scheme,
                           verifier=(iterations, salt, digest))
        except (IndexError, UnicodeDecodeError):
            pass
        raise RecordError("malformed record")
