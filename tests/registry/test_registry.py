"""The registry on both backends: states, uniqueness, collisions, refusals."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from credline.core.errors import BadInput
from credline.registry import IllegalTransition, RegistryError, SerialTaken, open_registry

KEY_ID = "e98c6960947e8461"


def opened(url: str, batch: str = "B1", station: str = "st1"):  # type: ignore[no-untyped-def]
    reg = open_registry(url)
    reg.open_batch(batch, "acme-cam", KEY_ID, "acme-cam.toml", station)
    return reg


def test_device_walks_reserved_written_verified_locked(registry_url: str) -> None:
    with opened(registry_url) as reg:
        device = reg.reserve("B1", "acme-cam", "SN1", "st1", "/dev/ttyUSB0")
        assert device.state == "reserved" and device.fingerprint is None
        assert reg.assign_fingerprint("B1", "acme-cam", "SN1", lambda g: f"{g:064x}") == (
            0, "0" * 64)
        for step in (reg.mark_written, reg.mark_verified, reg.mark_locked):
            step("acme-cam", "SN1")
        assert reg.device("acme-cam", "SN1").state == "locked"  # type: ignore[union-attr]
        assert reg.status("B1") == {"reserved": 0, "written": 0, "verified": 0, "locked": 1,
                                    "failed": 0, "retired": 0}


def test_illegal_transitions_are_refused(registry_url: str) -> None:
    with opened(registry_url) as reg:
        reg.reserve("B1", "acme-cam", "SN1", "st1")
        with pytest.raises(IllegalTransition, match="no fingerprint"):
            reg.mark_written("acme-cam", "SN1")
        with pytest.raises(IllegalTransition, match="reserved; it cannot become locked"):
            reg.mark_locked("acme-cam", "SN1")
        reg.assign_fingerprint("B1", "acme-cam", "SN1", lambda g: "a" * 64)
        reg.mark_written("acme-cam", "SN1")
        reg.mark_failed("acme-cam", "SN1", "verify mismatch")
        with pytest.raises(IllegalTransition):
            reg.mark_verified("acme-cam", "SN1")


def test_collision_moves_to_the_next_generation(registry_url: str) -> None:
    with opened(registry_url) as reg:
        for serial in ("SN1", "SN2"):
            reg.reserve("B1", "acme-cam", serial, "st1")
        reg.assign_fingerprint("B1", "acme-cam", "SN1", lambda g: f"{g:064x}")
        # SN2's generation-0 fingerprint equals SN1's: the constraint forces generation 1.
        assert reg.assign_fingerprint("B1", "acme-cam", "SN2", lambda g: f"{g:064x}") == (
            1, f"{1:064x}")
        assert reg.assign_fingerprint("B1", "acme-cam", "SN2", lambda g: "z") == (1, f"{1:064x}")


def test_a_reservation_can_carry_its_fingerprint(registry_url: str) -> None:
    """reserve(fingerprint_at=...) is reserve + assign in one transaction; a collision falls
    back to a plain reservation and assign moves on a generation, as before."""
    at = lambda g: f"{g:064x}"  # noqa: E731
    with opened(registry_url) as reg:
        first = reg.reserve("B1", "acme-cam", "SN1", "st1", fingerprint_at=at)
        assert (first.generation, first.fingerprint) == (0, at(0))
        assert reg.assign_fingerprint("B1", "acme-cam", "SN1", at, current=first) == (0, at(0))
        second = reg.reserve("B1", "acme-cam", "SN2", "st1", fingerprint_at=at)
        assert second.fingerprint is None  # generation 0 collided with SN1's
        assert reg.assign_fingerprint("B1", "acme-cam", "SN2", at, current=second) == (1, at(1))
        # A serial another batch holds is still refused, fingerprint or not.
        reg.open_batch("B2", "acme-cam", KEY_ID, "acme-cam.toml", "st2")
        with pytest.raises(SerialTaken, match="already held by batch 'B1'"):
            reg.reserve("B2", "acme-cam", "SN1", "st2", fingerprint_at=lambda g: "b" * 64)
        assert reg.device("acme-cam", "SN1").batch_id == "B1"  # type: ignore[union-attr]


def test_another_batch_cannot_take_a_held_serial(registry_url: str) -> None:
    with opened(registry_url) as reg:
        reg.open_batch("B2", "acme-cam", KEY_ID, "acme-cam.toml", "st2")
        reg.reserve("B1", "acme-cam", "SN1", "st1")
        with pytest.raises(SerialTaken, match="held by batch 'B1' on station 'st1'"):
            reg.reserve("B2", "acme-cam", "SN1", "st2")
        assert reg.reserve("B1", "acme-cam", "SN1", "st1").batch_id == "B1"  # resume


def test_batches_keys_and_products_are_consistent(registry_url: str) -> None:
    with opened(registry_url) as reg:
        with pytest.raises(BadInput, match="already exists for product"):
            reg.open_batch("B1", "acme-cam", "0" * 16, "p", "st1")
        with pytest.raises(BadInput, match="belongs to product"):
            reg.open_batch("B9", "acme-router", KEY_ID, "p", "st1")
        assert reg.close_batch("B1", "st1", lambda: (10, "f" * 64, None))  # type: ignore[arg-type, return-value]
        with pytest.raises(BadInput, match="was closed"):
            reg.open_batch("B1", "acme-cam", KEY_ID, "p", "st1")


def test_export_has_fingerprints_and_no_passwords(registry_url: str, tmp_path: Path) -> None:
    with opened(registry_url) as reg:
        for i in range(3):
            reg.reserve("B1", "acme-cam", f"SN{i}", "st1")
            reg.assign_fingerprint("B1", "acme-cam", f"SN{i}", lambda g, i=i: f"{i:064x}")
        assert reg.export("B1", tmp_path / "b.csv") == 3
        rows = list(csv.DictReader((tmp_path / "b.csv").open()))
        assert [r["serial"] for r in rows] == ["SN0", "SN1", "SN2"]
        assert "password" not in rows[0]
        assert sorted(reg.fingerprints("acme-cam")) == [(f"SN{i}", f"{i:064x}")
                                                       for i in range(3)]


def test_station_keys_are_enrolled_once(registry_url: str) -> None:
    with opened(registry_url) as reg:
        reg.register_station("st1", b"\x01" * 32)
        reg.register_station("st1", b"\x01" * 32)
        with pytest.raises(BadInput, match="already enrolled with another key"):
            reg.register_station("st1", b"\x02" * 32)
        assert reg.station_key("st1") == b"\x01" * 32 and reg.station_key("x") is None


def test_newer_schema_is_refused(registry_url: str) -> None:
    from sqlalchemy import update

    from credline.registry import schema

    with opened(registry_url) as reg, reg._tx() as conn:
        conn.execute(update(schema.schema_version).values(version=99))
    with pytest.raises(RegistryError, match="schema version 99; this credline reads"):
        open_registry(registry_url)


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(RegistryError, match="registry postgresql"):
        open_registry("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")


def test_bad_urls_are_named(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unsupported database"):
        open_registry("mysql://x@localhost/db")
    with pytest.raises(BadInput, match="invalid registry URL"):
        open_registry("not a url")


def test_read_only_sqlite_registry_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    with opened(f"sqlite:///{path}") as reg:
        reg.reserve("B1", "acme-cam", "SN1", "st1")
    # Root ignores file modes, so open the database read-only the way SQLite itself does.
    reg = open_registry(f"sqlite:///file:{path}?mode=ro&uri=true", create=False)
    with pytest.raises(RegistryError, match="read-only"):
        reg.open_batch("B2", "acme-cam", KEY_ID, "p", "st1")
    assert [d.serial for d in reg.devices("B1")] == ["SN1"] and reg.batch("B2") is None
    reg.close()
