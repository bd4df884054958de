"""Device labels: the serial, the password grouped for reading, and a QR code holding both.

:mod:`~credline.labels.model` builds a :class:`Label` from a profile and a password;
:mod:`~credline.labels.zpl` renders ZPL for Zebra printers, :mod:`~credline.labels.pdf` a PDF
sheet for office printers; :mod:`~credline.labels.output` writes them owner-only or sends
them to a printer. :class:`LabelSink` is what the station uses: one call per device.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from credline.core.errors import ProfileError
from credline.core.policy import Profile
from credline.core.secret import Password
from credline.files.atomic import Staged, sweep
from credline.labels import pdf, zpl
from credline.labels.layout import Font, text_width
from credline.labels.model import (
    Label,
    LabelFormat,
    LabelSpec,
    make_label,
    plan,
    spec_from_profile,
)
from credline.labels.output import send_to_printer, stage_private, write_private

__all__ = ["Label", "LabelDraft", "LabelFormat", "LabelSink", "LabelSpec", "make_label",
           "spec_from_profile"]


class LabelDraft:
    """A label file complete on disk but not yet under its name (see :meth:`LabelSink.draft`):
    :meth:`publish` names it and sends it to the printer, :meth:`discard` drops it."""

    def __init__(self, staged: Staged, text: str, printer: str | None,
                 printing: threading.Lock) -> None:
        self._staged = staged
        self._text = text
        self._printer = printer
        self._printing = printing

    def publish(self) -> Path:
        path = self._staged.publish()
        if self._printer:
            with self._printing:
                send_to_printer(self._printer, self._text)
        return path

    def discard(self) -> None:
        self._staged.discard()


class LabelSink:
    """Writes one ZPL file per device (and sends it to the printer), and the PDF sheet.

    Thread-safe: station workers call :meth:`emit` and :meth:`draft` concurrently, and the
    printer gets one label at a time. ZPL files are named ``<serial>.zpl`` in ``directory``;
    the sheet is ``<batch>-labels.pdf``.
    """

    def __init__(self, directory: Path, spec: LabelSpec, batch: str) -> None:
        self.directory = directory
        self.spec = spec
        self.batch = batch
        self._lock = threading.Lock()  # the printer's: one label at a time
        if spec.template is not None:
            zpl.check_template(spec.template)

    def check_fits(self, profile: Profile, serials: Sequence[str] | None) -> None:
        """Refuse, before the batch opens, a label the layout cannot hold: laid out for the
        widest of ``serials`` (or a 16-character serial when devices report their own) and a
        password of the profile's length in its widest letter. Raises ProfileError."""
        widest = max(serials, key=lambda s: text_width(s, Font.BOLD, 10)) if serials else ""
        serial = widest or "W" * 16
        sample = make_label(profile, self.spec, serial=serial,
                            password=Password("W" * profile.format.length),
                            key_id="f" * 16, batch=self.batch, generation=0)
        try:
            if self.spec.template is None:
                plan(sample, self.spec)
            elif self.spec.format is not LabelFormat.PDF:
                zpl.check_geometry(zpl.render(sample, self.spec), "[label] template")
        except ProfileError as exc:
            raise ProfileError(f"{profile.source}: [label] {exc.message} (laid out for serial "
                               f"{serial!r})") from None

    def emit(self, label: Label) -> Path | None:
        """Write (and print) one device's label; returns the ZPL file, if one was written."""
        draft = self.draft(label)
        return None if draft is None else draft.publish()

    def draft(self, label: Label) -> LabelDraft | None:
        """One device's label file written and fsynced, not yet named or printed: the
        station drafts it while the device flashes and publishes it once the device is
        locked. None when the profile prints PDF sheets only."""
        if self.spec.format is LabelFormat.PDF:
            return None
        text = zpl.render(label, self.spec)
        if self.spec.template is not None:  # hand-written: its fixed geometry may not fit
            zpl.check_geometry(text, "[label] template")
        # Each device has a file of its own: ports write theirs at once (the disk takes
        # their fsyncs side by side); only the printer takes one label at a time.
        self.directory.mkdir(parents=True, exist_ok=True)
        staged = stage_private(self.directory / f"{label.serial}.zpl", text.encode("utf-8"))
        return LabelDraft(staged, text, self.spec.printer, self._lock)

    def sweep(self) -> list[Path]:
        """Remove the label and sheet temporaries a killed earlier run left in the folder
        (they hold passwords); returns what was removed. Files being written are kept."""
        found = sweep(self.directory, lambda name: name.endswith((".zpl", "-labels.pdf")))
        return [stale.path for stale in found if stale.left is None]

    def has(self, serial: str) -> bool:
        """Whether this device's label was already written (PDF-only sheets: always False)."""
        return (self.directory / f"{serial}.zpl").exists()

    @property
    def sheet_path(self) -> Path:
        return self.directory / f"{self.batch}-labels.pdf"

    def write_sheet(self, labels: list[Label]) -> Path | None:
        """The PDF sheet of ``labels`` (the whole batch so far), unless the profile says ZPL."""
        if self.spec.format is LabelFormat.ZPL:
            return None
        data = pdf.render_sheet(labels, self.spec, title=f"credline labels, batch {self.batch}")
        self.directory.mkdir(parents=True, exist_ok=True)
        write_private(self.sheet_path, data)  # once, at the end of the run
        return self.sheet_path
