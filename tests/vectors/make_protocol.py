"""Regenerate tests/vectors/protocol.txt: frames, records and whole exchanges in hex.

Requests and records come from the Python encoder; replies are captured from the C hook on a
virtual device. Both test suites then hold both sides to this file: the C tests replay every
exchange into a fresh hook and compare the reply bytes, the Python tests re-encode every
request and record and replay the exchanges over a real pseudo-terminal.
Run: PYTHONPATH=src python tests/vectors/make_protocol.py > tests/vectors/protocol.txt
"""

from __future__ import annotations

import tempfile
import time
import zlib
from pathlib import Path

import serial

from credline.core.framing import Frame
from credline.core.protocol import HELLO, LOCK, PUT, VERIFY
from credline.core.record import Record
from credline.core.secret import Password
from credline.transport.virtual import VirtualDevice, build

KEY_ID = "e98c6960947e8461"
PLAIN = Record("SN0001", KEY_ID, 0, password=Password("WW4V6P8BPYR2"))
VERIFIER = Record.with_verifier("SN0002", KEY_ID, 1, Password("S49FNKJX35D0"),
                                salt=bytes(range(16)), iterations=1000)
NONCE = bytes(range(0x40, 0x60))
SESSION = [  # (name, frame)
    ("hello", Frame(1, HELLO, b"\x01")),
    ("verify-empty", Frame(2, VERIFY, NONCE)),
    ("put", Frame(3, PUT, PLAIN.encode())),
    ("hello-provisioned", Frame(4, HELLO, b"\x01")),
    ("verify", Frame(5, VERIFY, NONCE)),
    ("lock", Frame(6, LOCK)),
    ("put-locked", Frame(7, PUT, PLAIN.encode())),
    ("unknown-command", Frame(8, 0x42)),
    ("verify-short-nonce", Frame(9, VERIFY, b"\x00" * 3)),
]



def _bad_escape(frame: Frame, at: int) -> bytes:
    """``frame`` on the wire with 0xDB 0x01 (no such escape) after its first ``at`` bytes."""
    encoded = frame.encode()
    return encoded[:1 + at] + b"\xdb\x01" + encoded[1 + at:]


# A line glitch: a bad SLIP escape after the header is answered with error 9 (resend), one
# inside the header is dropped (seq and cmd are lost, so no reply could name the request).
DAMAGED = [
    ("bad-escape", _bad_escape(Frame(11, HELLO, b"\x01"), 3)),
    ("bad-escape-in-header", _bad_escape(Frame(12, HELLO, b"\x01"), 1)),
]


def exchange(port: str, frame: bytes) -> bytes:
    with serial.serial_for_url(port, timeout=0.3) as link:
        link.write(frame)
        time.sleep(0.2)
        return link.read(4096)


def main() -> None:
    build()
    print("# credline provisioning protocol vectors (docs/protocol.md); hex fields.")
    print("# crc32 DATA CRC | record NAME HEX | bad-record NAME HEX | reset |")
    print("# exchange NAME REQUEST REPLY (in order, on one device since the last reset; - none)")
    for data in (b"", b"123456789", bytes(range(256))):
        print(f"crc32 {data.hex() or '-'} {zlib.crc32(data):08x}")
    print(f"record plaintext {PLAIN.encode().hex()}")
    print(f"record verifier {VERIFIER.encode().hex()}")
    broken = bytearray(PLAIN.encode())
    broken[5] ^= 1
    print(f"bad-record crc {bytes(broken).hex()}")
    print(f"bad-record truncated {PLAIN.encode()[:-5].hex()}")
    with tempfile.TemporaryDirectory() as tmp:
        device = VirtualDevice(Path(tmp) / "flash.bin", hwid="VEC0001").start()
        try:
            print("reset VEC0001")
            for name, frame in SESSION:
                request = frame.encode()
                print(f"exchange {name} {request.hex()} {exchange(device.port, request).hex()}")
            bad_crc = bytearray(Frame(10, HELLO, b"\x01").encode())
            bad_crc[-2] ^= 0xFF
            print(f"exchange bad-crc {bytes(bad_crc).hex()} "
                  f"{exchange(device.port, bytes(bad_crc)).hex()}")
            for name, frame in DAMAGED:
                print(f"exchange {name} {frame.hex()} {exchange(device.port, frame).hex() or '-'}")
        finally:
            device.stop()


if __name__ == "__main__":
    main()
