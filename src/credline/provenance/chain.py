"""One log file on its own: every line parsed, signed by an enrolled station, chained to the
line before it, numbered in order, and every checkpoint true to the log before it.

Finds the first fault of a file and names its line: ``edited``, ``inserted``, ``deleted``,
``reordered``, ``truncated``, ``unknown signer``, or ``empty`` (a log with no entries proves
nothing and is refused). Knows nothing of registries or of the other logs of a cell.
Parsing never raises on hostile input: a line nested too deep for the JSON parser is an
edited line like any other.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credline.core.errors import BadInput
from credline.provenance.log import GENESIS, canonical, line_hash


@dataclass(frozen=True)
class Finding:
    """One thing wrong, where it shows: a log file and line, or (no line to name) the
    registry."""

    path: str
    line: int | None
    kind: str
    detail: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Line:
    """A verified entry of a log: its file, its line number (from 1) and its hash."""

    path: str
    number: int
    entry: dict[str, Any]
    digest: str

    @property
    def event(self) -> str:
        return str(self.entry["event"])

    @property
    def station(self) -> str:
        return str(self.entry["station"])

    @property
    def seq(self) -> int:
        return int(self.entry["seq"])

    @property
    def fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = self.entry["fields"]
        return fields

    def field(self, name: str) -> str | None:
        """A field as text; None when absent or empty."""
        value = self.fields.get(name)
        return None if value is None or value == "" else str(value)


@dataclass
class Chain:
    """A log file read back: its verified lines, and its first fault if it has one."""

    path: Path
    lines: list[Line]
    fault: Finding | None

    @property
    def name(self) -> str:
        return str(self.path)

    def stations(self) -> set[str]:
        return {line.station for line in self.lines}


def read_chain(path: Path, keys: Mapping[str, bytes]) -> Chain:
    """Read and check one log file against the station keys ``keys`` (id -> raw Ed25519)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read provenance log: {exc.strerror}") from None
    name = str(path)
    if not data:
        return Chain(path, [], Finding(name, 1, "empty", "the log holds no entries: an "
                                       "empty log proves nothing"))
    raw_lines = data.split(b"\n")
    tail = raw_lines.pop()
    torn = tail != b""  # after the final newline there must be nothing
    parsed = [_parse(raw) for raw in raw_lines]
    # A log cut inside its first entry still begins as an entry does (canonical JSON).
    start = b'{"event":'
    cut_entry = torn and tail[:len(start)] == start[:len(tail)]
    if not cut_entry and not any(entry is not None and "seq" in entry for entry in parsed):
        # Not one line is even shaped like an entry: the wrong file (a batch CSV, a key file),
        # not a log someone edited. A log with any entry left is checked, and fails, as usual.
        raise BadInput(f"{path}: not a provenance log (no line is a credline log entry); give "
                       "the station's JSON Lines log, e.g. provenance.jsonl")
    seqs = [entry.get("seq") if entry else None for entry in parsed]
    lines: list[Line] = []
    head = GENESIS
    for index, entry in enumerate(parsed):
        try:
            problem = _check(entry, index, head, raw_lines[index], seqs[index + 1:], keys)
        except RecursionError:
            problem = ("edited", "not a well-formed entry")
        if problem is not None:
            return Chain(path, lines, Finding(name, index + 1, *problem))
        assert entry is not None
        head = line_hash(raw_lines[index])
        lines.append(Line(name, index + 1, entry, head))
    if torn:
        return Chain(path, lines, Finding(name, len(lines) + 1, "truncated",
                                          "the last entry is incomplete"))
    return Chain(path, lines, None)


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _check(entry: dict[str, Any] | None, index: int, head: str, raw: bytes, later: list[Any],
           keys: Mapping[str, bytes]) -> tuple[str, str] | None:
    """What is wrong with line ``index + 1`` (kind, detail), or None."""
    if entry is None or not _well_formed(entry):
        return "edited", "not a well-formed entry"
    expected = index + 1
    if entry["seq"] != expected:
        return _sequence_fault(entry["seq"], expected, later)
    public = keys.get(entry["station"])
    if not public:
        return "unknown signer", (f"station {entry['station']!r} is not enrolled (give "
                                  "--registry or a trusted key)")
    unsigned = {k: v for k, v in entry.items() if k != "sig"}
    try:
        signature = base64.b64decode(entry["sig"], validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(signature, canonical(unsigned))
    except (InvalidSignature, ValueError):
        return "edited", "signature does not match the entry"
    # Base64 has spare bits in its last letter: another letter there decodes to the same
    # signature, and the line would pass here and be caught only at the next one.
    if base64.b64encode(signature).decode() != entry["sig"]:
        return "edited", "signature is not in canonical form"
    if entry["prev"] != head:
        return "inserted", ("entry does not chain to the line before it (a line was "
                            "replaced or inserted)")
    if canonical(entry) != raw:
        return "edited", "entry is not in canonical form"
    if entry["event"] == "checkpoint":
        fields = entry["fields"]
        if fields.get("entries") != index or fields.get("head") != head:
            return "edited", "checkpoint does not match the log"
    return None


def _well_formed(entry: dict[str, Any]) -> bool:
    return (isinstance(entry.get("seq"), int) and isinstance(entry.get("prev"), str)
            and isinstance(entry.get("station"), str) and isinstance(entry.get("event"), str)
            and isinstance(entry.get("fields"), dict) and isinstance(entry.get("sig"), str)
            and isinstance(entry.get("time"), str))


def _sequence_fault(seq: Any, expected: int, later: list[Any]) -> tuple[str, str]:
    if not isinstance(seq, int):
        return "edited", "sequence number is not a number"
    if seq < expected:
        return "inserted", f"entry {seq} appears again where entry {expected} belongs"
    if expected in later:
        if seq in later:
            return "inserted", f"a copy of entry {seq} stands where entry {expected} belongs"
        return "reordered", f"entry {seq} comes before entry {expected}"
    return "deleted", f"entries {expected} to {seq - 1} are missing"
