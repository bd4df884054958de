"""The products CSV a compliance officer keeps (the BSIA guide's tracking columns): one row
per batch, from the registry's batches and the support information each product published
when a batch opened. Columns credline cannot know are left blank for the officer to fill.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from credline.registry import Registry

KNOWN = ("Make", "Model", "Model number", "Product category", "Batch number",
         "Support period start", "Support period end", "Contact information for support",
         "Documentation link")
BLANK = ("Firmware version", "Date placed on the UK market", "Statement of compliance kept at",
         "Notes")
COLUMNS = KNOWN + BLANK


def _cell(value: Any) -> str:
    """A value a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _day(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def products_csv(registry: Registry) -> tuple[str, int]:
    """The CSV text and its row count."""
    periods = {p.product: p for p in registry.support_periods()}
    batches = registry.batches()
    first: dict[str, Any] = {}
    for batch in batches:
        first.setdefault(str(batch["product"]), batch["opened_at"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for batch in sorted(batches, key=lambda b: (str(b["product"]), str(b["batch_id"]))):
        product = str(batch["product"])
        period = periods.get(product)
        info = period.published if period else {}
        start = str(info.get("support_start") or "") or _day(first.get(product))
        writer.writerow([_cell(v) for v in (
            info.get("make", product), info.get("model", ""), info.get("model_number", ""),
            info.get("category", ""), batch["batch_id"], start,
            period.end if period else "", info.get("contact", ""),
            info.get("documentation", ""))] + [""] * len(BLANK))
    return out.getvalue(), len(batches)
