"""The operator screen, fed events without a terminal."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from credline.station.events import (
    DEFAULT_FAIL_STEP,
    BatchEvent,
    BatchModel,
    Phase,
    PortEvent,
    next_step,
)
from credline.station.screen import LiveScreen, PlainScreen, big, open_screen, summary_line


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
    assert "1 passed   1 failed" in captured.get()


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


def test_a_result_stays_until_the_next_device_and_says_what_to_do() -> None:
    model = BatchModel("B-1")
    model.apply(PortEvent("p0", Phase.WRITING, "S1", at=1.0))
    model.apply(PortEvent("p0", Phase.PASS, "S1", at=2.0))
    (row,) = model.snapshot()
    assert next_step(row) == "take it off, stick its label on, plug in the next device"
    model.apply(PortEvent("p0", Phase.WAITING, None, "no device", at=3.0))  # taken off
    (row,) = model.snapshot()
    assert (row.result, row.result_serial) == (Phase.PASS, "S1")  # still on the screen
    model.apply(PortEvent("p0", Phase.RESERVING, "S2", at=4.0))  # the next device starts
    (row,) = model.snapshot()
    assert row.result is None and next_step(row) == "working: leave the device plugged in"
    model.apply(PortEvent("p0", Phase.FAIL, "S2", "device did not answer: check the cable"))
    (row,) = model.snapshot()
    assert next_step(row) == "check the cable"
    model.apply(PortEvent("p1", Phase.FAIL, "S3", "record checksum mismatch"))
    assert next_step(model.snapshot()[1]) == DEFAULT_FAIL_STEP
    model.apply(PortEvent("p2", Phase.WAITING, None, None))
    assert next_step(model.snapshot()[2]) == "plug in the next device"
    assert [f.serial for f in model.last_failures()] == ["S3", "S2"]


def test_the_end_shows_batch_closed_and_the_label_sheet() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, height=30, force_terminal=True, color_system=None)
    screen = LiveScreen(BatchModel("B-1"), console)
    feed(screen)
    screen(BatchEvent("finished", "x", outcome="batch closed", sheet="/l/B-1-labels.pdf"))
    screen.close()
    with console.capture() as captured:
        console.print(screen.render())
    text = captured.get()
    assert "BATCH CLOSED" in text and "label sheet: /l/B-1-labels.pdf" in text
    state = screen.model.state(now=10.0)
    assert state["outcome"] == "batch closed" and state["sheet"] == "/l/B-1-labels.pdf"
    assert json.loads(json.dumps(state)) == state  # what the browser view sends


PORTS = st.sampled_from([f"/dev/ttyUSB{i}" for i in range(20)])
EVENTS = st.lists(st.builds(PortEvent, PORTS, st.sampled_from(list(Phase)),
                            st.one_of(st.none(), st.sampled_from(["S1", "S-22", "x" * 40])),
                            st.one_of(st.none(), st.text(max_size=60)), st.just(1.0)),
                  max_size=25)


@settings(max_examples=25, deadline=None)
@given(events=EVENTS, width=st.integers(40, 220), height=st.integers(12, 60))
def test_any_run_keeps_the_counts_on_top_and_fits_the_terminal(
        events: list[PortEvent], width: int, height: int) -> None:
    console = Console(file=io.StringIO(), width=width, height=height, force_terminal=True,
                      color_system=None)
    screen = LiveScreen(BatchModel("B-1"), console)
    screen(BatchEvent("started", total=50, at=0.0))
    for event in events:
        screen(event)
    screen.close()
    model = screen.model
    rows = model.snapshot()
    assert model.passed == sum(r.passed for r in rows)
    assert model.failed == sum(r.failed for r in rows)
    for row in rows:
        assert next_step(row)  # always something to do
    with console.capture() as captured:
        console.print(screen.render())
    lines = captured.get().splitlines()
    assert f"{model.passed} passed" in lines[1]  # the counts: the first lines, always
    assert all(cell_len(line) <= width for line in lines)


def test_big_letters_are_five_even_rows() -> None:
    for word in ("PASS", "FAIL"):
        rows = big(word)
        assert len(rows) == 5 and len({len(r) for r in rows}) == 1
