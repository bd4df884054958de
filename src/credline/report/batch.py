"""The batch report QA and production look at: devices by state, failures by reason, the
provisioning rate over time, timings per port, and the per-position character distribution
with its chi-square test, as a :class:`~credline.report.document.Document` (HTML with inline
SVG, or PDF). Pure: the facts come from :mod:`credline.report.facts`.
"""

from __future__ import annotations

import statistics

from credline.qa.rules.distribution import MIN_EXPECTED, P_REJECT
from credline.report import plots
from credline.report.document import Block, Document, Section, Table
from credline.report.facts import BatchFacts
from credline.report.statement import evidence_rows, verdict_words


def build_batch_report(facts: BatchFacts) -> Document:
    states = list(facts.states.items())
    sections = [
        Section("Summary", [
            f"Batch {facts.batch_id} of product {facts.product}: {facts.devices} device "
            f"record(s). QA verdict: {verdict_words(facts)}.",
            Table(("Evidence", "Value"), evidence_rows(facts)),
            *([f"Log problems: {'; '.join(facts.log_faults)}"] if facts.log_faults else []),
            *_violations(facts),
        ]),
        Section("Devices by state", [plots.bars(
            "Devices by state", [s for s, _ in states], [float(n) for _, n in states],
            "devices", "Devices of the batch by registry state: "
            + (", ".join(f"{s} {n}" for s, n in states) or "none") + ".",
            alert=[s == "failed" for s, _ in states])]),
        _failures(facts),
        Section("Provisioning rate", [plots.timeline(
            "Devices finished over time", [t for t, _ in facts.finished], _rate(facts))]),
        _ports(facts),
        _distribution(facts),
    ]
    return Document(
        title=f"Batch report: {facts.batch_id}",
        subtitle=f"Product {facts.product}, scheme {facts.scheme}, "
                 f"key {', '.join(facts.key_ids)}",
        sections=sections,
        footer=f"credline batch report, {facts.product} batch {facts.batch_id}. Serials, "
               "counts and timings only: no password appears in this report.")


def _violations(facts: BatchFacts, shown: int = 10) -> list[Block]:
    """The QA violations: rule, what was found, the first serials (never a password)."""
    if facts.verdict.ok:
        return []
    rows = []
    for v in facts.verdict.violations[:50]:
        more = f" (+{len(v.serials) - shown} more)" if len(v.serials) > shown else ""
        rows.append((v.rule, v.detail, ", ".join(v.serials[:shown]) + more))
    return ["QA violations (the batch check --json verdict has them all):",
            Table(("Rule", "What was found", "Serials"), tuple(rows))]


def _failures(facts: BatchFacts) -> Section:
    reasons = facts.failures.most_common(12)
    blocks: list[Block] = [plots.bars(
        "Failures by reason", [r for r, _ in reasons], [float(n) for _, n in reasons],
        "failures", (f"{sum(facts.failures.values())} failure(s)." if reasons else
                     "No device failed."), alert=[True] * len(reasons))]
    if reasons:
        blocks.append(Table(("Reason", "Count"), tuple((r, str(n)) for r, n in reasons)))
    return Section("Failures by reason", blocks)


def _rate(facts: BatchFacts) -> str:
    moments = [t for t, _ in facts.finished]
    if len(moments) < 2:
        return "Needs the station log(s) (--log) with at least two finished devices."
    span = (moments[-1] - moments[0]).total_seconds()
    per_hour = (len(moments) - 1) / span * 3600 if span > 0 else float("inf")
    return (f"{len(moments)} devices finished in {span:.1f} s, about {per_hour:,.0f} "
            "devices per hour (from the signed log).")


def _ports(facts: BatchFacts) -> Section:
    ports = sorted(facts.port_seconds)
    medians = [statistics.median(facts.port_seconds[p]) for p in ports]
    rows = tuple((p, str(len(facts.port_seconds[p])), f"{statistics.median(v):.3f}",
                  f"{max(v):.3f}") for p, v in ((p, facts.port_seconds[p]) for p in ports))
    figure = plots.bars("Median seconds per device, by port", [p.rsplit("/", 1)[-1]
                        for p in ports], medians, "seconds",
                        "Median time from reserving a serial to locking the device, per port."
                        if ports else "Needs the station log(s) (--log).")
    blocks: list[Block] = [figure]
    if rows:
        blocks.append(Table(("Port", "Devices", "Median s", "Slowest s"), rows))
    return Section("Timings per port", blocks)


def _distribution(facts: BatchFacts) -> Section:
    dist = facts.distribution
    if dist is None:
        return Section("Character distribution", [
            "Not computed: the distribution needs the passwords, which only the master key "
            "can re-derive. Run again with --key (the passwords stay in memory; the report "
            "holds counts only)."])
    counts = [dict(c) for c in dist.counts]
    worst = min(dist.pvalues, default=1.0)
    if not dist.ran:
        verdict = (f"The chi-square test needs at least {MIN_EXPECTED * len(dist.alphabet)} "
                   f"passwords ({MIN_EXPECTED} per character); this batch has {dist.n}, so "
                   "the p-values are shown but mean little.")
    elif worst < P_REJECT:
        verdict = f"FAIL: at least one position is not uniform (p {worst:.2g} < {P_REJECT:g})."
    else:
        verdict = (f"PASS: every position is uniform over the alphabet (smallest p "
                   f"{worst:.2g}, rejection below {P_REJECT:g}).")
    figure = plots.heatmap("Characters by position", dist.alphabet, counts, dist.pvalues,
                           P_REJECT, f"Per-position character counts of {dist.n} passwords "
                           f"re-derived with the key; chi-square per position. {verdict}")
    return Section("Character distribution", [verdict, figure])
