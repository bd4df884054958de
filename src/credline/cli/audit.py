"""``credline audit verify``: is the provenance log intact, and does the registry agree?"""

from __future__ import annotations

from pathlib import Path

import click

from credline.errors import CheckFailed
from credline.provenance import verify_log


@click.group("audit")
def audit() -> None:
    """Check the tamper-evident provenance log.

    \b
    Example:
      credline audit verify station1.log --registry sqlite:///factory.db
    """


@audit.command("verify")
@click.argument("log", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--registry", "url", help="Registry URL: enrolled station keys, checkpoints and "
              "device states to cross-check.")
@click.option("--trust", "trusted", multiple=True, metavar="STATION=HEX",
              help="A station public key (hex) to trust without a registry.")
def audit_verify(log: Path, url: str | None, trusted: tuple[str, ...]) -> None:
    """Verify every signature, the hash chain, sequence numbers and checkpoints.

    Exit 0 when intact; 1 with the first bad line and what is wrong (edited, inserted,
    deleted, reordered, truncated, unknown signer, registry disagrees); 2 on bad input.

    \b
    Example:
      credline audit verify station1.log --registry sqlite:///factory.db
    """
    from credline.errors import BadInput

    keys: dict[str, bytes] = {}
    for item in trusted:
        name, _, value = item.partition("=")
        try:
            keys[name] = bytes.fromhex(value)
        except ValueError:
            raise BadInput(f"--trust {item!r}: expected STATION=HEX") from None
    if url is not None:
        from credline.registry import open_registry

        with open_registry(url, create=False) as reg:
            report = verify_log(log, reg, keys)
    else:
        report = verify_log(log, None, keys)
    if not report.ok:
        raise CheckFailed(f"{log}: {report.summary()}")
    click.echo(f"{log}: {report.summary()}")


COMMANDS = [audit]
