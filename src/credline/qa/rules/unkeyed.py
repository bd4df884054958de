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

from credline.encoding import encoder_for
from credline.qa.report import Violation

RULE = "unkeyed-derivation"
MIN_LENGTH = 8
HASHES: tuple[tuple[str, Callable[[bytes], bytes]], ...] = (
    ("MD5", lambda data: hashlib.md5(data, usedforsecurity=False).digest()),
    ("SHA-1", lambda data: hashlib.sha1(data, usedforsecurity=False).digest()),
    ("SHA-256", lambda data: hashlib.sha256(data).digest()),
)
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
                              "0123456789ABCDEFGHJKMNPQRSTVWXYZ")


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
    "hex": (4, _digit_table("0123456789abcdef", True)),
    "base32": (5, _digit_table("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", True)),
    "Crockford base32": (5, _digit_table("0123456789ABCDEFGHJKMNPQRSTVWXYZ", True)),
}


def _as_number(text: str, table: dict[int, str], base: int) -> int | None:
    if not text.isascii():
        return None
    try:
        return int(text.translate(table), base)
    except ValueError:
        return None


class Decoded:
    """A password read as a number in each encoding it could be: the per-row test is then
    integer arithmetic on each digest, not an encoding of it (the million-row hot loop)."""

    __slots__ = ("length", "numbers", "profile_base", "profile_value")

    def __init__(self, password: str, alphabet: str, profile_table: dict[int, str] | None) -> None:
        self.length = len(password)
        self.numbers = [(name, bits, value) for name, (bits, table) in _RADIX.items()
                        if (value := _as_number(password, table, 1 << bits)) is not None]
        self.profile_base = len(alphabet)
        self.profile_value: int | None
        if profile_table is not None:
            self.profile_value = _as_number(password, profile_table, len(alphabet))
        else:
            self.profile_value = _decode_slow(password, alphabet)

    def match(self, digest: bytes) -> str | None:
        number, bits, length = int.from_bytes(digest, "big"), len(digest) * 8, self.length
        for name, width, value in self.numbers:
            chars = -(-bits // width)
            if length > chars:
                continue
            padded = number << (chars * width - bits)
            if padded >> (width * (chars - length)) == value:
                return f"prefix of the {name}"
            if padded & ((1 << (width * length)) - 1) == value:
                return f"suffix of the {name}"
        if self.profile_value is not None and \
                number % self.profile_base ** length == self.profile_value:
            return "the profile's encoding"
        return None


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


def per_row(password: str, values: Sequence[tuple[str, str]], alphabet: str,
            table: dict[int, str] | None) -> str | None:
    """Whether ``password`` is a prefix/suffix of an encoding of a hash of one of the row's
    ``(label, value)`` pairs."""
    decoded = Decoded(password, alphabet, table)
    if not decoded.numbers and decoded.profile_value is None:
        return None
    for label, value in values:
        data = value.encode("utf-8")
        for hname, hash_ in HASHES:
            how = decoded.match(hash_(data))
            if how is not None:
                return f"{how} of {hname} of {label}"
    return None


def check(serials: Sequence[str], passwords: Sequence[str], index: UnkeyedIndex,
          row_public: Sequence[Sequence[str]] | None = None) -> list[Violation]:
    found: dict[str, list[str]] = {}
    alphabet = index.alphabet
    table = profile_table(alphabet)
    for row, (serial, password) in enumerate(zip(serials, passwords, strict=True)):
        if len(password) < MIN_LENGTH:
            continue
        values = [("the serial", serial)]
        if row_public is not None:
            values += [("an identifier column", v) for v in row_public[row]]
        reason = index.find(password.lower()) or per_row(password, values, alphabet, table)
        if reason is not None:
            found.setdefault(reason, []).append(serial)
    return [Violation(RULE, tuple(s), f"password is the {reason}") for reason, s in found.items()]
