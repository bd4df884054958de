"""Assembling a station from what an operator gives: profile, key, registry, log, ports.

:func:`build_station` is what ``credline station run`` and ``credline demo`` call, and what a
factory's own script can call: it validates every input (work order, label template,
registry, station identity) before any device is touched, then wires the transport the
profile's ``[device] transport`` names (:mod:`credline.transport.registry`), the registry +
provenance ledger, the labels and the screen into a :class:`~credline.station.Station`.

Two seams let a test or a factory script inject real parts instead of patching this module:
``ledger`` (an opened :class:`~credline.station.contracts.Ledger`, e.g. a RegistryLedger on
a scratch SQLite registry; its owner closes it) and ``connect`` (a port -> Link callable,
e.g. one over ptys). Without them the registry and transport come from the options and the
profile, which is what ``credline station run`` and ``credline provision`` do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from credline.core.compliance import BatchTerms, batch_terms
from credline.core.derive import Deriver
from credline.core.device import Connect
from credline.core.errors import BadInput, ProfileError
from credline.core.ids import Serial
from credline.core.keys import MasterKey
from credline.core.policy import Profile
from credline.files.folders import probe_folder
from credline.files.serials import read_serials
from credline.labels import LabelSink, spec_from_profile
from credline.provenance import ProvenanceLog, check_log_head
from credline.registry import SupportPeriod, open_registry
from credline.station.contracts import Ledger, StationConfig
from credline.station.events import BatchEvent, Event
from credline.station.identity import check_enrolled, load_station_key
from credline.station.ledger import RegistryLedger, RunLock, Scope
from credline.station.runner import Station
from credline.transport.ports import PortWatcher
from credline.transport.registry import connector_for


@dataclass
class StationOptions:
    batch: str
    ports: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    auto: bool = False
    work_order: Path | None = None
    serials: tuple[str, ...] = ()  # given on the command line (provision --serial), not a file
    registry_url: str = "sqlite:///credline.db"
    log_path: Path = Path("provenance.jsonl")
    station_key: Path | None = None
    operator: str = ""
    label_dir: Path | None = None
    count: int | None = None
    idle_exit: float | None = None
    poll: float = 0.2
    lease: float = 30.0  # seconds a station holds an in-flight row without renewing it


@dataclass
class BuiltStation:
    station: Station
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        self.close_all(self.closers)

    @staticmethod
    def close_all(closers: list[Callable[[], None]]) -> None:
        for close in reversed(closers):
            close()


def serial_source(profile: Profile) -> str:
    """``work-order`` (serials from --serials) or ``device`` (the serial the device reports)."""
    source = str(profile.section("device").get("serial_source", "work-order"))
    if source not in ("work-order", "device"):
        raise ProfileError(f"{profile.source}: [device] serial_source = {source!r}: must be "
                           "'work-order' or 'device'")
    return source


def load_work_order(profile: Profile, path: Path | None) -> list[str] | None:
    """The work order's serials, all validated (malformed or repeated: BadInput, by line;
    none at all: BadInput too)."""
    source = serial_source(profile)
    if source == "device":
        if path is not None:
            raise ProfileError(f"{profile.source}: [device] serial_source = 'device', but a "
                               "work order was given: use one or the other")
        return None
    if path is None:
        raise ProfileError(f"{profile.source}: serials come from a work order: give --serials "
                           "FILE (or set [device] serial_source = 'device')")
    serials = [serial for _, serial in read_serials(path)]
    if not serials:  # an empty batch "closed" with 0 devices would look like finished work
        raise BadInput(f"{path}: the work order holds no serials (an empty file, blank lines "
                       "or a header alone); give a work order with one serial a line")
    return serials


def _order(profile: Profile, options: StationOptions) -> list[str] | None:
    """The serials to use: those given directly (each checked), else the work order's."""
    if not options.serials:
        return load_work_order(profile, options.work_order)
    if options.work_order is not None or serial_source(profile) == "device":
        raise ProfileError(f"{profile.source}: serials were given directly: give no work "
                           "order, and keep [device] serial_source = 'work-order'")
    return [Serial(serial, origin="--serial") for serial in options.serials]


def build_station(profile: Profile, key: MasterKey, options: StationOptions,
                  emit: Callable[[Event], None], *, ledger: Ledger | None = None,
                  connect: Connect | None = None) -> BuiltStation:
    """A ready station; raises before touching anything if an input is wrong.

    ``ledger`` and ``connect`` replace the registry/log and the profile's transport (see the
    module docstring); an injected ledger is not closed by :meth:`BuiltStation.close`."""
    serials = _order(profile, options)
    spec = spec_from_profile(profile)
    label_dir = options.label_dir or Path("labels") / options.batch
    labels = LabelSink(label_dir, spec, options.batch)
    labels.check_fits(profile, serials)  # a label that cannot hold its fields: refused now
    probe_folder(label_dir, "--labels folder")  # before the batch opens, not at device 1
    deriver = Deriver(key, profile.format)
    # The transport is resolved first: an unknown name must fail before any batch opens.
    connect = connect or connector_for(profile, hwid_is_serial=serials is None)
    closers: list[Callable[[], None]] = []
    if ledger is None:
        ledger = _opened(lambda: open_ledger(profile, deriver.key_id, options, closers),
                         closers)
    # Every input is good: now clear what a killed earlier run left next to the labels.
    removed = labels.sweep()
    if removed:
        emit(BatchEvent("note", f"removed {len(removed)} temporary label file(s) an "
                        f"interrupted earlier run left in {label_dir}"))
    watcher = PortWatcher(fixed=options.ports, patterns=options.patterns, usb=options.auto)
    config = StationConfig(batch=options.batch, poll=options.poll, count=options.count,
                           keep_running=options.auto, idle_exit=options.idle_exit)
    station = Station(config, profile, deriver, ledger, connect, watcher, labels, emit,
                      serials)
    return BuiltStation(station, closers)


def _opened(open_: Callable[[], RegistryLedger],
            closers: list[Callable[[], None]]) -> RegistryLedger:
    """``open_()``, closing what it opened before it failed (registry, run lock)."""
    try:
        return open_()
    except BaseException:
        BuiltStation.close_all(closers)
        raise


def open_ledger(profile: Profile, key_id: str, options: StationOptions,
                closers: list[Callable[[], None]]) -> RegistryLedger:
    """Registry, station identity and provenance log, checked before any device is touched."""
    key_path = options.station_key or options.log_path.parent / "station.key"
    if not Path(key_path).exists():
        # The URL stays out of the message: it may carry a database password.
        raise BadInput(f"no station key at {key_path}: enrol this station first with "
                       f"'credline station enroll --out {key_path} --station-id ID "
                       "--registry URL' (or give --station-key)")
    station_id, signer = load_station_key(Path(key_path))
    # Never create: a typo in --registry must not become a fresh, empty registry.
    registry = open_registry(options.registry_url, create=False)
    closers.append(registry.close)
    closers.append(RunLock(options.log_path, station_id).release)
    check_enrolled(registry, station_id, signer)
    log = ProvenanceLog.open(options.log_path, signer, station_id, repair=True)
    check_log_head(log, registry.station_heads().get(station_id))
    terms = batch_terms(profile)
    published = registry.support_period(profile.product)
    state = registry.open_batch(options.batch, profile.product, key_id, profile.source,
                                station_id, allow_closed=True, terms=terms)
    log.append("station.started", batch=options.batch, product=profile.product,
               key_id=key_id, profile=profile.source, operator=options.operator,
               firmware=str(profile.section("product").get("firmware", "")))
    log_support_period(log, options.batch, profile.product, terms, published)
    scope = Scope(options.batch, profile.product, key_id, station_id, options.operator)
    ledger = RegistryLedger(registry, log, scope, closed=state == "closed",
                            lease=options.lease, ports=max(1, len(options.ports)))
    closers.append(ledger.close)
    return ledger


def log_support_period(log: ProvenanceLog, batch: str, product: str, terms: BatchTerms,
                       published: SupportPeriod | None) -> None:
    """Record in the log a support period this batch published or extended (the registry
    has already refused a shorter one)."""
    end = terms.support_end
    if end is None or (published is not None and end <= published.end):
        return
    log.append("support.extended" if published else "support.published", batch=batch,
               product=product, end=end,
               previous="" if published is None else published.end)
