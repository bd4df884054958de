"""The facts of one batch, gathered once for every report: registry rows, the signed log's
entries for the batch, and the QA verdict.

Reads the registry and the logs; writes nothing. The verdict comes from the batch's
fingerprints alone (duplicates in the batch and across the product's other batches) or, with
the master key, from every rule of ``batch check`` over the re-derived passwords, after
checking each one's fingerprint against the registry's. Re-derived passwords stay in memory
and never reach a report: reports carry serials, counts and p-values only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credline.core.derive import SCHEME, Deriver
from credline.core.errors import BadInput
from credline.core.keys import MasterKey
from credline.core.lifecycle import DeviceState
from credline.core.policy import Profile
from credline.provenance.chain import Chain, Line, read_chain
from credline.qa import Batch, Report, Violation, check_batch
from credline.qa.rules.distribution import minimum_rows, position_pvalues
from credline.registry import Device, Registry, SupportPeriod

DONE = (DeviceState.VERIFIED.value, DeviceState.LOCKED.value)


@dataclass
class Distribution:
    """Per-position character counts and chi-square p-values (needs the key)."""

    alphabet: str
    counts: list[Counter[str]]
    pvalues: list[float]
    n: int
    ran: bool  # the batch is large enough for the test to mean something


@dataclass
class BatchFacts:
    batch_id: str
    product: str
    scheme: str
    batch: dict[str, Any]
    key_ids: list[str]
    states: dict[str, int]
    devices: int
    failures: Counter[str]
    verdict: Report
    verdict_basis: str
    station_keys: dict[str, bytes]
    support: SupportPeriod | None
    checkpoint: Line | None = None
    log_faults: list[str] = field(default_factory=list)
    finished: list[tuple[dt.datetime, str]] = field(default_factory=list)  # (time, port)
    log_failures: Counter[str] = field(default_factory=Counter)  # every failure, from logs
    port_seconds: dict[str, list[float]] = field(default_factory=dict)
    distribution: Distribution | None = None

    @property
    def closed(self) -> bool:
        return self.batch.get("state") == "closed"

    @property
    def checkpoint_summary(self) -> str:
        """The checkpoint in words: whose log, how many entries, which head hash."""
        if not self.closed:
            return "none: the batch is still open"
        text = (f"station {self.batch.get('closed_by')} sealed the batch after entry "
                f"{self.batch.get('log_entries')} of its log, head hash "
                f"{self.batch.get('log_head')}")
        if self.checkpoint is not None:
            text += (f"; checkpoint entry {self.checkpoint.seq}, SHA-256 "
                     f"{self.checkpoint.digest}, signature verified")
        return text

    def verdict_json(self) -> dict[str, Any]:
        out = self.verdict.as_dict()
        out["basis"] = self.verdict_basis
        out["notes"] = list(self.verdict.notes)
        return out


def gather(registry: Registry, batch_id: str, *, profile: Profile | None = None,
           logs: Sequence[Path] = (), key: MasterKey | None = None) -> BatchFacts:
    """Everything the reports say about ``batch_id``; BadInput if the registry lacks it."""
    batch = registry.require_batch(batch_id)
    product = str(batch["product"])
    if profile is not None and profile.product != product:
        raise BadInput(f"{profile.source} is the profile of {profile.product!r}, but batch "
                       f"{batch_id!r} is of product {product!r}")
    devices = registry.devices(batch_id)
    keys = registry.station_keys()
    facts = BatchFacts(
        batch_id=batch_id, product=product, scheme=SCHEME, batch=batch,
        key_ids=sorted({str(batch["key_id"])} | {d.key_id for d in devices}),
        states={state: n for state, n in registry.status(batch_id).items() if n},
        devices=len(devices),
        failures=Counter(d.reason or "(no reason given)" for d in devices
                         if d.state is DeviceState.FAILED),
        verdict=Report(0), verdict_basis="", station_keys=keys,
        support=registry.support_period(product))
    facts.verdict, facts.verdict_basis = _verdict(registry, devices, product, profile, key,
                                                  facts)
    for path in logs:
        _read_log(facts, read_chain(path, keys))
    if logs:
        facts.failures = facts.log_failures
    return facts


def _verdict(registry: Registry, devices: list[Device], product: str,
             profile: Profile | None, key: MasterKey | None,
             facts: BatchFacts) -> tuple[Report, str]:
    done = [d for d in devices if d.fingerprint and d.state.value in DONE]
    others = [(serial, fp) for serial, fp in registry.fingerprints(product)
              if serial not in {d.serial for d in devices}]
    if key is None or profile is None:
        return _fingerprint_verdict(done, others), (
            "fingerprints only (duplicate rule, within the batch and against the product's "
            "other batches); give the master key for every rule")
    deriver = Deriver(key, profile.format)
    if deriver.key_id not in facts.key_ids:
        raise BadInput(f"the key given has id {deriver.key_id}; batch {facts.batch_id!r} was "
                       f"made with {', '.join(facts.key_ids)}")
    passwords = [deriver.password_text(d.product, d.serial, d.generation) for d in done]
    mismatched = [d.serial for d, password in zip(done, passwords, strict=True)
                  if deriver.fingerprint(password) != d.fingerprint]
    batch = Batch(serials=[d.serial for d in done], passwords=passwords,
                  fingerprints=[str(d.fingerprint) for d in done])
    report = check_batch(batch, profile, registered=others, workers=1)
    if mismatched:
        report.violations.insert(0, Violation(
            "duplicate", tuple(mismatched), "the registry's fingerprint is not that of the "
            "password credline-v1 derives for this serial and generation"))
    fmt = profile.format
    facts.distribution = Distribution(
        fmt.alphabet, [Counter(p[i] for p in passwords) for i in range(fmt.length)],
        position_pvalues(passwords, fmt.alphabet, fmt.length) if passwords else [],
        len(passwords), len(passwords) >= minimum_rows(fmt.alphabet))
    return report, ("every batch check rule over the passwords re-derived with key "
                    f"{deriver.key_id}, each matched to its registered fingerprint")


def _fingerprint_verdict(done: list[Device], others: list[tuple[str, str]]) -> Report:
    report = Report(checked=len(done))
    seen: dict[str, list[str]] = defaultdict(list)
    for device in done:
        seen[str(device.fingerprint)].append(device.serial)
    for serial, fp in others:
        if fp in seen:
            seen[fp].append(serial)
    report.violations = [Violation("duplicate", tuple(serials), "the same fingerprint (the "
                                   "same password) on more than one device")
                         for serials in seen.values() if len(serials) > 1]
    report.notes.append("checked on fingerprints: the other rules need the passwords")
    return report


def _read_log(facts: BatchFacts, chain: Chain) -> None:
    """Timings, completions and failures of the batch from one verified log."""
    if chain.fault is not None:
        facts.log_faults.append(str(chain.fault))
    final = "device.locked" if DeviceState.LOCKED.value in facts.states else "device.verified"
    started: dict[tuple[str, str], dt.datetime] = {}
    for line in chain.lines:
        if line.field("batch") != facts.batch_id:
            continue
        at = _time(line)
        port = line.field("port") or "(no port)"
        serial = line.field("serial") or ""
        if line.event == "checkpoint":
            facts.checkpoint = line
        elif line.event == "device.reserved":
            started[(port, serial)] = at
        elif line.event == "device.failed":
            facts.log_failures[line.field("reason") or "(no reason given)"] += 1
        elif line.event == final:
            begun = started.pop((port, serial), None)
            seconds = line.fields.get("seconds")
            if isinstance(seconds, int | float) and not isinstance(seconds, bool):
                facts.port_seconds.setdefault(port, []).append(float(seconds))
            elif begun is not None:
                facts.port_seconds.setdefault(port, []).append((at - begun).total_seconds())
            facts.finished.append((at, port))
    facts.finished.sort()


def _time(line: Line) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(line.entry["time"]))
    except (KeyError, ValueError):
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
