"""Batch derivation throughput against a bare `hmac.digest` loop measured in the same run.

    python bench/derive.py [--count 1000000] [--workers N]

Prints serials per second for the batch path (`credline derive --serials ... --out ...`'s
library function, CSV written to a temporary directory) and the ratio to a single-core loop of
`hmac.digest(key, message, "sha256")` over the same number of messages. Target: ratio >= 0.5.
Each batch row costs two HMACs (OKM and fingerprint) plus encoding and CSV output.
"""

from __future__ import annotations

import argparse
import hmac
import os
import tempfile
import time
from pathlib import Path

from credline.bulk.derive import derive_file
from credline.core.derive import Deriver, password_message
from credline.core.policy import PasswordFormat
from credline.keystore.base import LocalKey


def baseline(key: bytes, count: int) -> float:
    messages = [password_message("acme-cam", f"SN{i:08d}", 0) for i in range(count)]
    digest = hmac.digest
    start = time.perf_counter()
    for message in messages:
        digest(key, message, "sha256")
    return count / (time.perf_counter() - start)


def batch(key: bytes, count: int, workers: int | None) -> float:
    deriver = Deriver(LocalKey(key, "bench"), PasswordFormat.default())
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "serials.txt", Path(tmp) / "batch.csv"
        source.write_text("".join(f"SN{i:08d}\n" for i in range(count)))
        start = time.perf_counter()
        rows = derive_file(deriver, "acme-cam", source, out, workers=workers)
        elapsed = time.perf_counter() - start
    assert rows == count
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    key = os.urandom(32)
    base = baseline(key, args.count)
    rate = batch(key, args.count, args.workers)
    print(f"cores available          {os.cpu_count()}")
    print(f"bare hmac.digest loop    {base:12,.0f} HMACs/s (1 core)")
    print(f"credline batch derive    {rate:12,.0f} serials/s "
          f"(2 HMACs + encode + CSV per serial)")
    print(f"ratio                    {rate / base:12.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
