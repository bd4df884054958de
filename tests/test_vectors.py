"""Every published credline-v1 vector, recomputed three independent ways."""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode

from credline.core.derive import Deriver, context
from credline.core.ids import ProductId, Serial
from credline.core.policy import PasswordFormat
from credline.keystore.base import LocalKey

VECTORS_FILE = Path(__file__).parent / "vectors" / "credline-v1.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text())["vectors"]
PUNCTUATION = set(".-_:")


def ids(v: dict[str, Any]) -> str:
    return f"{v['alphabet_name']}-{v['length']}-{v['serial'][:12]}-g{v['generation']}"


def hmac_loop_kbkdf(key: bytes, label: bytes, ctx: bytes) -> bytes:
    """SP 800-108 counter mode written from the standard with hmac alone (independent path)."""
    out, counter = b"", 1
    while len(out) < 32:
        data = counter.to_bytes(4, "big") + label + b"\x00" + ctx + (256).to_bytes(4, "big")
        out += hmac.new(key, data, "sha256").digest()
        counter += 1
    return out[:32]


def cryptography_kbkdf(key: bytes, label: bytes, ctx: bytes) -> bytes:
    return KBKDFHMAC(algorithm=hashes.SHA256(), mode=Mode.CounterMode, length=32, rlen=4,
                     llen=4, location=CounterLocation.BeforeFixed, label=label, context=ctx,
                     fixed=None).derive(key)


def to_password(okm: bytes, alphabet: str, length: int) -> str:
    value = int.from_bytes(okm, "big") % len(alphabet) ** length
    digits = []
    for _ in range(length):
        value, d = divmod(value, len(alphabet))
        digits.append(alphabet[d])
    return "".join(reversed(digits))


def test_vector_set_covers_what_the_spec_promises() -> None:
    assert len(VECTORS) >= 24
    sizes = {len(v["alphabet"]) for v in VECTORS}
    assert min(sizes) == 10 and max(sizes) == 94 and len(sizes) >= 5
    assert {0, 1, 7} <= {v["generation"] for v in VECTORS}
    assert {1, 64} <= {len(v["serial"]) for v in VECTORS}
    assert any(v["bits"] == 48.0 for v in VECTORS) and any(v["bits"] == 128.0 for v in VECTORS)
    used = set("".join(v["serial"] + v["product"] for v in VECTORS))
    assert used >= PUNCTUATION
    assert any(v["alphabet_name"] == "crockford32" and v["length"] == 12 for v in VECTORS)


@pytest.mark.parametrize("v", VECTORS, ids=ids)
def test_vector_through_credline(v: dict[str, Any]) -> None:
    key = LocalKey(bytes.fromhex(v["key"]), "vector")
    deriver = Deriver(key, PasswordFormat(v["alphabet"], v["length"]))
    password = deriver.password(ProductId(v["product"]), Serial(v["serial"]), v["generation"])
    assert password.reveal() == v["password"]
    assert deriver.fingerprint(password) == v["fingerprint"]
    assert key.key_id == v["key_id"]
    assert context(v["product"], v["serial"], v["generation"]).hex() == v["context"]


@pytest.mark.parametrize("kdf", [cryptography_kbkdf, hmac_loop_kbkdf])
@pytest.mark.parametrize("v", VECTORS, ids=ids)
def test_vector_through_independent_kbkdf(v: dict[str, Any], kdf: Any) -> None:
    key = bytes.fromhex(v["key"])
    okm = kdf(key, b"credline/v1/password", bytes.fromhex(v["context"]))
    assert okm.hex() == v["okm"]
    assert to_password(okm, v["alphabet"], v["length"]) == v["password"]
    kf = kdf(key, b"credline/v1/fingerprint", b"")
    assert hmac.digest(kf, v["password"].encode(), "sha256").hex() == v["fingerprint"]
    assert hmac.digest(key, b"credline/v1/key-id", "sha256")[:8].hex() == v["key_id"]


def test_docs_publish_the_same_vectors() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "derivation.md").read_text()
    for v in VECTORS:
        assert v["password"] in doc and v["okm"] in doc, ids(v)
