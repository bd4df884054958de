"""The registry's tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL.

Uniqueness is the database's job: UNIQUE(product, serial) and UNIQUE(product, fingerprint)
are constraints, so two stations can never both commit the same serial or password, whatever
Python does. Keys appear by id only; passwords never appear at all.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 1
metadata = MetaData()

schema_version = Table(
    "credline_schema", metadata,
    Column("version", Integer, nullable=False),
)

products = Table(
    "products", metadata,
    Column("product", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

keys = Table(
    "keys", metadata,
    Column("key_id", String(16), primary_key=True),
    Column("product", String(64), ForeignKey("products.product"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

stations = Table(
    "stations", metadata,
    Column("station_id", String(64), primary_key=True),
    Column("public_key", String(64), nullable=False),  # Ed25519, hex
    Column("created_at", DateTime(timezone=True), nullable=False),
)

batches = Table(
    "batches", metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("product", String(64), ForeignKey("products.product"), nullable=False),
    Column("key_id", String(16), ForeignKey("keys.key_id"), nullable=False),
    Column("profile_id", String(200), nullable=False),
    Column("station_id", String(64), nullable=False),
    Column("state", String(8), nullable=False),  # open | closed
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("log_entries", BigInteger),
    Column("log_head", String(64)),
)

devices = Table(
    "devices", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product", String(64), ForeignKey("products.product"), nullable=False),
    Column("serial", String(64), nullable=False),
    Column("batch_id", String(64), ForeignKey("batches.batch_id"), nullable=False),
    Column("generation", BigInteger, nullable=False, default=0),
    Column("key_id", String(16), nullable=False),
    Column("fingerprint", String(64)),
    Column("state", String(10), nullable=False),
    Column("station_id", String(64), nullable=False),
    Column("port", String(200), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("product", "serial", name="uq_device_serial"),
    UniqueConstraint("product", "fingerprint", name="uq_device_fingerprint"),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("batch_id", String(64)),
    Column("product", String(64)),
    Column("serial", String(64)),
    Column("event", String(40), nullable=False),
    Column("detail", Text, nullable=False, default=""),
)
