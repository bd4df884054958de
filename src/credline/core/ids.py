"""Product ids and serial numbers: validated once, at the boundary.

A :class:`ProductId` or :class:`Serial` is a ``str`` that has passed the credline-v1 rule:
1 to 64 characters from ``[0-9A-Za-z._:-]``, case-sensitive. Code deeper in the package
takes these types and never re-checks strings. Pure: no I/O.
"""

from __future__ import annotations

import re

from credline.core.errors import BadInput, describe_origin

ID_PATTERN = re.compile(r"[0-9A-Za-z._:-]{1,64}")
ID_RULE = "1 to 64 characters from 0-9 A-Z a-z . _ : -"


def _check(kind: str, value: object, origin: str | None) -> str:
    if not isinstance(value, str) or ID_PATTERN.fullmatch(value) is None:
        raise BadInput(
            f"invalid {kind} {value!r}{describe_origin(origin)}: must be {ID_RULE}"
        )
    return value


class ProductId(str):
    """A validated product id (the product class or type a password is unique within)."""

    __slots__ = ()

    def __new__(cls, value: str, origin: str | None = None) -> ProductId:
        return super().__new__(cls, _check("product id", value, origin))


class Serial(str):
    """A validated serial number, unique per device within a product."""

    __slots__ = ()

    def __new__(cls, value: str, origin: str | None = None) -> Serial:
        return super().__new__(cls, _check("serial", value, origin))


def check_batch_id(value: str, origin: str | None = None) -> str:
    """A batch id, checked by the same rule as the other ids (it names files and rows)."""
    return _check("batch id", value, origin)


def is_valid_id(value: str) -> bool:
    """True when ``value`` satisfies the product id / serial rule (for hot loops)."""
    return ID_PATTERN.fullmatch(value) is not None
