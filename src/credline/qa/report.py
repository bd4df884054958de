"""The QA report: violations found by the batch rules, and their JSON and human renderings.

A violation names serials, never passwords; its ``detail`` describes positions, patterns or
counts only, because reports get pasted into tickets. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

RULES = ("duplicate", "counter-like", "public-info", "guessable", "unkeyed-derivation",
         "distribution", "policy")


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    serials: tuple[str, ...]
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "serials": list(self.serials), "detail": self.detail}


@dataclass(slots=True)
class Report:
    checked: int
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # human output only (e.g. skipped tests)

    @property
    def ok(self) -> bool:
        return not self.violations

    def rules_fired(self) -> set[str]:
        return {v.rule for v in self.violations}

    def serials_for(self, rule: str) -> set[str]:
        return {s for v in self.violations if v.rule == rule for s in v.serials}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked,
                "violations": [v.as_dict() for v in self.violations]}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_text(self, examples: int = 5) -> str:
        """The human summary: verdict, counts per rule, the first offending serials."""
        lines = [f"checked {self.checked} passwords: "
                 + ("OK, no rule fired" if self.ok else
                    f"FAIL, {len(self.violations)} violation(s)")]
        per_rule = Counter(v.rule for v in self.violations)
        devices = {rule: len(self.serials_for(rule)) for rule in per_rule}
        for rule in RULES:
            if rule not in per_rule:
                lines.append(f"  {rule:<20} ok")
                continue
            lines.append(f"  {rule:<20} {per_rule[rule]} violation(s), "
                         f"{devices[rule]} device(s)")
            shown = [v for v in self.violations if v.rule == rule][:examples]
            for v in shown:
                serials = ", ".join(v.serials[:examples])
                more = f" (+{len(v.serials) - examples} more)" if len(v.serials) > examples else ""
                lines.append(f"      {v.detail}: {serials}{more}" if serials else
                             f"      {v.detail}")
            if per_rule[rule] > examples:
                lines.append(f"      ... {per_rule[rule] - examples} more, see --json")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)
