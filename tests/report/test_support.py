"""``credline report support`` and ``report products``: plain-English pages that pass axe-core
in headless Chromium with no serious violation, an index searchable by make and model, and
the BSIA tracking columns from the registry."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from credline.core.compliance import SUPPORT_ITEMS
from tests.conftest import CliResult
from tests.report.conftest import DEMO_PROFILE, DemoBatch, axe_violations, screenshot
from tests.report.pictures import ink

Cli = Callable[..., CliResult]
PROFILES = DEMO_PROFILE.parent
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from credline.cli import main

    out = tmp_path_factory.mktemp("site") / "site"
    with pytest.raises(SystemExit) as done:
        main(["report", "support", "--profile", str(DEMO_PROFILE), "--profile",
              str(PROFILES / "acme-cam.toml"), "--profile", str(PROFILES / "acme-router.toml"),
              "--out", str(out)])
    assert done.value.code in (0, None)
    return out


def test_one_plain_english_page_per_product_and_an_index(site: Path) -> None:
    assert sorted(p.name for p in site.iterdir()) == [
        "acme-cam.html", "acme-router.html", "demo-device.html", "index.html"]
    page = (site / "acme-router.html").read_text()
    for words in ("Security support for the Acme R7", "Until at least <strong>30 June 2032",
                  "never earlier", 'href="https://acme.example.com/security"',
                  "within 5 days", "at least every 30 days until the problem is resolved",
                  "without signing in or giving any personal details"):
        assert words in page, words
    index = (site / "index.html").read_text()
    assert '<label for="q">Search by make or model</label>' in index
    assert 'data-search="acme r7 ar-r7-2024 acme-router"' in index


@pytest.mark.parametrize("name", ["index.html", "demo-device.html", "acme-cam.html"])
def test_pages_pass_axe_core_with_no_serious_violation(site: Path, axe_js: Path,
                                                       name: str) -> None:
    violations = axe_violations(site / name, axe_js)
    assert [v for v in violations if v["impact"] in SERIOUS] == []


def test_axe_core_finds_what_a_careless_page_gets_wrong(tmp_path: Path, axe_js: Path) -> None:
    """The check above can fail: a page with no language, an image with no text alternative
    and an unlabelled input has serious violations."""
    page = tmp_path / "careless.html"
    page.write_text("<!DOCTYPE html><html><head><title>x</title></head><body>"
                    '<img src="x.png"><input type="text"></body></html>')
    found = {v["id"] for v in axe_violations(page, axe_js) if v["impact"] in SERIOUS}
    assert {"image-alt", "label"} <= found


def test_the_index_renders_and_its_search_runs_without_error(site: Path) -> None:
    png, console = screenshot(site / "index.html", site.parent / "index.png", "900,700")
    assert console == [] and ink(png) > 0.01


def test_a_profile_missing_a_support_item_writes_no_page(cli: Cli, tmp_path: Path) -> None:
    for words, section, key in SUPPORT_ITEMS:
        text = "\n".join(line for line in DEMO_PROFILE.read_text().splitlines()
                         if not line.startswith(f"{key} ="))
        profile = tmp_path / "p.toml"
        profile.write_text(text.replace("../labels/", f"{PROFILES.parent / 'labels'}/"))
        out = tmp_path / "site"
        result = cli("report", "support", "--profile", str(PROFILES / "acme-cam.toml"),
                     "--profile", str(profile), "--out", str(out))
        assert result.exit_code == 2, (key, result.output)
        assert f"the support page needs {words} ([{section}] {key})" in result.stderr
        assert not out.exists()
    result = cli("report", "support", "--profile", str(DEMO_PROFILE), "--profile",
                 str(DEMO_PROFILE), "--out", str(tmp_path / "site"))
    assert result.exit_code == 2 and "both profiles of product 'demo-device'" in result.stderr


def test_products_csv_has_the_bsia_columns(cli: Cli, demo_batch: DemoBatch,
                                           tmp_path: Path) -> None:
    out = tmp_path / "products.csv"
    result = cli("report", "products", "--registry", demo_batch.url, "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows == [{
        "Make": "credline DEMO", "Model": "Virtual device", "Model number": "DEMO-VD1",
        "Product category": "DEMO (not a product)", "Batch number": "DEMO-batch-1",
        "Support period start": "2026-01-01", "Support period end": "2030-12-31",
        "Contact information for support": "https://security.example.com/report",
        "Documentation link": "https://example.com/demo-device/support",
        "Firmware version": "", "Date placed on the UK market": "",
        "Statement of compliance kept at": "", "Notes": ""}]
    result = cli("report", "products", "--registry", demo_batch.url, "--out",
                 str(tmp_path / "p.xlsx"))
    assert result.exit_code == 2 and "ending in .csv" in result.stderr


def test_the_index_search_finds_a_product_by_make_and_model(site: Path) -> None:
    """Typing "acme r7" leaves only the R7 row showing (the page's own script, in Chromium)."""
    from tests.report.conftest import chromium

    typing = ("<script>var q = document.getElementById('q'); q.value = 'acme r7';"
              "q.dispatchEvent(new Event('input'));</script>")
    probe = site.parent / "search-probe"
    probe.mkdir(exist_ok=True)
    page = probe / "index.html"
    page.write_text((site / "index.html").read_text().replace("</body>", typing + "</body>"))
    dom = chromium("--dump-dom", url=page).stdout
    assert '<p id="count" aria-live="polite">1 of 3 products</p>' in dom
    shown = [row for row in dom.split("<tr ")[1:] if " hidden" not in row.split(">")[0]]
    assert len(shown) == 1 and 'href="acme-router.html"' in shown[0]
