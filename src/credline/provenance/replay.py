"""Replaying the logs of a cell into the registry they should have produced.

Pure: verified log lines in, expected device rows and batch facts out; no registry, no files.

Each station's entries are taken in its own order (sequence numbers); the entries of
different stations about one serial are merged by time, and where two stations' next entries
both concern the serial the one that is a legal move (:mod:`credline.core.lifecycle`) goes first,
so clocks that disagree a little do not reorder a device's history.

Write-ahead makes two allowances, both read from the logs alone:

- every move a station logs may not have reached the registry yet (a crash in between): each
  move keeps the registry states that may still stand (``Move.behind``), which the comparison
  accepts in an open batch;
- a logged move that never landed is followed, when its station resumes, by a move that is
  only legal from the state before it (a bind undone by a release, a lock followed by a
  failure): the replay drops the move that never landed (``Replay.unapplied``).

An entry that is a legal move from neither is a *stray*: a station logged a step the registry
cannot have taken (a station that lost its lease, for one). Strays are reported as notes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from credline.core.lifecycle import DeviceState, can_move
from credline.provenance.chain import Chain, Line

Key = tuple[str, str]  # (product, serial)
State = DeviceState | None  # None: the row went away (released)
R = DeviceState
STATION_MOVES = {"device.written": R.WRITTEN, "device.verified": R.VERIFIED,
                 "device.locked": R.LOCKED, "device.failed": R.FAILED}
RETIRING = ("device.retired", "device.reissued")
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Move:
    """A row after one logged step: its state and facts, and the entry behind them."""

    state: State
    line: Line
    station: str
    batch: str
    generation: int
    fingerprint: str | None = None
    key_id: str | None = None
    hardware_id: str | None = None
    behind: tuple[State, ...] = ()  # registry states that may still stand (write-ahead)
    reserved_by_log: bool = False  # a device.reserved entry stands behind the row
    repeats: tuple[Line, ...] = ()  # the same step logged again (redone on resume)

    @property
    def run(self) -> tuple[Line, ...]:
        """Every entry that logged this step: the registry acknowledged one of them."""
        return (self.line, *self.repeats)


@dataclass
class Row:
    """One (product, serial, generation) row as the logs tell it."""

    product: str
    serial: str
    moves: list[Move]

    @property
    def now(self) -> Move:
        return self.moves[-1]

    @property
    def state(self) -> State:
        return self.now.state

    def states(self) -> set[State]:
        return {move.state for move in self.moves}

    def line_of(self, state: State) -> Line:
        return next((m.line for m in self.moves if m.state == state), self.now.line)


@dataclass
class Batch:
    """What the logs say of one batch: where it shows first in each file, its checkpoints."""

    first: dict[str, Line] = field(default_factory=dict)  # file -> its first line of the batch
    checkpoints: list[Line] = field(default_factory=list)
    last_move: dict[str, int] = field(default_factory=dict)  # file -> line of its last move


@dataclass
class Replay:
    rows: dict[Key, list[Row]] = field(default_factory=dict)
    batches: dict[str, Batch] = field(default_factory=lambda: defaultdict(Batch))
    logged: set[tuple[str, str, str]] = field(default_factory=set)  # (product, serial, event)
    strays: list[Line] = field(default_factory=list)
    unapplied: list[Line] = field(default_factory=list)


def replay(chains: Iterable[Chain]) -> Replay:
    """The expected registry of these (verified) logs."""
    result = Replay()
    queues: dict[Key, list[list[Line]]] = defaultdict(list)
    for chain in chains:
        per_serial: dict[Key, list[Line]] = defaultdict(list)
        for line in chain.lines:
            _note_batch(result, line)
            key = _device_key(line)
            if key is not None:
                per_serial[key].append(line)
                result.logged.add((*key, line.event.removeprefix("device.")))
        for key, lines in per_serial.items():
            queues[key].append(lines)
    for key, lines_by_file in queues.items():
        rows: list[Row] = []
        for line in _merge(rows, lines_by_file, result):
            result.strays.append(line)
        result.rows[key] = rows
    return result


def _device_key(line: Line) -> Key | None:
    if not line.event.startswith("device."):
        return None
    product, serial = line.fields.get("product"), line.fields.get("serial")
    if isinstance(product, str) and isinstance(serial, str) and product and serial:
        return product, serial
    return None


def _note_batch(result: Replay, line: Line) -> None:
    batch_id = line.fields.get("batch")
    if not isinstance(batch_id, str):
        return
    batch = result.batches[batch_id]
    batch.first.setdefault(line.path, line)
    if line.event == "checkpoint":
        batch.checkpoints.append(line)
    elif line.event in STATION_MOVES or line.event in ("device.reserved", "device.released"):
        batch.last_move[line.path] = line.number


def _time(line: Line) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(line.entry["time"]))
    except ValueError:
        return _EARLIEST
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _merge(rows: list[Row], queues: list[list[Line]], result: Replay) -> list[Line]:
    """Apply one serial's entries from every file; returns the strays."""
    heads = [0] * len(queues)
    strays: list[Line] = []
    while True:
        ready = sorted((_time(q[i]), n) for n, (q, i) in enumerate(zip(queues, heads, strict=True))
                       if i < len(q))
        if not ready:
            return strays
        for _, n in ready:
            if _apply(rows, queues[n][heads[n]], result):
                heads[n] += 1
                break
        else:
            n = ready[0][1]
            strays.append(queues[n][heads[n]])
            heads[n] += 1


def _apply(rows: list[Row], line: Line, result: Replay) -> bool:
    """Apply one entry; on a write-ahead move that never landed, drop it and retry once.
    (A step that does not apply changes nothing.)"""
    if _step(rows, line):
        return True
    last = rows[-1] if rows else None
    if last is not None and len(last.moves) >= 2 and last.now.behind:
        dropped = last.moves.pop()
        if _step(rows, line):
            result.unapplied.append(dropped.line)
            return True
        last.moves.append(dropped)
    return False


def _step(rows: list[Row], line: Line) -> bool:
    if line.event == "device.reserved":
        return _reserve(rows, line)
    if line.event == "device.released":
        return _release(rows, line)
    if line.event in STATION_MOVES:
        return _move(rows, line, STATION_MOVES[line.event])
    if line.event in RETIRING:
        return _retire(rows, line)
    if line.event == "device.claimed":
        return _claim(rows, line)
    return False


def _claim(rows: list[Row], line: Line) -> bool:
    """A station took over a row bound to the device it saw (registry first, then the
    entry): the same device, a written or verified row; the holder changes, nothing else.

    The state does not change either, nor what may still stand of it: a move the last
    holder logged just before it crashed (verified, say) may never have reached the
    registry, and the claim, which logs no state, took the row as the registry had it."""
    live = _live(rows)
    if live is None or live.state not in (R.WRITTEN, R.VERIFIED):
        return False
    if live.now.hardware_id != line.field("hardware_id"):
        return False
    live.moves.append(replace(live.now, line=line, station=line.station))
    return True


def _live(rows: list[Row]) -> Row | None:
    if rows and rows[-1].state not in (None, R.RETIRED):
        return rows[-1]
    return None


def _int(line: Line, name: str, default: int = 0) -> int:
    value = line.fields.get(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _reserve(rows: list[Row], line: Line) -> bool:
    batch = line.field("batch") or ""
    live = _live(rows)
    if live is None:
        if rows and rows[-1].state is R.RETIRED:
            return False  # a retired serial is never reserved again
        rows.append(Row(line.fields["product"], line.fields["serial"], [Move(
            R.RESERVED, line, line.station, batch, 0, hardware_id=line.field("hardware_id"),
            reserved_by_log=True)]))
        return True
    if live.state is not R.RESERVED or live.now.batch != batch:
        return False
    # A take-over of a lapsed reservation (or of a re-issued row): registry first, as always.
    live.moves.append(replace(live.now, line=line, station=line.station, behind=(),
                              hardware_id=line.field("hardware_id"), reserved_by_log=True))
    return True


def _release(rows: list[Row], line: Line) -> bool:
    live = _live(rows)
    if live is None:
        if rows and rows[-1].state is None:
            _repeat(rows[-1], line)
            return True
        # A reservation made just before a crash, never logged, released on resume.
        return not rows
    if live.state is not R.RESERVED:
        return False
    live.moves.append(replace(live.now, state=None, line=line, station=line.station,
                              behind=(R.RESERVED,)))
    return True


def _move(rows: list[Row], line: Line, target: DeviceState) -> bool:
    live = _live(rows)
    if live is None:
        if target not in (R.WRITTEN, R.FAILED) or (rows and rows[-1].state is R.RETIRED):
            return False
        # The reservation's own entry is missing (registry first, then the entry): a
        # reserved row stands behind this move all the same (and the move applies to it).
        live = Row(line.fields["product"], line.fields["serial"], [Move(
            R.RESERVED, line, line.station, line.field("batch") or "", 0)])
        rows.append(live)
    if live.now.batch != (line.field("batch") or ""):
        return False
    if live.state is target:
        _repeat(live, line)  # a step redone on resume
        return True
    assert live.state is not None
    if not can_move(live.state, target):
        return False
    now = replace(live.now, state=target, line=line, station=line.station,
                  behind=(live.state,))
    if target is R.WRITTEN:
        now = replace(now, generation=_int(line, "generation"),
                      fingerprint=line.field("fingerprint"), key_id=line.field("key_id"),
                      hardware_id=line.field("hardware_id"))
    live.moves.append(now)
    return True


def _retire(rows: list[Row], line: Line) -> bool:
    generation = _int(line, "generation", -1)
    row = next((r for r in rows if r.now.generation == generation and r.state is not None),
               None)
    if row is None or row.now.batch != (line.field("batch") or ""):
        return False
    if row.state is R.RETIRED:
        _repeat(row, line)  # the command run again after a crash
        return True
    assert row.state is not None
    if not can_move(row.state, R.RETIRED):
        return False
    row.moves.append(replace(row.now, state=R.RETIRED, line=line, station=line.station,
                             behind=(row.state,)))
    if line.event == "device.reissued":
        new = Move(R.RESERVED, line, "", row.now.batch, _int(line, "new_generation", -1),
                   key_id=row.now.key_id, behind=(None,))
        rows.append(Row(row.product, row.serial, [new]))
    return True


def _repeat(row: Row, line: Line) -> None:
    row.moves[-1] = replace(row.now, repeats=(*row.now.repeats, line))
