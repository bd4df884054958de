"""credline.testing: the strategies draw valid things, the checks pass on derived batches and
fail, naming serials only, on planted violations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qa_helpers import default_profile, derived

from credline import testing
from credline.core.ids import is_valid_id
from credline.core.policy import Exposure
from credline.qa import rates


@settings(max_examples=50, deadline=None)
@given(testing.serials(), testing.product_ids(), testing.profiles())
def test_strategies_draw_valid_values(serial, product, profile):
    assert is_valid_id(serial) and is_valid_id(product)
    assert profile.format.bits >= profile.exposure.floor_bits


@settings(max_examples=25, deadline=None)
@given(testing.batches(min_size=2, max_size=40))
def test_derived_batches_pass_every_check(drawn):
    profile, batch = drawn
    testing.assert_unique(batch)
    testing.assert_not_counter_like(batch)
    testing.assert_policy(batch, profile)
    if rates.guessable_per_device(profile.format.alphabet, profile.format.length) < 1e-7:
        testing.assert_not_guessable(batch, profile.format.alphabet)
    testing.assert_no_unkeyed_derivation(batch, profile.format)


@settings(max_examples=10, deadline=None)
@given(testing.batches(min_size=1, max_size=20, profile=default_profile(Exposure.OFFLINE)))
def test_batch_clean_on_offline_profile(drawn):
    profile, batch = drawn
    assert testing.assert_batch_clean(batch, profile).ok


@pytest.mark.parametrize(("check", "passwords", "rule"), [
    (testing.assert_unique, ["K3M9P2Q7R4T8", "K3M9P2Q7R4T8"], "duplicate"),
    (testing.assert_not_counter_like, ["K3M9P2Q7R4T8", "K3M9P2Q7R4T9"], "counter-like"),
    (testing.assert_not_guessable, ["K3M9P2Q7R4T8", "QWERTYUIOP12"], "guessable"),
])
def test_checks_fail_with_serials_not_passwords(check, passwords, rule):
    with pytest.raises(AssertionError) as info:
        check([(f"SN{i}", p) for i, p in enumerate(passwords)])
    message = str(info.value)
    assert f"[{rule}]" in message and "SN1" in message
    assert passwords[1] not in message


def test_public_and_unkeyed_and_distribution_checks():
    rows = [("SN-000123", "ZZ321000NSZZ"), ("SN2", "K3M9P2Q7R4T8")]
    with pytest.raises(AssertionError, match="public-info"):
        testing.assert_no_public_info(rows)
    with pytest.raises(AssertionError, match="public-info"):
        testing.assert_no_public_info([("SN1", "XXACMECAMXXX")], product="acme.cam")
    import hashlib

    rows = [("SN1", hashlib.sha256(b"SN1").hexdigest()[:12])]
    with pytest.raises(AssertionError, match="unkeyed"):
        testing.assert_no_unkeyed_derivation(rows)
    skewed = [(s, "0" + p[1:]) for s, p in zip(derived(2000).serials, derived(2000).passwords,
                                               strict=True)]
    with pytest.raises(AssertionError, match="position 1"):
        testing.assert_distribution_uniform(skewed)
    testing.assert_distribution_uniform(derived(2000))


def test_batch_clean_with_registry_fingerprints():
    batch = derived(100)
    assert batch.fingerprints is not None
    testing.assert_batch_clean(batch, default_profile(),
                               registered=[("OLD-1", "00" * 32)])
    with pytest.raises(AssertionError, match="already registered"):
        testing.assert_batch_clean(batch, default_profile(),
                                   registered=[("OLD-1", batch.fingerprints[4])])


@given(st.data())
@settings(max_examples=5, deadline=None)
def test_password_formats_respect_min_bits(data):
    fmt = data.draw(testing.password_formats(min_bits=80))
    assert 80 <= fmt.bits <= 128
