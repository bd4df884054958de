"""The operator screen, fed events without a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from credline.station.events import BatchEvent, BatchModel, Phase, PortEvent
from credline.station.screen import LiveScreen, PlainScreen, open_screen, summary_line


def feed(screen: PlainScreen | LiveScreen) -> None:
    screen(BatchEvent("started", "batch B-1 started", total=3, done_before=1, at=0.0))
    screen(PortEvent("/dev/ttyUSB0", Phase.HELLO, at=1.0))
    screen(PortEvent("/dev/ttyUSB0", Phase.WRITING, "SN1", at=2.0))
    screen(PortEvent("/dev/ttyUSB0", Phase.PASS, "SN1", at=3.0))
    screen(PortEvent("/dev/ttyUSB1", Phase.FAIL, "SN2",
                     "device did not answer: check the cable", at=4.0))


def test_model_counts_and_rate() -> None:
    model = BatchModel("B-1")
    model.apply(BatchEvent("started", total=10, done_before=2, at=100.0))
    for i in range(4):
        model.apply(PortEvent(f"p{i % 2}", Phase.PASS, f"S{i}", at=101.0))
    model.apply(PortEvent("p1", Phase.FAIL, "S9", "no answer", at=102.0))
    assert (model.passed, model.failed, model.remaining) == (4, 1, 4)
    assert model.rate_per_hour(now=100.0 + 3600.0) == 4.0
    assert model.rate_per_hour(now=100.5) == 28800.0  # a fast batch has a rate too
    assert BatchModel("B-2").rate_per_hour(now=5.0) == 0.0  # nothing started, nothing passed
    rows = model.snapshot()
    assert [(r.port, r.phase, r.passed, r.failed) for r in rows] == [
        ("p0", Phase.PASS, 2, 0), ("p1", Phase.FAIL, 2, 1)]
    assert "4 passed, 1 failed, 2 done in earlier runs, 4 left, 4/hour" in summary_line(
        model, now=3700.0)


def test_plain_screen_prints_results_in_plain_words() -> None:
    out = io.StringIO()
    screen = open_screen("B-1", out)  # a StringIO is not a terminal: plain lines
    assert isinstance(screen, PlainScreen)
    feed(screen)  # type: ignore[arg-type]
    screen(BatchEvent("finished", "all done"))
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("batch B-1 started")
    assert lines[2].endswith("/dev/ttyUSB0 PASS SN1")
    assert lines[3].endswith("/dev/ttyUSB1 FAIL SN2: device did not answer: check the cable")
    assert "1 passed, 1 failed" in lines[-1] and lines[-1].endswith("all done")
    assert not any("writing" in line for line in lines)


def test_live_screen_renders_a_row_per_port() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system="standard")
    screen = LiveScreen(BatchModel("B-1"), console)
    feed(screen)
    screen.close()
    text = out.getvalue()
    assert "/dev/ttyUSB0" in text and "/dev/ttyUSB1" in text
    assert "PASS" in text and "FAIL" in text and "check the cable" in text
    assert "\x1b[" in text  # coloured: PASS green, FAIL red
    plain = Console(width=120, file=io.StringIO())
    with plain.capture() as captured:
        plain.print(screen.render())
    assert "1 passed, 1 failed" in captured.get()


HOSTILE = "\x1b[32mPASS\x1b[0m\r\n10:00:00 /dev/ttyUSB9 PASS [bold]FORGED[/bold]"


def test_no_event_text_reaches_a_screen_as_terminal_control_or_markup() -> None:
    plain = io.StringIO()
    live = io.StringIO()
    screens: list[PlainScreen | LiveScreen] = [
        PlainScreen(BatchModel("B-1"), plain),
        LiveScreen(BatchModel("B-1"), Console(file=live, width=400, force_terminal=True,
                                              color_system=None))]
    for screen in screens:
        screen(BatchEvent("note", HOSTILE))
        screen(PortEvent("/dev/ttyUSB0", Phase.FAIL, HOSTILE, HOSTILE))
        screen.close()
    for out in (plain.getvalue(), live.getvalue()):
        # (the live screen moves its own cursor; colours are off, so none of this is rich's)
        assert "\x1b[32mPASS" not in out and "\n10:00:00" not in out
        assert "\\x1b[32mPASS\\x1b[0m\\x0d\\x0a10:00:00" in out
        assert "[bold]FORGED[/bold]" in out  # shown as sent, not read as markup
    assert "\r" not in plain.getvalue()
