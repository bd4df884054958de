"""``credline batch check``: the QA verdict on a batch CSV (rules in :mod:`credline.qa`)."""

from __future__ import annotations

from pathlib import Path

import click

from credline.cli._common import KEY_HELP, product_of
from credline.cli._progress import staged
from credline.core.derive import Deriver
from credline.core.errors import BadInput, CheckFailed
from credline.files.profiles import load_profile
from credline.keystore import open_key
from credline.qa import check_file, default_profile
from credline.qa.check import STAGES, Registered

FILE = click.Path(path_type=Path, dir_okay=False)


def registered_fingerprints(url: str, product: str) -> Registered:
    """Every (serial, fingerprint) the registry holds for ``product``, read once."""
    from credline.registry import open_registry

    with open_registry(url, create=False) as registry:
        return list(registry.fingerprints(product))


@click.group("batch")
def batch() -> None:
    """Batch QA: verify a derived batch before it ships.

    \b
    Example:
      credline batch check batch-42.csv --profile factory/profiles/acme-cam.toml --json
    """


@batch.command("check")
@click.argument("csv_file", metavar="FILE.csv", type=FILE)
@click.option("-p", "--profile", "profile_path", type=FILE,
              help="Product profile TOML (alphabet, length, exposure). Default: Crockford "
              "base32, 12 characters, online.")
@click.option("--product", help="Product id (defaults to the profile's).")
@click.option("--registry", "registry_url", metavar="URL",
              help="Registry to check for fingerprints of earlier batches (needs the product).")
@click.option("--key", "key_ref", metavar="FILE|URI",
              help="Compute fingerprints with this key when the CSV has no 'fingerprint' "
              "column. " + KEY_HELP)
@click.option("--public", "public_file", type=FILE,
              help="Public values (MACs, SSIDs, model names, ...), one a line.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar on the terminal.")
def check(csv_file: Path, profile_path: Path | None, product: str | None,
          registry_url: str | None, key_ref: str | None, public_file: Path | None,
          as_json: bool, quiet: bool) -> None:
    """Check a batch CSV against every rule of UK PSTI Schedule 1 para 1.

    FILE.csv needs 'serial' and 'password' columns ('credline derive --out' writes them).
    Rules: duplicate, counter-like, public-info, guessable, unkeyed-derivation,
    distribution, policy. Exit 0 clean, 1 when a rule fires, 2 on bad input (a header with
    no rows included: an empty batch is not OK). Reports name serials, never passwords. A
    progress bar shows on a terminal; Ctrl-C stops it cleanly.

    \b
    Examples:
      credline batch check batch-42.csv --profile factory/profiles/acme-cam.toml
      credline batch check batch-42.csv --product acme-cam --public macs.txt --json
      credline batch check batch-42.csv --profile acme.toml --registry sqlite:///reg.db
    """
    profile = load_profile(profile_path) if profile_path else None
    product_id = product_of(profile, product)
    registered = None
    fingerprint = None
    if key_ref is not None and registry_url is None:
        raise BadInput("--key only computes fingerprints for --registry; give both or neither")
    if registry_url is not None:
        if product_id is None:
            raise BadInput("--registry needs --product (or a --profile that names one)")
        if key_ref is not None:
            fmt = (profile or default_profile()).format
            fingerprint = Deriver(open_key(key_ref), fmt).fingerprint
        registered = registered_fingerprints(registry_url, product_id)
    with staged("batch check", STAGES, quiet=quiet) as progress:
        report = check_file(csv_file, profile, public_file=public_file, product=product_id,
                            registered=registered, fingerprint=fingerprint, progress=progress)
    click.echo(report.to_json() if as_json else report.to_text())
    if not report.ok:
        raise CheckFailed(f"{csv_file}: {len(report.violations)} violation(s) of "
                          f"{len(report.rules_fired())} rule(s)")


COMMANDS = [batch]
