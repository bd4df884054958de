"""The PKCS#11 keystore against a real SoftHSM2 token."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from credline.core.derive import Deriver
from credline.core.errors import KeystoreError
from credline.core.ids import ProductId, Serial
from credline.core.kbkdf import kbkdf_counter_raw
from credline.core.policy import PasswordFormat
from credline.keystore import keyfile, open_key
from credline.keystore.base import LocalKey
from credline.keystore.pkcs11 import Pkcs11Uri, import_key, open_uri
from tests.conftest import FAST_SCRYPT, PASSPHRASE, credline_command, subprocess_env
from tests.keystore.conftest import PIN, TOKEN, uri
from tests.nist import kbkdf_ctr_hmac_sha256_before_fixed_r32

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "credline-v1.json").read_text())["vectors"]
_labels = itertools.count()


def fresh(name: str) -> str:
    return uri(f"{name}-{next(_labels)}")


def test_every_vector_is_identical_through_key_file_and_token(token_env: str,
                                                              tmp_path: Path) -> None:
    keys: dict[str, tuple[Any, Any]] = {}
    for v in VECTORS:
        if v["key"] not in keys:
            path = tmp_path / f"{len(keys)}.key"
            keyfile.create(path, bytes.fromhex(v["key"]), PASSPHRASE, params=FAST_SCRYPT)
            keys[v["key"]] = (keyfile.load(path, PASSPHRASE),
                              import_key(fresh("vector"), bytes.fromhex(v["key"])))
        file_key, token_key = keys[v["key"]]
        assert file_key.key_id == token_key.key_id == v["key_id"]
        fmt = PasswordFormat(v["alphabet"], v["length"])
        results = []
        for key in (file_key, token_key):
            deriver = Deriver(key, fmt)
            password = deriver.password(ProductId(v["product"]), Serial(v["serial"]),
                                        v["generation"])
            results.append((password.reveal(), deriver.fingerprint(password)))
        assert results[0] == results[1] == (v["password"], v["fingerprint"])
    for _, token_key in keys.values():
        token_key.close()


def test_nist_cavp_through_the_token(token_env: str) -> None:
    ran = 0
    for vector in kbkdf_ctr_hmac_sha256_before_fixed_r32():
        if not 32 <= len(vector.ki) <= 512:  # SoftHSM's HMAC key size range
            continue
        key = import_key(fresh(f"cavp{vector.count}"), vector.ki, length_check=False)
        assert kbkdf_counter_raw(key.mac, vector.fixed, vector.length_bytes) == vector.ko
        key.close()
        ran += 1
    assert ran == 40


def test_token_key_is_sensitive_and_not_extractable(token_env: str) -> None:
    from pkcs11 import Attribute

    key = import_key(fresh("attrs"), bytes(range(32)))
    assert key._key[Attribute.SENSITIVE] is True
    assert key._key[Attribute.EXTRACTABLE] is False
    # NEVER_EXTRACTABLE stays False for an imported key (its value once existed outside the
    # token); keys generated in the token would have it. docs/keystores.md explains custody.
    from pkcs11 import exceptions as p11e

    with pytest.raises(p11e.AttributeSensitive):
        key._key[Attribute.VALUE]
    assert not key.fork_safe
    key.close()


def test_import_refuses_an_existing_label(token_env: str) -> None:
    name = fresh("dup")
    import_key(name, bytes(32)).close()
    with pytest.raises(KeystoreError, match="already holds"):
        import_key(name, bytes(range(32)))
    key = open_uri(name)
    assert key.key_id == LocalKey(bytes(32), "same").key_id  # the first import stands
    key.close()


def test_uri_parsing() -> None:
    parsed = Pkcs11Uri.parse("pkcs11:token=line%201;object=acme;id=%01%02?pin-value=1234")
    assert (parsed.token, parsed.label, parsed.key_id, parsed.pin) == (
        "line 1", "acme", b"\x01\x02", "1234")
    assert "1234" not in parsed.text
    for bad, fragment in [("pkcs11:object=a", "name the token"),
                          ("pkcs11:token=t", "name the key"),
                          ("pkcs11:token=t;object=a;slot-id=3", "'slot-id'"),
                          ("pkcs11:token=t;object=a;type=private", "secret-key"),
                          ("pkcs11:token=t;object=a?pin-source=/x", "'pin-source'")]:
        with pytest.raises(KeystoreError, match=fragment):
            Pkcs11Uri.parse(bad)


def cli_run(*args: str, input: str | None = None, **env: str
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*credline_command(), *args], input=input, capture_output=True,
                          text=True, env=subprocess_env(**env), timeout=60, check=False)


def test_cli_import_id_and_derive_through_the_token(token_env: str, softhsm: str) -> None:
    name = fresh("cli")
    env = {"CREDLINE_PKCS11_MODULE": softhsm, "CREDLINE_PKCS11_PIN": PIN}
    imported = cli_run("keys", "import", "--pkcs11", name, input=bytes(range(32)).hex(), **env)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "e98c6960947e8461"
    assert cli_run("keys", "id", "--key", name, **env).stdout.strip() == "e98c6960947e8461"
    derived = cli_run("derive", "--key", name, "--product", "acme-cam", "--serial", "SN0001",
                      **env)
    assert derived.stdout == "WW4V6P8BPYR2\n"


# A wrong object or PIN is the input (2); a missing token or module is the machine (4).
@pytest.mark.parametrize(("ref", "env", "fragment", "code"), [
    ("pkcs11:token=nope;object=x", {}, "no token labelled 'nope'", 4),
    ("pkcs11:token=" + TOKEN + ";object=missing", {}, "no secret key", 2),
    ("pkcs11:token=" + TOKEN + ";object=x", {"CREDLINE_PKCS11_PIN": "99999999"},
     "refused the PIN", 2),
    ("pkcs11:token=" + TOKEN + ";object=x", {"CREDLINE_PKCS11_MODULE": "/nonexistent.so"},
     "not found (install it", 4),
])
def test_cli_token_errors_exit_without_traceback_or_pin(token_env: str, softhsm: str,
                                                       ref: str, env: dict[str, str],
                                                       fragment: str, code: int) -> None:
    full = {"CREDLINE_PKCS11_MODULE": softhsm, "CREDLINE_PKCS11_PIN": PIN, **env}
    result = cli_run("keys", "id", "--key", ref, **full)
    assert result.returncode == code
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert full["CREDLINE_PKCS11_PIN"] not in result.stderr


def test_open_key_dispatches_on_the_uri(token_env: str) -> None:
    name = fresh("dispatch")
    import_key(name, bytes(range(32))).close()
    assert open_key(name).key_id == "e98c6960947e8461"

