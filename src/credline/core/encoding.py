"""Turning key-derived bytes into password characters, and reading what people type.

* :class:`Encoder` — credline-v1's encoding: x = int(OKM, big-endian) mod |A|^n, written in
  base |A| with exactly n digits, most significant first. Precomputes digit-chunk tables so a
  batch of millions costs a few ``divmod`` calls per password.
* :func:`group` — presentation only (``XXXX-XXXX-XXXX``).
* :func:`normalize_typed` — Crockford's reading rules for what a person types.
* :func:`constant_time_equal` — the comparison every check uses.

Pure: no I/O.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import lru_cache

CROCKFORD32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TABLE_LIMIT = 1 << 16  # largest digit-chunk table (entries) the encoder precomputes
_CROCKFORD_READING = str.maketrans({"O": "0", "I": "1", "L": "1"})


class Encoder:
    """Encodes integers (or 32-byte OKM) as exactly ``length`` digits of ``alphabet``.

    For power-of-two alphabets (Crockford base32, hex) the reduction mod |A|^n is a bit mask
    and digits come out by shifts; other alphabets use a ``divmod`` per table chunk.
    """

    __slots__ = ("_chunks", "_cut", "_head_table", "_pieces", "_step", "_table", "alphabet",
                 "encode", "length", "modulus")
    encode: Callable[[bytes], str]

    def __init__(self, alphabet: str, length: int) -> None:
        base = len(alphabet)
        self.alphabet = alphabet
        self.length = length
        self.modulus = base**length
        width = 1
        while base ** (width + 1) <= _TABLE_LIMIT and width < length:
            width += 1
        self._step = base**width
        self._table = _digit_table(alphabet, width)
        self._chunks, head = divmod(length, width)
        self._head_table = _digit_table(alphabet, head) if head else ("",)
        self.encode = self._encode_divmod
        if base & (base - 1) == 0:
            # |A|^n divides 2^256: x mod |A|^n is the low bits of the OKM.
            bits = base.bit_length() - 1
            self._cut = -((bits * length + 7) // 8)  # the low bytes, whatever the input size
            pieces = [(bits * width * i, self._step - 1, self._table)
                      for i in range(self._chunks)]
            if head:
                pieces.append((bits * width * self._chunks, base**head - 1, self._head_table))
            self._pieces = tuple(reversed(pieces))
            self.encode = (_unrolled_4(self._cut, self.modulus - 1, self._pieces)
                           if len(self._pieces) == 4 else self._encode_shifts)

    def encode_int(self, value: int) -> str:
        value %= self.modulus
        parts = []
        step, table = self._step, self._table
        for _ in range(self._chunks):
            value, digit = divmod(value, step)
            parts.append(table[digit])
        parts.append(self._head_table[value])
        parts.reverse()
        return "".join(parts)

    def _encode_divmod(self, okm: bytes) -> str:
        return self.encode_int(int.from_bytes(okm, "big"))

    def _encode_shifts(self, okm: bytes) -> str:
        value = int.from_bytes(okm[self._cut:], "big") & (self.modulus - 1)
        return "".join([table[(value >> shift) & mask] for shift, mask, table in self._pieces])


def _unrolled_4(cut: int, mask: int,
                pieces: tuple[tuple[int, int, tuple[str, ...]], ...]) -> Callable[[bytes], str]:
    """The default profile's encoder (12 Crockford characters = four 15-bit chunks), unrolled:
    the hottest line of batch derivation."""
    (s0, m0, t0), (s1, m1, t1), (s2, m2, t2), (s3, m3, t3) = pieces
    from_bytes = int.from_bytes

    def encode(okm: bytes) -> str:
        value = from_bytes(okm[cut:], "big") & mask
        return (t0[(value >> s0) & m0] + t1[(value >> s1) & m1] + t2[(value >> s2) & m2]
                + t3[(value >> s3) & m3])

    return encode


def _digit_table(alphabet: str, width: int) -> tuple[str, ...]:
    table = [""]
    for _ in range(width):
        table = [prefix + ch for prefix in table for ch in alphabet]
    return tuple(table)


@lru_cache(maxsize=64)
def encoder_for(alphabet: str, length: int) -> Encoder:
    """A cached :class:`Encoder` (building the tables costs a few milliseconds)."""
    return Encoder(alphabet, length)


def encode_reference(okm: bytes, alphabet: str, length: int) -> str:
    """The specification's encoding, digit by digit; the oracle the fast encoder is tested on."""
    base = len(alphabet)
    value = int.from_bytes(okm, "big") % base**length
    digits = []
    for _ in range(length):
        value, digit = divmod(value, base)
        digits.append(alphabet[digit])
    return "".join(reversed(digits))


def group(password: str, size: int, separator: str = "-") -> str:
    """Split into groups of ``size`` for reading (``size`` 0 means no grouping)."""
    if size <= 0:
        return password
    return separator.join(password[i : i + size] for i in range(0, len(password), size))


def normalize_typed(typed: str, alphabet: str) -> str:
    """What a person typed, read the way the alphabet intends.

    Crockford base32 follows Crockford's rules: case ignored, O read as 0, I and L as 1,
    hyphens and spaces ignored. Other alphabets drop only spaces, and hyphens when ``-`` is
    not one of their characters (grouping is presentation only).
    """
    text = typed.strip().replace(" ", "")
    if alphabet == CROCKFORD32:
        return text.replace("-", "").upper().translate(_CROCKFORD_READING)
    if "-" not in alphabet:
        text = text.replace("-", "")
    return text


def constant_time_equal(a: str, b: str) -> bool:
    """Compare two strings in time independent of where they differ."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
