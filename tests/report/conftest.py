"""Fixtures of the report tests: one real demo batch (the station over virtual devices),
headless Chromium, and axe-core fetched from the npm registry into a temporary folder."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from credline.station.demo import DEMO_PASSPHRASE, run_demo

REPO = Path(__file__).resolve().parents[2]
DEMO_PROFILE = REPO / "factory" / "profiles" / "demo-device.toml"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CONSOLE = re.compile(r":CONSOLE[:(]")


@dataclass(frozen=True)
class DemoBatch:
    root: Path
    url: str
    log: Path
    key: Path
    station_key: Path
    batch: str = "DEMO-batch-1"


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoBatch]:
    """A finished demo batch of 16 devices: what `credline demo` leaves behind."""
    root = tmp_path_factory.mktemp("demo") / "work"
    saved = os.environ.get("CREDLINE_STATION_PASSPHRASE")
    try:
        run_demo(16, root, stream=io.StringIO(), plain=True)
    finally:
        if saved is None:
            os.environ.pop("CREDLINE_STATION_PASSPHRASE", None)
        else:
            os.environ["CREDLINE_STATION_PASSPHRASE"] = saved
    yield DemoBatch(root, f"sqlite:///{root / 'registry.db'}", root / "provenance.jsonl",
                    root / "DEMO-master.key", root / "DEMO-station.key")


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's (public) passphrase for its key and station key."""
    monkeypatch.setenv("CREDLINE_PASSPHRASE", DEMO_PASSPHRASE)
    monkeypatch.setenv("CREDLINE_STATION_PASSPHRASE", DEMO_PASSPHRASE)


def chromium(*args: str, url: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on a local file, its console written to stderr."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: install the Debian package 'chromium' "
                    "(the Makefile's APT_PKGS)")
    return subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={url.parent / '.chromium-profile'}", *args, url.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)


def console_lines(stderr: str) -> list[str]:
    """What the page wrote to the console (messages, errors, failed loads)."""
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]


def screenshot(page: Path, out: Path, size: str = "1000,1400") -> tuple[Path, list[str]]:
    done = chromium(f"--screenshot={out}", f"--window-size={size}", "--hide-scrollbars",
                    url=page)
    assert out.exists(), done.stderr[-2000:]
    return out, console_lines(done.stderr)


@pytest.fixture(scope="session")
def axe_js(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """axe-core's axe.min.js, installed with npm into a temporary folder for this run."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: the accessibility check installs axe-core with it")
    folder = tmp_path_factory.mktemp("axe")
    done = subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund",
                           "--prefix", str(folder), "axe-core@4"], capture_output=True,
                          text=True, timeout=300, check=False)
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    assert done.returncode == 0 and script.exists(), done.stderr[-2000:]
    return script


PROBE = """<script src="axe.min.js"></script><script>
axe.run(document).then(function (r) {
  var out = document.createElement('pre'); out.id = 'axe-result';
  out.textContent = JSON.stringify(r.violations.map(function (v) {
    return {id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help}; }));
  document.body.appendChild(out);
});</script>"""


def axe_violations(page: Path, axe: Path) -> list[dict[str, object]]:
    """axe-core's violations for ``page``, run in headless Chromium on a copy of it (the
    probe script is added to the copy only; the page itself is what axe examines)."""
    probe_dir = page.parent / ".axe"
    probe_dir.mkdir(exist_ok=True)
    shutil.copy(axe, probe_dir / "axe.min.js")
    copy = probe_dir / page.name
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    done = chromium("--virtual-time-budget=15000", "--dump-dom",
                    "--allow-file-access-from-files", url=copy)
    found = re.search(r'<pre id="axe-result">(.*?)</pre>', done.stdout, re.S)
    assert found, f"axe did not report for {page.name}: {done.stderr[-1500:]}"
    shutil.rmtree(probe_dir)
    result: list[dict[str, object]] = json.loads(found.group(1).replace("&quot;", '"')
                                                 .replace("&amp;", "&").replace("&lt;", "<")
                                                 .replace("&gt;", ">"))
    return result
