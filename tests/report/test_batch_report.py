"""``credline report batch``: an offline HTML page rendered in headless Chromium with no
console message and a non-blank screenshot, and a PDF rendered with pdftoppm and read back;
the character distribution and its chi-square test from the re-derived passwords."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from credline.registry import open_registry
from tests.conftest import CliResult
from tests.report.conftest import DEMO_PROFILE, DemoBatch, screenshot
from tests.report.pictures import colours, ink, pdf_pages, pdf_text

Cli = Callable[..., CliResult]


def report(cli: Cli, demo: DemoBatch, out: Path, *extra: str) -> CliResult:
    return cli("report", "batch", "--batch", demo.batch, "--registry", demo.url,
               "--log", str(demo.log), "--out", str(out), *extra)


def test_the_html_report_opens_offline_with_no_console_message(
        cli: Cli, demo_batch: DemoBatch, demo_env: None, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = report(cli, demo_batch, out, "--key", str(demo_batch.key), "--profile",
                    str(DEMO_PROFILE))
    assert result.exit_code == 0, result.output
    html = out.read_text()
    # Self-contained: nothing is fetched from anywhere (no src, no stylesheet link).
    assert not re.search(r"\ssrc=|<link|@import|url\(", html)
    assert html.count("<svg") == 5
    for words in ("Devices by state", "Failures by reason", "Devices finished over time",
                  "Median seconds per device, by port", "Characters by position",
                  "chi-square", "16 devices finished in"):
        assert words in html, words
    png, console = screenshot(out, tmp_path / "report.png", "1000,3000")
    assert console == []
    assert ink(png) > 0.02 and colours(png) > 20


def test_the_console_check_sees_a_failing_page(tmp_path: Path) -> None:
    """The check above would catch a page that logs or fails to load something."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><title>x</title></head><body>'
                    "<p>x</p><script>console.error('broken'); missing();</script>"
                    "</body></html>")
    _, console = screenshot(page, tmp_path / "bad.png", "400,300")
    assert any("broken" in line for line in console)
    assert any("missing is not defined" in line for line in console)


def test_the_pdf_report_renders_its_plots(cli: Cli, demo_batch: DemoBatch, demo_env: None,
                                          tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = report(cli, demo_batch, out, "--key", str(demo_batch.key), "--profile",
                    str(DEMO_PROFILE))
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    for words in ("Batch report: DEMO-batch-1", "Devices by state", "locked 16",
                  "No device failed", "devices per hour", "Timings per port",
                  "Characters by position", "needs at least 160 passwords",
                  "PASS: no rule fired (16 devices checked; every batch check rule"):
        assert words in text, words
    pages = pdf_pages(out, tmp_path)
    assert len(pages) >= 2
    assert all(ink(page) > 0.01 for page in pages)
    assert max(colours(page) for page in pages) > 20  # the plots' blues, not just text


def test_without_the_key_the_verdict_rests_on_fingerprints(
        cli: Cli, demo_batch: DemoBatch, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert report(cli, demo_batch, out).exit_code == 0
    html = out.read_text()
    assert "fingerprints only" in html and "Run again with --key" in html


def test_a_wrong_key_or_a_missing_profile_is_refused(cli: Cli, demo_batch: DemoBatch,
                                                     key_file: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = report(cli, demo_batch, out, "--key", str(key_file))
    assert result.exit_code == 2 and "--key needs --profile" in result.stderr
    result = report(cli, demo_batch, out, "--key", str(key_file), "--profile",
                    str(DEMO_PROFILE))
    assert result.exit_code == 2
    assert re.search(r"the key given has id [0-9a-f]{16}; batch 'DEMO-batch-1' was made "
                     r"with [0-9a-f]{16}", result.stderr)
    assert not out.exists()


def test_a_fingerprint_that_is_not_the_keyed_derivation_fails_the_batch(
        cli: Cli, demo_batch: DemoBatch, demo_env: None, tmp_path: Path) -> None:
    """With the key, each registered fingerprint is checked against the password the
    derivation gives: a row whose password came from anywhere else fails (exit 1)."""
    copy = tmp_path / "registry.db"
    copy.write_bytes((demo_batch.root / "registry.db").read_bytes())
    url = f"sqlite:///{copy}"
    # An edited row, as a forger would leave it.
    with open_registry(url, create=False) as registry, registry._tx() as conn:
        conn.exec_driver_sql("UPDATE devices SET fingerprint = '" + "ab" * 32 +
                             "' WHERE serial = 'DEMO-00003'")
    out = tmp_path / "report.html"
    result = cli("report", "batch", "--batch", demo_batch.batch, "--registry", url,
                 "--key", str(demo_batch.key), "--profile", str(DEMO_PROFILE), "--out",
                 str(out))
    assert result.exit_code == 1, result.output
    assert "FAIL" in out.read_text() and "DEMO-00003" in out.read_text()
