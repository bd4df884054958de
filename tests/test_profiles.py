"""Product profiles: the shipped examples load, and every kind of mistake is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from credline.core.encoding import CROCKFORD32
from credline.core.errors import ProfileError
from credline.core.policy import Exposure, PasswordFormat, Profile, policy_violations
from credline.core.profile import parse_profile
from credline.files.profiles import load_profile

PROFILES = Path(__file__).parent.parent / "factory" / "profiles"


def test_shipped_profiles_cover_both_exposures() -> None:
    loaded = [load_profile(p) for p in sorted(PROFILES.glob("*.toml"))]
    assert {p.exposure for p in loaded} == {Exposure.ONLINE, Exposure.OFFLINE}
    for profile in loaded:
        assert profile.format.bits >= profile.exposure.floor_bits


def test_defaults_follow_the_brief() -> None:
    online = parse_profile('[product]\nid = "x"\n', "t.toml")
    assert online.format == PasswordFormat(CROCKFORD32, 12) and online.grouping == 4
    offline = parse_profile('[product]\nid = "x"\n[password]\nexposure = "offline"\n', "t")
    assert offline.format.length == 16 and offline.format.bits == 80


@pytest.mark.parametrize(("text", "fragments"), [
    ('[product]\nid = "x"\ncolour = "red"\n', ["t.toml", "[product]", "colour"]),
    ('[product]\nid = "x"\n[wifi]\nssid = "a"\n', ["t.toml", "[wifi]"]),
    ('[product]\nid = "bad id"\n', ["t.toml", "[product] id", "'bad id'"]),
    ('[product]\nname = "x"\n', ["t.toml", "[product] id", "required"]),
    ('[product]\nid = "x"\n[password]\nlength = 9\n', ["[password] length", "45.0 bits",
                                                       "48-bit floor"]),
    ('[product]\nid = "x"\n[password]\nexposure = "offline"\nlength = 15\n',
     ["[password] length", "80-bit floor"]),
    ('[product]\nid = "x"\n[password]\nlength = 26\n', ["[password] length", "128-bit"]),
    ('[product]\nid = "x"\n[password]\nalphabet_chars = "0123456789A0"\n',
     ["[password] alphabet", "repeats", "'0'"]),
    ('[product]\nid = "x"\n[password]\nalphabet_chars = "012345678"\nlength = 20\n',
     ["[password] alphabet", "10 to 94"]),
    ('[product]\nid = "x"\n[password]\nalphabet = "emoji"\n', ["alphabet", "'emoji'"]),
    ('[product]\nid = "x"\n[password]\nexposure = "public"\n', ["exposure", "'public'"]),
    ('[product]\nid = "x"\n[password]\nlength = "12"\n', ["[password] length", "wrong type"]),
    ('[product]\nid = "x"\n[password]\ngrouping = -1\n', ["grouping", "-1"]),
    ('[product\nid = "x"\n', ["t.toml", "not valid TOML"]),
])
def test_profile_errors_name_file_key_and_value(text: str, fragments: list[str]) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "t.toml")
    for fragment in fragments:
        assert fragment in str(info.value)


def test_policy_violations_describe_without_revealing() -> None:
    profile = parse_profile('[product]\nid = "x"\n', "t")
    assert policy_violations("0123456789AB", profile) == []
    problems = policy_violations("password!", profile)
    assert any("length 9" in p for p in problems)
    assert any("outside" in p for p in problems)
    assert all("password!" not in p for p in problems)


def test_profile_refuses_entropy_below_exposure_floor_in_code_too() -> None:
    with pytest.raises(ProfileError):
        Profile(product=parse_profile('[product]\nid = "x"\n', "t").product,
                format=PasswordFormat(CROCKFORD32, 15), exposure=Exposure.OFFLINE)
