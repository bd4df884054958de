"""``credline check-password``: does what a person typed match the device's password?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from credline.cli._common import allow_weak_option, key_option, resolve_format
from credline.core.derive import MAX_GENERATION, Deriver
from credline.core.errors import BadInput, CheckFailed
from credline.core.ids import Serial
from credline.keystore import open_key


@click.command("check-password")
@key_option
@click.option("--product", help="Product id (defaults to the profile's).")
@click.option("--serial", required=True, help="The device's serial.")
@click.option("--generation", type=click.IntRange(0, MAX_GENERATION), default=0,
              show_default=True, help="The generation the registry records for the serial.")
@click.option("-p", "--profile", "profile_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Product profile TOML (alphabet, length, product id).")
@click.option("--alphabet", help="Alphabet name or characters, instead of --profile.")
@click.option("--length", type=int, help="Password length, instead of --profile.")
@allow_weak_option
def check_password(key_ref: str, product: str | None, serial: str, generation: int,
                   profile_path: Path | None, alphabet: str | None,
                   length: int | None, allow_weak: bool) -> None:
    """Check a typed password against the derived one, in constant time.

    Reads the typed password from a hidden prompt (or standard input when piped). Crockford
    base32 passwords accept Crockford's reading rules: case, hyphens and spaces are ignored,
    O reads as 0, I and L as 1. Exit 0 on a match, 1 on a mismatch; nothing is printed that
    would reveal the password.

    \b
    Example:
      credline check-password --key acme-cam.key --profile acme-cam.toml --serial SN0001
    """
    product_id, fmt, _ = resolve_format(profile_path, alphabet, length, product,
                                        allow_weak=allow_weak)
    expected = Deriver(open_key(key_ref), fmt).password(
        product_id, Serial(serial, origin="--serial"), generation)
    typed = _typed()
    if not expected.matches_typed(typed, fmt.alphabet):
        raise CheckFailed(f"password does not match serial {serial!r}")
    click.echo("match", err=True)


def _typed() -> str:
    """The typed password: a hidden prompt on a terminal, else the first line of stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, err=True))
    line = sys.stdin.readline().rstrip("\r\n").lstrip("\ufeff") if sys.stdin else ""
    if not line:
        raise BadInput("no password given: type it at the prompt or pipe it on standard input")
    return line


COMMANDS = [check_password]
