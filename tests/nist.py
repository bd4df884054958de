"""NIST CAVP KBKDF counter-mode vectors from the `cryptography-vectors` package."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cryptography_vectors


@dataclass(frozen=True)
class KbkdfVector:
    count: int
    length_bytes: int
    ki: bytes
    fixed: bytes
    ko: bytes


def kbkdf_ctr_hmac_sha256_before_fixed_r32() -> list[KbkdfVector]:
    """Every [PRF=HMAC_SHA256][CTRLOCATION=BEFORE_FIXED][RLEN=32_BITS] case."""
    path = Path(cryptography_vectors.__file__).parent / "KDF" / "nist-800-108-KBKDF-CTR.txt"
    vectors: list[KbkdfVector] = []
    section: dict[str, str] = {}
    case: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("[") and "=" in line:
            name, value = line[1:-1].split("=", 1)
            section[name] = value
            continue
        if "=" not in line or raw.startswith("\t"):
            continue
        name, value = (part.strip() for part in line.split("=", 1))
        if name == "COUNT":
            case = {}
        case[name] = value
        if name == "KO" and section == {"PRF": "HMAC_SHA256", "CTRLOCATION": "BEFORE_FIXED",
                                        "RLEN": "32_BITS"}:
            vectors.append(KbkdfVector(int(case["COUNT"]), int(case["L"]) // 8,
                                       bytes.fromhex(case["KI"]),
                                       bytes.fromhex(case["FixedInputData"]),
                                       bytes.fromhex(case["KO"])))
    return vectors
