"""``distribution``: a per-position chi-square test of uniformity over the profile's alphabet.

A correct credline-v1 batch is uniform at every position (the bias is below 2^-128). A broken
or biased encoder (a modulo on too few bits, a truncated alphabet, a constant position) shows
up here long before it shows up anywhere else. The test runs only where every cell expects at
least :data:`MIN_EXPECTED` passwords, and rejects at p < 1e-6 per position.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from operator import itemgetter

from credline.qa.report import Violation
from credline.qa.stats import chi2_sf

RULE = "distribution"
P_REJECT = 1e-6
MIN_EXPECTED = 5


def minimum_rows(alphabet: str) -> int:
    return MIN_EXPECTED * len(alphabet)


def position_pvalues(passwords: Sequence[str], alphabet: str, length: int) -> list[float]:
    """p-value of uniformity at each position, over the passwords that fit the format."""
    letters = frozenset(alphabet)
    fitting = [p for p in passwords if len(p) == length and letters.issuperset(p)]
    n = len(fitting)
    expected = n / len(alphabet)
    out = []
    for position in range(length):
        counts = Counter(map(itemgetter(position), fitting))
        statistic = sum((counts.get(ch, 0) - expected) ** 2 for ch in alphabet) / expected
        out.append(chi2_sf(statistic, len(alphabet) - 1))
    return out


def check(passwords: Sequence[str], alphabet: str, length: int) -> tuple[list[Violation], str]:
    """Violations, and a note saying whether the test ran."""
    letters = frozenset(alphabet)
    n = sum(1 for p in passwords if len(p) == length and letters.issuperset(p))
    if n < minimum_rows(alphabet):
        return [], (f"distribution test skipped: {n} passwords fit the profile, it needs "
                    f"{minimum_rows(alphabet)} ({MIN_EXPECTED} per character)")
    bad = [(i, p) for i, p in enumerate(position_pvalues(passwords, alphabet, length))
           if p < P_REJECT]
    violations = [Violation(RULE, (), f"position {i + 1} is not uniform over the alphabet "
                            f"(chi-square p {_p(p)} < {P_REJECT:g}, {n} passwords)")
                  for i, p in bad]
    return violations, f"distribution test ran on {n} passwords, {length} positions"


def _p(p: float) -> str:
    return f"= {p:.2g}" if p > 0 else "below 1e-300"
