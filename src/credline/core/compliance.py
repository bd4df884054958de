"""What a product's profile says for compliance: the statement's items (UK PSTI Schedule 4),
the published support information (Schedule 1 paras 2 and 3), and the batch terms the
registry enforces when a batch opens (pure).

:func:`compliance_of` reads the ``[product]`` and ``[compliance]`` sections the schema of
:mod:`credline.core.profile` accepted; nothing here touches a file. A statement item that is
missing is an error naming it (:func:`Compliance.require`), never an empty field.
"""

from __future__ import annotations

from dataclasses import dataclass

from credline.core.errors import ProfileError
from credline.core.policy import KeyScope, Profile
from credline.core.settings import CHECKS

# Schedule 2 of the Regulations: conformity with these ETSI EN 303 645 provisions is deemed
# compliance with Schedule 1 paras 1 (5.1-1, 5.1-2), 2 (5.2-1) and 3 (5.3-13).
EN_303_645 = "ETSI EN 303 645"
EN_VERSION = "V2.1.1"
EN_ISSUED = "2020-06"
EN_PROVISIONS = ("5.1-1", "5.1-2", "5.2-1", "5.3-13")

DECLARATIONS = {
    "schedule-1": "complies with the security requirements in Schedule 1 to the Product "
                  "Security and Telecommunications Infrastructure (Security Requirements for "
                  "Relevant Connectable Products) Regulations 2023",
    "schedule-2": "is deemed to comply with the security requirements in Schedule 1 to the "
                  "Product Security and Telecommunications Infrastructure (Security "
                  "Requirements for Relevant Connectable Products) Regulations 2023, by "
                  f"conforming, as set out in Schedule 2, to {EN_303_645} {EN_VERSION} "
                  f"({EN_ISSUED}) provisions " + ", ".join(EN_PROVISIONS),
}

# Statement items: (the words a compliance officer reads, section, key).
ITEMS: tuple[tuple[str, str, str], ...] = (
    ("product type", "compliance", "product_type"),
    ("manufacturer name", "product", "manufacturer"),
    ("manufacturer address", "compliance", "manufacturer_address"),
    ("declaration route", "compliance", "declaration"),
    ("support period end date", "compliance", "support_period_end"),
    ("signatory name", "compliance", "signatory"),
    ("signatory function", "compliance", "signatory_function"),
    ("place of issue", "compliance", "place"),
)
# Support information: what a product's public page cannot do without.
SUPPORT_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("product name", "product", "name"),
    ("manufacturer name", "product", "manufacturer"),
    ("security contact", "compliance", "security_contact"),
    ("acknowledgement time", "compliance", "acknowledge_within_days"),
    ("status update interval", "compliance", "status_update_days"),
    ("support period end date", "compliance", "support_period_end"),
)


def parse_date(value: str, where: str) -> str:
    """A ``YYYY-MM-DD`` calendar date, kept as that text (ISO dates sort as they compare);
    anything else names ``where`` and the value."""
    if CHECKS[("compliance", "support_period_end")](value) is not None:
        raise ProfileError(f"{where} = {value!r}: must be a date YYYY-MM-DD")
    return value


@dataclass(frozen=True)
class Compliance:
    """The compliance facts of one profile (values as written; dates parsed)."""

    source: str
    product: str
    values: dict[tuple[str, str], object]

    def get(self, section: str, key: str) -> str:
        value = self.values.get((section, key))
        return "" if value is None else str(value)

    def missing(self, items: tuple[tuple[str, str, str], ...] = ITEMS) -> list[str]:
        """The items (in words, with their profile key) the profile does not give."""
        return [f"{words} ([{section}] {key})" for words, section, key in items
                if not self.get(section, key).strip()]

    def require(self, items: tuple[tuple[str, str, str], ...] = ITEMS,
                what: str = "the statement of compliance") -> None:
        gaps = self.missing(items)
        if gaps:
            raise ProfileError(f"{self.source}: {what} needs " + "; ".join(gaps)
                               + ": add them to the profile (nothing was written)")

    @property
    def support_end(self) -> str | None:
        text = self.get("compliance", "support_period_end")
        return parse_date(text, f"{self.source}: [compliance] support_period_end") \
            if text else None

    @property
    def support_start(self) -> str | None:
        text = self.get("compliance", "support_period_start")
        return parse_date(text, f"{self.source}: [compliance] support_period_start") \
            if text else None

    @property
    def declaration(self) -> str:
        return DECLARATIONS[self.get("compliance", "declaration") or "schedule-2"]

    @property
    def make(self) -> str:
        return self.get("product", "make") or self.get("product", "manufacturer")

    @property
    def model(self) -> str:
        return self.get("product", "model") or self.get("product", "name")


def compliance_of(profile: Profile) -> Compliance:
    values: dict[tuple[str, str], object] = {}
    for section in ("product", "compliance", "key"):
        for key, value in profile.section(section).items():
            values[(section, key)] = value
    facts = Compliance(profile.source, str(profile.product), values)
    start, end = facts.support_start, facts.support_end
    if start is not None and end is not None and start > end:
        raise ProfileError(f"{profile.source}: [compliance] support_period_start = {start} is "
                           f"after support_period_end = {end}")
    return facts


@dataclass(frozen=True)
class BatchTerms:
    """What the registry enforces when a batch of the product opens: the key scope (a new key
    per batch, or one per product line) and the published support end date, which may be
    extended but never brought forward (Schedule 1 para 3(6))."""

    key_scope: KeyScope = KeyScope.PRODUCT
    support_end: str | None = None  # YYYY-MM-DD
    published: str = ""  # JSON of the support information the registry keeps with the date


def batch_terms(profile: Profile) -> BatchTerms:
    import json

    facts = compliance_of(profile)
    published = {"make": facts.make, "model": facts.model,
                 "model_number": facts.get("product", "model_number"),
                 "category": facts.get("product", "category"),
                 "support_start": facts.get("compliance", "support_period_start"),
                 "contact": facts.get("compliance", "security_contact"),
                 "documentation": facts.get("compliance", "documentation_url"),
                 "key_scope": profile.key_scope.value}
    return BatchTerms(profile.key_scope, facts.support_end,
                      json.dumps(published, sort_keys=True))
