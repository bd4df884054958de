"""The terms a batch opens under, on both backends: under ``[key] scope = "batch"`` a key any
other batch used is refused; a published support end date is extended, never shortened or
dropped. Every refusal names what clashed and leaves the registry as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credline.core.compliance import BatchTerms
from credline.core.errors import BadInput, RegistryError
from credline.core.policy import KeyScope
from credline.registry import Registry, open_registry
from credline.registry import schema as s

K1, K2, K3 = "e98c6960947e8461", "0123456789abcdef", "fedcba9876543210"
BATCH = BatchTerms(KeyScope.BATCH, "2031-12-31")


def everything(reg: Registry) -> tuple[object, ...]:
    """The whole registry's rows, to show a refusal wrote nothing."""
    snap = reg.snapshot()
    return (snap.devices, snap.batches, snap.events, reg.support_periods(),
            reg.station_keys())


def open_(reg: Registry, batch: str, key: str, terms: BatchTerms) -> str:
    return reg.open_batch(batch, "acme-router", key, "acme-router.toml", "st1", terms=terms)


def test_scope_batch_refuses_a_key_another_batch_used(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        open_(reg, "B1", K1, BATCH)
        assert open_(reg, "B1", K1, BATCH) == "open"  # resuming the same batch is fine
        before = everything(reg)
        with pytest.raises(BadInput) as refused:
            open_(reg, "B2", K1, BATCH)
        assert str(refused.value).startswith(
            f"key {K1} was already used by batch 'B1' of product 'acme-router'; "
            "acme-router.toml says [key] scope = \"batch\"")
        assert "credline keys new" in str(refused.value)
        assert everything(reg) == before
        open_(reg, "B2", K2, BATCH)  # a new key: accepted
        # Under the default scope one key serves every batch of the product line.
        open_(reg, "B3", K1, BatchTerms(KeyScope.PRODUCT, "2031-12-31"))


def test_a_support_period_is_extended_never_shortened(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        open_(reg, "B1", K1, BatchTerms(KeyScope.PRODUCT, "2031-12-31", '{"model": "R7"}'))
        before = everything(reg)
        with pytest.raises(BadInput) as refused:
            open_(reg, "B2", K1, BatchTerms(KeyScope.PRODUCT, "2031-12-30"))
        assert ("acme-router.toml: [compliance] support_period_end = 2031-12-30 is earlier "
                "than the support end date 2031-12-31 product 'acme-router' already "
                "published (batch B1)") in str(refused.value)
        with pytest.raises(BadInput) as dropped:
            open_(reg, "B2", K1, BatchTerms(KeyScope.PRODUCT, None))
        assert "states no [compliance] support_period_end" in str(dropped.value)
        assert "published support until 2031-12-31" in str(dropped.value)
        assert everything(reg) == before
        open_(reg, "B2", K1, BatchTerms(KeyScope.PRODUCT, "2033-06-30", '{"model": "R7"}'))
        period = reg.support_period("acme-router")
        assert period is not None and (period.end, period.batch_id) == ("2033-06-30", "B2")
        assert [(e["event"], e["detail"]) for e in reg.events()] == [
            ("support_published", "support period ends 2031-12-31"),
            ("support_extended", "support period end 2031-12-31 -> 2033-06-30")]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ends=st.lists(st.dates().map(lambda d: d.isoformat()).filter(lambda d: len(d) == 10),
                     min_size=1, max_size=6),
       keys=st.lists(st.sampled_from([K1, K2, K3]), min_size=6, max_size=6))
def test_the_published_end_is_the_latest_end_ever_accepted(
        tmp_path_factory: pytest.TempPathFactory, ends: list[str], keys: list[str]) -> None:
    """Whatever order batches come in, an opening is accepted exactly when its end date is
    no earlier than every end accepted before and (scope batch) its key is new; the
    registry then holds the latest accepted end."""
    url = f"sqlite:///{tmp_path_factory.mktemp('terms') / 'r.db'}"
    accepted_end: str | None = None
    used: set[str] = set()
    with open_registry(url) as reg:
        for n, (end, key) in enumerate(zip(ends, keys, strict=False)):
            ok = (accepted_end is None or end >= accepted_end) and key not in used
            before = everything(reg)
            try:
                open_(reg, f"B{n}", key, BatchTerms(KeyScope.BATCH, end))
            except BadInput:
                assert not ok and everything(reg) == before
            else:
                assert ok
                accepted_end = max(accepted_end or end, end)
                used.add(key)
            period = reg.support_period("acme-router")
            assert (period.end if period else None) == accepted_end


def test_a_version_2_registry_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    with open_registry(url) as reg:
        reg.open_batch("B1", "acme-cam", K1, "p", "st1")
        reg.reserve("B1", "acme-cam", "SN1", "st1", "/dev/ttyUSB0")
    with sqlite3.connect(path) as conn:  # what credline 0.1 with schema 2 left behind
        conn.execute("DROP TABLE support_periods")
        conn.execute("UPDATE credline_schema SET version = 2")
    with pytest.raises(RegistryError) as old:
        open_registry(url, create=False)
    assert "has schema version 2; this credline reads version 3" in str(old.value)
    assert f"credline registry init {url}" in str(old.value)
    with open_registry(url) as reg:  # what `credline registry init` does
        assert [d.serial for d in reg.devices("B1")] == ["SN1"]
        open_(reg, "B9", K2, BATCH)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM credline_schema").fetchall() == [
            (s.SCHEMA_VERSION,)]


def test_a_caller_that_gives_no_terms_still_meets_the_remembered_ones(
        registry_url: str) -> None:
    """A script that opens a batch without terms cannot slip past a product's scope: the
    registry applies the key scope the product last published under."""
    with open_registry(registry_url) as reg:
        open_(reg, "B1", K1, BatchTerms(KeyScope.BATCH, "2031-12-31",
                                        '{"key_scope": "batch"}'))
        before = everything(reg)
        with pytest.raises(BadInput) as refused:
            reg.open_batch("B2", "acme-router", K1, "script.toml", "st1")
        assert f"key {K1} was already used by batch 'B1'" in str(refused.value)
        assert "terms of product 'acme-router' as last published" in str(refused.value)
        assert everything(reg) == before
        reg.open_batch("B2", "acme-router", K2, "script.toml", "st1")
        period = reg.support_period("acme-router")
        assert period is not None and (period.end, period.batch_id) == ("2031-12-31", "B1")
