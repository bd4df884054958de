"""``credline derive``: one password, or a batch file of them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from credline.bulk.derive import derive_file
from credline.cli._common import allow_weak_option, key_option, resolve_format
from credline.cli._progress import counting
from credline.core.derive import MAX_GENERATION, Deriver
from credline.core.errors import BadInput
from credline.core.ids import Serial
from credline.files.atomic import sweep
from credline.files.output import is_regular, refuse_inputs
from credline.files.serials import count_lines
from credline.keystore import open_key


@click.command("derive")
@key_option
@click.option("--product", help="Product id (defaults to the profile's).")
@click.option("--serial", help="Derive the password of this one serial and print it.")
@click.option("--serials", "serials_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Batch input: one serial a line, or a CSV with a 'serial' column.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Batch output CSV: serial,password,generation,key_id,fingerprint; '-' for "
                   "standard output. A device, FIFO or link is written through, never replaced.")
@click.option("--generation", type=click.IntRange(0, MAX_GENERATION), default=0,
              show_default=True, help="Re-derivation count after a collision.")
@click.option("-p", "--profile", "profile_path",
              type=click.Path(path_type=Path, dir_okay=False),
              help="Product profile TOML (alphabet, length, product id).")
@click.option("--alphabet", help="Alphabet name (crockford32, digits, hex, base58, alnum, "
              "printable) or its characters, instead of --profile.")
@click.option("--length", type=int, help="Password length, instead of --profile (default: "
              "60 bits' worth, 12 Crockford characters).")
@allow_weak_option
@click.option("--workers", type=click.IntRange(1, 256), help="Processes for a batch "
              "(default: one per core with a key file, one with a token).")
@click.option("--json", "as_json", is_flag=True,
              help="With --serial: print {serial, product, generation, key_id, password} as "
                   "JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line.")
def derive(key_ref: str, product: str | None, serial: str | None, serials_file: Path | None,
           out: Path | None, generation: int, profile_path: Path | None,
           alphabet: str | None, length: int | None, allow_weak: bool, workers: int | None,
           as_json: bool, quiet: bool) -> None:
    """Derive passwords with credline-v1.

    With --serial, print that device's password alone on stdout (ungrouped). With --serials
    and --out, write a batch CSV; a malformed or repeated serial, or a file with no serials,
    stops the run with exit 2, naming the line, and no output file is written. An --out that
    is one of the inputs is refused. On a terminal a progress bar shows; Ctrl-C stops the
    workers and leaves no partial file.

    \b
    Examples:
      credline derive --key line1.key --product acme-cam --serial SN0001
      credline derive --key line1.key -p factory/profiles/acme-cam.toml \\
          --serials order-42.txt -o batch-42.csv
      credline derive --key line1.key --product acme-cam --serials order-42.txt -o - | head
    """
    if (serial is None) == (serials_file is None):
        raise BadInput("give exactly one of --serial or --serials")
    if serials_file is not None and out is None:
        raise BadInput("--serials needs --out FILE.csv (or --out - for standard output)")
    if serials_file is not None and generation:
        raise BadInput("--generation applies to a single --serial; batches derive "
                       "generation 0 (collisions are resolved by the registry)")
    if as_json and serial is None:
        raise BadInput("--json applies to a single --serial (a batch is already CSV)")
    if out is not None:
        key_path = None if key_ref.startswith("pkcs11:") else Path(key_ref)
        refuse_inputs(out, {"--serials": serials_file, "--profile": profile_path,
                            "--key": key_path})
    product_id, fmt, _ = resolve_format(profile_path, alphabet, length, product,
                                        allow_weak=allow_weak)
    deriver = Deriver(open_key(key_ref), fmt)
    if serial is not None:
        password = deriver.password(product_id, Serial(serial, origin="--serial"), generation)
        if as_json:
            click.echo(json.dumps({"serial": serial, "product": product_id,
                                   "generation": generation, "key_id": deriver.key_id,
                                   "password": password.reveal()}))
        else:
            click.echo(password.reveal())
        return
    assert serials_file is not None and out is not None
    stdout = sys.stdout
    if is_regular(out, stdout):
        _sweep_beside(Path(os.path.realpath(out)), quiet)
    with counting("deriving", count_lines(serials_file), quiet=quiet) as progress:
        count = derive_file(deriver, product_id, serials_file, out, workers=workers,
                            stream=stdout, progress=progress)
    if not quiet:
        where = "standard output" if str(out) == "-" else out
        click.echo(f"derived {count} passwords for {product_id} with key {deriver.key_id} "
                   f"into {where}", err=True)


def _sweep_beside(out: Path, quiet: bool) -> None:
    """A killed earlier run of this command may have left its temporary, passwords and all."""
    removed = [stale.path for stale in sweep(out.parent, lambda name: name == out.name)
               if stale.left is None]
    if removed and not quiet:
        click.echo(f"removed {len(removed)} temporary file(s) an interrupted earlier run "
                   f"left: {', '.join(str(p) for p in removed)}", err=True)


COMMANDS = [derive]
