"""``credline keys``: create, import and identify master keys."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from credline.cli._common import key_option
from credline.core.errors import BadInput
from credline.core.policy import KeyScope
from credline.files.profiles import load_profile
from credline.keystore import keyfile, open_key
from credline.keystore.base import KEY_BYTES


@click.group("keys")
def keys() -> None:
    """Create, import and identify master keys (key files or PKCS#11 tokens).

    \b
    Example:
      CREDLINE_PASSPHRASE=... credline keys new --out line1.key
      credline keys id --key line1.key
    """


@keys.command("new")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The key file to create (never overwritten).")
@click.option("--profile", "profile_path", type=click.Path(path_type=Path, dir_okay=False),
              help="The product's profile: with [key] scope = \"batch\", also prints the "
              "command that makes the next batch's key.")
def keys_new(out: Path, profile_path: Path | None) -> None:
    """Create a random 32-byte master key in a passphrase-wrapped key file.

    The passphrase (at least 12 characters) comes from CREDLINE_PASSPHRASE, else a prompt
    (asked twice), else the first line of standard input when it is not a terminal. The key is
    wrapped with scrypt + AES-256-GCM; the file is created owner-only. Prints the key id.
    A profile with [key] scope = "batch" needs a new key for every batch (the registry
    refuses a key another batch used); --profile then prints the next batch's command.

    \b
    Examples:
      credline keys new --out acme-cam.key
      credline keys new --out acme-router-B1.key --profile factory/profiles/acme-router.toml
    """
    profile = load_profile(profile_path) if profile_path else None
    passphrase = keyfile.passphrase_from_env_or_prompt(str(out), confirm=True)
    key = keyfile.create(out, os.urandom(KEY_BYTES), passphrase)
    click.echo(key.key_id)
    if profile is not None and profile.key_scope is KeyScope.BATCH:
        click.echo(f"[key] scope = \"batch\": use this key for one batch only; the next "
                   f"batch's key: credline keys new --out {next_key_name(out)} --profile "
                   f"{profile_path}", err=True)


def next_key_name(out: Path) -> Path:
    """``line-B7.key`` -> ``line-B8.key``; a name without a trailing number gets ``-2``."""
    match = re.fullmatch(r"(.*?)(\d+)", out.stem)
    if match is None:
        return out.with_name(f"{out.stem}-2{out.suffix}")
    head, number = match.groups()
    return out.with_name(f"{head}{int(number) + 1:0{len(number)}d}{out.suffix}")


def _read_hex_key() -> bytes:
    text = sys.stdin.read().strip().lstrip("\ufeff")
    if len(text) != 2 * KEY_BYTES:
        raise BadInput(f"standard input: expected the key as {2 * KEY_BYTES} hex characters, "
                       f"got {len(text)} characters")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise BadInput("standard input: the key is not hexadecimal") from None


@keys.command("import")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Wrap the key into this new key file.")
@click.option("--pkcs11", "uri", metavar="URI",
              help="Put the key into a PKCS#11 token as a sensitive, non-extractable key.")
def keys_import(out: Path | None, uri: str | None) -> None:
    """Import an existing master key, read as 64 hex characters from standard input.

    \b
    Examples:
      credline keys import --out acme-cam.key < key.hex
      credline keys import --pkcs11 'pkcs11:token=line1;object=acme-cam' < key.hex
    """
    if (out is None) == (uri is None):
        raise BadInput("give exactly one of --out FILE or --pkcs11 URI")
    raw = _read_hex_key()
    if out is not None:
        passphrase = keyfile.passphrase_from_env_or_prompt(str(out), confirm=True)
        click.echo(keyfile.create(out, raw, passphrase).key_id)
        return
    assert uri is not None
    from credline.keystore.pkcs11 import import_key

    click.echo(import_key(uri, raw).key_id)


@keys.command("id")
@key_option
@click.option("--json", "as_json", is_flag=True,
              help='Print {"key": FILE|URI, "key_id": HEX} as JSON.')
def keys_id(key_ref: str, as_json: bool) -> None:
    """Print a key's id: the first 8 bytes, hex, of HMAC-SHA256(K, "credline/v1/key-id").

    \b
    Example:
      credline keys id --key acme-cam.key --json
    """
    key_id = open_key(key_ref).key_id
    click.echo(json.dumps({"key": key_ref, "key_id": key_id}) if as_json else key_id)


COMMANDS = [keys]
