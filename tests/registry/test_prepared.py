"""Prepared statements store what SQLAlchemy stores, fail as SQLAlchemy fails, and the
statements a device's moves run find their row by index, never by scanning a product."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from credline.registry import Ack, Holder, open_registry
from credline.registry import schema as s
from credline.registry.connect import engine_for
from credline.registry.devices import _EVENT, _INSERT_DEVICE
from credline.registry.prepared import Prepared

TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=30)
WHEN = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                    timezones=st.just(dt.UTC))


def test_a_prepared_insert_reads_back_as_sqlalchemys_own(registry_url: str) -> None:
    with open_registry(registry_url) as registry:
        prepared = Prepared(_EVENT, registry._engine.dialect)

        @settings(max_examples=40, deadline=None)
        @given(at=WHEN, batch=st.none() | TEXT, detail=TEXT, name=TEXT.filter(bool))
        def same(at: dt.datetime, batch: str | None, detail: str, name: str) -> None:
            values = {"at": at, "batch_id": batch, "product": "p", "serial": "S1",
                      "event": name[:40], "station_id": "st1", "detail": detail}
            with registry._tx() as conn:
                ours = prepared.run(conn, {f"p_{k}": v for k, v in values.items()})
                assert ours.rowcount == 1
                conn.execute(insert(s.events).values(values))
                rows = conn.execute(select(s.events).order_by(s.events.c.id.desc())
                                    .limit(2)).all()
            theirs, mine = ([value for key, value in row._mapping.items() if key != "id"]
                            for row in rows)
            assert mine == theirs

        same()


def test_a_driver_error_comes_out_as_sqlalchemys(registry_url: str) -> None:
    with open_registry(registry_url) as registry:
        registry.register_station("st1", b"\x01" * 32)
        registry.open_batch("B1", "cam", "e98c6960947e8461", "p.toml", "st1")
        now = dt.datetime.now(dt.UTC)
        row = {f"p_{name}": value for name, value in dict(
            product="cam", serial="SN1", batch_id="B1", generation=0,
            key_id="e98c6960947e8461", fingerprint="f" * 64, state="reserved",
            station_id="st1", run_id="", lease_until=None, hardware_id=None, port="",
            reason="", created_at=now, updated_at=now).items()}
        with registry._tx() as conn:
            registry._run(conn, _INSERT_DEVICE, row)
        with pytest.raises(IntegrityError), registry._tx() as conn:
            registry._run(conn, _INSERT_DEVICE, row)  # the same serial and fingerprint again
        assert registry.status("B1")["reserved"] == 1


def test_a_statement_with_a_value_built_in_is_refused(tmp_path: Path) -> None:
    dialect = engine_for(f"sqlite:///{tmp_path / 'x.db'}").dialect
    with pytest.raises(ValueError, match="every value at run time"):
        Prepared(select(s.devices.c.id).limit(1), dialect)
    Prepared(select(s.devices.c.id).where(s.devices.c.serial == bindparam("x")), dialect)


def test_every_statement_of_a_device_finds_its_row_by_index(tmp_path: Path) -> None:
    """SQLite plans without statistics: a move once searched every fingerprinted row of the
    product (the fingerprint index) instead of the serial's own, so a device's every move
    cost more the larger the registry grew."""
    path = tmp_path / "factory.db"
    with open_registry(f"sqlite:///{path}") as registry:
        registry.register_station("st1", b"\x01" * 32)
        registry.open_batch("B1", "cam", "e98c6960947e8461", "p.toml", "st1")
        holder = Holder("st1", "run1")
        registry.claim("B1", "cam", "HW1", holder, "p0")
        registry.reserve("B1", "cam", "SN1", holder, "p0", "HW1",
                         fingerprint_at=lambda g: f"{g:064x}")
        for seq, move in enumerate((registry.mark_written, registry.mark_verified,
                                    registry.mark_locked), start=1):
            move("cam", "SN1", holder=holder, ack=Ack("st1", seq, "h" * 64))
        statements = [prepared.sql for _, prepared in registry._prepared._prepared.values()]
    assert len(statements) >= 6  # claim, batch state, insert, three moves, event, ack
    with sqlite3.connect(path) as conn:
        for sql in statements:
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql,
                                                   (None,) * sql.count("?"))]
            on_devices = [step for step in plan if " devices" in step]
            assert not any(step.startswith("SCAN") for step in on_devices), (sql, plan)
            for step in on_devices:
                assert ("serial=?" in step or "hardware_id=?" in step
                        or "batch_id=?" in step), (sql, step)
