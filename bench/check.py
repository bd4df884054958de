"""Benchmark of ``credline batch check``: a million derived rows, then a planted batch.

    PYTHONPATH=src python bench/check.py [--rows 1000000] [--keep DIR]

Derives the rows with credline (``credline.bulk.derive.derive_file``, both cores), checks them
(the clean batch must pass), and prints rows per second for the check. Then plants one
violation of each rule into a copy and checks that every rule fires. Target (issue 6): the
whole check of 1,000,000 rows in under a minute on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

from credline.bulk.derive import derive_file
from credline.core.derive import Deriver
from credline.core.ids import ProductId
from credline.core.policy import PasswordFormat, Profile
from credline.keystore.base import LocalKey
from credline.qa import Batch, check_batch, check_file
from credline.qa.report import RULES

KEY = bytes(range(32))  # the published test key
PRODUCT = "acme-cam"


def derive(rows: int, directory: Path) -> tuple[Path, float]:
    serials = directory / "serials.txt"
    serials.write_text("".join(f"SN{i:010d}\n" for i in range(rows)), encoding="ascii")
    out = directory / "batch.csv"
    deriver = Deriver(LocalKey(KEY, "bench key"), PasswordFormat.default())
    start = time.perf_counter()
    derive_file(deriver, PRODUCT, serials, out)
    return out, time.perf_counter() - start


def plant(source: Path, out: Path, rows: int) -> None:
    """The first ``rows`` rows of ``source`` with one violation of each row-level rule."""
    lines = source.read_text(encoding="ascii").splitlines()[: rows + 1]
    header, body = lines[0], [line.split(",") for line in lines[1:]]
    body[1][1] = body[0][1]  # duplicate
    body[2][1] = body[3][1][:-1] + ("0" if body[3][1][-1] != "0" else "1")  # counter-like
    body[4][1] = body[4][0][::-1]  # public-info: its own serial, reversed (12 characters)
    body[5][1] = "QWERTYUIOP12"  # guessable
    body[6][1] = hashlib.sha1(body[6][0].encode(), usedforsecurity=False).hexdigest()[:12].upper()
    body[7][1] = body[7][1][:11]  # policy: too short
    for row in body[8:]:  # distribution: position 12 never uses the last 8 characters
        if row[1][-1] in "QRSTVWXYZ"[1:]:
            row[1] = row[1][:-1] + "0"
    out.write_text("\n".join([header, *(",".join(r) for r in body)]) + "\n", encoding="ascii")


def worst_cases(rows: int, profile: Profile) -> None:
    """Batches that fill one index bucket: every password a counter, or all the same."""
    serials = [f"SN{i:010d}" for i in range(rows)]
    for name, passwords in (("counters ACME00000000..", [f"ACME{i:08d}" for i in range(rows)]),
                            ("one universal password", ["K3M9P2Q7R4T8"] * rows)):
        start = time.perf_counter()
        report = check_batch(Batch(serials=serials, passwords=passwords), profile)
        print(f"worst case, {name}: {time.perf_counter() - start:.1f} s, rules fired: "
              f"{', '.join(sorted(report.rules_fired()))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Keep the files in this directory.")
    parser.add_argument("--worst-case", action="store_true",
                        help="Also time a batch of counters and a universal password.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        batch, derive_seconds = derive(args.rows, directory)
        print(f"derived {args.rows} rows in {derive_seconds:.1f} s "
              f"({args.rows / derive_seconds:,.0f} rows/s, derive_file, all cores)")
        profile = Profile(ProductId(PRODUCT), PasswordFormat.default())
        start = time.perf_counter()
        report = check_file(batch, profile, product=PRODUCT)
        seconds = time.perf_counter() - start
        print(f"checked {report.checked} rows in {seconds:.1f} s "
              f"({report.checked / seconds:,.0f} rows/s): "
              + ("clean" if report.ok else "NOT CLEAN"))
        if not report.ok:
            print(report.to_text(), file=sys.stderr)
        planted = directory / "planted.csv"
        plant(batch, planted, min(args.rows, 20_000))
        planted_report = check_file(planted, profile, product=PRODUCT)
        missing = set(RULES) - planted_report.rules_fired()
        print(f"planted batch of {planted_report.checked} rows: rules fired: "
              f"{', '.join(sorted(planted_report.rules_fired()))}"
              + (f"; MISSED: {', '.join(sorted(missing))}" if missing else "; none missed"))
        projected = seconds * 1_000_000 / args.rows
        if args.worst_case:
            worst_cases(args.rows, profile)
        target = "met" if projected < 60 else "MISSED"
        print(f"target (1,000,000 rows under 60 s): {target} "
              f"({'measured' if args.rows == 1_000_000 else 'projected'}: {projected:.1f} s)")
        return 0 if report.ok and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
