"""``credline demo``: the README's first command (interim: derivation only)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import click

from credline.batch import derive_file
from credline.derive import Deriver
from credline.encoding import group
from credline.keystore import keyfile
from credline.policy import PasswordFormat

DEMO_PASSPHRASE = "DEMO-ONLY-not-for-production"  # noqa: S105 - the demo key is public by design


@click.command("demo")
@click.option("--count", type=click.IntRange(1, 1_000_000), default=16, show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("demo"), show_default=True)
def demo(count: int, workdir: Path) -> None:
    """Run credline end to end on a DEMO key and show the result.

    Creates a DEMO master key (passphrase-wrapped, clearly marked DEMO), derives passwords
    for a sample batch of serials and prints a few rows.

    \b
    Example:
      credline demo --count 16 --workdir /tmp/credline-demo
    """
    workdir.mkdir(parents=True, exist_ok=True)
    key_path = workdir / "DEMO-master.key"
    if key_path.exists():
        key = keyfile.load(key_path, DEMO_PASSPHRASE)
    else:
        key = keyfile.create(key_path, os.urandom(32), DEMO_PASSPHRASE)
    serials = workdir / "DEMO-serials.txt"
    serials.write_text("".join(f"DEMO{i:06d}\n" for i in range(1, count + 1)))
    out = workdir / "DEMO-batch.csv"
    deriver = Deriver(key, PasswordFormat.default())
    rows = derive_file(deriver, "demo-product", serials, out)
    click.echo(f"DEMO key {key.key_id} in {key_path}")
    click.echo(f"derived {rows} passwords into {out}; the first few:")
    with out.open() as handle:
        for _, row in zip(range(5), csv.DictReader(handle), strict=False):
            click.echo(f"  {row['serial']}  {group(row['password'], 4)}  "
                       f"fingerprint {row['fingerprint'][:16]}…")


COMMANDS = [demo]
