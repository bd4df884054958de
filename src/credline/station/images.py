"""An image batch: image files (ESP32 NVS partitions, Intel HEX) recorded in the registry
and the provenance log exactly as the station records devices, by the station's own steps
(:class:`DeviceSteps`).

Each serial's file (:class:`~credline.image.target.ImageFile`) is the device: reserved,
bound (written) before its password leaves the station, written atomically, read back and
compared (verified), locked, labelled. A kill at any moment leaves at most a reservation
(released on the next run) or a bound row whose file the next run checks and, if need be,
writes again: nothing lost, nothing duplicated, and a password in no file but its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from credline.core.derive import Deriver
from credline.core.keys import MasterKey
from credline.core.policy import Profile
from credline.files.atomic import sweep
from credline.files.folders import probe_folder
from credline.image.layout import esp_layout
from credline.image.nvs import NvsBuilder
from credline.image.target import ImageBuilder, ImageFile, hardware_id
from credline.labels import LabelSink, spec_from_profile
from credline.station.assembly import BuiltStation, StationOptions, open_ledger
from credline.station.contracts import AlreadyDone, Busy, Ledger, Refused, StationConfig
from credline.station.events import BatchEvent, Event, Phase, PortEvent
from credline.station.queue import WorkQueue
from credline.station.steps import DeviceSteps


class ImageBatch(DeviceSteps):
    """Writes ``out/<serial><suffix>`` for every serial of the work order, through
    ``ledger``."""

    def __init__(self, config: StationConfig, profile: Profile, deriver: Deriver,
                 ledger: Ledger, builder: ImageBuilder, out: Path, labels: LabelSink | None,
                 emit: Callable[[Event], None], serials: list[str],
                 suffix: str = ".bin") -> None:
        self.config = config
        self.profile = profile
        self.deriver = deriver
        self.ledger = ledger
        self.labels = labels
        self.aside = None  # an image file is written at once: nothing to do beside it
        self.emit = emit
        self.builder = builder
        self.suffix = suffix
        self.out = out
        self.port = str(out)
        self._pending, done = ledger.resume()
        self.queue = WorkQueue(serials, done, held=[p.serial for p in self._pending])
        self.passed = 0
        self.failed = 0

    def run(self) -> bool:
        """Every serial's image, resuming what an earlier run left; True when all passed."""
        self.emit(BatchEvent("started", f"batch {self.config.batch}: {self.profile.product} "
                             f"images into {self.out}, key {self.deriver.key_id}, "
                             f"{self.queue.left + len(self._pending)} to go",
                             total=self.queue.total, done_before=self.queue.done_before))
        for pending in self._pending:
            link = ImageFile(self.out, self.builder, pending.serial, self.suffix)
            claimed = self.ledger.claim(hardware_id(pending.serial, self.suffix), self.port)
            if claimed is not None:
                self._count(self._adopt(self.port, link, link.hello(), claimed))
        while (serial := self.queue.take()) is not None:
            link = ImageFile(self.out, self.builder, serial, self.suffix)
            if self._reserve(serial):
                self._count(self._provision(self.port, link, link.hello(), serial))
        outcome = self.ledger.finish(self.queue.left == 0 and not self.ledger.unfinished())
        sheet = None
        if self.labels is not None:
            sheet = self.labels.write_sheet([self._label(s, g) for s, g in
                                             self.ledger.locked()])
        note = f"{self.passed} image(s) written, {self.failed} failed; {outcome}"
        self.emit(BatchEvent("finished", note + (f"; label sheet {sheet}" if sheet else "")))
        return self.failed == 0 and self.queue.left == 0

    def _reserve(self, serial: str) -> bool:
        self.emit(PortEvent(self.port, Phase.RESERVING, serial))
        try:
            self.ledger.reserve(serial, self.port, hardware_id(serial, self.suffix),
                                self._fingerprint_at(serial))
            return True
        except (Busy, AlreadyDone) as exc:
            self.queue.finish(serial)
            self.emit(BatchEvent("note", f"serial {serial} skipped: {exc}"))
        except Refused as exc:
            self.queue.finish(serial)
            self._fail(self.port, serial, str(exc))
            self.failed += 1
        return False

    def _count(self, ok: bool) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def run_image_batch(profile: Profile, key: MasterKey, out: Path, serials: list[str],
                    options: StationOptions, emit: Callable[[Event], None], *,
                    builder_for: Callable[[str], ImageBuilder] | None = None,
                    suffix: str = ".bin") -> ImageBatch:
    """Check every input, open the registry and log as a station does, write the images.

    ``builder_for(key_id)`` makes the image builder (default: the profile's ESP32 NVS
    partition); ``suffix`` names the files."""
    deriver = Deriver(key, profile.format)
    if builder_for is None:
        layout = esp_layout(profile)
        builder: ImageBuilder = NvsBuilder(layout.size, key_id=deriver.key_id)
    else:
        builder = builder_for(deriver.key_id)
    label_dir = options.label_dir or Path("labels") / options.batch
    labels = LabelSink(label_dir, spec_from_profile(profile), options.batch)
    probe_folder(label_dir, "--labels folder")
    probe_folder(out, "--out folder")
    closers: list[Callable[[], None]] = []
    try:
        ledger = open_ledger(profile, deriver.key_id, options, closers)
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        sweep(out, lambda name: name.endswith(suffix))
        labels.sweep()
        batch = ImageBatch(StationConfig(batch=options.batch), profile, deriver, ledger,
                           builder, out, labels, emit, serials, suffix)
        batch.run()
        return batch
    finally:
        BuiltStation.close_all(closers)
