"""``unkeyed-derivation``: the password is, case-insensitively, a prefix or suffix of a hex or
base32 encoding of MD5, SHA-1 or SHA-256 of the serial or of a public value.

Schedule 1 para 1(3)(c) allows identifier-based passwords only through a keyed hash; the
Thomson/SpeedTouch, UPC and Belkin routers derived theirs with unkeyed hashes of serials or
MACs, and were reversed from firmware. Encodings tried: hex, RFC 4648 base32, the same bits
in Crockford's base32 alphabet, and the credline-v1 encoding of the bare digest into the
profile's alphabet (credline without the key). Batch-wide values are indexed once (every
prefix and suffix), per-row values are hashed per row. Passwords shorter than
:data:`MIN_LENGTH` are left to the policy rule (a 4-character string is a prefix of something).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from credline.core.encoding import CROCKFORD32, encoder_for
from credline.qa.report import Violation

RULE = "unkeyed-derivation"
MIN_LENGTH = 8
HASHES: tuple[tuple[str, Callable[[bytes], bytes]], ...] = (
    ("MD5", lambda data: hashlib.md5(data, usedforsecurity=False).digest()),
    ("SHA-1", lambda data: hashlib.sha1(data, usedforsecurity=False).digest()),
    ("SHA-256", lambda data: hashlib.sha256(data).digest()),
)
RFC4648_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
HEX = "0123456789abcdef"
_TO_CROCKFORD = str.maketrans(RFC4648_BASE32, CROCKFORD32)


def encodings(digest: bytes, alphabet: str, length: int) -> list[tuple[str, str]]:
    """``(name, lower-cased text)`` of every encoding of ``digest`` the rule tries."""
    b32 = base64.b32encode(digest).decode("ascii").rstrip("=")
    return [("hex", digest.hex()), ("base32", b32.lower()),
            ("Crockford base32", b32.translate(_TO_CROCKFORD).lower()),
            ("the profile's encoding", encoder_for(alphabet, length).encode(digest).lower())]


class UnkeyedIndex:
    """Every prefix and suffix (lower-cased) of every encoding of batch-wide public values."""

    def __init__(self, values: Iterable[tuple[str, str]], alphabet: str, length: int) -> None:
        self.alphabet, self.length = alphabet, length
        self._known: dict[str, str] = {}
        for label, value in values:
            for hname, digest in ((n, h(value.encode("utf-8"))) for n, h in HASHES):
                for ename, text in encodings(digest, alphabet, length):
                    for cut in range(MIN_LENGTH, len(text) + 1):
                        how = f"{ename} of {hname} of {label}"
                        self._known.setdefault(text[:cut], f"prefix of the {how}")
                        self._known.setdefault(text[-cut:], f"suffix of the {how}")

    def find(self, lower: str) -> str | None:
        return self._known.get(lower)


def _digit_table(alphabet: str, case_insensitive: bool) -> dict[int, str]:
    """str.translate table: alphabet characters to int()'s digits, everything else to '!'."""
    table = {code: "!" for code in range(0x110)}
    for value, ch in enumerate(alphabet):
        digit = "0123456789abcdefghijklmnopqrstuvwxyz"[value]
        table[ord(ch)] = digit
        if case_insensitive:
            table[ord(ch.lower())] = table[ord(ch.upper())] = digit
    return table


_RADIX = {  # name -> (bits per character, translate table)
    "hex": (4, _digit_table(HEX, True)),
    "base32": (5, _digit_table(RFC4648_BASE32, True)),
    "Crockford base32": (5, _digit_table(CROCKFORD32, True)),
}


def _decode_slow(password: str, alphabet: str) -> int | None:
    value, base = 0, len(alphabet)
    for ch in password:
        digit = alphabet.find(ch)
        if digit < 0:
            return None
        value = value * base + digit
    return value


def profile_table(alphabet: str) -> dict[int, str] | None:
    """The int()-digit table for alphabets of up to 36 characters (else None: decode slowly)."""
    return _digit_table(alphabet, False) if len(alphabet) <= 36 else None


_HEX, _B32, _CROCKFORD = (frozenset(chars + chars.lower() + chars.upper())
                          for chars in (HEX, RFC4648_BASE32, CROCKFORD32))
_DIGEST_BITS = (128, 160, 256)  # MD5, SHA-1, SHA-256, in HASHES order
_HASH_NEW = (hashlib.md5, hashlib.sha1, hashlib.sha256)


@lru_cache(maxsize=64)
def _plan(length: int) -> tuple[tuple[tuple[int, int, int] | None, ...], ...]:
    """For each hash and each of hex, base32, Crockford base32: (pad, shift, mask) that turn
    the digest's integer into the number of its ``length``-character prefix (shift) and
    suffix (mask), or None when the encoding is shorter than ``length``."""
    out = []
    for bits in _DIGEST_BITS:
        row: list[tuple[int, int, int] | None] = []
        for width, _ in _RADIX.values():
            chars = -(-bits // width)
            row.append(None if length > chars else
                       (chars * width - bits, width * (chars - length), (1 << width * length) - 1))
        out.append(tuple(row))
    return tuple(out)


_ENCODING_NAMES = tuple(_RADIX)


def _numbers(password: str, profile: tuple[frozenset[str], dict[int, str] | None, str]
             ) -> list[tuple[int, int]]:
    """(encoding index, value) for each encoding ``password`` can be read in; index 3 is the
    profile's alphabet."""
    out = []
    if _HEX.issuperset(password):
        out.append((0, int(password, 16)))
    if _B32.issuperset(password):
        out.append((1, int(password.translate(_RADIX["base32"][1]), 32)))
    if _CROCKFORD.issuperset(password):
        out.append((2, int(password.translate(_RADIX["Crockford base32"][1]), 32)))
    letters, table, alphabet = profile
    if letters.issuperset(password):
        value = (int(password.translate(table), len(alphabet)) if table is not None
                 else _decode_slow(password, alphabet))
        if value is not None:
            out.append((3, value))
    return out


def _match_row(numbers: list[tuple[int, int]], length: int, modulus: int,
               values: Sequence[tuple[str, str]]) -> str | None:
    plan = _plan(length)
    for label, value in values:
        data = value.encode("utf-8")
        for h, new in enumerate(_HASH_NEW):
            number = int.from_bytes(new(data).digest(), "big")
            steps = plan[h]
            for encoding, wanted in numbers:
                if encoding == 3:
                    if number % modulus == wanted:
                        return f"the profile's encoding of {HASHES[h][0]} of {label}"
                    continue
                step = steps[encoding]
                if step is None:
                    continue
                pad, shift, mask = step
                padded = number << pad
                if padded >> shift == wanted:
                    return f"prefix of the {_ENCODING_NAMES[encoding]} of {HASHES[h][0]} of {label}"
                if padded & mask == wanted:
                    return f"suffix of the {_ENCODING_NAMES[encoding]} of {HASHES[h][0]} of {label}"
    return None


def match_value(password: str, value: str, alphabet: str, label: str = "the value"
                ) -> str | None:
    """How ``password`` is an unkeyed hash encoding of ``value``, or None (one row's test)."""
    numbers = _numbers(password, (frozenset(alphabet), profile_table(alphabet), alphabet))
    if len(password) < MIN_LENGTH or not password.isascii() or not numbers:
        return None
    return _match_row(numbers, len(password), len(alphabet) ** len(password), [(label, value)])


def check(serials: Sequence[str], passwords: Sequence[str], index: UnkeyedIndex,
          row_public: Sequence[Sequence[str]] | None = None) -> list[Violation]:
    """The rule over a batch; per row: one set lookup, then integer comparisons per hash."""
    found: dict[str, list[str]] = {}
    alphabet = index.alphabet
    profile = (frozenset(alphabet), profile_table(alphabet), alphabet)
    base = len(alphabet)
    known = index.find
    for row, (serial, password) in enumerate(zip(serials, passwords, strict=True)):
        length = len(password)
        if length < MIN_LENGTH or not password.isascii():
            continue
        reason = known(password.lower())
        if reason is None:
            numbers = _numbers(password, profile)
            if not numbers:
                continue
            values = [("the serial", serial)]
            if row_public is not None:
                values += [("an identifier column", v) for v in row_public[row]]
            reason = _match_row(numbers, length, base**length, values)
        if reason is not None:
            found.setdefault(reason, []).append(serial)
    return [Violation(RULE, tuple(s), f"password is the {reason}") for reason, s in found.items()]
