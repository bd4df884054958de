"""Comparing a cell's replayed logs with its registry: station heads, batches, rows, events.

Each disagreement is a :class:`Finding` at the log line it concerns (for a registry fact no
log supports: the first line of its batch in the log of the station it names, else the end
of that log, else the registry itself). Kinds:

- ``truncated``: the registry acknowledged an entry, or closed a batch, that the station's
  log no longer holds;
- ``missing log``: a station the registry has acknowledged entries from has no log here;
- ``registry disagrees``: a row, batch or station head the logs know, with other facts;
- ``not in registry``: a fact of the logs the registry lacks (a row deleted, a batch
  reopened, an event gone);
- ``not in logs``: a registry row or event that no log entry supports.

Open batches get the write-ahead allowance of :mod:`credline.provenance.replay`; in a closed
batch logs and registry agree exactly. Never writes to the registry.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from credline.core.lifecycle import FINAL, DeviceState
from credline.provenance.chain import Chain, Finding, Line
from credline.provenance.replay import Move, Replay, Row
from credline.registry import Device, Snapshot

R = DeviceState
MOVE_EVENTS = frozenset({"written", "verified", "locked", "failed", "released", "retired",
                         "reissued"})  # not reserved or claimed: those land in the registry first
NEEDS = {R.RESERVED: (), R.WRITTEN: ("written",), R.VERIFIED: ("written", "verified"),
         R.LOCKED: ("written", "verified", "locked"), R.FAILED: ("failed",),
         R.RETIRED: ("retired",)}


@dataclass
class _Cell:
    replay: Replay
    snap: Snapshot
    chains: list[Chain]
    by_station: dict[str, list[Chain]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    state: dict[str, str] = field(default_factory=dict)  # batch -> open | closed
    acked: list[tuple[Line, ...]] = field(default_factory=list)  # one of each was acknowledged
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        for chain in self.chains:
            for station in chain.stations():
                self.by_station.setdefault(station, []).append(chain)
        self.state = {str(b["batch_id"]): str(b["state"]) for b in self.snap.batches}

    def add(self, path: str, line: int | None, kind: str, detail: str) -> None:
        self.findings.append(Finding(path, line, kind, detail))

    def at(self, line: Line, kind: str, detail: str) -> None:
        self.add(line.path, line.number, kind, detail)

    def is_open(self, batch_id: str) -> bool:
        return self.state.get(batch_id) != "closed"

    def relied_on(self, *run: Line) -> None:
        """The registry holds what one of ``run`` did, so its head is at or past it."""
        self.acked.append(run)

    def batch_place(self, batch_id: str, station: str) -> tuple[str, int | None]:
        """Where a batch's missing facts are named: its first line in the station's log."""
        facts = self.replay.batches.get(batch_id)
        mine = self.by_station.get(station, [])
        firsts = facts.first if facts else {}
        for chain in mine + self.chains:
            if chain.name in firsts:
                return chain.name, firsts[chain.name].number
        if mine:
            return mine[0].name, len(mine[0].lines) + 1
        return self.snap.url, None


def compare(replay: Replay, snap: Snapshot, chains: list[Chain]) -> list[Finding]:
    """Every disagreement between the replayed logs and the registry snapshot."""
    cell = _Cell(replay, snap, chains)
    _heads(cell)
    _batches(cell)
    _rows(cell)
    _heads_behind(cell)
    return cell.findings


def _short(digest: object) -> str:
    text = str(digest)
    return text if len(text) <= 16 else f"{text[:16]}…"


# -- station heads ---------------------------------------------------------------------------
def _heads(cell: _Cell) -> None:
    for station, (seq, head) in sorted(cell.snap.heads.items()):
        if seq <= 0:
            continue
        chains = cell.by_station.get(station)
        if not chains:
            cell.missing.add(station)
            cell.add(cell.snap.url, None, "missing log",
                     f"the registry has acknowledged entry {seq} of station {station!r}, but "
                     "no log of that station is among those given")
            continue
        if any(_holds(chain, station, seq, head) for chain in chains):
            continue
        chain = max(chains, key=lambda c: len(c.lines))
        ends = len(chain.lines)
        if ends < seq:
            cell.add(chain.name, ends + 1, "truncated",
                     f"the log ends at entry {ends}, but the registry acknowledged entry {seq} "
                     f"of station {station!r}: entries from {ends + 1} on are missing")
        else:
            cell.add(chain.name, seq, "registry disagrees",
                     f"the registry's head for station {station!r} (entry {seq}, "
                     f"{_short(head)}) is not this entry")


def _holds(chain: Chain, station: str, seq: int, head: str) -> bool:
    if not 0 < seq <= len(chain.lines):
        return False
    line = chain.lines[seq - 1]
    return line.station == station and line.digest == head


def _heads_behind(cell: _Cell) -> None:
    """Each registry move acknowledged its entry: a head behind one was set back."""
    worst: dict[str, Line] = {}
    for run in cell.acked:
        if any(_acknowledged(cell, line) for line in run):
            continue
        line = run[-1]
        if line.station not in worst or line.seq > worst[line.station].seq:
            worst[line.station] = line
    for station, line in sorted(worst.items()):
        seq = cell.snap.heads.get(station, (0, ""))[0]
        cell.at(line, "registry disagrees",
                f"the registry holds what this entry did, yet its head for station "
                f"{station!r} is entry {seq}: the head was set back")


def _acknowledged(cell: _Cell, line: Line) -> bool:
    if len(cell.by_station.get(line.station, [])) != 1:
        return True  # sequence numbers of several files do not compare
    return cell.snap.heads.get(line.station, (0, ""))[0] >= line.seq


# -- batches ---------------------------------------------------------------------------------
def _batches(cell: _Cell) -> None:
    known = {str(b["batch_id"]): b for b in cell.snap.batches}
    for batch_id, batch in sorted(known.items()):
        facts = cell.replay.batches.get(batch_id)
        checkpoints = facts.checkpoints if facts else []
        if batch["state"] == "closed":
            _closed(cell, batch_id, batch, checkpoints)
        else:
            _still_open(cell, batch_id, batch, checkpoints)
    for batch_id, facts in sorted(cell.replay.batches.items()):
        if batch_id not in known:
            first = min(facts.first.values(), key=lambda line: (line.path, line.number))
            cell.at(first, "not in registry",
                    f"batch {batch_id!r} of the logs is not in the registry")


def _closed(cell: _Cell, batch_id: str, batch: dict[str, Any], checkpoints: list[Line]) -> None:
    closer = str(batch.get("closed_by") or batch.get("station_id") or "")
    if closer in cell.missing:
        return
    own = [line for line in checkpoints if line.station == closer]
    sealed = (batch.get("log_entries"), batch.get("log_head"))
    if not own:
        path, number = cell.batch_place(batch_id, closer)
        cell.add(path, number, "truncated",
                 f"the registry closed batch {batch_id!r} (station {closer!r}, after "
                 f"{sealed[0]} entries), but its checkpoint is not in the logs")
        return
    match = next((line for line in own
                  if (line.fields.get("entries"), line.fields.get("head")) == sealed), None)
    if match is None:
        last = own[-1]
        cell.at(last, "registry disagrees",
                f"this checkpoint of batch {batch_id!r} has {last.fields.get('entries')} "
                f"entries, head {_short(last.fields.get('head'))}; the registry has "
                f"{sealed[0]} entries, head {_short(sealed[1])}")
        return
    cell.relied_on(match)


def _still_open(cell: _Cell, batch_id: str, batch: dict[str, Any],
                checkpoints: list[Line]) -> None:
    facts = cell.replay.batches[batch_id]
    for line in checkpoints:
        head = cell.snap.heads.get(line.station, (0, ""))[0]
        # A checkpoint whose closing transaction never committed: nothing after it was
        # acknowledged, or its station went on working the batch (a closed one refuses).
        if head < line.seq or facts.last_move.get(line.path, 0) > line.number:
            continue
        cell.at(line, "not in registry",
                f"this checkpoint closed batch {batch_id!r}, but the registry has it "
                f"{batch['state']} (reopened)")
        return


# -- rows ------------------------------------------------------------------------------------
def _rows(cell: _Cell) -> None:
    registry: dict[tuple[str, str], list[Device]] = defaultdict(list)
    for held in cell.snap.devices:
        registry[(held.product, held.serial)].append(held)
    events = {(str(e["product"]), str(e["serial"]), str(e["event"])) for e in cell.snap.events}
    for key in sorted(set(cell.replay.rows) | set(registry)):
        for row, device in _pairs(cell.replay.rows.get(key, []), registry.get(key, [])):
            if device is not None and (device.batch_id not in cell.state or (
                    row is None and device.station_id in cell.missing)):
                continue
            if row is not None and row.now.batch not in cell.state:
                continue  # named once, as a batch the registry lacks
            if _row(cell, row, device):
                _needs(cell, row, device, events)
    _events(cell)


def _pairs(rows: list[Row], devices: list[Device]) -> list[tuple[Row | None, Device | None]]:
    """Log rows and registry rows of one serial, matched by generation, then live to live."""
    wanted = [r for r in rows if r.state is R.RETIRED]
    if rows and rows[-1].state is not R.RETIRED:
        wanted.append(rows[-1])
    logs = {row.now.generation: row for row in wanted}
    held = {device.generation: device for device in devices}
    pairs: list[tuple[Row | None, Device | None]] = [
        (logs.pop(g), held.pop(g)) for g in sorted(set(logs) & set(held))]
    live_log = [r for r in logs.values() if r.state is not R.RETIRED]
    live_reg = [d for d in held.values() if d.state is not R.RETIRED]
    if live_log and live_reg:
        pairs.append((live_log[0], live_reg[0]))
        logs = {g: r for g, r in logs.items() if r is not live_log[0]}
        held = {g: d for g, d in held.items() if d is not live_reg[0]}
    pairs += [(row, None) for row in logs.values()]
    pairs += [(None, device) for device in held.values()]
    return pairs


def _name(product: str, serial: str, generation: int) -> str:
    return f"serial {serial!r} of {product} (generation {generation})"


def _row(cell: _Cell, row: Row | None, device: Device | None) -> bool:
    """Compare one row; True when it agrees (within the write-ahead allowance)."""
    if row is None:
        assert device is not None
        if device.state is R.RESERVED and cell.is_open(device.batch_id):
            return True  # the registry reserves first, the entry follows
        path, number = cell.batch_place(device.batch_id, device.station_id)
        cell.add(path, number, "not in logs",
                 f"the registry has {_name(device.product, device.serial, device.generation)}"
                 f" {device.state} in batch {device.batch_id!r} (station "
                 f"{device.station_id!r}); no log entry supports it")
        return False
    move, name = row.now, _name(row.product, row.serial, row.now.generation)
    if device is None:
        if move.state is None:
            cell.relied_on(*move.run)
            return True
        if None in move.behind and cell.is_open(move.batch):
            return True
        cell.at(move.line, "not in registry",
                f"the logs have {name} {move.state} (this entry); the registry has no row")
        return False
    open_ = cell.is_open(device.batch_id)
    if move.state is None and device.state is R.RESERVED and open_:
        return True  # reserved again after its release: the registry first, the entry follows
    if device.state != move.state and not (open_ and device.state in move.behind):
        logged = "released" if move.state is None else move.state
        cell.at(move.line, "registry disagrees",
                f"the registry has {name} {device.state}; the logs have it {logged} (this "
                "entry)" + ("" if open_ else f" in closed batch {device.batch_id!r}"))
        return False
    differences = _differences(row, device, open_)
    if differences:
        # A fact of the bind is named where it was logged; the holder, at the latest step.
        line = move.line if differences[0].startswith("station") else row.line_of(R.WRITTEN)
        cell.at(line, "registry disagrees",
                f"the registry's {name} differs from the logs: {'; '.join(differences)}")
        return False
    if device.state == move.state and device.state is not R.RESERVED:
        cell.relied_on(*_acknowledged_step(row).run)
    return True


def _acknowledged_step(row: Row) -> Move:
    """The row's last step whose entry a registry move acknowledged: a claim lands in the
    registry first and is never acknowledged (its station's head may stand before it)."""
    for move in reversed(row.moves):
        if move.line.event != "device.claimed":
            return move
    return row.now


def _differences(row: Row, device: Device, open_: bool) -> list[str]:
    move = row.now
    logged_write = move.fingerprint is not None
    facts: list[tuple[str, object, object]] = [("batch", device.batch_id, move.batch)]
    if logged_write and (device.state is not R.RESERVED or device.fingerprint is not None):
        facts += [("generation", device.generation, move.generation),
                  ("fingerprint", device.fingerprint, move.fingerprint)]
    if move.key_id is not None:
        facts.append(("key id", device.key_id, move.key_id))
    if logged_write and device.state is not R.RESERVED:
        facts.append(("hardware id", device.hardware_id, move.hardware_id))
    if device.state == move.state and (device.state in FINAL or not open_) and (
            device.station_id not in _holders(row)):
        facts.append(("station", device.station_id, move.station))
    return [f"{what} {_show(have)}, the logs {_show(want)}"
            for what, have, want in facts if have != want]


def _holders(row: Row) -> set[str]:
    """The stations the registry may name as the row's holder: the station of its last step
    (for a retired row, the station that retired it), or of that step's redo."""
    move = row.now
    return {move.station} | {line.station for line in move.repeats}


def _show(value: object) -> str:
    return str(value) if isinstance(value, int) or value is None else repr(_short(value))


# -- events ----------------------------------------------------------------------------------
def _needs(cell: _Cell, row: Row | None, device: Device | None,
           events: set[tuple[str, str, str]]) -> None:
    """The events the registry must hold for a row it agrees on."""
    if row is None:
        return
    needed: list[tuple[str, Line]] = []
    if device is None:
        if row.state is None:
            needed.append(("released", row.now.line))
    else:
        if any(move.reserved_by_log for move in row.moves):
            needed.append(("reserved", row.line_of(R.RESERVED)))
        if row.moves[0].line.event == "device.reissued":
            needed.append(("reissued", row.moves[0].line))
        needed += [(event, row.line_of(R(event))) for event in NEEDS[device.state]]
    for event, line in needed:
        if (row.product, row.serial, event) not in events:
            cell.at(line, "not in registry",
                    f"the registry's events have no {event!r} event for serial "
                    f"{row.serial!r} of {row.product}")


def _events(cell: _Cell) -> None:
    logged = cell.replay.logged
    for event in cell.snap.events:
        name, product, serial = str(event["event"]), str(event["product"]), str(event["serial"])
        if name not in MOVE_EVENTS or str(event["station_id"]) in cell.missing or (
                product, serial, name) in logged or (
                name == "retired" and (product, serial, "reissued") in logged):
            continue
        path, number = cell.batch_place(str(event["batch_id"]), str(event["station_id"]))
        cell.add(path, number, "not in logs",
                 f"the registry's events have serial {serial!r} of {product} {name} (event "
                 f"{event['id']}), but no log entry does")
