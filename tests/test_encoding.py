"""Reading what people type (Crockford's rules) and comparing in constant time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from credline.core.encoding import CROCKFORD32, group, normalize_typed
from credline.core.policy import ALPHABETS
from credline.core.secret import Password

crockford = st.text(alphabet=CROCKFORD32, min_size=1, max_size=25)
MISREADINGS = {"0": "oO", "1": "iIlL"}


@given(password=crockford, size=st.integers(0, 6), data=st.data())
def test_typed_crockford_password_is_accepted_however_it_is_written(
        password: str, size: int, data: st.DataObject) -> None:
    typed = group(password, size)
    typed = "".join(data.draw(st.sampled_from([ch, ch.lower(), *MISREADINGS.get(ch, "")]))
                    for ch in typed)
    assert Password(password).matches_typed(typed, CROCKFORD32)
    assert Password(password).matches_typed(f"  {typed} ", CROCKFORD32)


@given(password=crockford, index=st.integers(0, 24), replacement=st.sampled_from(CROCKFORD32))
def test_a_different_character_is_refused(password: str, index: int, replacement: str) -> None:
    index %= len(password)
    if password[index] == replacement:
        return
    typed = password[:index] + replacement + password[index + 1:]
    assert not Password(password).matches_typed(typed, CROCKFORD32)


def test_other_alphabets_keep_case_and_meaningful_hyphens() -> None:
    alnum, printable = ALPHABETS["alnum"], ALPHABETS["printable"]
    assert Password("aB3dE5fG7h").matches_typed("aB3d-E5fG-7h", alnum)
    assert not Password("aB3dE5fG7h").matches_typed("AB3DE5FG7H", alnum)
    assert not Password("a-b-c-d-e-").matches_typed("abcde", printable)
    assert Password("a-b-c-d-e-").matches_typed("a-b-c-d-e-", printable)


def test_short_and_long_inputs_do_not_match() -> None:
    assert not Password("ABCD").matches_typed("ABC", CROCKFORD32)
    assert not Password("ABCD").matches_typed("ABCDE", CROCKFORD32)
    assert normalize_typed("ab-cd", CROCKFORD32) == "ABCD"


def test_grouping_is_presentation_only() -> None:
    assert group("WW4V6P8BPYR2", 4) == "WW4V-6P8B-PYR2"
    assert group("WW4V6P8BPYR2", 0) == "WW4V6P8BPYR2"
    assert group("ABCDEFGHJ", 4) == "ABCD-EFGH-J"
