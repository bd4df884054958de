"""The compliance terms a batch opens under, checked inside the batch-open transaction.

:meth:`credline.registry.Registry.open_batch` calls :func:`enforce` before it writes the
batch row, in the same transaction, so every way a batch opens (the station, ``credline
provision``, ``credline image``) passes here and a refusal leaves the registry as it was:

- ``[key] scope = "batch"``: a key id any other batch of the product already used is refused
  (ETSI EN 303 645 5.1-2: one leaked key exposes one batch, not the product class);
- the published support end date (UK PSTI Schedule 1 para 3(6)) may be extended, never
  brought forward or dropped; publishing and extending are registry events.

Never sees a key or password: key ids and dates only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from credline.core.compliance import BatchTerms
from credline.core.errors import BadInput
from credline.core.policy import KeyScope
from credline.registry import schema as s
from credline.registry.connect import now


@dataclass(frozen=True)
class SupportPeriod:
    """A product's published support period as the registry keeps it."""

    product: str
    end: str  # YYYY-MM-DD
    published: dict[str, Any]
    batch_id: str
    updated_at: dt.datetime


def support_period(conn: Connection, product: str) -> SupportPeriod | None:
    row = conn.execute(select(s.support_periods).where(
        s.support_periods.c.product == product)).first()
    return None if row is None else _period(row)


def support_periods(conn: Connection) -> list[SupportPeriod]:
    rows = conn.execute(select(s.support_periods).order_by(s.support_periods.c.product))
    return [_period(row) for row in rows]


def _period(row: Any) -> SupportPeriod:
    try:
        published = json.loads(row.published or "{}")
    except ValueError:
        published = {}
    return SupportPeriod(row.product, str(row.end_date),
                         published if isinstance(published, dict) else {}, row.batch_id,
                         row.updated_at)


def remembered(conn: Connection, product: str) -> BatchTerms | None:
    """The terms the product's last published batch opened under, for a caller that gives
    none (a script calling ``open_batch`` without ``terms``): its key scope still holds, and
    its support period is kept as it is."""
    known = support_period(conn, product)
    if known is None:
        return None
    scope = KeyScope.BATCH if known.published.get("key_scope") == "batch" else KeyScope.PRODUCT
    return BatchTerms(scope, known.end, json.dumps(known.published, sort_keys=True))


def enforce(conn: Connection, batch_id: str, product: str, key_id: str,
            terms: BatchTerms | None, station_id: str, source: str) -> None:
    """Refuse the batch if it breaks a term (BadInput, nothing written); else record the
    support period it publishes or extends. Without ``terms``, the product's remembered
    terms apply (:func:`remembered`)."""
    if terms is None:
        terms = remembered(conn, product)
        if terms is None:
            return
        source = f"{source} (terms of product {product!r} as last published)"
    if terms.key_scope is KeyScope.BATCH:
        _one_key_per_batch(conn, batch_id, product, key_id, source)
    known = support_period(conn, product)
    if known is not None:
        if terms.support_end is None:
            raise BadInput(f"{source}: states no [compliance] support_period_end, but "
                           f"product {product!r} has published support until {known.end} "
                           f"(batch {known.batch_id}); a published support period can only "
                           "be extended (UK PSTI Schedule 1 para 3(6))")
        if terms.support_end < known.end:
            raise BadInput(f"{source}: [compliance] support_period_end = {terms.support_end} "
                           f"is earlier than the support end date {known.end} product "
                           f"{product!r} already published (batch {known.batch_id}); a "
                           "published support period can never be shortened (UK PSTI "
                           "Schedule 1 para 3(6)): set it to "
                           f"{known.end} or later")
    if terms.support_end is None:
        return
    values = {"end_date": terms.support_end, "published": terms.published or "{}",
              "batch_id": batch_id, "updated_at": now()}
    if known is None:
        _ensure_product(conn, product)
        conn.execute(insert(s.support_periods).values(product=product, **values))
        _event(conn, batch_id, product, "support_published", station_id,
               f"support period ends {terms.support_end}")
    elif terms.support_end > known.end or terms.published != json.dumps(
            known.published, sort_keys=True):
        conn.execute(update(s.support_periods).where(
            s.support_periods.c.product == product).values(**values))
        if terms.support_end > known.end:
            _event(conn, batch_id, product, "support_extended", station_id,
                   f"support period end {known.end} -> {terms.support_end}")


def _one_key_per_batch(conn: Connection, batch_id: str, product: str, key_id: str,
                       source: str) -> None:
    other = conn.execute(select(s.batches.c.batch_id).where(
        s.batches.c.key_id == key_id, s.batches.c.batch_id != batch_id).order_by(
        s.batches.c.opened_at).limit(1)).scalar()
    if other is not None:
        raise BadInput(f"key {key_id} was already used by batch {other!r} of product "
                       f"{product!r}; {source} says [key] scope = \"batch\" (a new key for "
                       "every batch): make this batch's key with 'credline keys new --out "
                       "NEW.key' and give --key NEW.key")


def _ensure_product(conn: Connection, product: str) -> None:
    if conn.execute(select(s.products.c.product).where(
            s.products.c.product == product)).first() is None:
        conn.execute(insert(s.products).values(product=product, created_at=now()))


def _event(conn: Connection, batch_id: str, product: str, name: str, station_id: str,
           detail: str) -> None:
    conn.execute(insert(s.events).values(at=now(), batch_id=batch_id, product=product,
                                         serial="", event=name, station_id=station_id,
                                         detail=detail))
