"""``guessable``: the whole password is in the common-password list shipped with credline, or
it holds a run of 7 or more repeated, sequential (in the alphabet or in ASCII) or keyboard-row
characters.

Schedule 1 para 1(3)(d): "otherwise guessable". Every 7-character run is precomputed into one
set (keyboard rows in every upper/lower-case mix), so a password costs one set lookup per
7-character window plus one lookup of the whole (lower-cased) password in the list.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import lru_cache
from importlib import resources

from credline.qa.report import Violation

RULE = "guessable"
RUN = 7
ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
KEYBOARD_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./",
                 "~!@#$%^&*()_+", "qwertyuiop{}|", "asdfghjkl:\"", "zxcvbnm<>?",
                 "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/", "qazwsxedcrfvtgbyhnujmikolp")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (``credline/data/common-passwords.txt``), lower-cased."""
    text = resources.files("credline").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def _windows(sequence: str) -> Iterator[str]:
    for text in (sequence, sequence[::-1]):
        for i in range(len(text) - RUN + 1):
            yield text[i:i + RUN]


def _case_mixes(text: str) -> Iterator[str]:
    choices = [sorted({ch.lower(), ch.upper()}) for ch in text]
    for combo in itertools.product(*choices):
        yield "".join(combo)


@lru_cache(maxsize=16)
def runs(alphabet: str) -> dict[str, str]:
    """Every 7-character run the rule flags, mapped to its kind."""
    table: dict[str, str] = {}
    for row in KEYBOARD_ROWS:
        for window in _windows(row):
            for mix in _case_mixes(window):
                table.setdefault(mix, "keyboard-row")
    for window in _windows(ASCII):
        table.setdefault(window, "ASCII-sequential")
    for window in _windows(alphabet):
        table.setdefault(window, "alphabet-sequential")
    for ch in set(ASCII) | set(alphabet):
        table.setdefault(ch * RUN, "repeated")
    return table


def find(password: str, alphabet: str) -> str | None:
    if password.lower() in common_passwords():
        return "password is in the common-password list"
    table = runs(alphabet)
    for i in range(len(password) - RUN + 1):
        kind = table.get(password[i:i + RUN])
        if kind is not None:
            return f"{kind} run of {RUN}+ characters at position {i + 1}"
    return None


def check(serials: Sequence[str], passwords: Sequence[str], alphabet: str) -> list[Violation]:
    common, table = common_passwords(), runs(alphabet)
    found: dict[str, list[str]] = {}
    for serial, password in zip(serials, passwords, strict=True):
        if password.lower() in common:
            found.setdefault("password is in the common-password list", []).append(serial)
            continue
        for i in range(len(password) - RUN + 1):
            kind = table.get(password[i:i + RUN])
            if kind is not None:
                found.setdefault(f"{kind} run of {RUN}+ characters", []).append(serial)
                break
    return [Violation(RULE, tuple(s), reason) for reason, s in found.items()]
