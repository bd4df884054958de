"""Registry backends for tests: a SQLite file, and a private schema on the real PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES = os.environ.get("CREDLINE_TEST_POSTGRES",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_schema_url() -> Iterator[str]:
    """A fresh schema on the test server, as a registry URL; dropped afterwards."""
    engine = create_engine(POSTGRES)
    schema = f"t_{secrets.token_hex(6)}"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError:
        engine.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {POSTGRES}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES}")
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'factory.db'}"
    else:
        yield from postgres_schema_url()
