"""``credline image``: per-device flash images for lines that program with other tools."""

from __future__ import annotations

from pathlib import Path

import click

from credline.cli._common import key_option
from credline.core.derive import Deriver
from credline.core.errors import BadInput, CheckFailed
from credline.core.ids import Serial
from credline.core.policy import policy_violations
from credline.files.folders import probe_folder
from credline.files.profiles import load_profile
from credline.files.serials import read_serials
from credline.image.hex import HexBuilder, HexLayout, read_base
from credline.keystore import open_key


@click.group("image")
def image() -> None:
    """Per-device flash images, for esptool scripts and gang programmers.

    \b
    Example:
      credline image hex --profile factory/profiles/acme-sensor.toml --key k.key \\
          --base firmware.hex --serials order.txt --out images/
    """


@image.command("hex")
@click.option("--profile", "profile_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="Product profile TOML with a [hex] section (address, sector_size, "
                   "prog_size, flash_start, flash_size).")
@key_option
@click.option("--base", "base_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="The product's firmware as Intel HEX; the slots must be erased in it.")
@click.option("--serials", "work_order", required=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="Serials, one a line (or a CSV with a serial column).")
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for <serial>.hex (made if missing; files are owner-only).")
def hex_images(profile_path: Path, key_ref: str, base_path: Path, work_order: Path,
               out: Path) -> None:
    """Write one Intel HEX image per serial: the base firmware plus the credential slot.

    The slot is what the credline hook (1.2 on) reads at boot, for the profile's flash
    program unit, at [hex] address (slot A; slot B, the next sector, stays erased). A base
    with firmware data in either slot sector, or slots outside the profile's flash, is
    refused. Every file is parsed again and compared with the base before the next one.
    Exit 0 all written, 1 a password broke the profile's policy, 2 bad input.

    \b
    Example:
      credline image hex --profile acme-sensor.toml --key sensor.key \\
          --base fw-1.4.hex --serials order.txt --out images/
    """
    profile = load_profile(profile_path)
    layout = HexLayout.of(profile)
    base = read_base(base_path, layout)
    serials = [serial for _, serial in read_serials(work_order)]
    if not serials:
        raise BadInput(f"{work_order}: holds no serials; give one serial a line")
    probe_folder(out, "--out folder")
    deriver = Deriver(open_key(key_ref), profile.format)
    builder = HexBuilder(base, layout, profile, deriver.key_id)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    for serial in serials:
        password = deriver.password(profile.product, Serial(serial), 0)
        problems = policy_violations(password.reveal(), profile)
        if problems:
            raise CheckFailed(f"the password derived for {serial} breaks the profile's "
                              f"policy ({'; '.join(problems)}): stopping")
        builder.write(out, serial, password, 0)
    click.echo(f"{len(serials)} image(s) in {out}: the slot at {layout.address:#x} "
               f"(program unit {layout.prog_size}, from {layout.origin})")


COMMANDS = [image]
