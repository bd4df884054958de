"""Reading lists of serials (work orders, batch inputs) with line-exact errors.

Accepts a text file with one serial a line, or a CSV file with a ``serial`` column (a first
line of exactly ``serial`` is taken as a one-column CSV header). Empty lines are skipped; a
line of only spaces is a malformed serial. Every serial is validated; a malformed one raises
:class:`BadInput` naming the file, the line and the value.

Duplicates are found with a set of the serials' 64-bit string hashes (about 50 bytes a serial,
not the serials themselves); a suspected duplicate is confirmed by re-reading the file, so a
hash collision can never cause a false report.

Files are read in blocks (:func:`read_blocks`) so the batch path can validate in worker
processes; :func:`read_serials` is the simple validated iterator for everything else.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from credline.core.errors import BadInput
from credline.core.ids import ID_RULE, is_valid_id

BLOCK_BYTES = 1 << 18


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive entries of a serial list: their line numbers and raw values ('' = skip)."""

    lines: Sequence[int]
    values: list[str]


def malformed(path: Path, line: int, value: str) -> BadInput:
    return BadInput(f"{path} line {line}: invalid serial {value!r}: must be {ID_RULE}")


def first_malformed(block: Block) -> tuple[int, str] | None:
    """The first (line, value) of a block that is not a valid serial, if any."""
    for line, value in zip(block.lines, block.values, strict=True):
        if value and not is_valid_id(value):
            return line, value
    return None


def read_blocks(path: Path) -> Iterator[Block]:
    """The file as blocks of raw values; values are not validated here."""
    try:
        handle = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read serials: {exc.strerror}") from None
    with handle:
        try:
            first = handle.readline()
            header = [cell.strip() for cell in next(csv.reader([first]), [])]
            if header == ["serial"] or (len(header) > 1 and "serial" in header):
                yield from _csv_blocks(path, handle, header.index("serial"))
            else:
                yield from _text_blocks(handle, first)
        except UnicodeDecodeError:
            raise BadInput(f"{path}: serial list is not UTF-8 text") from None
        except csv.Error as exc:
            raise BadInput(f"{path}: malformed CSV: {exc}") from None


def _text_blocks(handle: TextIO, first: str) -> Iterator[Block]:
    number = 1
    lines = [first] if first else []
    while True:
        lines += handle.readlines(BLOCK_BYTES)
        if not lines:
            return
        values = [line.rstrip("\r\n") for line in lines]
        yield Block(range(number, number + len(values)), values)
        number += len(values)
        lines = []


def _csv_blocks(path: Path, handle: TextIO, column: int) -> Iterator[Block]:
    reader = csv.reader(handle)
    lines: list[int] = []
    values: list[str] = []
    for row in reader:
        line = reader.line_num + 1  # +1: the header line was read before the reader
        if not row or row == [""]:
            continue
        if column >= len(row):
            raise BadInput(f"{path} line {line}: no 'serial' column in this row")
        lines.append(line)
        values.append(row[column])
        if len(values) >= 8192:
            yield Block(lines, values)
            lines, values = [], []
    if values:
        yield Block(lines, values)


class DuplicateGuard:
    """Remembers the hashes of serials seen so far; confirms suspects against the file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: set[int] = set()

    def add_block(self, block: Block) -> None:
        """Record a block; raise the file's first error if it may repeat a serial."""
        hashes = {hash(value) for value in block.values if value}
        count = sum(1 for value in block.values if value)
        if len(hashes) != count or not self._seen.isdisjoint(hashes):
            for _ in read_serials(self._path):  # raises the first real error in file order
                pass
        self._seen |= hashes


def read_serials(path: Path) -> Iterator[tuple[int, str]]:
    """Validated (line, serial) pairs in file order; raises on the first bad or repeated one."""
    seen: dict[int, list[tuple[int, str]]] = {}
    for block in read_blocks(path):
        for line, value in zip(block.lines, block.values, strict=True):
            if not value:
                continue
            if not is_valid_id(value):
                raise malformed(path, line, value)
            earlier = seen.setdefault(hash(value), [])
            for first_line, first_value in earlier:
                if first_value == value:
                    raise BadInput(f"{path} line {line}: duplicate serial {value!r} "
                                   f"(first at line {first_line})")
            earlier.append((line, value))
            yield line, value


def count_lines(path: Path) -> int | None:
    """How many lines ``path`` has (an upper bound on its serials, for a progress bar); None
    when it cannot be read (the reader then raises the real error)."""
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None
