"""Reading lists of serials (work orders, batch inputs) with line-exact errors.

Accepts a text file with one serial a line, or a CSV file with a ``serial`` column (a first
line of exactly ``serial`` is taken as a one-column CSV header). Blank lines are skipped.
Every serial is validated; a malformed one raises :class:`BadInput` naming the file, the line
and the value. Duplicates are found with a set of 64-bit digests (about 60 bytes a serial,
not the serials themselves) and confirmed exactly by re-reading before being reported.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from pathlib import Path

from credline.errors import BadInput
from credline.ids import ID_RULE, is_valid_id


def _digest(serial: str) -> int:
    return int.from_bytes(hashlib.blake2b(serial.encode(), digest_size=8).digest(), "big")


def _open(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, raw serial) pairs, header and blank lines skipped."""
    try:
        handle = path.open("r", encoding="utf-8", newline="")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read serials: {exc.strerror}") from None
    with handle:
        try:
            first = handle.readline()
            header = next(csv.reader([first]), [])
            if "serial" in (cell.strip() for cell in header) and (
                    len(header) > 1 or header[0].strip() == "serial"):
                column = [cell.strip() for cell in header].index("serial")
                for index, row in enumerate(csv.reader(handle), start=2):
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    if column >= len(row):
                        raise BadInput(f"{path} line {index}: no 'serial' column in this row")
                    yield index, row[column]
                return
            lines = [first] if first else []
            number = 1
            for line in _chain(lines, handle):
                text = line.rstrip("\r\n")
                if text.strip():
                    yield number, text
                number += 1
        except UnicodeDecodeError:
            raise BadInput(f"{path}: serial list is not UTF-8 text") from None
        except csv.Error as exc:
            raise BadInput(f"{path}: malformed CSV: {exc}") from None


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def read_serials(path: Path) -> Iterator[tuple[int, str]]:
    """Validated (line, serial) pairs in file order; raises on the first bad or repeated one."""
    seen: set[int] = set()
    for line, serial in _open(path):
        if not is_valid_id(serial):
            raise BadInput(f"{path} line {line}: invalid serial {serial!r}: must be {ID_RULE}")
        digest = _digest(serial)
        if digest in seen:
            earlier = _first_line_of(path, serial, before=line)
            if earlier is not None:
                raise BadInput(f"{path} line {line}: duplicate serial {serial!r} "
                               f"(first at line {earlier})")
        seen.add(digest)
        yield line, serial


def _first_line_of(path: Path, serial: str, before: int) -> int | None:
    for line, candidate in _open(path):
        if line >= before:
            return None
        if candidate == serial:
            return line
    return None
