"""The statement of compliance (UK PSTI Regulations 2023, regulations 8-9 and Schedule 4)
for one batch, as a :class:`~credline.report.document.Document`.

Every Schedule 4 item comes from the profile (``[product]``, ``[compliance]``) or the
registry; a missing one is a :class:`~credline.core.errors.ProfileError` naming it, raised
before anything is written. The statement also records the batch's evidence: scheme, key
ids, devices by state, the provenance checkpoint and the batch check verdict. Pure.
"""

from __future__ import annotations

import datetime as dt

from credline.core.compliance import (
    EN_303_645,
    EN_ISSUED,
    EN_PROVISIONS,
    EN_VERSION,
    Compliance,
)
from credline.core.errors import BadInput
from credline.report.document import Document, Section, Signature, Table
from credline.report.facts import BatchFacts

REGULATIONS = ("The Product Security and Telecommunications Infrastructure (Security "
               "Requirements for Relevant Connectable Products) Regulations 2023")


def long_date(iso: str) -> str:
    """``2030-12-31`` as ``31 December 2030``."""
    return f"{dt.date.fromisoformat(iso):%d %B %Y}"


def verdict_words(facts: BatchFacts) -> str:
    v = facts.verdict
    result = "PASS: no rule fired" if v.ok else \
        f"FAIL: {len(v.violations)} violation(s) of {', '.join(sorted(v.rules_fired()))}"
    return f"{result} ({v.checked} devices checked; {facts.verdict_basis})"


def evidence_rows(facts: BatchFacts) -> tuple[tuple[str, str], ...]:
    states = ", ".join(f"{state} {n}" for state, n in facts.states.items()) or "none"
    return (
        ("Derivation scheme", f"{facts.scheme}: keyed hash (HMAC-SHA256 in NIST SP 800-108 "
                              "counter mode) of product, serial and generation"),
        ("Master key id(s)", ", ".join(facts.key_ids)),
        ("Devices by state", f"{states} (of {facts.devices})"),
        ("Provenance checkpoint", facts.checkpoint_summary),
        ("Batch check verdict", verdict_words(facts)),
    )


def build_statement(facts: BatchFacts, compliance: Compliance, issued: dt.date) -> Document:
    compliance.require()
    if not facts.closed:
        raise BadInput(f"batch {facts.batch_id!r} is still open: a statement covers a "
                       "finished batch; finish it (the station closes it), then run again")
    get = compliance.get
    end = compliance.support_end
    start = compliance.support_start
    assert end is not None  # require() refused a profile without one
    representative = get("compliance", "representative") or \
        "none: the manufacturer has appointed no authorised representative"
    period = f"until {long_date(end)}" if start is None else \
        f"from {long_date(start)} until {long_date(end)}"
    sections = [
        Section("Product", [Table(("Item", "Value"), (
            ("Product type", get("compliance", "product_type")),
            ("Make and model", f"{compliance.make} {compliance.model}".strip()),
            ("Model number", get("product", "model_number") or "not stated"),
            ("Product id (credline)", facts.product),
            ("Batch", facts.batch_id),
        ))]),
        Section("Manufacturer", [Table(("Item", "Value"), (
            ("Manufacturer", get("product", "manufacturer")),
            ("Address", get("compliance", "manufacturer_address")),
            ("Authorised representative", representative),
        ))]),
        Section("Declaration", [
            "This statement of compliance is prepared by or on behalf of the manufacturer "
            "named above.",
            f"In the opinion of the manufacturer, the product described above, batch "
            f"{facts.batch_id}, {compliance.declaration}.",
            f"Standard relied on: {EN_303_645} {EN_VERSION}, date of issue {EN_ISSUED}, "
            f"provisions {', '.join(EN_PROVISIONS)}."
            if get("compliance", "declaration") == "schedule-2" else
            "No standard is relied on for deemed compliance (Schedule 1 route).",
        ]),
        Section("Defined support period", [
            f"Security updates for this product are provided {period}. The defined support "
            f"period ends on {end}.",
            "Security issues can be reported to "
            f"{get('compliance', 'security_contact') or 'the manufacturer'}.",
        ]),
        Section("Evidence for this batch", [Table(("Evidence", "Value"), evidence_rows(facts))]),
    ]
    return Document(
        title="Statement of compliance",
        subtitle=f"{REGULATIONS}: regulations 8 and 9 and Schedule 4",
        sections=sections,
        signature=Signature(get("product", "manufacturer"), get("compliance", "signatory"),
                            get("compliance", "signatory_function"), get("compliance", "place"),
                            f"{issued:%d %B %Y}"),
        footer=f"Statement of compliance, {facts.product} batch {facts.batch_id}. Keep it for "
               "10 years (regulations 8-9).")
