"""The provenance log: append-only JSON Lines, hash-chained, every entry signed.

Each line is one entry, canonical JSON (sorted keys, no spaces)::

    {"event": ..., "fields": {...}, "prev": <sha256 hex of the previous line>,
     "seq": <1, 2, ...>, "sig": <base64 Ed25519 signature>, "station": ..., "time": <UTC>}

The signature covers the canonical JSON of the entry without ``sig``; ``prev`` of the first
entry is 64 zeros. ``checkpoint`` entries (one per closed batch) carry the entry count and head
hash, which the registry also records, so a log cut at a line boundary is still caught.
:func:`verify_log` finds the first edited, inserted, deleted, reordered or truncated entry,
an unknown signer, or a disagreement with the registry, and says on which line.

Every append is flushed and fsynced before it returns. Entries never hold a password or key:
:meth:`ProvenanceLog.append` refuses fields that look like one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credline.errors import BadInput, CredlineError
from credline.secret import Password

GENESIS = "0" * 64
FORBIDDEN_FIELDS = frozenset({"password", "passphrase", "key", "secret", "pin", "okm"})
Clock = Callable[[], dt.datetime]


class ProvenanceError(CredlineError):
    """The log cannot be written or continued (torn tail, disk full, wrong station key)."""


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def line_hash_of(entry: dict[str, Any]) -> str:
    """The hash the next entry chains to: that of ``entry``'s canonical line."""
    return line_hash(canonical(entry))


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ProvenanceLog:
    """An open log a station appends to. Use :meth:`open`."""

    def __init__(self, path: Path, signer: Ed25519PrivateKey, station_id: str,
                 seq: int, head: str, clock: Clock) -> None:
        self.path = path
        self.station_id = station_id
        self.seq = seq
        self.head = head
        self._signer = signer
        self._clock = clock

    @classmethod
    def open(cls, path: Path, signer: Ed25519PrivateKey, station_id: str, *,
             clock: Clock = _utc_now, repair: bool = False) -> ProvenanceLog:
        """Open (or create) a log and continue after its last complete entry.

        A last line without its newline is a write torn by a crash: refused with a message,
        unless ``repair`` truncates it (the torn entry was never acknowledged: its device was
        not reported PASS).
        """
        seq, head = 0, GENESIS
        if path.exists():
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                if not repair:
                    raise ProvenanceError(
                        f"{path}: the last entry is incomplete (a write cut off at byte "
                        f"{len(data)}); rerun with --repair-log to drop it")
                with path.open("r+b") as handle:
                    handle.truncate(cut)
                    os.fsync(handle.fileno())
                data = data[:cut]
            lines = data.splitlines()
            if lines:
                try:
                    last = json.loads(lines[-1])
                    seq = int(last["seq"])
                except (ValueError, KeyError, TypeError):
                    raise ProvenanceError(f"{path} line {len(lines)}: not a provenance entry; "
                                          "run 'credline audit verify'") from None
                if last.get("station") != station_id:
                    pass  # several stations may share one log file only in sequence
                head = line_hash(lines[-1])
        return cls(path, signer, station_id, seq, head, clock)

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Sign and durably append one entry; returns it."""
        for name, value in fields.items():
            if name.lower() in FORBIDDEN_FIELDS or isinstance(value, Password):
                raise BadInput(f"provenance field {name!r} refused: the log never holds "
                               "passwords or keys")
        entry: dict[str, Any] = {
            "seq": self.seq + 1,
            "time": self._clock().isoformat(timespec="microseconds"),
            "prev": self.head,
            "station": self.station_id,
            "event": event,
            "fields": fields,
        }
        entry["sig"] = base64.b64encode(self._signer.sign(canonical(entry))).decode()
        line = canonical(entry) + b"\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                start = os.fstat(fd).st_size
                try:
                    if os.write(fd, line) != len(line):
                        raise OSError(28, "No space left on device (short write)")
                    os.fsync(fd)
                except OSError:
                    os.ftruncate(fd, start)  # leave whole entries only: no torn tail
                    raise
            finally:
                os.close(fd)
        except OSError as exc:
            raise ProvenanceError(f"{self.path}: cannot append to the provenance log: "
                                  f"{exc.strerror}") from None
        self.seq += 1
        self.head = line_hash(line)
        return entry

    def checkpoint(self, batch_id: str, registry: Any = None) -> dict[str, Any]:
        """Seal a batch: a signed entry with the count and head hash, also in the registry."""
        entries, head = self.seq, self.head
        entry = self.append("checkpoint", batch=batch_id, entries=entries, head=head)
        if registry is not None:
            registry.close_batch(batch_id, entries, head)
        return entry


def check_log_head(log: ProvenanceLog, head: tuple[int, str] | None) -> None:
    """Refuse a log that does not hold the entry the registry last acknowledged from this
    station: the wrong ``--log`` file, or a log cut back (write-ahead: the log may only be
    ahead of the registry)."""
    if head is None or head[0] == 0:
        return
    seq, digest = head
    if log.seq < seq:
        raise ProvenanceError(
            f"{log.path} ends at entry {log.seq}, but the registry has acknowledged entry "
            f"{seq} from station {log.station_id!r}: is this the station's own log? (a log "
            "cut back is a matter for 'credline audit verify')")
    lines = log.path.read_bytes().split(b"\n")
    if line_hash(lines[seq - 1]) != digest:
        raise ProvenanceError(
            f"{log.path} entry {seq} is not the entry the registry acknowledged from station "
            f"{log.station_id!r}: another log, or an edited one ('credline audit verify')")


class _Device(Protocol):
    @property
    def serial(self) -> str: ...
    @property
    def state(self) -> str: ...


class _Registry(Protocol):
    def station_keys(self) -> dict[str, bytes]: ...
    def batch(self, batch_id: str) -> dict[str, Any] | None: ...
    def devices(self, batch_id: str, state: str | None = None) -> Iterable[_Device]: ...


# The station appends "device.<state>" to the log before it moves the device in the
# registry, so the log may run ahead of the registry after a crash, never behind it.
RECORDED_STATES = ("written", "verified", "locked")


@dataclass
class AuditReport:
    ok: bool
    entries: int
    line: int | None = None
    kind: str | None = None
    detail: str = ""
    batches: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            return f"intact: {self.entries} entries, {len(self.batches)} checkpoint(s)"
        return f"line {self.line}: {self.kind}: {self.detail}"


def _fail(line: int, kind: str, detail: str, entries: int) -> AuditReport:
    return AuditReport(False, entries, line, kind, detail)


def verify_log(path: Path, registry: _Registry | None = None,
               trusted: dict[str, bytes] | None = None) -> AuditReport:
    """Check signatures, the chain, sequence numbers and checkpoints; locate the first fault."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read provenance log: {exc.strerror}") from None
    keys = dict(trusted or {})
    if registry is not None:
        keys.update(registry.station_keys())
    lines = data.split(b"\n")
    torn = lines.pop() != b""  # after the final newline there must be nothing
    parsed: list[dict[str, Any] | None] = []
    for raw in lines:
        try:
            value = json.loads(raw)
            parsed.append(value if isinstance(value, dict) else None)
        except ValueError:
            parsed.append(None)
    seqs = [entry.get("seq") if entry else None for entry in parsed]
    head, checkpoints = GENESIS, []
    for index, entry in enumerate(parsed):
        number, expected = index + 1, index + 1
        if entry is None or not _well_formed(entry):
            return _fail(number, "edited", "not a well-formed entry", index)
        seq = entry["seq"]
        if seq != expected:
            return _fail(number, *_sequence_fault(seq, expected, seqs[index + 1:]), index)
        public = keys.get(entry["station"])
        if public is None:
            return _fail(number, "unknown signer", f"station {entry['station']!r} is not "
                         "enrolled (give --registry or a trusted key)", index)
        unsigned = {k: v for k, v in entry.items() if k != "sig"}
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(
                base64.b64decode(entry["sig"], validate=True), canonical(unsigned))
        except (InvalidSignature, ValueError):
            return _fail(number, "edited", "signature does not match the entry", index)
        if entry["prev"] != head:
            return _fail(number, "inserted", "entry does not chain to the line before it "
                         "(a line was replaced or inserted)", index)
        if canonical(entry) != lines[index]:
            return _fail(number, "edited", "entry is not in canonical form", index)
        if entry["event"] == "checkpoint":
            fields = entry["fields"]
            if fields.get("entries") != index or fields.get("head") != head:
                return _fail(number, "edited", "checkpoint does not match the log", index)
            checkpoints.append((number, fields))
        head = line_hash(lines[index])
    total = len(parsed)
    if torn:
        return _fail(total + 1, "truncated", "the last entry is incomplete", total)
    if registry is not None:
        problem = _cross_check(registry, checkpoints, parsed)
        if problem:
            return _fail(problem[0], problem[1], problem[2], total)
    return AuditReport(True, total, batches=[str(f["batch"]) for _, f in checkpoints])


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


def _cross_check(registry: _Registry, checkpoints: list[tuple[int, dict[str, Any]]],
                 parsed: list[dict[str, Any] | None]) -> tuple[int, str, str] | None:
    sealed = {str(fields["batch"]): (number, fields) for number, fields in checkpoints}
    logged: dict[str, set[tuple[str, str]]] = {}  # batch -> (serial, event), in one pass
    for e in parsed:
        if e and "batch" in e["fields"]:
            logged.setdefault(str(e["fields"]["batch"]), set()).add(
                (str(e["fields"].get("serial")), e["event"]))
    for batch_id in sorted(logged):
        row = registry.batch(batch_id)
        if row is None:
            return (0, "registry disagrees", f"batch {batch_id!r} is not in the registry")
        if row.get("state") == "closed":
            if batch_id not in sealed:
                return (len(parsed) + 1, "truncated",
                        f"the registry closed batch {batch_id!r} after {row['log_entries']} "
                        "entries, but its checkpoint is missing from the log")
            number, fields = sealed[batch_id]
            if (fields["entries"], fields["head"]) != (row["log_entries"], row["log_head"]):
                return (number, "registry disagrees",
                        f"checkpoint of batch {batch_id!r} differs from the registry's")
        for device in registry.devices(batch_id):
            if device.state in RECORDED_STATES and (
                    device.serial, f"device.{device.state}") not in logged[batch_id]:
                return (len(parsed) + 1, "registry disagrees",
                        f"the registry has serial {device.serial!r} {device.state}, but the "
                        f"log has no device.{device.state} entry for it (deleted or "
                        "truncated)")
    return None
