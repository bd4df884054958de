"""Options and helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from credline.core.errors import BadInput
from credline.core.ids import ProductId
from credline.core.policy import PasswordFormat, Profile
from credline.files.profiles import load_profile

F = TypeVar("F", bound=Callable[..., Any])

KEY_HELP = ("Master key: a key file (passphrase from CREDLINE_PASSPHRASE or a prompt) or a "
            "PKCS#11 URI such as 'pkcs11:token=line1;object=acme' (module from "
            "CREDLINE_PKCS11_MODULE, PIN from CREDLINE_PKCS11_PIN).")


def key_option(func: F) -> F:
    return click.option("--key", "key_ref", required=True, metavar="FILE|URI",
                        help=KEY_HELP)(func)


def product_of(profile: Profile | None, product: str | None) -> ProductId | None:
    """The product id: ``--product`` checked against the profile's, else the profile's."""
    if profile is None:
        return None if product is None else ProductId(product, origin="--product")
    if product is not None and product != profile.product:
        raise BadInput(f"--product {product!r} disagrees with the profile's product id "
                       f"{profile.product!r} ({profile.source})")
    return profile.product


def resolve_format(profile_path: Path | None, alphabet: str | None, length: int | None,
                   product: str | None) -> tuple[ProductId, PasswordFormat, Profile | None]:
    """The product and password format from ``--profile`` or ``--alphabet/--length``."""
    profile = load_profile(profile_path) if profile_path else None
    if profile is not None and (alphabet is not None or length is not None):
        raise BadInput("give --profile or --alphabet/--length, not both")
    product_id = product_of(profile, product)
    if profile is not None:
        return profile.product, profile.format, profile
    if product_id is None:
        raise BadInput("--product is required (or give a --profile that names one)")
    if alphabet is None and length is None:
        return product_id, PasswordFormat.default(), None
    from credline.core.policy import ALPHABETS

    chars = ALPHABETS.get(alphabet, alphabet) if alphabet else PasswordFormat.default().alphabet
    return product_id, PasswordFormat(chars, length or 12), None
