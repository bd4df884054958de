"""``credline audit verify``: are a cell's provenance logs intact, and do they account for the
registry row by row?"""

from __future__ import annotations

import json
from pathlib import Path

import click

from credline.core.errors import BadInput, CheckFailed
from credline.provenance import collect_logs, verify_cell
from credline.provenance.audit import AuditReport

SHOWN = 50  # findings listed; the rest are counted


@click.group("audit")
def audit() -> None:
    """Check the tamper-evident provenance logs of a cell against its registry.

    \b
    Example:
      credline audit verify logs/ --registry postgresql://credline@db/credline
    """


@audit.command("verify")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--registry", "url", help="Registry URL: enrolled station keys, and the rows, "
              "batches, station heads and events the logs are replayed against.")
@click.option("--trust", "trusted", multiple=True, metavar="STATION=HEX",
              help="A station public key (hex) to trust without a registry.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"ok", "logs", "entries", "summary", "findings": [{"file", "line", '
                   '"kind", "detail"}], "notes"} as JSON (every finding, none hidden).')
@click.option("-v", "--verbose", is_flag=True,
              help=f"List every finding (default: the first {SHOWN}, the rest counted).")
def audit_verify(logs: tuple[Path, ...], url: str | None, trusted: tuple[str, ...],
                 as_json: bool, verbose: bool) -> None:
    """Verify every log of a cell; with --registry, replay them all against it.

    LOGS are log files, or folders (every *.jsonl inside): give every station's log. Each
    log's signatures, hash chain, sequence numbers and checkpoints are checked; then the
    registry must hold exactly what the logs did (a device may be one step behind its log in
    an open batch: a station that crashed between the two). Exit 0 when all agree; 1 with
    every fault as FILE:LINE: KIND: DETAIL (edited, inserted, deleted, reordered, truncated,
    unknown signer, empty, missing log, registry disagrees, not in registry, not in logs);
    2 on bad input.

    \b
    Examples:
      credline audit verify st1.jsonl st2.jsonl --registry sqlite:///factory.db
      credline audit verify /srv/credline/logs/ --registry postgresql://credline@db/credline
    """
    keys = _trusted(trusted)
    paths = collect_logs(logs)
    if url is not None:
        from credline.registry import open_registry

        with open_registry(url, create=False) as reg:
            report = verify_cell(paths, reg, keys)
    else:
        report = verify_cell(paths, None, keys)
    if as_json:
        click.echo(json.dumps({
            "ok": report.ok, "logs": len(paths), "entries": report.entries,
            "summary": report.summary(),
            "findings": [{"file": f.path, "line": f.line, "kind": f.kind, "detail": f.detail}
                         for f in report.findings],
            "notes": report.notes}))
    else:
        _show(report, verbose)
    if not report.ok:
        raise CheckFailed(f"audit failed: {len(report.findings)} problem(s) in "
                          f"{len(paths)} log(s); first: {report.findings[0]}")
    if not as_json:
        click.echo(report.summary())


def _show(report: AuditReport, verbose: bool) -> None:
    for note in report.notes:
        click.echo(f"note: {note}")
    if not report.ok:
        shown = len(report.findings) if verbose else SHOWN
        for finding in report.findings[:shown]:
            click.echo(str(finding))
        hidden = len(report.findings) - shown
        if hidden > 0:
            click.echo(f"... and {hidden} more (-v lists them all)")


def _trusted(items: tuple[str, ...]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            keys[name] = bytes.fromhex(value)
        except ValueError:
            raise BadInput(f"--trust {item!r}: expected STATION=HEX") from None
    return keys


COMMANDS = [audit]
