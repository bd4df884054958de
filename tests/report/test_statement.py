"""``credline report statement``: every Schedule 4 item in a real PDF (read back with
pdftotext and rendered with pdftoppm) and in Markdown; each missing item an error naming it,
with nothing written."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from credline.core.compliance import ITEMS
from tests.conftest import CliResult
from tests.report.conftest import DEMO_PROFILE, DemoBatch
from tests.report.pictures import ink, pdf_pages, pdf_text

Cli = Callable[..., CliResult]


def statement(cli: Cli, demo: DemoBatch, out: Path, profile: Path = DEMO_PROFILE,
              *extra: str) -> CliResult:
    return cli("report", "statement", "--batch", demo.batch, "--registry", demo.url,
               "--profile", str(profile), "--date", "2026-11-30", "--out", str(out), *extra)


def test_after_the_demo_the_statement_holds_every_schedule_4_item(
        cli: Cli, tmp_path: Path, demo_env: None) -> None:
    # demo_env: the demo sets the station passphrase in the environment; this puts it back.
    work = tmp_path / "demo"
    assert cli("demo", "--count", "4", "--workdir", str(work), "--plain").exit_code == 0
    out = tmp_path / "statement.pdf"
    demo = DemoBatch(work, f"sqlite:///{work / 'registry.db'}", work / "provenance.jsonl",
                     work / "DEMO-master.key", work / "DEMO-station.key")
    result = statement(cli, demo, out)
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    for words in ("Statement of compliance", "Product type DEMO virtual device",
                  "Batch DEMO-batch-1", "Manufacturer credline DEMO",
                  "1 Example Street, Exampleton", "Authorised representative none",
                  "prepared by or on behalf of the manufacturer",
                  "deemed to comply with the security requirements in Schedule 1",
                  "ETSI EN 303 645 V2.1.1 (2020-06) provisions 5.1-1, 5.1-2, 5.2-1",
                  "The defined support period ends on 2030-12-31",
                  "Signed for and on behalf of credline DEMO", "Name: A. Demo",
                  "Function: DEMO compliance officer", "Place of issue: Exampleton",
                  "Date of issue: 30 November 2026", "credline-v1", "locked 4 (of 4)",
                  "PASS"):
        assert words in text, words
    pages = pdf_pages(out, tmp_path)
    assert len(pages) >= 1 and all(ink(page) > 0.01 for page in pages)


def test_the_statement_records_the_batch_evidence(cli: Cli, demo_batch: DemoBatch,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "statement.md"
    assert statement(cli, demo_batch, out).exit_code == 0
    text = out.read_text()
    key_id = re.search(r"Master key id\(s\) \| ([0-9a-f]{16})", text)
    assert key_id is not None
    assert "| Devices by state | locked 16 (of 16) |" in text
    assert re.search(r"sealed the batch after entry \d+ of its log, head hash [0-9a-f]{64}",
                     text)
    assert "| Batch check verdict | PASS: no rule fired (16 devices checked" in text
    assert "Signature: ______" in text


@pytest.mark.parametrize(("words", "section", "key"), ITEMS, ids=[i[2] for i in ITEMS])
def test_each_missing_item_is_named_and_nothing_is_written(
        cli: Cli, demo_batch: DemoBatch, tmp_path: Path, words: str, section: str,
        key: str) -> None:
    text = DEMO_PROFILE.read_text()
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    assert len(lines) == len(text.splitlines()) - 1, f"the demo profile has no {key}"
    profile = tmp_path / "profile.toml"
    profile.write_text("\n".join(lines).replace("../labels/", str(DEMO_PROFILE.parent.parent
                                                                  / "labels") + "/") + "\n")
    for out in (tmp_path / "statement.pdf", tmp_path / "statement.md"):
        result = statement(cli, demo_batch, out, profile)
        assert result.exit_code == 2, result.output
        assert f"{words} ([{section}] {key})" in result.stderr
        assert "nothing was written" in result.stderr
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile.toml"]


def test_an_open_batch_or_another_products_profile_is_refused(
        cli: Cli, demo_batch: DemoBatch, tmp_path: Path) -> None:
    out = tmp_path / "s.pdf"
    other = DEMO_PROFILE.parent / "acme-cam.toml"
    result = statement(cli, demo_batch, out, other)
    assert result.exit_code == 2
    assert "is the profile of 'acme-cam', but batch 'DEMO-batch-1' is of product " \
        "'demo-device'" in result.stderr
    result = cli("report", "statement", "--batch", "NOPE", "--registry", demo_batch.url,
                 "--profile", str(DEMO_PROFILE), "--out", str(out))
    assert result.exit_code == 2 and "batch 'NOPE' is not in registry" in result.stderr
    result = statement(cli, demo_batch, tmp_path / "s.docx")
    assert result.exit_code == 2 and "ending in .pdf or .md" in result.stderr
    assert not out.exists()


def test_a_batch_still_open_gets_no_statement(cli: Cli, tmp_path: Path) -> None:
    from credline.registry import open_registry

    url = f"sqlite:///{tmp_path / 'r.db'}"
    with open_registry(url) as registry:
        registry.open_batch("B1", "demo-device", "e98c6960947e8461", "p.toml", "st1")
    out = tmp_path / "statement.pdf"
    result = cli("report", "statement", "--batch", "B1", "--registry", url, "--profile",
                 str(DEMO_PROFILE), "--out", str(out))
    assert result.exit_code == 2
    assert "batch 'B1' is still open: a statement covers a finished batch" in result.stderr
    assert not out.exists()
