"""``policy``: length, alphabet or entropy below the profile's floor.

Grouped by problem, so a batch derived with the wrong profile is one line, not a million.
"""

from __future__ import annotations

from collections.abc import Sequence

from credline.core.policy import Profile
from credline.qa.report import Violation

RULE = "policy"


def check(serials: Sequence[str], passwords: Sequence[str], profile: Profile) -> list[Violation]:
    fmt = profile.format
    letters = frozenset(fmt.alphabet)
    found: dict[str, list[str]] = {}
    for serial, password in zip(serials, passwords, strict=True):
        if len(password) != fmt.length:
            found.setdefault(f"length {len(password)}, the profile requires {fmt.length}",
                             []).append(serial)
        elif not letters.issuperset(password):
            outside = sum(1 for ch in password if ch not in letters)
            found.setdefault(f"{outside} character(s) outside the profile's alphabet "
                             f"({fmt.alphabet_name})", []).append(serial)
    out = [Violation(RULE, tuple(s), reason) for reason, s in found.items()]
    floor = profile.exposure.floor_bits
    if fmt.bits < floor:
        out.append(Violation(RULE, (), f"the profile's passwords carry {fmt.bits:.1f} bits, "
                             f"below the {floor}-bit floor for {profile.exposure.value}"))
    return out
