"""Options and helpers shared by the command modules."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from credline.core.encoding import CROCKFORD32
from credline.core.errors import BadInput
from credline.core.ids import ProductId
from credline.core.policy import ALPHABETS, Exposure, PasswordFormat, Profile, format_problem
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


ALLOW_WEAK_HELP = ("Derive a format below the online exposure floor (48 bits) anyway; the "
                   "password does not meet UK PSTI / EN 303 645 and a warning says so.")


def allow_weak_option(func: F) -> F:
    return click.option("--allow-weak", is_flag=True, help=ALLOW_WEAK_HELP)(func)


def resolve_format(profile_path: Path | None, alphabet: str | None, length: int | None,
                   product: str | None, *, allow_weak: bool = False
                   ) -> tuple[ProductId, PasswordFormat, Profile | None]:
    """The product and password format from ``--profile`` or ``--alphabet/--length``.

    A format from ``--alphabet/--length`` below the online floor is refused (BadInput)
    unless ``allow_weak``; then a warning goes to standard error.
    """
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
    fmt = _format(alphabet, length)
    floor = Exposure.ONLINE.floor_bits
    if fmt.bits < floor:
        what = f"{fmt.length} characters of {fmt.alphabet_name} ({len(fmt.alphabet)} symbols)"
        if not allow_weak:
            raise BadInput(f"--alphabet/--length: {what} carry {fmt.bits:.1f} bits, below the "
                           f"{floor}-bit floor for online exposure; give a longer --length, "
                           "or --allow-weak to derive it anyway")
        click.echo(f"credline: warning: WEAK password format: {what} carry only "
                   f"{fmt.bits:.1f} bits, below the {floor}-bit floor; such a password does "
                   "not meet UK PSTI Schedule 1 para 1 or EN 303 645 5.1-1", err=True)
    return product_id, fmt, None


def _format(alphabet: str | None, length: int | None) -> PasswordFormat:
    """``--alphabet`` (a name or its characters) and ``--length``, each error naming its
    option."""
    chars = ALPHABETS.get(alphabet, alphabet) if alphabet else CROCKFORD32
    if alphabet is not None and alphabet not in ALPHABETS:
        problem = format_problem(chars, 12)
        if problem is not None:
            known = ", ".join(ALPHABETS)
            raise BadInput(f"--alphabet {alphabet!r}: not an alphabet name ({known}), and "
                           f"not usable as the alphabet's own characters: {problem}")
    # Without --length: the online default's 60 bits (12 Crockford characters).
    size = length if length is not None else math.ceil(60 / math.log2(max(len(chars), 2)))
    problem = format_problem(chars, size)
    if problem is not None:
        raise BadInput(f"--length {size}: {problem}")
    return PasswordFormat(chars, size)
