"""``public-info``: the password contains, case-insensitively, a public value of 6 or more
characters, or its reversal.

Schedule 1 para 1(3)(b) and (c): not based on publicly available information or on product
identifiers. Public values are the row's own serial and identifier columns (MAC, IMEI, ...),
the product id, and the ``--public`` file; identifiers count with and without separators.
Batch-wide values are indexed by their first six characters, so each password costs one set
lookup per six-character window; the row's own values are a few substring tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from credline.qa.report import Violation

RULE = "public-info"
MIN_LENGTH = 6
SEPARATORS = str.maketrans("", "", ":-._ ")


def variants(value: str) -> set[str]:
    """The forms a public value is searched in: upper-cased, with and without separators,
    and reversed; only those of at least :data:`MIN_LENGTH` characters."""
    upper = value.strip().upper()
    forms = {upper, upper.translate(SEPARATORS)}
    forms |= {form[::-1] for form in forms}
    return {form for form in forms if len(form) >= MIN_LENGTH}


class PublicIndex:
    """Batch-wide public values (product id, ``--public`` file), indexed by 6-char prefix."""

    def __init__(self, values: Iterable[tuple[str, str]]) -> None:
        """``values`` are ``(label, value)``; the label names it in reports, not the value."""
        self._by_prefix: dict[str, list[tuple[str, str]]] = {}
        for label, value in values:
            upper = value.strip().upper()
            forward = {upper, upper.translate(SEPARATORS)}  # every other variant is reversed
            for form in variants(value):
                how = "as is" if form in forward else "reversed"
                self._by_prefix.setdefault(form[:MIN_LENGTH], []).append(
                    (form, f"{label} ({how})"))

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_prefix.values())

    def find(self, password_upper: str) -> str | None:
        by_prefix = self._by_prefix
        if not by_prefix:
            return None
        for i in range(len(password_upper) - MIN_LENGTH + 1):
            entries = by_prefix.get(password_upper[i:i + MIN_LENGTH])
            if entries:
                for form, label in entries:
                    if password_upper.startswith(form, i):
                        return f"contains {label} at position {i + 1}"
        return None


def own_values(serial: str, extra: Sequence[str]) -> list[tuple[str, str]]:
    """The row's own public values with their labels."""
    return [("the serial", serial), *(("an identifier column", v) for v in extra)]


def check(serials: Sequence[str], passwords: Sequence[str], index: PublicIndex,
          row_public: Sequence[Sequence[str]] | None = None) -> list[Violation]:
    """Violations grouped by what was found (the detail names kinds, not values)."""
    found: dict[str, list[str]] = {}
    for row, (serial, password) in enumerate(zip(serials, passwords, strict=True)):
        upper = password.upper()
        reason = index.find(upper)
        if reason is None:
            extra = row_public[row] if row_public is not None else ()
            reason = _own(upper, serial, extra)
        if reason is not None:
            found.setdefault(reason, []).append(serial)
    return [Violation(RULE, tuple(s), reason) for reason, s in found.items()]


def _own(upper: str, serial: str, extra: Sequence[str]) -> str | None:
    for label, value in own_values(serial, extra):
        if len(value) < MIN_LENGTH:
            continue
        plain = value.upper()
        if plain in upper:
            return f"contains {label}"
        bare = plain.translate(SEPARATORS)
        if len(bare) >= MIN_LENGTH and bare != plain and bare in upper:
            return f"contains {label} without separators"
        if plain[::-1] in upper or (len(bare) >= MIN_LENGTH and bare[::-1] in upper):
            return f"contains {label} reversed"
    return None
