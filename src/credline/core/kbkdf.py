"""HMAC-SHA256 and NIST SP 800-108r1 counter-mode KBKDF, as pure functions.

Two things live here because every keystore and the batch path share them:

* :class:`HmacSha256` — HMAC-SHA256 (RFC 2104) with the inner and outer pad states computed
  once per key, so each message costs two SHA-256 finalisations and no key schedule. This is
  the fast path of batch derivation; it is checked against RFC 4231 and NIST CAVP vectors.
* :func:`kbkdf_counter` — SP 800-108 counter mode with a 32-bit counter before the fixed input,
  over any PRF (a local key or an HMAC computed inside a PKCS#11 token).

Pure: no I/O. Holds key material only inside :class:`HmacSha256` instances.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

Prf = Callable[[bytes], bytes]
"""HMAC-SHA256 under some key, as a function of the message."""

_BLOCK = 64
_IPAD = bytes(0x36 for _ in range(_BLOCK))
_OPAD = bytes(0x5C for _ in range(_BLOCK))


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


class HmacSha256:
    """HMAC-SHA256 keyed once; ``mac(message)`` is then cheap. Any key length is accepted."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(_xor(padded, _IPAD))
        self._outer = hashlib.sha256(_xor(padded, _OPAD))

    def mac(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def pads(self) -> tuple[Any, Any]:
        """The keyed inner and outer SHA-256 states, for loops that inline HMAC.

        Callers must ``copy()`` them before ``update``; they are this object's own state.
        """
        return self._inner, self._outer

    def __repr__(self) -> str:
        return "HmacSha256(<key redacted>)"


def fixed_input(label: bytes, context: bytes, length_bytes: int) -> bytes:
    """SP 800-108 fixed input: Label ‖ 0x00 ‖ Context ‖ u32be(L in bits)."""
    return label + b"\x00" + context + (length_bytes * 8).to_bytes(4, "big")


def kbkdf_counter_raw(prf: Prf, fixed: bytes, length_bytes: int) -> bytes:
    """Counter-mode KBKDF over an already-built fixed input (as in NIST CAVP vectors).

    The 32-bit big-endian counter, starting at 1, comes before the fixed input.
    """
    if not 0 < length_bytes <= 32 * 0xFFFF:
        raise ValueError(f"KBKDF output length {length_bytes} out of range")
    out = bytearray()
    counter = 1
    while len(out) < length_bytes:
        out += prf(counter.to_bytes(4, "big") + fixed)
        counter += 1
    return bytes(out[:length_bytes])


def kbkdf_counter(prf: Prf, label: bytes, context: bytes, length_bytes: int) -> bytes:
    """SP 800-108r1 counter-mode KBKDF, HMAC-SHA256 PRF, 32-bit counter before fixed input."""
    return kbkdf_counter_raw(prf, fixed_input(label, context, length_bytes), length_bytes)
