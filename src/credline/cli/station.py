"""``credline station``: station identity (and, with the station, ``run``)."""

from __future__ import annotations

from pathlib import Path

import click

from credline.keystore import keyfile
from credline.registry import open_registry
from credline.station_identity import enroll


@click.group("station")
def station() -> None:
    """Provisioning station commands.

    \b
    Example:
      credline station enroll --out station1.key --station-id line1-st1 \\
          --registry sqlite:///factory.db
    """


@station.command("enroll")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The station key file to create (Ed25519, passphrase-wrapped).")
@click.option("--station-id", required=True, help="This station's name, e.g. line1-st1.")
@click.option("--registry", "url", required=True, help="Registry URL to enrol the key in.")
def station_enroll(out: Path, station_id: str, url: str) -> None:
    """Create this station's signing key and enrol its public key in the registry.

    Every provenance log entry the station writes is signed with this key; `audit verify`
    checks the signatures against the enrolled public key. The passphrase comes from
    CREDLINE_PASSPHRASE or a prompt.

    \b
    Example:
      credline station enroll --out station1.key --station-id line1-st1 \\
          --registry sqlite:///factory.db
    """
    passphrase = keyfile.passphrase_from_env_or_prompt(str(out), confirm=True)
    with open_registry(url) as reg:
        enroll(out, station_id, passphrase, reg)
    click.echo(f"station {station_id} enrolled; key in {out}")


COMMANDS = [station]
