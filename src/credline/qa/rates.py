"""False-positive rates of the batch rules on properly derived (uniformly random) passwords.

credline-v1 passwords are uniform over alphabet^length (bias below 2^-128), so each rule's
rate on a correct batch follows from counting. Per-device rules (``public-info``,
``guessable``, ``unkeyed-derivation``) give a probability per device, by the union bound (an
upper bound); pairwise rules (``duplicate``, ``counter-like``) give the expected number of
flagged pairs in a batch of n, which bounds the probability that the batch is flagged;
``distribution`` gives a probability per batch. docs/qa-guide.md quotes these numbers and
tests/qa/test_qa_rates.py checks them (and the pairwise ones empirically).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

from credline.qa.rules import guessable, near, public, unkeyed
from credline.qa.rules.distribution import P_REJECT

BUDGET_PER_DEVICE = 1e-7  # the brief: below one expected hit per 10 million devices


def _space(alphabet: str, length: int) -> int:
    return int(len(alphabet) ** length)


def duplicate_pairs(n: int, alphabet: str, length: int) -> float:
    """Expected number of equal pairs among n random passwords (birthday bound)."""
    return comb(n, 2) / _space(alphabet, length)


def close_pair_probability(alphabet: str, length: int, distance: int = near.DISTANCE) -> float:
    """P(two random passwords are at Hamming distance 1..distance)."""
    q = len(alphabet)
    close = sum(comb(length, k) * (q - 1) ** k for k in range(1, distance + 1))
    return float(close) / _space(alphabet, length)


def counter_like_pairs(n: int, alphabet: str, length: int) -> float:
    """Expected number of pairs the counter-like rule flags among n random passwords."""
    return comb(n, 2) * close_pair_probability(alphabet, length)


def _case_collisions(alphabet: str) -> int:
    """Most alphabet characters sharing one upper-case form (2 for mixed-case alphabets)."""
    forms: dict[str, int] = {}
    for ch in alphabet:
        forms[ch.upper()] = forms.get(ch.upper(), 0) + 1
    return max(forms.values())


def public_info_per_device(alphabet: str, length: int, values: int = 2,
                           value_length: int = public.MIN_LENGTH) -> float:
    """Upper bound of P(a random password contains one of ``values`` public values of
    ``value_length`` characters, in any of its 4 searched forms), worst case: every value
    made of alphabet characters."""
    if value_length > length:
        return 0.0
    per_char = _case_collisions(alphabet) / len(alphabet)
    forms = 4  # as is, without separators, and both reversed
    return float(values * forms * (length - value_length + 1) * per_char**value_length)


def guessable_runs(alphabet: str) -> int:
    """How many 7-character runs the rule flags are made of the alphabet's characters."""
    letters = set(alphabet)
    return sum(1 for run in guessable.runs(alphabet) if letters.issuperset(run))


def common_in_format(alphabet: str, length: int) -> int:
    """How many passwords of the format the common-password list flags (case-insensitive)."""
    total = 0
    for word in guessable.common_passwords():
        if len(word) != length:
            continue
        ways = 1
        for ch in word:
            ways *= sum(1 for a in alphabet if a.lower() == ch)
            if not ways:
                break
        total += ways
    return total


def guessable_per_device(alphabet: str, length: int) -> float:
    """Upper bound of P(a random password is flagged by ``guessable``)."""
    runs = guessable_runs(alphabet) * max(0, length - guessable.RUN + 1)
    rest = _space(alphabet, max(0, length - guessable.RUN))
    return float(runs * rest + common_in_format(alphabet, length)) / _space(alphabet, length)


def unkeyed_per_device(alphabet: str, length: int, values: int = 2) -> float:
    """Upper bound: each value, hash and encoding excludes all but at most two passwords
    (its prefix and its suffix) and the profile's encoding one more."""
    if length < unkeyed.MIN_LENGTH:
        return 0.0
    per_hash = 2 * 3 + 1  # hex, base32, Crockford base32 (prefix, suffix); profile encoding
    return values * len(unkeyed.HASHES) * per_hash / _space(alphabet, length)


def distribution_per_batch(length: int) -> float:
    """P(the distribution rule fires on a uniform batch): one test per position at 1e-6."""
    return 1.0 - float((1 - P_REJECT) ** length)


@dataclass(frozen=True)
class RateTable:
    alphabet: str
    length: int
    public_info: float
    guessable: float
    unkeyed: float
    distribution: float

    def pairwise(self, n: int) -> tuple[float, float]:
        """(duplicate, counter-like) expected flagged pairs in a batch of n."""
        return (duplicate_pairs(n, self.alphabet, self.length),
                counter_like_pairs(n, self.alphabet, self.length))


def rates(alphabet: str, length: int) -> RateTable:
    return RateTable(alphabet, length, public_info_per_device(alphabet, length),
                     guessable_per_device(alphabet, length), unkeyed_per_device(alphabet, length),
                     distribution_per_batch(length))
