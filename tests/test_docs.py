"""The docs stay true: every test a document cites exists, and every user has a guide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
CITATION = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_cited_test_exists(doc: Path) -> None:
    for path, name in CITATION.findall(doc.read_text()):
        source = ROOT / path
        assert source.exists(), f"{doc.name} cites missing file {path}"
        assert re.search(rf"^(async )?def {name}\(", source.read_text(), re.M), (
            f"{doc.name} cites {path}::{name}, which does not exist")


def test_compliance_mapping_cites_a_test_for_every_clause() -> None:
    text = (ROOT / "docs" / "compliance.md").read_text()
    for clause in ("1(2)", "1(3)(a)", "1(3)(b)", "1(3)(c)", "1(3)(d)", "5.1-1", "5.1-2",
                   "2(2)", "3(2)", "3(6)", "Sch. 4"):
        section = text.split(f"| {clause}", 1)
        assert len(section) == 2, f"compliance.md has no row for {clause}"
        row = section[1].split("\n", 1)[0]
        assert CITATION.search(row), f"the row for {clause} cites no test"


def test_each_kind_of_user_has_a_guide() -> None:
    names = {d.name for d in DOCS}
    assert {"derivation.md", "compliance.md", "threat-model.md", "qa-guide.md",
            "keystores.md"} <= names
