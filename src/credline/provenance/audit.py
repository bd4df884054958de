"""``audit verify``: the logs of a cell, each intact, and together the registry they produced.

First every log on its own (:mod:`credline.provenance.chain`): signatures, chain, sequence
numbers, checkpoints. Then, given a registry and only when every log is intact (a broken log
would make every comparison noise), the logs are replayed
(:mod:`credline.provenance.replay`) and compared with one consistent snapshot of the
registry, row by row and batch by batch (:mod:`credline.provenance.compare`). Every fault
is named with its file and line. Reads the registry; never writes to it or to a log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from credline.core.errors import BadInput
from credline.provenance.chain import Chain, Finding, Line, read_chain
from credline.provenance.compare import compare
from credline.provenance.replay import replay
from credline.registry import Snapshot

__all__ = ["AuditReport", "Finding", "collect_logs", "verify_cell", "verify_log"]


class AuditSource(Protocol):
    """What the audit reads of a registry (:class:`credline.registry.Registry` is one)."""

    def snapshot(self) -> Snapshot: ...


@dataclass
class AuditReport:
    """The verdict on a cell's logs: ``ok``, or every fault found, first one first."""

    entries: int
    findings: list[Finding] = field(default_factory=list)
    batches: list[str] = field(default_factory=list)  # batches checkpointed in the logs
    logs: int = 1
    notes: list[str] = field(default_factory=list)  # facts worth a look, not faults
    compared: bool = False  # replayed against a registry

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def line(self) -> int | None:
        return self.findings[0].line if self.findings else None

    @property
    def kind(self) -> str | None:
        return self.findings[0].kind if self.findings else None

    @property
    def detail(self) -> str:
        return self.findings[0].detail if self.findings else ""

    def summary(self) -> str:
        if self.ok:
            against = "; the registry agrees" if self.compared else ""
            return (f"intact: {self.entries} entries, {len(self.batches)} checkpoint(s) in "
                    f"{self.logs} log(s){against}")
        more = len(self.findings) - 1
        return str(self.findings[0]) + (f" (and {more} more)" if more else "")


def collect_logs(paths: Sequence[Path]) -> list[Path]:
    """The log files named: files as given, folders as every ``*.jsonl`` inside."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.jsonl") if p.is_file())
            if not inside:
                raise BadInput(f"{path}: no *.jsonl provenance logs in this folder")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise BadInput(f"{path}: no such provenance log or folder")
    unique = {p.resolve(): p for p in reversed(found)}
    return [p for p in found if unique.get(p.resolve()) is p]


def verify_cell(paths: Sequence[Path], registry: AuditSource | None = None,
                trusted: Mapping[str, bytes] | None = None) -> AuditReport:
    """Verify every log of a cell and, with ``registry``, replay them against it."""
    if not paths:
        raise BadInput("no provenance log given")
    snap = registry.snapshot() if registry is not None else None
    keys = dict(trusted or {})
    if snap is not None:
        keys.update(snap.keys)
    chains = [read_chain(path, keys) for path in paths]
    report = AuditReport(sum(len(c.lines) for c in chains), logs=len(chains),
                         batches=_checkpointed(chains))
    report.findings = [c.fault for c in chains if c.fault is not None]
    if snap is None or report.findings:
        return report
    replayed = replay(chains)
    report.compared = True
    report.findings = compare(replayed, snap, chains)
    report.notes = [_note(line, "has no effect: it is no legal move for that device (a "
                          "station that had lost its lease?)") for line in replayed.strays]
    report.notes += [_note(line, "never reached the registry (a crash before its move); "
                           "the entries after it take its place") for line in replayed.unapplied]
    return report


def verify_log(path: Path, registry: AuditSource | None = None,
               trusted: Mapping[str, bytes] | None = None) -> AuditReport:
    """One log: :func:`verify_cell` of a cell of one station."""
    return verify_cell([path], registry, trusted)


def _checkpointed(chains: list[Chain]) -> list[str]:
    return [str(line.fields.get("batch")) for chain in chains for line in chain.lines
            if line.event == "checkpoint"]


def _note(line: Line, what: str) -> str:
    serial = line.fields.get("serial")
    return f"{line.path}:{line.number}: {line.event} of {serial!r} {what}"
