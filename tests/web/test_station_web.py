"""The station's screen in a browser: ``credline station run --web 127.0.0.1:0`` provisions
virtual devices while headless Chromium watches the page: a tile per port with a big PASS or
FAIL, the counts, the failures, the tiles changing as devices are swapped, and the end. Also:
device-sent text stays text, the server binds only where told, the page loads nothing from
elsewhere."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credline.core.errors import BadInput, EnvironmentFailed
from credline.station.events import BatchEvent, BatchModel, Phase, PortEvent
from credline.transport.virtual import build
from credline.web.server import LiveServer
from tests.conftest import CliResult, credline_command, subprocess_env
from tests.station.line import PROFILE, Line
from tests.web.cdp import Browser

TILES = ("[...document.querySelectorAll('.tile')].map(t => [t.dataset.port, t.className, "
         "t.querySelector('.serial').textContent])")


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    build()


class Process:
    """A CLI subprocess whose stdout lines are collected as they come."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=subprocess_env())
        self.lines: list[str] = []
        self.first = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self.first.set()

    def url(self, prefix: str) -> str:
        assert self.first.wait(60), "the command printed nothing"
        line = self.lines[0]
        assert line.startswith(prefix), self.lines
        return line.split(" on ", 1)[1].split()[0]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        return code


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Line]:
    started = Line(tmp_path / "line", ports=2, rounds=2, silent=1).start()
    try:
        yield started
    finally:
        started.close()


def test_browser_tiles_follow_a_live_station(station_env: dict[str, Path], line: Line,
                                             browser: Browser) -> None:
    root = station_env["root"]
    order = root / "order.txt"
    order.write_text("".join(s + "\n" for s in line.serials))
    station = Process([*credline_command(), "station", "run", "--profile", str(PROFILE),
                       "--key", str(station_env["key"]), "--batch", "B-WEB",
                       "--serials", str(order), "--ports-from", str(line.root / "ports" / "*"),
                       "--registry", f"sqlite:///{station_env['db']}",
                       "--log", str(root / "log.jsonl"),
                       "--station-key", str(root / "station.key"),
                       "--labels", str(root / "labels"), "--web", "127.0.0.1:0"])
    try:
        url = station.url("live view on http://127.0.0.1:")
        browser.open(url)
        first = browser.wait_for(
            f"(() => {{ const t = {TILES}; return t.filter(x => x[1].includes('pass')).length"
            " == 2 && t.some(x => x[1].includes('fail')) && t; })()",
            "two PASS tiles and a FAIL")
        passed_serials = sorted(serial for _, cls, serial in first if "pass" in cls)
        assert passed_serials == ["T000", "T001"]
        text = browser.js("document.body.innerText")
        assert "2 passed, 1 failed, 2 left" in text
        assert "plug in the next device" in text and "check the cable" in text
        assert browser.js("document.querySelectorAll('#failures li').length") == 1
        line.swap_all()  # the operator takes both off and plugs the next two in
        browser.wait_for("document.body.innerText.includes('4 passed, 1 failed, 0 left')",
                         "the second round")
        after = browser.js(TILES)
        assert sorted(s for _, cls, s in after if "pass" in cls) == ["T002", "T003"]
        end = browser.wait_for("!document.getElementById('end').hidden && "
                               "document.getElementById('end').innerText", "the end")
        assert "BATCH CLOSED" in end and "B-WEB-labels.pdf" in end
        assert int(browser.js("document.body.dataset.updates")) >= 3  # it was live
        errors = [m for m in browser.console if m["method"] == "Runtime.exceptionThrown"]
        assert errors == []
        assert station.proc.wait(timeout=60) == 1  # a board failed: the run says so
    finally:
        station.stop()


HOSTILE = '<img src=x onerror="document.title=\'owned\'"><script>document.title="owned"</script>'


def test_device_text_is_shown_as_text_never_as_html(browser: Browser) -> None:
    model = BatchModel("B-1")
    model.apply(BatchEvent("started", total=2, at=0.0))
    model.apply(PortEvent(f"/dev/{HOSTILE}", Phase.FAIL, HOSTILE, HOSTILE))
    with LiveServer("127.0.0.1:0", model.state, view="station",
                    title=f"batch {HOSTILE}") as server:
        browser.open(server.url)
        browser.wait_for("document.querySelectorAll('.tile.fail').length == 1", "the tile")
        assert browser.js("document.querySelectorAll('img, script:not([src])').length") == 0
        assert browser.js("document.title") == f"batch {HOSTILE}"
        assert HOSTILE in browser.js("document.querySelector('.tile .serial').textContent")
        with urllib.request.urlopen(server.url) as reply:  # noqa: S310 - http://127.0.0.1
            page = reply.read().decode()
            csp = reply.headers["Content-Security-Policy"]
        assert "<img" not in page and "&lt;img" in page
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "http" not in page.replace(server.url, "")  # nothing fetched from elsewhere
        with urllib.request.urlopen(server.url + "state") as reply:  # noqa: S310
            assert json.loads(reply.read())["ports"][0]["serial"] == HOSTILE


def test_the_server_binds_only_where_told() -> None:
    with LiveServer("127.0.0.1:0", dict, view="cell", title="t") as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server._httpd.server_address[0] == "127.0.0.1"
        taken = server.url.rsplit(":", 1)[1].rstrip("/")
        with pytest.raises(EnvironmentFailed, match=f"127.0.0.1:{taken}: cannot listen"):
            LiveServer(f"127.0.0.1:{taken}", dict, view="cell", title="t")
    for bad in ("8080", "localhost", "127.0.0.1:http", "127.0.0.1:70000", ":80"):
        with pytest.raises(BadInput, match="expected HOST:PORT"):
            LiveServer(bad, dict, view="cell", title="t")


def test_a_bad_web_address_opens_no_batch(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    result = cli("station", "run", "--profile", str(PROFILE), "--key", str(tmp_path / "k"),
                 "--batch", "B1", "--port", "/dev/null", "--registry", f"sqlite:///{db}",
                 "--log", str(tmp_path / "log.jsonl"), "--web", "localhost")
    assert result.exit_code == 2, result.output
    assert "--web 'localhost': expected HOST:PORT" in result.stderr
    assert not db.exists() and not (tmp_path / "log.jsonl").exists()
