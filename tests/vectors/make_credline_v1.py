"""Regenerate tests/vectors/credline-v1.json from the specification alone.

Uses only ``cryptography``'s KBKDFHMAC and Python's ``hmac`` (never credline's own code), so the
published vectors are an independent oracle for credline and for third-party implementations.
Run: python tests/vectors/make_credline_v1.py > tests/vectors/credline-v1.json
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import string

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ALPHABETS = {
    "crockford32": CROCKFORD,
    "digits": string.digits,
    "hex": "0123456789abcdef",
    "base58": "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
    "alnum": string.digits + string.ascii_uppercase + string.ascii_lowercase,
    "printable": "".join(chr(c) for c in range(0x21, 0x7F)),
    "custom10": "!#$%&*+=?@",
}
KEYS = {
    "k0": bytes(range(32)),
    "k1": hashlib.sha256(b"credline published test key 1").digest(),
    "kff": b"\xff" * 32,
}
SERIAL64 = "S" + "0123456789" * 6 + "xyz"
PRODUCT64 = "P" * 30 + "product.line_2:rev-B" + "p" * 14
CASES = [
    # key, product, serial, generation, alphabet, length
    ("k0", "acme-cam", "SN0001", 0, "crockford32", 12),
    ("k0", "acme-cam", "SN0001", 1, "crockford32", 12),
    ("k0", "acme-cam", "SN0001", 7, "crockford32", 12),
    ("k0", "acme-cam", "SN0002", 0, "crockford32", 12),
    ("k1", "acme-cam", "SN0001", 0, "crockford32", 12),
    ("kff", "acme-cam", "SN0001", 0, "crockford32", 12),
    ("k0", "acme-cam", "0", 0, "crockford32", 12),
    ("k0", "acme-cam", SERIAL64, 0, "crockford32", 12),
    ("k0", PRODUCT64, "SN0001", 0, "crockford32", 12),
    ("k0", "a", "b", 0, "crockford32", 12),
    ("k0", "acme.cam_v2:eu-1", "SN.0001_a:b-c", 0, "crockford32", 12),
    ("k1", "acme-router", "AA:BB:CC:DD:EE:FF", 0, "crockford32", 16),
    ("k1", "acme-router", "AA:BB:CC:DD:EE:FF", 7, "crockford32", 16),
    ("k0", "acme-cam", "SN0001", 0, "crockford32", 10),
    ("k0", "acme-cam", "SN0001", 0, "crockford32", 25),
    ("k0", "acme-lock", "L-000042", 0, "digits", 15),
    ("k0", "acme-lock", "L-000042", 1, "digits", 38),
    ("k1", "acme-lock", "L-000042", 0, "custom10", 15),
    ("k0", "acme-hub", "hub_0009", 0, "hex", 12),
    ("k0", "acme-hub", "hub_0009", 0, "hex", 32),
    ("k1", "acme-tv", "TV-2026-000001", 0, "base58", 9),
    ("k1", "acme-tv", "TV-2026-000001", 0, "base58", 21),
    ("kff", "acme-plug", "plug:00:17", 0, "alnum", 9),
    ("kff", "acme-plug", "plug:00:17", 7, "alnum", 21),
    ("k0", "acme-ap", "ap-1", 0, "printable", 8),
    ("k0", "acme-ap", "ap-1", 0, "printable", 19),
    ("k1", "acme-ap", "ap-1", 1, "printable", 13),
    ("kff", "x", SERIAL64, 7, "digits", 20),
]


def kbkdf(key: bytes, label: bytes, context: bytes) -> bytes:
    return KBKDFHMAC(algorithm=hashes.SHA256(), mode=Mode.CounterMode, length=32, rlen=4,
                     llen=4, location=CounterLocation.BeforeFixed, label=label,
                     context=context, fixed=None).derive(key)


def context(product: str, serial: str, generation: int) -> bytes:
    p, s = product.encode(), serial.encode()
    return (len(p).to_bytes(2, "big") + p + len(s).to_bytes(2, "big") + s
            + generation.to_bytes(4, "big"))


def encode(okm: bytes, alphabet: str, length: int) -> str:
    x = int.from_bytes(okm, "big") % len(alphabet) ** length
    out = ""
    for _ in range(length):
        x, d = divmod(x, len(alphabet))
        out = alphabet[d] + out
    return out


def vector(key_name: str, product: str, serial: str, generation: int, alphabet_name: str,
           length: int) -> dict[str, object]:
    key, alphabet = KEYS[key_name], ALPHABETS[alphabet_name]
    ctx = context(product, serial, generation)
    okm = kbkdf(key, b"credline/v1/password", ctx)
    password = encode(okm, alphabet, length)
    kf = kbkdf(key, b"credline/v1/fingerprint", b"")
    return {
        "key": key.hex(),
        "key_id": hmac.digest(key, b"credline/v1/key-id", "sha256")[:8].hex(),
        "product": product,
        "serial": serial,
        "generation": generation,
        "alphabet_name": alphabet_name,
        "alphabet": alphabet,
        "length": length,
        "bits": round(length * math.log2(len(alphabet)), 2),
        "context": ctx.hex(),
        "okm": okm.hex(),
        "password": password,
        "fingerprint": hmac.digest(kf, password.encode(), "sha256").hex(),
    }


def main() -> None:
    doc = {
        "scheme": "credline-v1",
        "note": "KBKDF = NIST SP 800-108r1 counter mode, HMAC-SHA256, r=32-bit counter before "
                "the fixed input Label || 0x00 || Context || u32be(256); see docs/derivation.md",
        "vectors": [vector(*case) for case in CASES],
    }
    print(json.dumps(doc, indent=2, ensure_ascii=True))


if __name__ == "__main__":
    main()
