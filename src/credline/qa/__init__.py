"""Batch QA: the rules ``credline batch check`` runs, and the report they produce.

Never prints or reports a password: violations carry serials and a description of the
pattern found. See docs/qa-guide.md for what each rule means in terms of the regulation.
"""

from credline.qa.batch import Batch, read_batch
from credline.qa.check import check_batch, check_file, default_profile, read_public_values
from credline.qa.report import RULES, Report, Violation

__all__ = ["RULES", "Batch", "Report", "Violation", "check_batch", "check_file",
           "default_profile", "read_batch", "read_public_values"]
