"""``credline station``: run a provisioning station over serial ports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from credline.cli._common import F, key_option
from credline.core.errors import BadInput, CheckFailed, KeystoreError
from credline.core.ids import check_batch_id
from credline.core.policy import Profile
from credline.files.profiles import load_profile
from credline.keystore import open_key
from credline.station.assembly import StationOptions, build_station
from credline.station.events import BatchModel
from credline.station.runner import Station
from credline.station.screen import open_screen


@click.group("station")
def station() -> None:
    """Provisioning station: identity and runs.

    \b
    Example:
      credline station run --profile factory/profiles/acme-cam.toml --key line1.key \\
          --batch 2026-11-A --serials order.txt --ports-from '/dev/credline/*'
    """


def ledger_options(func: F) -> F:
    """The options every run that writes devices shares: registry, log, identity, labels."""
    for option in reversed([
        click.option("--registry", "registry_url", default="sqlite:///credline.db",
                     show_default=True,
                     help="Registry URL (sqlite:///FILE or postgresql://...), made by "
                          "'credline registry init'."),
        click.option("--log", "log_path", type=click.Path(path_type=Path, dir_okay=False),
                     default=Path("provenance.jsonl"), show_default=True,
                     help="Provenance log (JSON Lines, appended)."),
        click.option("--station-key", type=click.Path(path_type=Path, dir_okay=False),
                     help="This station's identity from 'credline station enroll' "
                          "(passphrase from CREDLINE_STATION_PASSPHRASE); default "
                          "station.key next to the log."),
        click.option("--operator", default="", help="Operator name for the log."),
        click.option("--labels", "label_dir",
                     type=click.Path(path_type=Path, file_okay=False),
                     help="Where label files go (default labels/<batch>)."),
    ]):
        func = option(func)
    return func


def execute(profile: Profile, key_ref: str, options: StationOptions, plain: bool,
            web: str | None = None) -> Station:
    """Build the station, run it, close it; CheckFailed if the batch is not complete."""
    model = BatchModel(options.batch)
    server = None
    if web is not None:
        from credline.web.server import LiveServer

        server = LiveServer(web, model.state, view="station",
                            title=f"credline station - batch {options.batch}")
        click.echo(f"live view on {server.url} (a browser on this network can open it)")
    screen = open_screen(options.batch, sys.stdout, plain=True if plain else None, model=model)
    try:
        built = build_station(profile, open_key(key_ref), options, screen)
        try:
            complete = built.station.run()
        finally:
            built.close()
    finally:
        screen.close()
        if server is not None:
            server.close()
    st, batch = built.station, options.batch
    if st.interrupted:
        raise CheckFailed(f"interrupted: batch {batch} left open, {st.passed} passed; run the "
                          "same command to carry on")
    if not complete and options.count is not None and st.passed >= options.count \
            and not st.failed:
        click.echo(f"{st.passed} device(s) passed, as many as asked; batch {batch} stays open "
                   "for the rest of its work order", err=True)
        return st
    if not complete:
        raise CheckFailed(f"batch {batch} not complete: {st.passed} passed, {st.failed} "
                          "failed (see above); run the same command to carry on")
    return st


@station.command("run")
@click.option("-p", "--profile", "profile_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False), help="Product profile TOML.")
@key_option
@click.option("--batch", required=True, help="Batch id (resumes it if it exists).")
@click.option("--port", "ports", multiple=True, metavar="PORT",
              help="A serial port or pyserial URL (repeatable).")
@click.option("--ports-from", "patterns", multiple=True, metavar="GLOB",
              help="Ports matching this glob, watched as they come and go (repeatable), "
                   "e.g. '/dev/credline/*', or 'DIR/*' for the links of "
                   "'credline sim --links DIR'.")
@click.option("--auto", is_flag=True,
              help="Also take USB-serial adapters as they are plugged in; run until Ctrl-C.")
@click.option("--serials", "work_order", type=click.Path(path_type=Path, dir_okay=False),
              help="Work order: serials in the order to use them (else each device's own "
                   "serial, if the profile's [device] serial_source says so).")
@ledger_options
@click.option("--count", type=click.IntRange(1),
              help="Stop after this many devices passed (exit 0 if none failed; the batch "
                   "stays open for the rest of the work order).")
@click.option("--idle-exit", type=click.FloatRange(0), metavar="SECONDS",
              help="End the run once every port has been quiet this long (for unattended "
                   "runs; the batch stays open if work is left).")
@click.option("--lease", type=click.FloatRange(0.5, 3600), default=30.0, show_default=True,
              metavar="SECONDS",
              help="How long this station holds a device it is working on without renewing "
                   "the hold (renewed every third of it); a station that dies lets go after "
                   "this long, for the other stations of a cell.")
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
@click.option("--web", metavar="HOST:PORT",
              help="Also show the live screen in a browser at this address, e.g. "
                   "127.0.0.1:8080 (this machine only) or the station's LAN address; port 0 "
                   "picks a free one. Binds to exactly that address.")
def run(profile_path: Path, key_ref: str, batch: str, ports: tuple[str, ...],
        patterns: tuple[str, ...], auto: bool, work_order: Path | None, registry_url: str,
        log_path: Path, station_key: Path | None, operator: str, label_dir: Path | None,
        count: int | None, idle_exit: float | None, lease: float, plain: bool,
        web: str | None) -> None:
    """Provision a batch: every device on every port, in parallel, resumable.

    For each device: HELLO, pick its serial, reserve it, derive its password, check it
    against the profile, write, verify, lock, commit to the registry and the signed log,
    print its label. Kill it at any moment and run the same command again: it carries on.
    Exit 0 when the batch is complete (or --count devices passed) and every device passed,
    1 when devices failed or work is left, 2 for bad input.

    The registry must have been made by `credline registry init URL` (a missing SQLite file
    is not created) and this station enrolled there with `credline station enroll`; an empty
    work order is refused. Each is checked before anything is written or any device touched.

    \b
    Examples:
      credline station run --profile acme-cam.toml --key line1.key --batch B42 \\
          --serials order-42.txt --port /dev/ttyUSB0 --port /dev/ttyUSB1
      credline station run --profile acme-cam.toml --key line1.key --batch B43 \\
          --serials order-43.txt --auto
    """
    if not (ports or patterns or auto):
        raise BadInput("give at least one --port, --ports-from GLOB or --auto")
    check_batch_id(batch, origin="--batch")
    profile = load_profile(profile_path)
    options = StationOptions(batch=batch, ports=ports, patterns=patterns, auto=auto,
                             work_order=work_order, registry_url=registry_url,
                             log_path=log_path, station_key=station_key, operator=operator,
                             label_dir=label_dir, count=count, idle_exit=idle_exit,
                             lease=lease)
    if web is not None:
        from credline.web.server import parse_address

        parse_address(web)  # bad input before anything opens
    execute(profile, key_ref, options, plain, web)


@station.command("web")
@click.option("--registry", "url", required=True,
              help="The cell's shared registry (postgresql://... or sqlite:///FILE).")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT",
              help="Address to serve the cell view on; port 0 picks a free one.")
@click.option("--exit-after", type=click.FloatRange(0), metavar="SECONDS",
              help="Stop serving after this long (for scripted checks); default: until "
                   "Ctrl-C.")
def web_command(url: str, listen: str, exit_after: float | None) -> None:
    """Serve the cell view: every station's live counts in every batch of a registry.

    Read only: one grouped count a second from the registry, whatever the number of
    browsers. Open the printed address in a browser (no internet needed).

    \b
    Example:
      credline station web --registry postgresql://line@db/factory --listen 0.0.0.0:8080
    """
    import contextlib
    import threading

    from credline.registry import open_registry
    from credline.web.cell import CellState
    from credline.web.server import LiveServer, parse_address

    parse_address(listen, "--listen")
    with open_registry(url, create=False) as reg, LiveServer(
            listen, CellState(reg), view="cell", title="credline cell",
            origin="--listen") as server:
        click.echo(f"cell view on {server.url} (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait(exit_after)


@station.command("enroll")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The station key file to create (Ed25519, passphrase-wrapped); must not "
                   "exist yet.")
@click.option("--station-id", required=True, help="This station's name, e.g. line1-st1.")
@click.option("--registry", "url", required=True,
              help="Registry URL to enrol the key in (made by 'credline registry init').")
def enroll_command(out: Path, station_id: str, url: str) -> None:
    """Create this station's signing key and enrol its public key in the registry.

    Every provenance log entry the station writes is signed with this key; `audit verify`
    checks the signatures against the enrolled public key, and `station run` refuses a
    station that is not enrolled. The registry must exist (`credline registry init URL`);
    an existing --out is refused before anything happens. The key file is written first and
    the public key registered after it; if registering fails, the new file is removed. The
    passphrase comes from CREDLINE_STATION_PASSPHRASE (else CREDLINE_PASSPHRASE) or a prompt.

    \b
    Example:
      credline registry init sqlite:///factory.db
      credline station enroll --out station1.key --station-id line1-st1 \\
          --registry sqlite:///factory.db
    """
    from credline.registry import open_registry
    from credline.station.identity import enroll, station_passphrase

    if out.exists() or out.is_symlink():
        raise KeystoreError(f"{out}: already exists; refusing to overwrite a key file "
                            "(give a new --out)")
    with open_registry(url, create=False) as reg:
        passphrase = station_passphrase(out, confirm=True)
        enroll(out, station_id, passphrase, reg)
    click.echo(f"station {station_id} enrolled; key in {out}")


COMMANDS = [station]
