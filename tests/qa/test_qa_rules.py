"""Every rule fires on planted violations of many (generated) shapes and stays quiet on
properly derived batches."""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st
from qa_helpers import default_profile, derived, exhaustive_near_search

from credline.core.encoding import CROCKFORD32, encoder_for
from credline.qa import Batch, check_batch
from credline.qa.rules import distribution, duplicate, guessable, near, policy, public, unkeyed

ALPHABET = CROCKFORD32
SETTINGS = settings(max_examples=60, deadline=None)


def with_row(batch: Batch, serial: str, password: str, at: int | None = None) -> Batch:
    """A copy of ``batch`` with one planted row (replacing row ``at`` or appended)."""
    serials, passwords = list(batch.serials), list(batch.passwords)
    if at is None:
        serials.append(serial)
        passwords.append(password)
    else:
        serials[at], passwords[at] = serial, password
    return Batch(serials=serials, passwords=passwords)


def test_derived_batch_is_clean(profile):
    report = check_batch(derived(20000), profile)
    assert report.ok, report.to_text()
    assert report.checked == 20000


# --- duplicate ---------------------------------------------------------------------------

@SETTINGS
@given(st.data())
def test_duplicate_fires_on_copied_password(data):
    batch = derived(300)
    i, j = data.draw(st.lists(st.integers(0, 299), min_size=2, max_size=2, unique=True))
    planted = with_row(batch, batch.serials[j], batch.passwords[i], at=j)
    found = duplicate.within_batch(planted.serials, planted.passwords)
    assert len(found) == 1
    assert set(found[0].serials) == {batch.serials[i], batch.serials[j]}
    assert batch.passwords[i] not in found[0].detail


def test_duplicate_against_registry_plain_iterables():
    serials, fps = ["A1", "A2", "A3"], ["aa", "bb", "cc"]
    assert duplicate.against_registry(serials, fps, []) == []
    hits = duplicate.against_registry(serials, fps, ["BB", "zz"])
    assert [v.serials for v in hits] == [("A2",)]
    # the same serial registered with its own fingerprint is not a duplicate
    assert duplicate.against_registry(serials, fps, [("A2", "bb")]) == []
    hits = duplicate.against_registry(serials, fps, iter([("OLD9", "cc")]))
    assert hits[0].serials == ("A3",) and "OLD9" in hits[0].detail


# --- counter-like ------------------------------------------------------------------------

def mutate(password: str, edits: list[tuple[str, int, str]]) -> str:
    chars = list(password)
    for kind, pos, ch in edits:
        pos %= len(chars) + (kind == "insert")
        if kind == "sub":
            chars[pos] = ch if chars[pos] != ch else ALPHABET[(ALPHABET.index(ch) + 1) % 32]
        elif kind == "insert":
            chars.insert(pos, ch)
        else:
            del chars[pos]
    return "".join(chars)


edit = st.tuples(st.sampled_from(["sub", "insert", "delete"]), st.integers(0, 30),
                 st.sampled_from(ALPHABET))


@SETTINGS
@given(st.integers(0, 999), st.lists(edit, min_size=1, max_size=2))
def test_counter_like_fires_on_near_variants(row, edits):
    batch = derived(1000)
    variant = mutate(batch.passwords[row], edits)
    distance = near.edit_within(batch.passwords[row], variant, 2)
    if variant == batch.passwords[row] or distance is None:
        return  # the edits cancelled out
    if len(variant) == len(batch.passwords[row]) and \
            near.hamming_within(batch.passwords[row], variant, 2) is None:
        return  # equal length but a shift: the rule uses Hamming distance there
    planted = with_row(batch, "PLANTED-1", variant)
    found = near.check(planted.serials, planted.passwords)
    assert any({batch.serials[row], "PLANTED-1"} <= set(v.serials) for v in found)


@SETTINGS
@given(st.text("0123456789ABC", min_size=4, max_size=9), st.integers(2, 40))
def test_counter_like_fires_on_counters(stem, count):
    passwords = [f"{stem}{i:03d}" for i in range(count)]
    found = near.check([f"S{i}" for i in range(count)], passwords)
    assert sum(len(v.serials) for v in found) == count


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text("ab01", min_size=3, max_size=7), min_size=2, max_size=40))
def test_index_equals_pairwise_search(passwords):
    expected = set()
    firsts = [(i, p) for i, p in enumerate(passwords) if passwords.index(p) == i]
    for (i, a), (j, b) in itertools.combinations(firsts, 2):
        close = near.hamming_within(a, b, 2) if len(a) == len(b) else near.edit_within(a, b, 2)
        if close is not None:
            expected.add((i, j))
    with exhaustive_near_search():
        assert near.close_pairs(passwords) == expected


@settings(max_examples=5, deadline=None)
@example(999999)  # the run starts where seven digits carry: its first counter stands alone
@given(st.integers(0, 10**6))
def test_counter_batches_and_universal_passwords_stay_fast(offset):
    """A bucket of thousands (counters, one shared password) is searched in a window, not
    quadratically, and every counter is still flagged."""
    counters = [f"ACME{(offset + i) % 10**8:08d}" for i in range(20000)]
    found = near.check([f"S{i}" for i in range(20000)], counters)
    # Every counter inside the run has n-1 or n+1 one digit away. The two ends may have no
    # neighbour within distance 2 (a start at ...999999 carries into seven digits), so for
    # them the truth is computed from their nearest rivals.
    def near_any(i: int) -> bool:
        rivals = counters[max(0, i - 300):i] + counters[i + 1:i + 301]
        return any(sum(a != b for a, b in zip(counters[i], r, strict=True)) <= 2
                   for r in rivals)

    expected = 19998 + near_any(0) + near_any(19999)
    assert sum(len(v.serials) for v in found) == expected
    assert "window" in found[0].detail
    same = ["K3M9P2Q7R4T8"] * 50000
    assert near.check([f"S{i}" for i in range(50000)], same) == []


@settings(max_examples=200, deadline=None)
@given(st.text("abc", max_size=8), st.text("abc", max_size=8))
def test_edit_within_matches_full_levenshtein(a, b):
    def levenshtein(x: str, y: str) -> int:
        row = list(range(len(y) + 1))
        for i, cx in enumerate(x, 1):
            prev, row[0] = row[0], i
            for j, cy in enumerate(y, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (cx != cy))
        return row[-1]

    d = levenshtein(a, b)
    assert near.edit_within(a, b, 2) == (d if d <= 2 else None)


# --- public-info -------------------------------------------------------------------------

def plant(password: str, fragment: str, at: int) -> str:
    at %= max(1, len(password) - len(fragment) + 1)
    return (password[:at] + fragment + password[at + len(fragment):])[:max(len(password),
                                                                         len(fragment))]


@SETTINGS
@given(st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=6, max_size=10),
       st.sampled_from(["as is", "reversed", "lower"]), st.integers(0, 20))
def test_public_info_fires_on_own_serial(serial, form, at):
    batch = derived(50)
    fragment = {"as is": serial, "reversed": serial[::-1], "lower": serial.lower()}[form]
    planted = with_row(batch, serial, plant(batch.passwords[7], fragment, at), at=7)
    found = public.check(planted.serials, planted.passwords, public.PublicIndex([]))
    assert [v.serials for v in found] == [(serial,)]
    assert fragment.upper() not in found[0].detail.upper()


@SETTINGS
@given(st.lists(st.text("0123456789ABCDEF", min_size=2, max_size=2), min_size=6, max_size=6),
       st.sampled_from([":", "-", ""]), st.booleans(), st.integers(0, 20))
def test_public_info_fires_on_public_file_mac(octets, sep, bare, at):
    mac = sep.join(octets)
    fragment = "".join(octets) if bare else mac
    batch = derived(50)
    planted = with_row(batch, batch.serials[3], plant(batch.passwords[3], fragment[:12], at),
                       at=3)
    index = public.PublicIndex([("--public value 1", mac)])
    found = public.check(planted.serials, planted.passwords, index)
    if len(fragment) <= 12:
        assert batch.serials[3] in {s for v in found for s in v.serials}


def test_public_info_identifier_column_and_product(profile):
    batch = derived(20)
    passwords = list(batch.passwords)
    passwords[2] = "X" + "ACME-CAM".replace("-", "") + "QQQ"
    passwords[4] = "A1B2C3D4E5F6"[::-1]
    planted = Batch(serials=list(batch.serials), passwords=passwords,
                    public=[("A1:B2:C3:D4:E5:F6",)] * 20)
    report = check_batch(planted, profile)
    assert report.serials_for("public-info") == {batch.serials[2], batch.serials[4]}


# --- guessable ---------------------------------------------------------------------------

RUN_SOURCES = [ALPHABET, ALPHABET[::-1], "".join(chr(c) for c in range(0x30, 0x3A)),
               "QWERTYUIOP", "asdfghjkl", "ZXCVBNM"[::-1]]


@SETTINGS
@given(st.sampled_from(RUN_SOURCES), st.integers(0, 30), st.integers(7, 9), st.integers(0, 9))
def test_guessable_fires_on_runs(source, start, size, at):
    start %= max(1, len(source) - size + 1)
    run = source[start:start + size]
    if len(run) < 7:
        return
    batch = derived(30)
    planted = with_row(batch, batch.serials[5], plant(batch.passwords[5], run, at), at=5)
    found = guessable.check(planted.serials, planted.passwords, ALPHABET)
    assert [v.serials for v in found] == [(batch.serials[5],)]


@SETTINGS
@given(st.sampled_from(ALPHABET), st.integers(7, 12), st.integers(0, 5))
def test_guessable_fires_on_repeats(ch, size, at):
    batch = derived(30)
    planted = with_row(batch, batch.serials[1], plant(batch.passwords[1], ch * size, at), at=1)
    assert guessable.check(planted.serials, planted.passwords, ALPHABET)


@SETTINGS
@given(st.sampled_from(sorted(guessable.common_passwords())), st.booleans())
def test_guessable_fires_on_common_passwords(word, upper):
    found = guessable.check(["S1"], [word.upper() if upper else word], ALPHABET)
    assert found and found[0].serials == ("S1",)


# --- unkeyed-derivation --------------------------------------------------------------------

def unkeyed_encodings(value: str) -> list[str]:
    out = []
    for name in ("md5", "sha1", "sha256"):
        digest = hashlib.new(name, value.encode()).digest()
        b32 = base64.b32encode(digest).decode().rstrip("=")
        crock = b32.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET))
        out += [digest.hex(), digest.hex().upper(), b32, crock]
    return out


@SETTINGS
@given(st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ:-", min_size=6, max_size=17),
       st.integers(0, 11), st.integers(8, 20), st.booleans())
def test_unkeyed_fires_on_hashes_of_the_serial(serial, which, length, suffix):
    text = unkeyed_encodings(serial)[which]
    password = text[-length:] if suffix else text[:length]
    found = unkeyed.check([serial], [password], unkeyed.UnkeyedIndex([], ALPHABET, 12))
    assert found and found[0].serials == (serial,), password


@SETTINGS
@given(st.text("abcdef0123456789:", min_size=6, max_size=17), st.integers(0, 11),
       st.booleans())
def test_unkeyed_fires_on_hashes_of_public_values(value, which, suffix):
    text = unkeyed_encodings(value)[which]
    password = text[-12:] if suffix else text[:12]
    index = unkeyed.UnkeyedIndex([("--public value 1", value)], ALPHABET, 12)
    found = unkeyed.check(["SN1"], [password], index)
    assert found and "public value" in found[0].detail


@SETTINGS
@given(st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=4, max_size=12),
       st.sampled_from(["md5", "sha1", "sha256"]))
def test_unkeyed_fires_on_credline_without_a_key(serial, name):
    password = encoder_for(ALPHABET, 12).encode(hashlib.new(name, serial.encode()).digest())
    found = unkeyed.check([serial], [password], unkeyed.UnkeyedIndex([], ALPHABET, 12))
    # for SHA-1 (160 bits, whole base-32 digits) this is also the Crockford base32 suffix
    assert found and found[0].serials == (serial,)


@SETTINGS
@given(st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ:-", min_size=1, max_size=20),
       st.integers(8, 26), st.booleans(), st.booleans())
def test_number_arithmetic_matches_string_encodings(value, length, suffix, upper):
    """The hot loop compares integers; the reference is the string encodings themselves."""
    for hname, hash_ in unkeyed.HASHES:
        for name, text in unkeyed.encodings(hash_(value.encode()), ALPHABET, 12):
            if name == "the profile's encoding" or length > len(text):
                continue
            piece = text[-length:] if suffix else text[:length]
            piece = piece.upper() if upper else piece
            how = unkeyed.match_value(piece, value, ALPHABET)
            assert how is not None, (hname, name)


# --- distribution ------------------------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(st.integers(0, 11), st.integers(8, 24), st.integers(0, 2**32))
def test_distribution_fires_on_biased_position(position, kept, seed):
    rnd = random.Random(seed)
    passwords = [list(p) for p in derived(5000).passwords]
    for p in passwords:
        p[position] = ALPHABET[rnd.randrange(kept)]
    found, _ = distribution.check(["".join(p) for p in passwords], ALPHABET, 12)
    assert [v.detail.split(" is ")[0] for v in found] == [f"position {position + 1}"]


def test_distribution_fires_on_modulo_bias():
    rnd = random.Random(7)
    # a broken encoder: one random byte mod 32 per position... then mod 24
    passwords = ["".join(ALPHABET[rnd.randrange(256) % 40 % 32] for _ in range(12))
                 for _ in range(5000)]
    found, _ = distribution.check(passwords, ALPHABET, 12)
    assert len(found) == 12


def test_distribution_skips_small_batches():
    found, note = distribution.check(derived(100).passwords, ALPHABET, 12)
    assert found == [] and "skipped" in note


# --- policy ------------------------------------------------------------------------------

@SETTINGS
@given(st.integers(1, 30).filter(lambda n: n != 12), st.sampled_from("ILOU!abc"))
def test_policy_fires_on_length_and_alphabet(length, bad):
    batch = derived(10)
    passwords = list(batch.passwords)
    passwords[1] = (passwords[1] * 3)[:length]
    passwords[2] = bad + passwords[2][1:]
    found = policy.check(batch.serials, passwords, default_profile())
    assert {s for v in found for s in v.serials} == {batch.serials[1], batch.serials[2]}


def test_shipped_common_list_is_the_generators_output():
    from importlib import resources

    from credline.qa import commonlist

    shipped = resources.files("credline").joinpath("data/common-passwords.txt").read_text()
    words = [line for line in shipped.splitlines() if not line.startswith("#")]
    assert words == commonlist.generate()
    assert {"123456", "password", "admin", "qwerty123", "xc3511"} <= guessable.common_passwords()


def test_every_rule_has_planted_tests():
    """A guard: adding a rule to the report without tests here fails."""
    from credline.qa.report import RULES

    source = Path(__file__).read_text(encoding="utf-8")
    for rule in RULES:
        module = rule.replace("counter-like", "counter_like").replace("public-info", "public_info")
        module = module.replace("unkeyed-derivation", "unkeyed")
        assert f"def test_{module}_fires" in source, rule
