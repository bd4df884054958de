"""The false-positive analysis of docs/qa-guide.md: computed, within budget, and checked
empirically where the event is frequent enough to count."""

from __future__ import annotations

import math
import random

import pytest
from qa_helpers import derived, exhaustive_near_search

from credline.core.policy import ALPHABETS
from credline.qa import rates
from credline.qa.rules import guessable, near, public, unkeyed

CROCKFORD = ALPHABETS["crockford32"]


@pytest.mark.parametrize("length", [12, 16])
def test_default_profiles_meet_the_per_device_budget(length):
    table = rates.rates(CROCKFORD, length)
    assert table.public_info < rates.BUDGET_PER_DEVICE
    assert table.guessable < rates.BUDGET_PER_DEVICE
    assert table.unkeyed < rates.BUDGET_PER_DEVICE


@pytest.mark.parametrize(("name", "length"), [("alnum", 14), ("printable", 13),
                                              ("base58", 9), ("alnum", 9)])
def test_offline_and_wide_alphabets_meet_the_budget(name, length):
    table = rates.rates(ALPHABETS[name], length)
    assert table.guessable < rates.BUDGET_PER_DEVICE
    assert table.public_info < rates.BUDGET_PER_DEVICE


def test_documented_numbers():
    """The figures quoted in docs/qa-guide.md (rounded there to two digits)."""
    table = rates.rates(CROCKFORD, 12)
    assert f"{table.public_info:.1e}" == "5.2e-08"
    assert f"{table.guessable:.1e}" == "2.7e-08"
    dup, close = table.pairwise(1_000_000)
    assert f"{dup:.1e}" == "4.3e-07" and f"{close:.3f}" == "0.028"
    assert f"{table.distribution:.1e}" == "1.2e-05"
    dup16, close16 = rates.rates(CROCKFORD, 16).pairwise(1_000_000)
    assert close16 < 1e-7 and dup16 < 1e-12


def test_run_count_is_what_the_rule_flags():
    # every counted run fires the rule on its own, padded with non-run characters
    runs = [r for r in guessable.runs(CROCKFORD) if set(r) <= set(CROCKFORD)]
    assert len(runs) == rates.guessable_runs(CROCKFORD)
    assert all(guessable.find("0" + r + "Z5K2", CROCKFORD) for r in runs[:500])


@pytest.mark.parametrize(("alphabet", "length", "n"), [("0123456789", 6, 3000),
                                                       ("0123456789ABCDEF", 5, 2000)])
def test_pairwise_rates_match_simulation(alphabet, length, n):
    """Expected close and equal pairs among n random strings versus a measured count."""
    rnd = random.Random(1)
    close = equal = 0
    trials = 4
    for _ in range(trials):
        sample = ["".join(rnd.choice(alphabet) for _ in range(length)) for _ in range(n)]
        with exhaustive_near_search():
            close += len(near.close_pairs(sample))
        counts: dict[str, int] = {}
        for s in sample:
            counts[s] = counts.get(s, 0) + 1
        equal += sum(math.comb(c, 2) for c in counts.values())
    expected_close = trials * rates.counter_like_pairs(n, alphabet, length)
    expected_equal = trials * rates.duplicate_pairs(n, alphabet, length)
    # counts are (nearly) Poisson: allow five standard deviations
    assert abs(close - expected_close) < 5 * math.sqrt(expected_close)
    assert abs(equal - expected_equal) < 5 * math.sqrt(expected_equal) + 1


def test_public_info_rate_matches_simulation():
    """A 6-digit value in 8-digit passwords: 4 forms (2 distinct here) x 3 positions / 10^6."""
    rnd = random.Random(2)
    index = public.PublicIndex([("v", "314159")])
    hits = sum(index.find("".join(rnd.choice("0123456789") for _ in range(8))) is not None
               for _ in range(300_000))
    exact = 2 * 3 / 10**6  # value and reversal; 'without separators' is the same string
    assert rates.public_info_per_device("0123456789", 8, values=1) >= exact
    assert abs(hits - exact * 300_000) < 5 * math.sqrt(exact * 300_000) + 1


def test_per_device_rules_quiet_on_a_derived_batch():
    """200,000 derived devices at rates below 1e-7 each: expect no hit (P(any) < 2%)."""
    batch = derived(200_000)
    assert public.check(batch.serials, batch.passwords, public.PublicIndex(
        [("the product id", "acme-cam")])) == []
    assert guessable.check(batch.serials, batch.passwords, CROCKFORD) == []
    assert unkeyed.check(batch.serials, batch.passwords,
                         unkeyed.UnkeyedIndex([], CROCKFORD, 12)) == []
