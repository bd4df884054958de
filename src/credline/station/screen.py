"""The operator screen: a live view (rich) on a terminal, one line per event otherwise.

The batch counts (passed, failed, left, rate) on top, always visible; a tile per port with a
big PASS in green or FAIL in red that stays until the next device starts, the reason in plain
words and the next step ("plug in the next device"); the last failures; at the end the
batch's outcome ("BATCH CLOSED") and the label sheet's path. When stdout is not a terminal
(CI, a log file, a pipe) the same events become plain lines. Driven only by
:mod:`credline.station.events` events, so tests feed it events and read the text.

Every text an event carries is escaped here (:func:`credline.core.escape.escape_text`) and never
read as rich markup: a serial or reason may hold what a device sent, and no device may paint
a PASS or forge a line on the operator's screen.
"""

from __future__ import annotations

import threading
import time
from typing import IO, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from credline.core.escape import escape_text
from credline.station.events import (
    WORKING,
    BatchEvent,
    BatchModel,
    Event,
    Phase,
    PortRow,
    next_step,
)

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
        text = f"{text}: {escape_text(event.reason)}" if event.reason else text
        if event.phase is Phase.FAIL:
            step = next_step(self.model.rows[event.port])
            if not text.lower().rstrip(". )").endswith(step):
                text += f" - next: {step}"
        return text

    def close(self) -> None:
        with self._lock:
            self._stream.flush()


class LiveScreen:
    """A rich Live view, refreshed a few times a second and on every event.

    Top to bottom: the batch counts (always the first lines, so a short terminal never hides
    them), a tile per port (a big PASS or FAIL that stays until the next device starts, and
    what to do next), the last failures, and at the end the batch's outcome and label sheet.
    With more ports than fit as tiles, one line per port instead.
    """

    def __init__(self, model: BatchModel, console: Console) -> None:
        self.model = model
        self._console = console
        self._live = Live(self.render(), console=console, refresh_per_second=4,
                          transient=False, get_renderable=self.render,
                          vertical_overflow="crop")
        self._live.start()

    def __call__(self, event: Event) -> None:
        self.model.apply(event)
        if isinstance(event, BatchEvent) and event.kind == "note" and event.message:
            self._live.console.print(_text(event.message))
        self._live.refresh()

    def render(self) -> Group:
        width, height = self._console.size
        rows = self.model.snapshot()
        parts: list[RenderableType] = [self._header(width)]
        columns = max(1, width // TILE_WIDTH)
        tile_rows = -(-len(rows) // columns) if rows else 0
        room = height - HEADER_LINES - FOOTER_LINES
        if rows and tile_rows * TILE_LINES <= room:
            parts.append(self._tiles(rows, columns, large=True))
        elif rows and tile_rows * SMALL_TILE_LINES <= room:
            parts.append(self._tiles(rows, columns, large=False))
        elif rows:
            parts.append(self._lines(rows))
        else:
            parts.append(Text("no port yet: plug in a device (or check --port / --ports-from)",
                              style="bold"))
        parts.extend(self._footer())
        return Group(*parts)

    def _header(self, width: int) -> Table:
        grid = Table.grid(expand=True)
        grid.add_column()
        grid.add_row(Text.assemble(("credline station", "bold"), " - batch ",
                                   (escape_text(self.model.batch), "bold")))
        grid.add_row(Text(counts_line(self.model), style="bold reverse"))
        if self.model.total:
            done = self.model.total - (self.model.remaining or 0)
            grid.add_row(ProgressBar(total=self.model.total, completed=done,
                                     width=max(10, width - 2)))
        return grid

    def _tiles(self, rows: list[PortRow], columns: int, large: bool) -> Table:
        grid = Table.grid(expand=True, padding=(0, 1))
        for _ in range(columns):
            grid.add_column(ratio=1)
        tiles = [self._tile(row, large) for row in rows]
        for i in range(0, len(tiles), columns):
            chunk = tiles[i:i + columns]
            grid.add_row(*chunk, *[""] * (columns - len(chunk)))
        return grid

    def _tile(self, row: PortRow, large: bool) -> Panel:
        shown = row.result or (row.phase if row.phase is Phase.FAIL else None)
        serial = row.result_serial if row.result else row.serial
        style = _STYLE.get(shown, "cyan") if shown else _STYLE.get(row.phase, "cyan")
        body: list[RenderableType] = []
        head = Text(escape_text(serial) if serial else "(no serial)", style="bold")
        if shown is not None:  # the word too: for a search, a screen reader, a log of it
            head.append("  ")
            head.append(shown.value, style=style)
        if row.phase in WORKING:
            head.append(f"  {row.phase.value}", style="cyan")
            if row.detail:
                head.append(f" {escape_text(row.detail)}")
        body.append(head)
        if shown in (Phase.PASS, Phase.FAIL) and large:
            body.append(Text("\n".join(" " + line for line in big(shown.value)), style=style,
                             no_wrap=True, overflow="crop"))
        elif shown in (Phase.PASS, Phase.FAIL):  # a short terminal: a wide bar of colour
            body.append(Text(f"{shown.value:^30}", style=style, no_wrap=True, overflow="crop"))
        elif large:
            body.append(Text("\n" + (escape_text(row.reason) if row.reason else
                                      row.phase.value) + "\n", style="dim"))
        else:
            body.append(Text(escape_text(row.reason) if row.reason else row.phase.value,
                             style="dim", no_wrap=True, overflow="ellipsis"))
        step = next_step(row, self.model.finished)
        reason = escape_text(row.result_reason or row.reason or "") if shown is Phase.FAIL else ""
        if reason:
            body.append(Text(reason))
        if not reason.lower().rstrip(". )").endswith(step):
            body.append(Text("> " + step, style="bold"))
        border = "green" if shown is Phase.PASS else "red" if shown is Phase.FAIL else "blue"
        title = Text(f" {escape_text(short_port(row.port))}  {row.passed} ok / "
                     f"{row.failed} failed ")
        return Panel(Group(*body), title=title, border_style=border)

    def _lines(self, rows: list[PortRow]) -> Table:
        table = Table(expand=True, show_edge=False, pad_edge=False)
        for name, kwargs in (("port", {"max_width": 16}), ("serial", {"max_width": 18}),
                             ("result", {}), ("next", {"ratio": 1}),
                             ("ok", {"justify": "right"}), ("fail", {"justify": "right"})):
            table.add_column(name, no_wrap=True, overflow="ellipsis", **kwargs)
        for row in rows:
            table.add_row(*_cells(row, self.model.finished))
        return table

    def _footer(self) -> list[RenderableType]:
        parts: list[RenderableType] = []
        for failure in self.model.last_failures()[:3]:
            parts.append(Text.assemble(("FAIL ", "bold red"), _text(
                f"{short_port(failure.port)} {failure.serial or ''}: {failure.reason}")))
        if self.model.finished:
            outcome = self.model.outcome or "batch finished"
            closed = outcome.startswith("batch closed")
            parts.append(Text(escape_text(outcome).upper() if closed else escape_text(outcome),
                              style="bold white on green" if closed else "bold black on yellow"))
            if self.model.sheet:
                parts.append(Text.assemble("label sheet: ", (escape_text(self.model.sheet),
                                                             "bold")))
        return parts

    def close(self) -> None:
        self._live.refresh()
        self._live.stop()


def short_port(port: str, room: int = 18) -> str:
    """A port name that fits a tile's title: a long path keeps its last part."""
    if len(port) <= room or "/" not in port:
        return port
    return "\u2026/" + port.rsplit("/", 1)[-1]


def counts_line(model: BatchModel, now: float | None = None) -> str:
    """``12 passed  1 failed  3 left  720/hour``: the counts an operator glances at."""
    parts = [f"{model.passed} passed", f"{model.failed} failed"]
    parts.append(f"{model.remaining} left" if model.remaining is not None else "open-ended")
    parts.append(f"{model.rate_per_hour(now):.0f}/hour")
    if model.done_before:
        parts.append(f"{model.done_before} done before")
    return " " + "   ".join(parts) + " "


# Five-row block letters for the results an operator reads from across the bench.
_GLYPHS = {
    "P": ("####.", "#...#", "####.", "#....", "#...."),
    "A": (".###.", "#...#", "#####", "#...#", "#...#"),
    "S": (".####", "#....", ".###.", "....#", "####."),
    "F": ("#####", "#....", "####.", "#....", "#...."),
    "I": ("#####", "..#..", "..#..", "..#..", "#####"),
    "L": ("#....", "#....", "#....", "#....", "#####"),
}


def big(word: str) -> list[str]:
    """``word`` (letters of PASS and FAIL) in five rows of block characters."""
    return ["  ".join(_GLYPHS[ch][r] for ch in word).replace("#", "\u2588").replace(".", " ")
            for r in range(5)]


TILE_WIDTH = 38
TILE_LINES = 11  # border, serial, five rows of letters, reason and next step (3), border
SMALL_TILE_LINES = 6  # border, serial, a line of colour, reason and next step, border
HEADER_LINES = 3
FOOTER_LINES = 5


def _text(value: str) -> Text:
    """Escaped, and a Text rather than a str, so rich reads no markup into it."""
    return Text(escape_text(value))


def _cells(row: PortRow, finished: bool) -> tuple[Text | str, ...]:
    shown = row.result or (row.phase if row.phase is Phase.FAIL else None)
    if shown is not None:
        result = Text(f"  {shown.value}  ", style=_STYLE[shown])
    else:
        result = Text(row.phase.value, style=_STYLE.get(row.phase, "cyan"))
    serial = row.result_serial if row.result else row.serial
    step = next_step(row, finished)
    reason = escape_text(row.result_reason or row.reason or "") if shown is Phase.FAIL else ""
    said = reason if reason.lower().rstrip(". )").endswith(step) else (
        f"{reason} - {step}" if reason else step)
    return (_text(short_port(row.port)), _text(serial or ""), result, Text(said, style="bold"),
            str(row.passed), str(row.failed))


def open_screen(batch: str, stream: IO[str], *, plain: bool | None = None,
                model: BatchModel | None = None) -> Screen:
    """The live view when ``stream`` is a terminal (and ``plain`` is not forced), else lines.
    ``model`` lets another view (the browser's) share the state this screen folds."""
    model = model if model is not None else BatchModel(batch)
    use_plain = plain if plain is not None else not stream.isatty()
    if use_plain:
        return PlainScreen(model, stream)
    return LiveScreen(model, Console(file=stream))
