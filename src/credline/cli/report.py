"""``credline report``: the compliance officer's documents (statement, batch report, support
pages, products CSV, evidence pack) from a profile, the registry and the signed logs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from credline.cli._common import KEY_HELP
from credline.core.compliance import compliance_of
from credline.core.errors import BadInput, CheckFailed
from credline.files.profiles import load_profile

# The renderers (reportlab) and the registry load when a report command runs, not with every
# credline command.
if TYPE_CHECKING:
    from credline.core.keys import MasterKey
    from credline.report.facts import BatchFacts

F = TypeVar("F", bound=Callable[..., Any])
FILE = click.Path(path_type=Path, dir_okay=False)
FOLDER = click.Path(path_type=Path, file_okay=False)


def batch_options(func: F) -> F:
    for option in reversed((
        click.option("--batch", "batch_id", required=True, help="The batch id."),
        click.option("--registry", "registry_url", required=True, metavar="URL",
                     help="The registry (sqlite:///FILE or postgresql://...)."),
        click.option("--log", "logs", type=FILE, multiple=True,
                     help="A station's provenance log (repeat for each station of a cell)."),
        click.option("--key", "key_ref", metavar="FILE|URI",
                     help="The batch's master key: re-derives the passwords in memory so "
                     "every QA rule and the character distribution can run. " + KEY_HELP),
    )):
        func = option(func)
    return func


def _key(key_ref: str | None) -> MasterKey | None:
    if key_ref is None:
        return None
    from credline.keystore import open_key

    return open_key(key_ref)


def facts_for(registry_url: str, batch_id: str, profile_path: Path | None,
              logs: tuple[Path, ...], key_ref: str | None) -> BatchFacts:
    from credline.registry import open_registry
    from credline.report.facts import gather

    profile = load_profile(profile_path) if profile_path else None
    with open_registry(registry_url, create=False) as registry:
        return gather(registry, batch_id, profile=profile, logs=logs, key=_key(key_ref))


@click.group("report")
def report() -> None:
    """Documents for compliance: statement, batch report, support pages, evidence pack.

    \b
    Example (after 'credline demo'):
      credline report statement --batch DEMO-batch-1 --registry sqlite:///demo/registry.db \\
          --profile factory/profiles/demo-device.toml --out statement.pdf
    """


@report.command("statement")
@batch_options
@click.option("--profile", "profile_path", type=FILE, required=True,
              help="The product's profile ([product] and [compliance] sections).")
@click.option("--date", "issued", type=click.DateTime(["%Y-%m-%d"]),
              help="Date of issue (default: today).")
@click.option("--out", type=FILE, required=True, help="FILE.pdf or FILE.md.")
def statement(batch_id: str, registry_url: str, logs: tuple[Path, ...], key_ref: str | None,
              profile_path: Path, issued: dt.datetime | None, out: Path) -> None:
    """Write the statement of compliance (UK PSTI Schedule 4) for a finished batch.

    Every Schedule 4 item comes from the profile and the registry: product type and batch,
    manufacturer and address (and authorised representative), the declarations, the
    defined support period, signatory, place and date. A missing item is an error naming
    it, and nothing is written. Also records the batch's evidence (scheme, key ids, devices
    by state, provenance checkpoint, batch check verdict).

    \b
    Example:
      credline report statement --batch B1 --registry sqlite:///factory.db \\
          --profile factory/profiles/acme-cam.toml --out B1-statement.pdf
    """
    from credline.report.output import check_suffix, write_document
    from credline.report.statement import build_statement

    check_suffix(out, (".pdf", ".md"))
    compliance = compliance_of(load_profile(profile_path))
    compliance.require()  # before the registry is even opened
    facts = facts_for(registry_url, batch_id, profile_path, logs, key_ref)
    day = issued.date() if issued else dt.date.today()
    write_document(build_statement(facts, compliance, day), out, (".pdf", ".md"))
    click.echo(f"statement of compliance for batch {batch_id} written to {out}")


@report.command("batch")
@batch_options
@click.option("--profile", "profile_path", type=FILE,
              help="The product's profile (needed with --key: the password format).")
@click.option("--out", type=FILE, required=True, help="report.html or report.pdf.")
def batch_report(batch_id: str, registry_url: str, logs: tuple[Path, ...],
                 key_ref: str | None, profile_path: Path | None, out: Path) -> None:
    """Write the batch report: states, failures, rate, per-port timings, distribution.

    HTML (self-contained: opens offline, pictures inline) or PDF. The rate and timings come
    from the signed logs (--log); the character distribution needs --key and --profile.

    \b
    Example:
      credline report batch --batch B1 --registry sqlite:///factory.db \\
          --log provenance.jsonl --out B1-report.html
    """
    from credline.report.batch import build_batch_report
    from credline.report.output import check_suffix, write_document

    check_suffix(out, (".html", ".pdf"))
    if key_ref is not None and profile_path is None:
        raise BadInput("--key needs --profile (the password format to re-derive)")
    facts = facts_for(registry_url, batch_id, profile_path, logs, key_ref)
    write_document(build_batch_report(facts), out, (".html", ".pdf"))
    click.echo(f"batch report for {batch_id} written to {out}: "
               f"{'PASS' if facts.verdict.ok else 'FAIL'}")
    if not facts.verdict.ok:
        raise CheckFailed(f"batch {batch_id}: the QA verdict is FAIL (see {out})")


@report.command("support")
@click.option("--profile", "profile_paths", type=FILE, multiple=True, required=True,
              help="A product's profile (repeat for each product).")
@click.option("--out", type=FOLDER, required=True, help="The folder for the site.")
def support(profile_paths: tuple[Path, ...], out: Path) -> None:
    """Write the public support pages (UK PSTI Schedule 1 paras 2 and 3).

    One plain-English page per product (how long it gets security updates, how to report
    a problem, when the reporter hears back) and an index searchable by make and model.
    Static files: publish the folder on any web server.

    \b
    Example:
      credline report support --profile factory/profiles/acme-cam.toml \\
          --profile factory/profiles/acme-router.toml --out site/
    """
    from credline.report.output import write_site
    from credline.report.support import build_site

    site = build_site([compliance_of(load_profile(path)) for path in profile_paths])
    write_site(out, site)
    click.echo(f"{len(site) - 1} product page(s) and index.html written to {out}")


@report.command("products")
@click.option("--registry", "registry_url", required=True, metavar="URL",
              help="The registry (sqlite:///FILE or postgresql://...).")
@click.option("--out", type=FILE, required=True, help="products.csv")
def products(registry_url: str, out: Path) -> None:
    """Export the products CSV (BSIA tracking columns), one row per batch.

    Make, model, model number, category, batch, support period start and end, security
    contact and documentation link, as each product published them when a batch opened;
    the columns credline cannot know are left blank.

    \b
    Example:
      credline report products --registry sqlite:///factory.db --out products.csv
    """
    from credline.files.atomic import write_atomic
    from credline.registry import open_registry
    from credline.report.output import check_suffix
    from credline.report.products import products_csv

    check_suffix(out, (".csv",))
    with open_registry(registry_url, create=False) as registry:
        text, rows = products_csv(registry)
    write_atomic(out, text.encode(), what=str(out), mode=0o644)
    click.echo(f"{rows} batch row(s) written to {out}")


@report.command("evidence")
@batch_options
@click.option("--profile", "profile_path", type=FILE, required=True,
              help="The product's profile.")
@click.option("--station-key", type=FILE, required=True,
              help="The station key that signs the MANIFEST (passphrase from "
              "CREDLINE_STATION_PASSPHRASE or CREDLINE_PASSPHRASE).")
@click.option("--date", "issued", type=click.DateTime(["%Y-%m-%d"]),
              help="Date of issue of the statement (default: today).")
@click.option("--out", type=FOLDER, required=True, help="A new folder for the pack.")
def evidence(batch_id: str, registry_url: str, logs: tuple[Path, ...], key_ref: str | None,
             profile_path: Path, station_key: Path, issued: dt.datetime | None,
             out: Path) -> None:
    """Gather a finished batch's evidence pack for an assessor, with a signed MANIFEST.

    Statement, batch report, batch check verdict, the signed provenance checkpoint, the
    stations' public keys, the EN 303 645 rows for 5.1-1/5.1-2 and the TS 103 701 IXIT
    1-AuthMech text. Needs the log holding the checkpoint (--log).

    \b
    Example:
      credline report evidence --batch B1 --registry sqlite:///factory.db \\
          --log provenance.jsonl --profile factory/profiles/acme-cam.toml \\
          --station-key station.key --out evidence-B1/
    """
    from credline.report.evidence import write_pack
    from credline.report.pack import pack_files
    from credline.station.identity import load_station_key

    profile = load_profile(profile_path)
    compliance_of(profile).require()
    if not logs:
        raise BadInput("--log is required: the pack holds the batch's signed checkpoint")
    signer, private = load_station_key(station_key)
    facts = facts_for(registry_url, batch_id, profile_path, logs, key_ref)
    day = issued.date() if issued else dt.date.today()
    files = pack_files(profile, facts, day, signer)
    write_pack(out, files, signer, private, batch_id)
    click.echo(f"evidence pack for batch {batch_id}: {len(files)} files and a MANIFEST "
               f"signed by station {signer} in {out}")


@report.command("verify-evidence")
@click.argument("folder", type=FOLDER)
@click.option("--registry", "registry_url", metavar="URL",
              help="Also check that the signer is a station enrolled under that key.")
def verify_evidence(folder: Path, registry_url: str | None) -> None:
    """Check an evidence pack: the MANIFEST's signature and every file's SHA-256.

    Exit 0 when every file is as signed, 1 when any file was changed, added or removed.

    \b
    Example:
      credline report verify-evidence evidence-B1/ --registry sqlite:///factory.db
    """
    from credline.report.evidence import verify_pack

    keys = None
    if registry_url is not None:
        from credline.registry import open_registry

        with open_registry(registry_url, create=False) as registry:
            keys = registry.station_keys()
    result = verify_pack(folder, keys)
    who = "enrolled station" if keys is not None else "station (key not checked against a " \
        "registry)"
    click.echo(f"evidence pack {folder}: intact, batch {result.batch_id}, {result.files} "
               f"files, signed by {who} {result.signer}")


COMMANDS = [report]
