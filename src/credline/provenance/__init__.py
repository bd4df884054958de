"""Provenance: the signed, hash-chained log every station keeps, and the audit that reads it.

:mod:`~credline.provenance.log` writes a log (and never judges one);
:mod:`~credline.provenance.audit` verifies the logs of a cell and replays them against the
registry (:mod:`~credline.provenance.chain`, :mod:`~credline.provenance.replay` and
:mod:`~credline.provenance.compare` are its parts). Neither ever sees a password or key.
"""

from __future__ import annotations

from credline.core.errors import ProvenanceError
from credline.provenance.audit import AuditReport, Finding, collect_logs, verify_cell, verify_log
from credline.provenance.log import (
    FORBIDDEN_FIELDS,
    GENESIS,
    ProvenanceLog,
    canonical,
    check_log_head,
    line_hash,
    line_hash_of,
    public_bytes,
)

__all__ = ["FORBIDDEN_FIELDS", "GENESIS", "AuditReport", "Finding", "ProvenanceError",
           "ProvenanceLog", "canonical", "check_log_head", "collect_logs", "line_hash",
           "line_hash_of", "public_bytes", "verify_cell", "verify_log"]
