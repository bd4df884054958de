"""The operator screen: a live table (rich) on a terminal, one line per event otherwise.

One row per port: state, serial, a big PASS in green or FAIL in red with the reason in plain
words; a footer with batch counts, what is left and the rate per hour. When stdout is not a
terminal (CI, a log file, a pipe) the same events become plain lines. Driven only by
:mod:`credline.station.events` events, so tests feed it events and read the text.

Every text an event carries is escaped here (:func:`credline.core.escape.escape_text`) and never
read as rich markup: a serial or reason may hold what a device sent, and no device may paint
a PASS or forge a line on the operator's screen.
"""

from __future__ import annotations

import threading
import time
from typing import IO, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from credline.core.escape import escape_text
from credline.station.events import BatchEvent, BatchModel, Event, Phase, PortRow

_STYLE = {Phase.PASS: "bold white on green", Phase.FAIL: "bold white on red",
          Phase.GONE: "yellow", Phase.WAITING: "dim", Phase.DONE: "dim"}


class Screen(Protocol):
    model: BatchModel

    def __call__(self, event: Event) -> None: ...

    def close(self) -> None: ...


def summary_line(model: BatchModel, now: float | None = None) -> str:
    """``batch B-42: 30 passed, 2 failed, 4 left, 1250/hour`` (plain words, one line)."""
    parts = [f"{model.passed} passed", f"{model.failed} failed"]
    if model.done_before:
        parts.append(f"{model.done_before} done in earlier runs")
    if model.remaining is not None:
        parts.append(f"{model.remaining} left")
    parts.append(f"{model.rate_per_hour(now):.0f}/hour")
    return f"batch {escape_text(model.batch)}: " + ", ".join(parts)


class PlainScreen:
    """A line per event, for logs and CI: ``time port phase serial reason``."""

    def __init__(self, model: BatchModel, stream: IO[str]) -> None:
        self.model = model
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        self.model.apply(event)
        line = self._format(event)
        if line is None:
            return
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def _format(self, event: Event) -> str | None:
        stamp = time.strftime("%H:%M:%S")
        if isinstance(event, BatchEvent):
            message = escape_text(event.message)
            if event.kind == "finished":
                return f"{stamp} {summary_line(self.model)}" + (
                    f" - {message}" if message else "")
            return f"{stamp} {message}" if message else None
        if event.phase not in (Phase.PASS, Phase.FAIL, Phase.GONE, Phase.HELLO):
            return None  # the intermediate steps would drown a log; the screen shows them
        words = [stamp, escape_text(event.port), event.phase.value]
        if event.serial:
            words.append(escape_text(event.serial))
        text = " ".join(words)
        return f"{text}: {escape_text(event.reason)}" if event.reason else text

    def close(self) -> None:
        with self._lock:
            self._stream.flush()


class LiveScreen:
    """A rich Live table, refreshed a few times a second and on every event."""

    def __init__(self, model: BatchModel, console: Console) -> None:
        self.model = model
        self._console = console
        self._live = Live(self.render(), console=console, refresh_per_second=4,
                          transient=False, get_renderable=self.render)
        self._live.start()

    def __call__(self, event: Event) -> None:
        self.model.apply(event)
        if isinstance(event, BatchEvent) and event.kind == "note" and event.message:
            self._live.console.print(_text(event.message))
        self._live.refresh()

    def render(self) -> Group:
        table = Table(title=_text(f"credline station - batch {self.model.batch}"),
                      expand=True)
        for name, kwargs in (("port", {}), ("state", {"min_width": 18}),
                             ("serial", {}), ("result", {"ratio": 1}),
                             ("ok", {"justify": "right"}), ("fail", {"justify": "right"})):
            table.add_column(name, **kwargs)
        for row in self.model.snapshot():
            table.add_row(*_cells(row))
        parts: list[Table | Text | ProgressBar] = [table]
        if self.model.total:
            done = self.model.total - (self.model.remaining or 0)
            parts.append(ProgressBar(total=self.model.total, completed=done))
        parts.append(Text(summary_line(self.model), style="bold"))
        return Group(*parts)

    def close(self) -> None:
        self._live.refresh()
        self._live.stop()


def _text(value: str) -> Text:
    """Escaped, and a Text rather than a str, so rich reads no markup into it."""
    return Text(escape_text(value))


def _cells(row: PortRow) -> tuple[Text | str, ...]:
    style = _STYLE.get(row.phase, "cyan")
    result = Text("")
    if row.phase is Phase.PASS:
        result = Text("  PASS  ", style=style)
    elif row.phase is Phase.FAIL:
        result = Text.assemble(Text("  FAIL  ", style=style), " ", _text(row.reason or ""))
    elif row.reason:
        result = _text(row.reason)
    return (_text(row.port), Text(row.phase.value, style=style), _text(row.serial or ""),
            result, str(row.passed), str(row.failed))


def open_screen(batch: str, stream: IO[str], *, plain: bool | None = None) -> Screen:
    """The live table when ``stream`` is a terminal (and ``plain`` is not forced), else lines."""
    model = BatchModel(batch)
    use_plain = plain if plain is not None else not stream.isatty()
    if use_plain:
        return PlainScreen(model, stream)
    return LiveScreen(model, Console(file=stream))
