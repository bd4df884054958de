"""Key files: wrapping really works, and wrong passphrases or tampering are caught."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.errors import KeystoreError
from credline.keystore import keyfile, open_key
from tests.conftest import FAST_SCRYPT, PASSPHRASE, TEST_KEY


def test_round_trip_and_key_id(key_file: Path) -> None:
    key = open_key(str(key_file))
    assert key.key_id == "e98c6960947e8461"
    envelope = json.loads(key_file.read_text())
    assert envelope["key_id"] == key.key_id and envelope["kdf"]["name"] == "scrypt"
    assert TEST_KEY.hex() not in key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_wrong_passphrase_is_a_clear_keystore_error(key_file: Path) -> None:
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        keyfile.load(key_file, passphrase="not it")


@settings(max_examples=40, deadline=None)
@given(position=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_any_edit_of_the_envelope_is_refused(tmp_path_factory: pytest.TempPathFactory,
                                             position: int, bit: int) -> None:
    data = bytearray(keyfile.wrap(TEST_KEY, PASSPHRASE, params=FAST_SCRYPT))
    position %= len(data)
    data[position] ^= 1 << bit
    try:
        key = keyfile.unwrap(bytes(data), PASSPHRASE, "f.key")
    except KeystoreError:
        return
    # An edit that leaves the same JSON meaning (whitespace, escapes) may still open the
    # same key; it can never yield a different one.
    assert key == TEST_KEY


@pytest.mark.parametrize("field", ["key_id", "label", "kdf.n", "cipher.nonce", "ciphertext"])
def test_tampering_with_each_field_is_refused(field: str) -> None:
    envelope = json.loads(keyfile.wrap(TEST_KEY, PASSPHRASE, params=FAST_SCRYPT))
    if field == "key_id":
        envelope["key_id"] = "0" * 16
    elif field == "label":
        envelope["label"] = "other"
    elif field == "kdf.n":
        envelope["kdf"]["n"] = 2**13
    elif field == "cipher.nonce":
        envelope["cipher"]["nonce"] = base64.b64encode(b"\0" * 12).decode()
    else:
        sealed = bytearray(base64.b64decode(envelope["ciphertext"]))
        sealed[0] ^= 1
        envelope["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    with pytest.raises(KeystoreError):
        keyfile.unwrap(json.dumps(envelope).encode(), PASSPHRASE, "f.key")


@pytest.mark.parametrize("data", [b"", b"{}", b"not json", b'{"format": "other"}',
                                  b"[1, 2]"])
def test_malformed_files_are_named(data: bytes) -> None:
    with pytest.raises(KeystoreError, match=r"f\.key"):
        keyfile.unwrap(data, PASSPHRASE, "f.key")


def test_existing_file_is_never_overwritten(key_file: Path) -> None:
    before = key_file.read_bytes()
    with pytest.raises(KeystoreError, match="already exists"):
        keyfile.create(key_file, bytes(32), PASSPHRASE, params=FAST_SCRYPT)
    assert key_file.read_bytes() == before


def test_empty_passphrase_refused(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="empty passphrase"):
        keyfile.create(tmp_path / "k", TEST_KEY, "", params=FAST_SCRYPT)
    assert not (tmp_path / "k").exists()
