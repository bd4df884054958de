"""The profile's [product] and [compliance] keys: each value checked where it is read, an
unknown key refused, and the shipped profiles complete enough for a statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credline.core.compliance import ITEMS, SUPPORT_ITEMS, batch_terms, compliance_of
from credline.core.errors import ProfileError
from credline.core.policy import KeyScope
from credline.core.profile import parse_profile
from credline.files.profiles import load_profile

PROFILES = sorted((Path(__file__).parent.parent / "factory" / "profiles").glob("*.toml"))
BASE = '[product]\nid = "acme-cam"\n[compliance]\n'


def parsed(compliance: str) -> object:
    return compliance_of(parse_profile(BASE + compliance, "p.toml"))


@pytest.mark.parametrize("path", PROFILES, ids=[p.name for p in PROFILES])
def test_shipped_profiles_give_every_statement_and_support_item(path: Path) -> None:
    facts = compliance_of(load_profile(path))
    assert facts.missing(ITEMS) == [] and facts.missing(SUPPORT_ITEMS) == []


@pytest.mark.parametrize(("line", "why"), [
    ('support_period_end = "2031-02-30"', "support_period_end = '2031-02-30': must be a date"),
    ('support_period_end = "31/12/2031"', "must be a date YYYY-MM-DD"),
    ('declaration = "schedule-3"', "must be one of schedule-1, schedule-2"),
    ('security_contact = "call us"', "must be a web address (https://...) or an e-mail"),
    ('security_contact = "https://bad_host/"', "is not a valid host name"),
    ("acknowledge_within_days = 0", "must be between 1 and 365 days"),
    ('documentation_url = "ftp://x.example/"', "must be a web address"),
    ('signatory = "  "', "signatory = '  ': must not be empty"),
    ('support_period_start = "2032-01-01"\nsupport_period_end = "2031-01-01"',
     "support_period_start = 2032-01-01 is after support_period_end = 2031-01-01"),
    ('signatory_title = "x"', "[compliance] unknown key 'signatory_title'"),
])
def test_bad_compliance_values_are_refused_naming_the_key(line: str, why: str) -> None:
    with pytest.raises(ProfileError) as refused:
        parsed(line)
    assert str(refused.value).startswith("p.toml: ") and why in str(refused.value)


@given(st.dates())
def test_any_calendar_date_is_accepted_as_written(day: object) -> None:
    text = day.isoformat()  # type: ignore[attr-defined]
    if len(text) != 10:  # years before 1000 or after 9999 are not YYYY
        return
    terms = batch_terms(parse_profile(BASE + f'support_period_end = "{text}"', "p.toml"))
    assert terms.support_end == text and terms.key_scope is KeyScope.PRODUCT


def test_valid_contacts() -> None:
    for contact in ("https://acme.example.com/security", "security@acme.example.com",
                    "mailto:security@acme.example.com"):
        assert parsed(f'security_contact = "{contact}"') is not None


def test_every_key_the_schema_accepts_is_read_somewhere() -> None:
    """A key the schema accepts but nothing reads would be a promise nobody keeps: each key
    of the sections adapters own must be named by a module other than the schema's own
    (profile.py parses [product] id, [password] and [key] scope itself)."""
    import re

    from credline.core.profile import SCHEMA

    src = Path(__file__).parent.parent / "src" / "credline"
    readers = {p: p.read_text() for p in src.rglob("*.py")
               if p.relative_to(src).as_posix() not in ("core/profile.py", "core/settings.py")}
    parsed_by_schema = {("product", "id"), ("key", "scope")} | {
        ("password", key) for key in SCHEMA["password"]}
    unread = [f"[{section}] {key}" for section, keys in SCHEMA.items() for key in keys
              if (section, key) not in parsed_by_schema and not any(
                  re.search(rf"[\"']{key}[\"']", text) for text in readers.values())]
    assert unread == []


@given(st.sets(st.sampled_from(ITEMS), min_size=1))
def test_the_error_names_exactly_the_items_left_out(left_out: set[tuple[str, str, str]]) -> None:
    demo = PROFILES[[p.name for p in PROFILES].index("demo-device.toml")]
    drop = {key for _, _, key in left_out}
    text = "\n".join(line for line in demo.read_text().splitlines()
                     if line.split(" =")[0] not in drop)
    facts = compliance_of(parse_profile(text, "p.toml"))
    with pytest.raises(ProfileError) as refused:
        facts.require()
    named = {item for item in ITEMS if f"{item[0]} ([{item[1]}] {item[2]})" in str(
        refused.value)}
    assert named == left_out
