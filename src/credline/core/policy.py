"""Password policy: alphabets, lengths, exposure floors, and the product profile they live in.

A :class:`PasswordFormat` is an alphabet and a length that credline-v1 can encode; a
:class:`Profile` adds the product, the exposure (``online``: a rate-limited login, floor
48 bits; ``offline``: testable without the device, floor 80 bits) and presentation. Both
validate on construction, so everything downstream may trust them. Loading profiles from TOML
lives in :mod:`credline.core.profile`; this module is pure.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from credline.core.encoding import CROCKFORD32
from credline.core.errors import ProfileError
from credline.core.ids import ProductId

MAX_BITS = 128
MIN_ALPHABET = 10
MAX_ALPHABET = 94
PRINTABLE = frozenset(string.printable[:94])  # ASCII 0x21..0x7E, no space

ALPHABETS: dict[str, str] = {
    "crockford32": CROCKFORD32,
    "digits": string.digits,
    "hex": "0123456789abcdef",
    "base58": "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
    "alnum": string.digits + string.ascii_uppercase + string.ascii_lowercase,
    "printable": "".join(sorted(PRINTABLE)),
}


class Exposure(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"

    @property
    def floor_bits(self) -> int:
        return 48 if self is Exposure.ONLINE else 80

    @property
    def default_length(self) -> int:
        """Default length for Crockford base32: 60 bits online, 80 bits offline."""
        return 12 if self is Exposure.ONLINE else 16


class Storage(StrEnum):
    """What the device stores: the password, or only a salted verifier (login checks)."""

    PLAINTEXT = "plaintext"
    VERIFIER = "verifier"


class KeyScope(StrEnum):
    """One master key per product line, or a new key per batch."""

    PRODUCT = "product"
    BATCH = "batch"


def format_problem(alphabet: str, length: int) -> str | None:
    """Why (alphabet, length) is not a credline-v1 password format, or None if it is."""
    if not isinstance(alphabet, str) or not MIN_ALPHABET <= len(alphabet) <= MAX_ALPHABET:
        return f"alphabet must have {MIN_ALPHABET} to {MAX_ALPHABET} characters"
    bad = sorted(set(alphabet) - PRINTABLE)
    if bad:
        return f"alphabet has characters outside printable ASCII: {bad!r}"
    repeated = sorted({ch for ch in alphabet if alphabet.count(ch) > 1})
    if repeated:
        return f"alphabet repeats characters {''.join(repeated)!r}"
    if not isinstance(length, int) or isinstance(length, bool) or length < 1:
        return f"length must be a positive integer, not {length!r}"
    if len(alphabet) ** length > 2**MAX_BITS:
        return (f"{length} characters of a {len(alphabet)}-character alphabet carry "
                f"{length * math.log2(len(alphabet)):.1f} bits, above the {MAX_BITS}-bit maximum")
    return None


@dataclass(frozen=True, slots=True)
class PasswordFormat:
    """An alphabet and a length credline-v1 can encode (at most 128 bits)."""

    alphabet: str
    length: int

    def __post_init__(self) -> None:
        problem = format_problem(self.alphabet, self.length)
        if problem:
            raise ProfileError(f"invalid password format: {problem}")

    @property
    def bits(self) -> float:
        return self.length * math.log2(len(self.alphabet))

    @classmethod
    def default(cls, exposure: Exposure = Exposure.ONLINE) -> PasswordFormat:
        return cls(CROCKFORD32, exposure.default_length)

    @property
    def alphabet_name(self) -> str:
        for name, chars in ALPHABETS.items():
            if chars == self.alphabet:
                return name
        return "custom"


@dataclass(frozen=True, slots=True)
class Profile:
    """A product's password profile. Extra sections (device, label, compliance, ...) are kept
    as validated mappings in ``sections`` for the adapters that own them."""

    product: ProductId
    format: PasswordFormat
    exposure: Exposure = Exposure.ONLINE
    grouping: int = 4
    storage: Storage = Storage.PLAINTEXT
    key_scope: KeyScope = KeyScope.PRODUCT
    source: str = "<built-in>"
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        floor = self.exposure.floor_bits
        if self.format.bits < floor:
            raise ProfileError(
                f"{self.source}: [password] length = {self.format.length}: "
                f"{self.format.bits:.1f} bits is below the {floor}-bit floor for "
                f"{self.exposure.value} exposure"
            )
        if self.grouping < 0:
            raise ProfileError(f"{self.source}: [password] grouping = {self.grouping}: "
                               "must be 0 (none) or a positive group size")

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})


def policy_violations(password: str, profile: Profile) -> list[str]:
    """Ways ``password`` breaks the profile (length, alphabet, entropy); empty when it fits.

    The reasons name positions and counts, never the password's characters.
    """
    problems = []
    fmt = profile.format
    if len(password) != fmt.length:
        problems.append(f"length {len(password)}, profile requires {fmt.length}")
    outside = sum(1 for ch in password if ch not in fmt.alphabet)
    if outside:
        problems.append(f"{outside} character(s) outside the profile's alphabet")
    if fmt.bits < profile.exposure.floor_bits:
        problems.append(f"profile entropy {fmt.bits:.1f} bits below the "
                        f"{profile.exposure.floor_bits}-bit floor")
    return problems
