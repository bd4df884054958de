"""The operator's screen in a real terminal: ``credline station run`` in a tmux pane at 80
and 200 columns provisions virtual devices while the test reads the pane (capture-pane) as an
operator would: the counts always on screen, a big PASS per port that stays until the next
device, "plug in the next device", and at the end "BATCH CLOSED" and the label sheet."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credline.station.screen import big
from credline.transport.virtual import build
from tests.station.line import Line, shell_env, station_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux")
WAIT = 90.0  # generous: a loaded machine; the test waits for what it reads, never times it
PASS_ROW = big("PASS")[0].rstrip()
FAIL_ROW = big("FAIL")[0].rstrip()


class Pane:
    def __init__(self, socket: Path, width: int) -> None:
        self.socket, self.width = socket, width
        self.seen: list[str] = []

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-u", "-S", str(self.socket), *args], check=True,
                              capture_output=True, text=True, timeout=30).stdout

    def start(self, argv: list[str]) -> None:
        command = f"{shell_env()} {shlex.join(argv)}; echo credline-exit=$?; sleep 600"
        self.tmux("new-session", "-d", "-s", "station", "-x", str(self.width), "-y", "40",
                  command)

    def capture(self) -> str:
        text = self.tmux("capture-pane", "-p", "-t", "station")
        self.seen.append(text)
        return text

    def wait_for(self, what: Callable[[str], bool], why: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            text = self.capture()
            if what(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"never saw {why}; last screen:\n{self.seen[-1]}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True,
                       timeout=30)


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    build()


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Line]:
    started = Line(tmp_path / "line", ports=2, rounds=2, silent=1).start()
    try:
        yield started
    finally:
        started.close()


def _dead_board_explained(screen: str) -> bool:
    """The dead board's failure, in plain words, with what to do about it."""
    flat = " ".join(screen.split())
    return "…/port2" in screen and "did not answer" in flat and "check the cable" in flat


@pytest.mark.parametrize("width", [80, 200])
def test_an_operator_runs_a_batch_from_the_terminal(
        width: int, tmp_path: Path, station_env: dict[str, Path], line: Line) -> None:
    pane = Pane(tmp_path / "tmux.sock", width)
    try:
        pane.start(station_command(station_env, line, "B-TTY"))
        counts = "passed   "
        # All of it on one screen. Read by polling, as a person glancing at it would: a
        # capture can fall in the middle of a redraw (the big letters drawn, the line under
        # them not yet), so the test waits for the whole screen rather than judging the
        # first capture that shows the tiles.
        pane.wait_for(lambda t: t.count(PASS_ROW) == 2 and FAIL_ROW in t
                      and "2 passed   1 failed   2 left" in t
                      and "plug in the next device" in t and _dead_board_explained(t),
                      "two big PASS tiles saying 'plug in the next device', and a FAIL "
                      "saying what happened to the dead board and what to do")
        # The result stays while the device is still plugged in: read again, still there.
        again = pane.capture()
        assert again.count(PASS_ROW) == 2 and FAIL_ROW in again
        line.swap_all()
        final = pane.wait_for(lambda t: "credline-exit=" in t, "the run end")
        assert "credline-exit=1" in final  # a device failed: the run says so
        assert "4 passed   1 failed   0 left" in final
        assert "BATCH CLOSED" in final
        sheet = station_env["root"] / "labels" / "B-TTY-labels.pdf"
        assert sheet.exists()
        assert str(sheet) in final.replace("\n", "") or sheet.name in final
        # The counts line was on every screen the station drew, a progress bar or not.
        drawn = [s for s in pane.seen if "credline station" in s]
        assert drawn and all(counts in s for s in drawn)
        assert all(max(len(row) for row in s.splitlines()) <= width for s in pane.seen)
    finally:
        pane.close()
