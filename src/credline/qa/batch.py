"""Reading a batch CSV for QA: streaming, validating, with line-exact errors.

The file needs ``serial`` and ``password`` columns; ``fingerprint``, ``product`` and public
identifier columns (``mac``, ``imei``, ``ssid``, ``hardware_id``, ``eui64``) are used when
present, everything else is ignored. A malformed row raises :class:`BadInput` naming the file
and line, never the password; so does a file with no rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from credline.core.errors import BadInput
from credline.core.ids import is_valid_id

PUBLIC_COLUMNS = ("product", "mac", "imei", "ssid", "hardware_id", "eui64")


@dataclass(slots=True)
class Batch:
    """Column-wise rows of one batch file. ``public`` holds per-row public values (other than
    the serial) when the file has public identifier columns."""

    serials: list[str] = field(default_factory=list)
    passwords: list[str] = field(default_factory=list)
    fingerprints: list[str] | None = None
    public: list[tuple[str, ...]] | None = None
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.serials)

    @classmethod
    def from_pairs(cls, rows: Iterator[tuple[str, str]] | list[tuple[str, str]],
                   source: str = "<memory>") -> Batch:
        batch = cls(source=source)
        for serial, password in rows:
            batch.serials.append(serial)
            batch.passwords.append(password)
        return batch


def read_batch(path: Path) -> Batch:
    """Read and validate a batch CSV (streamed; memory is the two columns kept)."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read batch: {exc.strerror}") from None
    reader = csv.reader(handle, strict=True)
    try:
        with handle:
            return _read(reader, path)
    except UnicodeDecodeError:
        raise BadInput(f"{path}: batch file is not UTF-8 text") from None
    except csv.Error as exc:
        raise BadInput(f"{path} line {reader.line_num}: malformed CSV: {exc}") from None


def _read(reader: Iterator[list[str]], path: Path) -> Batch:
    header = next(reader, None)
    if header is None:
        raise BadInput(f"{path}: empty file, expected a header with 'serial' and 'password'")
    names = [name.strip().lower() for name in header]
    for needed in ("serial", "password"):
        if needed not in names:
            raise BadInput(f"{path} line 1: no '{needed}' column (columns: {', '.join(names)})")
    si, pi = names.index("serial"), names.index("password")
    fi = names.index("fingerprint") if "fingerprint" in names else None
    public_idx = [names.index(c) for c in PUBLIC_COLUMNS if c in names]
    width = max([si, pi, fi or 0, *public_idx]) + 1
    batch = Batch(source=str(path), fingerprints=[] if fi is not None else None,
                  public=[] if public_idx else None)
    seen: dict[str, int] = {}
    serials, passwords = batch.serials, batch.passwords
    line = 1
    for row in reader:
        line += 1
        if not row:
            continue
        if len(row) < width:
            raise BadInput(f"{path} line {line}: {len(row)} field(s), the header needs {width}")
        serial, password = row[si], row[pi]
        if not is_valid_id(serial):
            raise BadInput(f"{path} line {line}: malformed serial {serial!r}")
        if not password:
            raise BadInput(f"{path} line {line}: empty password for serial {serial}")
        first = seen.setdefault(serial, line)
        if first != line:
            raise BadInput(f"{path} line {line}: serial {serial} repeats line {first}")
        serials.append(serial)
        passwords.append(password)
        if batch.fingerprints is not None and fi is not None:
            batch.fingerprints.append(row[fi])
        if batch.public is not None:
            batch.public.append(tuple(row[i] for i in public_idx if row[i]))
    if not serials:  # "OK" on no rows would read as a passed batch
        raise BadInput(f"{path}: no rows to check, only a header; an empty batch gets no "
                       "verdict")
    return batch
