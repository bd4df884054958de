"""The registry's tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL.

Uniqueness is the database's job, so two stations can never both commit the same serial or
password, whatever Python does:

- UNIQUE(product, fingerprint) over every row ever issued, retired ones included: a password
  handed out once (even to a device since lost) is never handed out again;
- one live row per serial: a unique index on (product, serial) over rows not retired, and
  UNIQUE(product, serial, generation), so a lost device's serial can be re-issued at the next
  generation beside its retired row.

Keys appear by id only; passwords never appear at all. Each station row keeps the sequence
number and hash of the newest provenance entry the registry has acknowledged from it, so a
log cut anywhere before that is caught by the audit.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from credline.core.lifecycle import DeviceState

SCHEMA_VERSION = 3  # 3 added support_periods (2 is upgraded by Registry.init)
_LIVE = text(f"state <> '{DeviceState.RETIRED.value}'")
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

# The support period each product has published (Schedule 1 para 3): the end date may move
# later, never earlier (para 3(6)); ``published`` is the JSON of the support information
# (make, model, contact, ...) as of the batch that last published it.
support_periods = Table(
    "support_periods", metadata,
    Column("product", String(64), ForeignKey("products.product"), primary_key=True),
    Column("end_date", String(10), nullable=False),  # YYYY-MM-DD
    Column("published", Text, nullable=False, default="{}"),
    Column("batch_id", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
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
    # The newest log entry of this station the registry has acknowledged (write-ahead: the
    # log may be ahead of these, never behind).
    Column("log_seq", BigInteger, nullable=False, default=0),
    Column("log_head", String(64), nullable=False, default="0" * 64),
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
    Column("closed_by", String(64)),  # the station whose log holds the checkpoint
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
    # The holder: the station (and its run) working on the row, under a lease it renews
    # while it works. A lapsed lease lets another station of the cell take the row over,
    # within the rules of docs/registry-and-provenance.md.
    Column("station_id", String(64), nullable=False),
    Column("run_id", String(32), nullable=False, default=""),
    Column("lease_until", DateTime(timezone=True)),
    # The device the row's password is bound to, from "written" on.
    Column("hardware_id", String(200)),
    Column("port", String(200), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("product", "serial", "generation", name="uq_device_generation"),
    UniqueConstraint("product", "fingerprint", name="uq_device_fingerprint"),
)
Index("uq_device_live_serial", devices.c.product, devices.c.serial, unique=True,
      sqlite_where=_LIVE, postgresql_where=_LIVE)
Index("ix_device_batch", devices.c.batch_id, devices.c.state)
Index("ix_device_hardware", devices.c.product, devices.c.hardware_id)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("batch_id", String(64)),
    Column("product", String(64)),
    Column("serial", String(64)),
    Column("event", String(40), nullable=False),
    Column("station_id", String(64), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)
