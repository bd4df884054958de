"""Invariants of credline-v1 (hypothesis) and the validation at its boundary."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.derive import Deriver, context, okm
from credline.core.encoding import CROCKFORD32, Encoder, encode_reference
from credline.core.errors import BadInput
from credline.core.ids import ProductId, Serial
from credline.core.policy import PasswordFormat, format_problem
from credline.keystore.base import LocalKey

ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._:-"
ids = st.text(alphabet=ID_CHARS, min_size=1, max_size=64)
keys = st.binary(min_size=32, max_size=32)
generations = st.integers(0, 2**32 - 1)


@st.composite
def formats(draw: st.DrawFn) -> PasswordFormat:
    chars = draw(st.lists(st.sampled_from([chr(c) for c in range(0x21, 0x7F)]),
                          min_size=10, max_size=94, unique=True))
    alphabet = "".join(chars)
    length = draw(st.integers(1, 40))
    while format_problem(alphabet, length):
        length -= 1
    return PasswordFormat(alphabet, length)


@given(key=keys, product=ids, serial=ids, generation=generations, fmt=formats())
def test_password_has_the_profiles_length_and_alphabet(key: bytes, product: str, serial: str,
                                                       generation: int,
                                                       fmt: PasswordFormat) -> None:
    password = Deriver(LocalKey(key, "h"), fmt).password(
        ProductId(product), Serial(serial), generation).reveal()
    assert len(password) == fmt.length
    assert set(password) <= set(fmt.alphabet)


@given(a=st.tuples(ids, ids, generations), b=st.tuples(ids, ids, generations))
def test_distinct_inputs_give_distinct_context_and_okm(a: tuple[str, str, int],
                                                       b: tuple[str, str, int]) -> None:
    key = LocalKey(bytes(range(32)), "t")
    if a == b:
        assert okm(key.mac, ProductId(a[0]), Serial(a[1]), a[2]) == okm(
            key.mac, ProductId(b[0]), Serial(b[1]), b[2])
        return
    assert context(*a) != context(*b)  # the encoding is injective (length prefixes)
    assert okm(key.mac, ProductId(a[0]), Serial(a[1]), a[2]) != okm(
        key.mac, ProductId(b[0]), Serial(b[1]), b[2])


@given(key=keys, flip=st.integers(0, 255))
@settings(max_examples=200)
def test_any_change_of_key_changes_the_password(key: bytes, flip: int) -> None:
    other = bytearray(key)
    other[flip // 8] ^= 1 << (flip % 8)
    fmt = PasswordFormat(CROCKFORD32, 25)  # 125 bits: a chance collision is negligible
    a = Deriver(LocalKey(key, "a"), fmt).password(ProductId("p"), Serial("s"))
    b = Deriver(LocalKey(bytes(other), "b"), fmt).password(ProductId("p"), Serial("s"))
    assert a != b


@given(okm_bytes=st.binary(min_size=32, max_size=32), fmt=formats())
def test_fast_encoder_matches_the_specifications_digit_loop(okm_bytes: bytes,
                                                            fmt: PasswordFormat) -> None:
    assert Encoder(fmt.alphabet, fmt.length).encode(okm_bytes) == encode_reference(
        okm_bytes, fmt.alphabet, fmt.length)


@given(value=st.integers(0, 2**256 - 1), length=st.integers(1, 25))
def test_encoder_round_trips_as_base_a_digits(value: int, length: int) -> None:
    text = Encoder(CROCKFORD32, length).encode_int(value)
    decoded = 0
    for ch in text:
        decoded = decoded * 32 + CROCKFORD32.index(ch)
    assert decoded == value % 32**length


@pytest.mark.parametrize("bad", ["", "x" * 65, "SN 0001", "SN/1", "é", "SN\n1", "a,b"])
def test_bad_ids_are_refused_naming_the_value_and_origin(bad: str) -> None:
    with pytest.raises(BadInput) as info:
        Serial(bad, origin="work order line 3")
    assert repr(bad) in str(info.value) and "work order line 3" in str(info.value)
    with pytest.raises(BadInput):
        ProductId(bad)


def test_generation_must_fit_32_bits() -> None:
    with pytest.raises(ValueError):
        context("p", "s", 2**32)
    with pytest.raises(ValueError):
        context("p", "s", -1)


def test_password_never_prints_itself(master_key: LocalKey) -> None:
    password = Deriver(master_key, PasswordFormat.default()).password(
        ProductId("acme"), Serial("SN1"))
    plain = password.reveal()
    assert plain not in repr(password) and plain not in str(password)
    assert plain not in f"{password}" and plain not in f"{[password]}"
    with pytest.raises(TypeError):
        hash(password)


@pytest.mark.parametrize("size", [16, 32, 64])
@given(okm_bytes=st.binary(min_size=32, max_size=32), length=st.integers(1, 32))
def test_power_of_two_alphabets_take_the_shift_path_correctly(size: int, okm_bytes: bytes,
                                                               length: int) -> None:
    alphabet = "".join(chr(0x21 + i) for i in range(size))
    if format_problem(alphabet, length):
        return
    assert Encoder(alphabet, length).encode(okm_bytes) == encode_reference(
        okm_bytes, alphabet, length)


@given(serials=st.lists(ids, min_size=1, max_size=20, unique=True), product=ids,
       fmt=formats())
def test_batch_hot_loop_equals_the_deriver(serials: list[str], product: str,
                                           fmt: PasswordFormat) -> None:
    from credline.bulk.derive import derive_rows

    deriver = Deriver(LocalKey(bytes(range(32)), "t"), fmt)
    rows = list(csv.reader(io.StringIO(derive_rows(deriver, product, serials))))
    for serial, row in zip(serials, rows, strict=True):
        password = deriver.password(ProductId(product), Serial(serial)).reveal()
        assert row == [serial, password, "0", deriver.key_id, deriver.fingerprint(password)]


@pytest.mark.parametrize("size", [16, 32])
@given(data=st.binary(min_size=1, max_size=64), length=st.integers(1, 25))
def test_encoder_accepts_inputs_of_any_size(size: int, data: bytes, length: int) -> None:
    alphabet = CROCKFORD32 if size == 32 else "0123456789abcdef"
    if format_problem(alphabet, length):
        return
    assert Encoder(alphabet, length).encode(data) == encode_reference(data, alphabet, length)
