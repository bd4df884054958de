"""Range checks of profile values: what a type check alone lets through (pure).

:func:`check_values` runs after :mod:`credline.core.profile` has checked each key's type, so
every value here has its schema type. Each check returns what is wrong, in words, or None;
the caller names the file, the key and the value.
"""

from __future__ import annotations

import calendar
import ipaddress
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

MIN_BAUD, MAX_BAUD = 50, 4_000_000  # the span of the UARTs and USB adapters in use
MAX_TIMEOUT = 600  # seconds; a longer wait is a typo, not a slow device
MAX_RETRIES = 100
MAX_VERIFIER_ITERATIONS = 200_000  # the hook refuses more (credline_hook.c)
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")

Check = Callable[[Any], str | None]


def _between(low: int, high: int, unit: str = "") -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if not low <= value <= high:
            return f"must be between {low:,} and {high:,}{unit}"
        return None
    return check


def _positive_below(high: int, unit: str) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if not 0 < value <= high:
            return f"must be more than 0 and at most {high:,}{unit}"
        return None
    return check


def _printer(value: Any) -> str | None:
    """``tcp://HOST[:PORT]`` (port 1-65535) or an absolute device or FIFO path."""
    if value.startswith("/"):
        return None
    if not value.startswith("tcp://"):
        return "must be tcp://HOST:PORT or a device path such as /dev/usb/lp0"
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        return "the port must be a number from 1 to 65535"
    if port == 0:
        return "the port must be a number from 1 to 65535"
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return "must be tcp://HOST:PORT, nothing more"
    return _host(parts.hostname or "")


def _host(host: str) -> str | None:
    if not host:
        return "names no host"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if all(label.isdigit() for label in labels):
        return f"host {host!r} is not a valid IPv4 address"
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return f"host {host!r} is not a valid host name"
    return None


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")


def _date(value: Any) -> str | None:
    """A calendar date written YYYY-MM-DD (kept as text: ISO dates sort as they compare)."""
    match = _DATE.match(value)
    if match is not None:
        year, month, day = map(int, match.groups())
        if 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]:
            return None
    return "must be a date YYYY-MM-DD"

def _sectors(low: int, high: int) -> Check:
    """A flash address or size: whole 4 KiB sectors, ``low`` to ``high``."""
    def check(value: Any) -> str | None:
        if value % 0x1000:
            return "must be a multiple of 0x1000 (one flash sector)"
        if not low <= value <= high:
            return f"must be between 0x{low:x} and 0x{high:x}"
        return None
    return check


def _partition_name(value: Any) -> str | None:
    if not 1 <= len(value) <= 16 or not value.isascii() or not value.isprintable():
        return "must be 1 to 16 printable ASCII characters (a partition table name)"
    return None


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return check


def _web(value: Any) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be a web address, https://HOST/..."
    return _host(parts.hostname)


def _contact(value: Any) -> str | None:
    """A web page, a mailto: address or an e-mail address (Schedule 1 para 2(2)(a))."""
    if value.startswith(("https://", "http://")):
        return _web(value)
    address = value.removeprefix("mailto:")
    local, at, domain = address.partition("@")
    if at and local and "." in domain and " " not in address:
        return _host(domain)
    return "must be a web address (https://...) or an e-mail address"


def _text(value: Any) -> str | None:
    return None if value.strip() else "must not be empty"


CHECKS: dict[tuple[str, str], Check] = {
    ("device", "baud"): _between(MIN_BAUD, MAX_BAUD, " baud"),
    ("device", "timeout"): _positive_below(MAX_TIMEOUT, " seconds"),
    ("device", "retries"): _between(0, MAX_RETRIES),
    ("device", "verifier_iterations"): _between(1, MAX_VERIFIER_ITERATIONS),
    ("label", "printer"): _printer,
    ("compliance", "support_period_end"): _date,
    ("compliance", "support_period_start"): _date,
    ("compliance", "declaration"): _one_of("schedule-1", "schedule-2"),
    ("compliance", "acknowledge_within_days"): _between(1, 365, " days"),
    ("compliance", "status_update_days"): _between(1, 365, " days"),
    ("compliance", "security_contact"): _contact,
    ("compliance", "documentation_url"): _web,
    **{("compliance", key): _text for key in (
        "signatory", "signatory_function", "place", "product_type", "manufacturer_address",
        "representative")},

    ("esp", "size"): _sectors(0x3000, 0x100000),
    ("esp", "offset"): _sectors(0x1000, 0x4000000),
    ("esp", "baud"): _between(MIN_BAUD, MAX_BAUD, " baud"),
    ("esp", "partition"): _partition_name,
    ("esp", "chip"): _one_of("auto", "esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c2",
                             "esp32c6", "esp32h2"),
    ("esp", "reset"): _one_of("rts", "none"),
}


def check_values(data: dict[str, Any]) -> tuple[str, str, Any, str] | None:
    """The first (section, key, value, why) that is out of range, or None."""
    for (section, key), check in CHECKS.items():
        table = data.get(section, {})
        if key in table:
            why = check(table[key])
            if why is not None:
                return section, key, table[key], why
    return None
