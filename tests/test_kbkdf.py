"""The fast HMAC and the SP 800-108 loop against RFC 4231 and NIST CAVP."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credline.core.kbkdf import HmacSha256, kbkdf_counter_raw
from tests.nist import kbkdf_ctr_hmac_sha256_before_fixed_r32

CAVP = kbkdf_ctr_hmac_sha256_before_fixed_r32()

# RFC 4231 section 4, HMAC-SHA-256 results (case 5 is truncated to 128 bits).
RFC4231 = [
    ("0b" * 20, b"Hi There".hex(),
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe".hex(), b"what do ya want for nothing?".hex(),
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    ("aa" * 20, "dd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    ("0102030405060708090a0b0c0d0e0f10111213141516171819", "cd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    ("0c" * 20, b"Test With Truncation".hex(), "a3b6167473100ee06e0c796c2955552b"),
    ("aa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First".hex(),
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ("aa" * 131, (b"This is a test using a larger than block-size key and a larger than "
                  b"block-size data. The key needs to be hashed before being used by the "
                  b"HMAC algorithm.").hex(),
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]


@pytest.mark.parametrize(("key", "data", "expected"), RFC4231,
                         ids=[f"rfc4231-case{i}" for i in range(1, 8)])
def test_rfc4231(key: str, data: str, expected: str) -> None:
    mac = HmacSha256(bytes.fromhex(key)).mac(bytes.fromhex(data))
    assert mac.hex()[: len(expected)] == expected
    assert mac == hmac.digest(bytes.fromhex(key), bytes.fromhex(data), "sha256")


def test_cavp_file_has_the_expected_cases() -> None:
    assert len(CAVP) == 40
    assert {v.length_bytes for v in CAVP} >= {16, 32}


@pytest.mark.parametrize("vector", CAVP, ids=[f"cavp-{v.count}" for v in CAVP])
def test_nist_cavp_kbkdf_counter_before_fixed(vector: object) -> None:
    from tests.nist import KbkdfVector

    assert isinstance(vector, KbkdfVector)
    prf = HmacSha256(vector.ki).mac
    assert kbkdf_counter_raw(prf, vector.fixed, vector.length_bytes) == vector.ko


@given(key=st.binary(max_size=200), message=st.binary(max_size=300))
def test_fast_hmac_equals_the_standard_library(key: bytes, message: bytes) -> None:
    assert HmacSha256(key).mac(message) == hmac.digest(key, message, "sha256")


def test_hmac_object_does_not_print_its_key() -> None:
    assert "aa" not in repr(HmacSha256(b"\xaa" * 32))
