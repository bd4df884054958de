"""``duplicate``: equal passwords within a batch, or a fingerprint registered before.

Schedule 1 para 1(2): a password must be unique per product. Within the file passwords are
compared exactly; against earlier batches only fingerprints are compared (the registry never
holds a password), so the check needs the batch's fingerprints (the CSV column, or computed
with the key).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from credline.qa.report import Violation

RULE = "duplicate"


def within_batch(serials: Sequence[str], passwords: Sequence[str]) -> list[Violation]:
    """One violation per password shared by two or more serials."""
    first: dict[str, int] = {}
    groups: dict[int, list[int]] = {}
    for index, password in enumerate(passwords):
        earlier = first.setdefault(password, index)
        if earlier != index:
            groups.setdefault(earlier, [earlier]).append(index)
    return [Violation(RULE, tuple(serials[i] for i in members),
                      f"{len(members)} devices share one password")
            for members in groups.values()]


def against_registry(serials: Sequence[str], fingerprints: Sequence[str],
                     registered: Iterable[tuple[str, str] | str]) -> list[Violation]:
    """Rows whose fingerprint is already registered for the product under another serial.

    ``registered`` yields ``(serial, fingerprint)`` pairs or bare fingerprints; a bare
    fingerprint counts against every row that has it, a pair only when the serial differs
    (so re-checking a batch that is already registered stays quiet).
    """
    by_fp: dict[str, list[int]] = {}
    for index, fp in enumerate(fingerprints):
        by_fp.setdefault(fp.lower(), []).append(index)
    hits: dict[int, set[str]] = {}
    for entry in registered:
        other, fp = ("", entry) if isinstance(entry, str) else entry
        for index in by_fp.get(fp.lower(), ()):
            if serials[index] != other:
                hits.setdefault(index, set()).add(other)
    return [Violation(RULE, (serials[i],),
                      "fingerprint already registered for the product"
                      + (f" (serial {', '.join(sorted(o for o in others if o))})"
                         if any(others) else ""))
            for i, others in sorted(hits.items())]
