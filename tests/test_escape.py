"""What a device sends is made printable: injective on bytes, idempotent on text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from credline.core.escape import escape_bytes, escape_text
from credline.core.ids import ID_PATTERN


@given(a=st.binary(max_size=40), b=st.binary(max_size=40))
def test_escaped_bytes_are_printable_and_never_collide(a: bytes, b: bytes) -> None:
    assert escape_bytes(a).isprintable() and escape_bytes(a).isascii()
    assert (escape_bytes(a) == escape_bytes(b)) == (a == b)


@given(serial=st.from_regex(ID_PATTERN, fullmatch=True))
def test_valid_ids_come_through_unchanged(serial: str) -> None:
    assert escape_bytes(serial.encode()) == serial == escape_text(serial)


@given(text=st.text(max_size=40))
def test_escaped_text_is_printable_and_escaping_twice_changes_nothing(text: str) -> None:
    once = escape_text(text)
    assert once.isprintable() and escape_text(once) == once
    assert escape_text(escape_bytes(text.encode())) == escape_bytes(text.encode())


def test_terminal_control_is_shown_not_obeyed() -> None:
    assert escape_bytes(b"\x1b[32mPASS\x1b[0m\r\n\\") == "\\x1b[32mPASS\\x1b[0m\\x0d\\x0a\\\\"
    assert escape_text("\x1b]0;t\x07 \u202eevil \x9b2J") == (
        "\\x1b]0;t\\x07 \\u202eevil \\x9b2J")
