"""``credline image``: per-device flash images for lines that program with other tools."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credline.cli._common import key_option
from credline.core.derive import Deriver
from credline.core.errors import BadInput, CheckFailed
from credline.core.ids import ProductId
from credline.core.policy import Profile
from credline.files.atomic import write_atomic
from credline.files.folders import probe_folder
from credline.files.profiles import load_profile
from credline.files.serials import read_serials
from credline.image.bulk import write_images
from credline.image.hex import HexBuilder, HexLayout, read_base
from credline.image.layout import esp_layout
from credline.image.nvs import NvsBuilder
from credline.image.target import ImageBuilder, image_path
from credline.keystore import open_key
from credline.station.assembly import StationOptions
from credline.station.images import run_image_batch
from credline.station.screen import open_screen

if TYPE_CHECKING:
    from credline.station.images import ImageBatch


@click.group("image")
def image() -> None:
    """Per-device flash images, for esptool scripts and gang programmers.

    \b
    Examples:
      credline image esp --profile factory/profiles/acme-plug.toml --key plug.key \\
          --serials order.txt --out images/
      credline image hex --profile acme-sensor.toml --key k.key \\
          --base firmware.hex --serials order.txt --out images/
    """


def registry_options(command: Callable[..., None]) -> Callable[..., None]:
    """--registry, --batch, --log, --station-key, --operator, --labels: recording a batch."""
    for option in reversed([
        click.option("--registry", "registry_url", metavar="URL",
                     help="Record the batch in this registry (and the signed log) as a "
                          "station does, so batch check, labels and audit verify see it."),
        click.option("--batch", help="Batch id (with --registry; resumes it if it exists)."),
        click.option("--log", "log_path", type=click.Path(path_type=Path, dir_okay=False),
                     default=Path("provenance.jsonl"), show_default=True,
                     help="Provenance log (with --registry)."),
        click.option("--station-key", type=click.Path(path_type=Path, dir_okay=False),
                     help="This station's identity (with --registry); default station.key "
                          "next to the log."),
        click.option("--operator", default="", help="Operator name for the log."),
        click.option("--labels", "label_dir", type=click.Path(path_type=Path, file_okay=False),
                     help="Where label files go (with --registry; default labels/<batch>)."),
    ]):
        command = option(command)
    return command


def _record_batch(profile: Profile, key_ref: str, out: Path, serials: list[str],
                  where: dict[str, Any], **image: Any) -> ImageBatch:
    """Write and record the images as a station records devices; CheckFailed if any failed."""
    batch = where["batch"]
    ProductId(batch, origin="--batch")
    options = StationOptions(batch=batch, registry_url=where["registry_url"],
                             log_path=where["log_path"], station_key=where["station_key"],
                             operator=where["operator"], label_dir=where["label_dir"])
    screen = open_screen(batch, sys.stdout, plain=True)
    try:
        result = run_image_batch(profile, open_key(key_ref), out, serials, options, screen,
                                 **image)
    finally:
        screen.close()
    if result.failed or result.queue.left:
        raise CheckFailed(f"batch {batch}: {result.passed} image(s) written, {result.failed} "
                          "failed (see above); run the same command to carry on")
    return result


def _serials(work_order: Path) -> list[str]:
    serials = [serial for _, serial in read_serials(work_order)]
    if not serials:
        raise BadInput(f"{work_order}: holds no serials; give one serial a line")
    return serials


@image.command("esp")
@click.option("--profile", "profile_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="Product profile TOML with an [esp] section.")
@key_option
@click.option("--serials", "work_order", required=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="Serials, one a line (or a CSV with a serial column).")
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for <serial>.bin (made if missing; files are owner-only).")
@registry_options
def esp(profile_path: Path, key_ref: str, work_order: Path, out: Path,
        registry_url: str | None, batch: str | None, log_path: Path,
        station_key: Path | None, operator: str, label_dir: Path | None) -> None:
    """Write one ESP32 NVS partition image per serial: OUT/<serial>.bin.

    Namespace 'credline' with serial, password, key_id, scheme and gen, byte-identical to
    Espressif's esp-idf-nvs-partition-gen (NVS format 2), sized by the profile's [esp]
    section or its partition table. Flash each at the partition's offset (printed), e.g.
    `esptool write-flash 0x10000 OUT/SN0001.bin`. Each file appears whole or not at all.

    With --registry and --batch every image is recorded as a station records a device
    (reserved, written, verified, locked; signed log; labels): run the same command again
    after a crash and it carries on, writing nothing twice. Without them the files are
    written and nothing is recorded. Exit 0 all written, 1 some failed, 2 bad input.

    \b
    Examples:
      credline image esp --profile acme-plug.toml --key plug.key --serials order.txt \\
          --out images/
      credline image esp --profile acme-plug.toml --key plug.key --serials order.txt \\
          --out images/B7 --registry sqlite:///factory.db --batch B7
    """
    if (registry_url is None) != (batch is None):
        raise BadInput("give --registry and --batch together (or neither: files only)")
    profile = load_profile(profile_path)
    layout = esp_layout(profile)
    serials = _serials(work_order)
    where = f"0x{layout.offset:x} ({layout.size:#x} bytes, from {layout.origin})"
    if batch is None:
        probe_folder(out, "--out folder")
        deriver = Deriver(open_key(key_ref), profile.format)
        builder = NvsBuilder(layout.size, key_id=deriver.key_id)
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        count = write_images(deriver, profile, serials, lambda serial, password: write_atomic(
            image_path(out, serial), builder.build(serial, password.reveal(), 0),
            what="NVS image"))
        click.echo(f"{count} image(s) in {out}: flash each at {where}")
        return
    _record_batch(profile, key_ref, out, serials, dict(
        batch=batch, registry_url=registry_url, log_path=log_path, station_key=station_key,
        operator=operator, label_dir=label_dir))
    click.echo(f"flash each image at {where}")


@image.command("hex")
@click.option("-p", "--profile", "profile_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="Product profile TOML with a [hex] section (address, sector_size, "
                   "prog_size, flash_start, flash_size).")
@key_option
@click.option("--base", "base_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="The product's firmware as Intel HEX; the slots must be erased in it.")
@click.option("--serials", "work_order", required=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="Serials, one a line (or a CSV with a serial column).")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for <serial>.hex (made if missing; files are owner-only).")
@registry_options
def hex_images(profile_path: Path, key_ref: str, base_path: Path, work_order: Path,
               out: Path, registry_url: str | None, batch: str | None, log_path: Path,
               station_key: Path | None, operator: str, label_dir: Path | None) -> None:
    """Write one Intel HEX image per serial: the base firmware plus the credential slot.

    The slot is what the credline hook (1.2 on) reads at boot, for the profile's flash
    program unit, at [hex] address (slot A; slot B, the next sector, stays erased). A base
    with firmware data in either slot sector, or slots outside the profile's flash, is
    refused. Every file is parsed again and compared with the base before the next one.

    With --registry and --batch every image is recorded as a station records a device
    (reserved, written, verified, locked; signed log; labels), and a rerun after a crash
    carries on, writing nothing twice. Exit 0 all written, 1 some failed (or a password
    broke the profile's policy), 2 bad input.

    \b
    Examples:
      credline image hex --profile acme-sensor.toml --key sensor.key \\
          --base fw-1.4.hex --serials order.txt --out images/
      credline image hex --profile acme-sensor.toml --key sensor.key --base fw-1.4.hex \\
          --serials order.txt --out images/B7 --registry sqlite:///factory.db --batch B7
    """
    if (registry_url is None) != (batch is None):
        raise BadInput("give --registry and --batch together (or neither: files only)")
    profile = load_profile(profile_path)
    layout = HexLayout.of(profile)
    base = read_base(base_path, layout)
    serials = _serials(work_order)
    where = f"the slot at {layout.address:#x} (program unit {layout.prog_size}, from " \
            f"{layout.origin})"
    if batch is not None:
        def builder_for(key_id: str) -> ImageBuilder:
            return HexBuilder(base, layout, profile, key_id)

        _record_batch(profile, key_ref, out, serials, dict(
            batch=batch, registry_url=registry_url, log_path=log_path,
            station_key=station_key, operator=operator, label_dir=label_dir),
            builder_for=builder_for, suffix=".hex")
        click.echo(f"images in {out}: {where}")
        return
    probe_folder(out, "--out folder")
    deriver = Deriver(open_key(key_ref), profile.format)
    hex_builder = HexBuilder(base, layout, profile, deriver.key_id)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    count = write_images(deriver, profile, serials,
                         lambda serial, password: hex_builder.write(out, serial, password, 0))
    click.echo(f"{count} image(s) in {out}: {where}")


COMMANDS = [image]
