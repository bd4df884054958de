"""What goes into a batch's evidence pack, built in memory from the profile and the facts
(:mod:`credline.report.evidence` signs and writes it). Pure."""

from __future__ import annotations

import datetime as dt
import json

from credline.core.compliance import compliance_of
from credline.core.errors import BadInput
from credline.core.policy import Profile
from credline.report.batch import build_batch_report
from credline.report.conformance import ics_rows, ixit_auth_mech
from credline.report.evidence import checkpoint_file, stations_file
from credline.report.facts import BatchFacts
from credline.report.html import to_html
from credline.report.markdown import to_markdown
from credline.report.pdf import to_pdf
from credline.report.statement import build_statement

README = """credline evidence pack for batch {batch} of product {product}

statement.pdf / statement.md   the statement of compliance (UK PSTI Schedule 4)
batch-report.html / .pdf       devices, failures, rate, timings, character distribution
batch-check.json               the batch check verdict ({basis})
checkpoint.jsonl               the signed provenance checkpoint that sealed the batch
stations.json                  every station's Ed25519 public key (hex), from the registry
ics-en-303-645-5.1.md          ETSI EN 303 645 conformance rows, provisions 5.1-1 and 5.1-2
ixit-1-AuthMech.md             ETSI TS 103 701 IXIT 1-AuthMech: the password mechanism
MANIFEST, MANIFEST.sig         SHA-256 of every file, signed by station {signer}

Check it: credline report verify-evidence THIS-FOLDER [--registry URL]
"""


def pack_files(profile: Profile, facts: BatchFacts, issued: dt.date,
               signer: str) -> dict[str, bytes]:
    """Every file of the pack; BadInput (nothing written) if the batch is not finished or
    its checkpoint is not in the logs given."""
    compliance = compliance_of(profile)
    statement = build_statement(facts, compliance, issued)
    if facts.checkpoint is None:
        raise BadInput(f"batch {facts.batch_id!r}: its signed checkpoint is in none of the "
                       "logs given; give the log of the station that closed it "
                       f"({facts.batch.get('closed_by')}) with --log")
    report = build_batch_report(facts)
    return {
        "README.txt": README.format(batch=facts.batch_id, product=facts.product,
                                    basis=facts.verdict_basis, signer=signer).encode(),
        "statement.pdf": to_pdf(statement),
        "statement.md": to_markdown(statement).encode(),
        "batch-report.html": to_html(report).encode(),
        "batch-report.pdf": to_pdf(report),
        "batch-check.json": (json.dumps(facts.verdict_json(), indent=2) + "\n").encode(),
        "checkpoint.jsonl": checkpoint_file(facts.checkpoint.entry),
        "stations.json": stations_file(facts.station_keys),
        "ics-en-303-645-5.1.md": ics_rows(profile, facts).encode(),
        "ixit-1-AuthMech.md": ixit_auth_mech(profile, facts).encode(),
    }
