"""The provenance log: append-only JSON Lines, hash-chained, every entry signed.

Each line is one entry, canonical JSON (sorted keys, no spaces)::

    {"event": ..., "fields": {...}, "prev": <sha256 hex of the previous line>,
     "seq": <1, 2, ...>, "sig": <base64 Ed25519 signature>, "station": ..., "time": <UTC>}

The signature covers the canonical JSON of the entry without ``sig``; ``prev`` of the first
entry is 64 zeros. ``checkpoint`` entries (one per closed batch) carry the entry count and head
hash, which the registry also records, so a log cut at a line boundary is still caught.
Reading a log back and judging it is :mod:`credline.provenance.audit`'s job, not this module's.

Every append is flushed and fsynced before it returns; appends from several threads (a
station's ports) share one fsync when they arrive while another is under way (group commit).
Entries never hold a password or key: :meth:`ProvenanceLog.append` refuses fields that look
like one.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credline.core.errors import BadInput, ProvenanceError, os_failure
from credline.core.secret import Password

GENESIS = "0" * 64
FORBIDDEN_FIELDS = frozenset({"password", "passphrase", "key", "secret", "pin", "okm"})
Clock = Callable[[], dt.datetime]


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


@dataclass
class _Request:
    """One entry waiting to be written: what it says, then what became of it."""

    event: str
    fields: dict[str, Any]
    sealing: bool = False  # a checkpoint: entries and head are filled in at signing
    pending: dict[str, Any] | None = None
    pending_hash: str = ""
    entry: dict[str, Any] | None = None  # set once the entry is on disk
    line_hash: str = ""  # of the entry's line: what the next entry chains to
    error: BaseException | None = None


@dataclass(frozen=True)
class Appended:
    """An entry on disk, and the hash of its line (what acknowledges it, and what the next
    entry chains to)."""

    entry: dict[str, Any]
    line_hash: str

    @property
    def seq(self) -> int:
        return int(self.entry["seq"])


class ProvenanceLog:
    """An open log a station appends to. Use :meth:`open`.

    Appends take an exclusive lock on the file (``flock``) and first catch up with entries
    another process appended since (a ``registry retire`` run beside a working station), so
    two writers of one file extend one chain instead of forking it.
    """

    def __init__(self, path: Path, signer: Ed25519PrivateKey, station_id: str,
                 seq: int, head: str, clock: Clock, size: int = 0) -> None:
        self.path = path
        self.station_id = station_id
        self.seq = seq
        self.head = head
        self._signer = signer
        self._clock = clock
        self._size = size  # bytes of the file this object has seen
        self._write_lock = threading.Lock()  # one group written at a time
        self._queue_lock = threading.Lock()
        self._queue: list[_Request] = []  # entries waiting for the next group

    @classmethod
    def open(cls, path: Path, signer: Ed25519PrivateKey, station_id: str, *,
             clock: Clock = _utc_now, repair: bool = False) -> ProvenanceLog:
        """Open (or create) a log and continue after its last complete entry.

        A last line without its newline is a write torn by a crash: refused with a message,
        unless ``repair`` truncates it (the torn entry was never acknowledged: its device was
        not reported PASS). Several stations may share one file, one after another.
        """
        try:
            data = path.read_bytes() if path.exists() else b""
        except OSError as exc:  # a folder, unreadable, a failing disk
            raise os_failure(exc, f"{path}: cannot read the provenance log") from None
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
        seq, head = _tail(path, data)
        return cls(path, signer, station_id, seq, head, clock, len(data))

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Sign and durably append one entry; returns it (thread-safe)."""
        return self.append_all([(event, fields)])[0].entry

    def append_all(self, items: list[tuple[str, dict[str, Any]]]) -> list[Appended]:
        """Sign and durably append entries, one after another in the log with nothing
        between them, in one write and one fsync; returns them in order (thread-safe)."""
        for _, fields in items:
            for name, value in fields.items():
                if name.lower() in FORBIDDEN_FIELDS or isinstance(value, Password):
                    raise BadInput(f"provenance field {name!r} refused: the log never holds "
                                   "passwords or keys")
        return self._commit([_Request(event, fields) for event, fields in items])

    def _commit(self, requests: list[_Request]) -> list[Appended]:
        """Group commit: the first thread in writes every entry waiting by then, in order, in
        one write and one fsync, and each returns once its own entries are on disk. One
        port's entry waits at most for the fsync already under way; none returns before its
        fsync."""
        with self._queue_lock:
            self._queue.extend(requests)  # together: one leader writes them all, in order
        last = requests[-1]
        with self._write_lock:
            if last.entry is None and last.error is None:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                try:
                    self._write(group)
                except BaseException as exc:  # a bug (or ^C) mid-group: no waiter is left hanging
                    for waiting in group:
                        if waiting.entry is None and waiting.error is None:
                            waiting.error = exc
                    raise
        appended = []
        for request in requests:
            if request.error is not None:
                raise request.error
            assert request.entry is not None  # written, since no error was set
            appended.append(Appended(request.entry, request.line_hash))
        return appended

    def _write(self, group: list[_Request]) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # released by close
                start = os.fstat(fd).st_size
                if start != self._size:
                    self._catch_up(fd, start)
                seq, head = self.seq, self.head
                lines = []
                for request in group:
                    fields = request.fields
                    if request.sealing:  # a checkpoint counts what precedes it in the file
                        fields = {**fields, "entries": seq, "head": head}
                    entry = self._sign(event=request.event, fields=fields, seq=seq, head=head)
                    line = canonical(entry) + b"\n"
                    request.pending = entry
                    lines.append(line)
                    seq, head = seq + 1, line_hash(line)
                    request.pending_hash = head
                data = b"".join(lines)
                try:
                    if os.write(fd, data) != len(data):
                        raise OSError(28, "No space left on device (short write)")
                    os.fsync(fd)
                except OSError:
                    os.ftruncate(fd, start)  # leave whole entries only: no torn tail
                    raise
            finally:
                os.close(fd)
        except (OSError, ProvenanceError) as exc:
            error = exc if isinstance(exc, ProvenanceError) else os_failure(
                exc, f"{self.path}: cannot append to the provenance log")
            for request in group:  # none of them is on disk: none is acknowledged
                request.error = error
            return
        self.seq, self.head, self._size = seq, head, start + len(data)
        for request in group:
            request.entry, request.line_hash = request.pending, request.pending_hash

    def _sign(self, *, event: str, fields: dict[str, Any], seq: int, head: str
              ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": seq + 1,
            "time": self._clock().isoformat(timespec="microseconds"),
            "prev": head,
            "station": self.station_id,
            "event": event,
            "fields": fields,
        }
        entry["sig"] = base64.b64encode(self._signer.sign(canonical(entry))).decode()
        return entry

    def _catch_up(self, fd: int, size: int) -> None:
        """Another writer appended (or the file changed): continue after its last entry."""
        data = os.pread(fd, size, 0)
        if data and not data.endswith(b"\n"):
            raise ProvenanceError(f"{self.path}: the last entry is incomplete (another "
                                  "writer was cut off); rerun with --repair-log to drop it")
        self.seq, self.head = _tail(self.path, data)
        self._size = size

    def checkpoint(self, batch_id: str, registry: Any = None) -> dict[str, Any]:
        """Seal a batch: a signed entry with the count and head hash, also in the registry.

        With ``registry``, the entry is written under the registry's lock on the batch, which
        closes it in the same transaction (``Registry.close_batch``); a batch with devices
        still in flight is refused and nothing is written.
        """
        if registry is None:
            return self._seal(batch_id)
        from credline.registry import Ack

        sealed: list[dict[str, Any]] = []

        def seal() -> tuple[int, str, Ack]:
            sealed.append(self._seal(batch_id))
            fields = sealed[0]["fields"]
            return (int(fields["entries"]), str(fields["head"]),
                    Ack(self.station_id, self.seq, self.head))

        if not registry.close_batch(batch_id, self.station_id, seal):
            raise ProvenanceError(f"batch {batch_id!r} cannot be closed in {registry.url}: "
                                  "it is closed already, or devices are still in flight")
        return sealed[0]

    def _seal(self, batch_id: str) -> dict[str, Any]:
        return self._commit([_Request("checkpoint", {"batch": batch_id}, sealing=True)])[0].entry


def _tail(path: Path, data: bytes) -> tuple[int, str]:
    """(seq, hash) of the last entry of a log's bytes (whole lines)."""
    lines = data.splitlines()
    if not lines:
        return 0, GENESIS
    try:
        seq = int(json.loads(lines[-1])["seq"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise ProvenanceError(f"{path} line {len(lines)}: not a provenance entry; run "
                              "'credline audit verify'") from None
    return seq, line_hash(lines[-1])


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
    # Usually the registry acknowledged the log's last entry: no need to read the file again.
    found = log.head if log.seq == seq else line_hash(log.path.read_bytes().split(b"\n")[seq - 1])
    if found != digest:
        raise ProvenanceError(
            f"{log.path} entry {seq} is not the entry the registry acknowledged from station "
            f"{log.station_id!r}: another log, or an edited one ('credline audit verify')")
