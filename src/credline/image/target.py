"""An image file as the station's :class:`~credline.core.device.Link`: ``DIR/<serial>.bin``
(an ESP32 NVS partition) or ``DIR/<serial>.hex`` (base firmware plus the hook's slot).

``credline image esp|hex --registry`` records image files exactly as the station records
devices (reserved, written, verified, locked, signed log entries, labels), so QA, labels and
``audit verify`` see an image batch as they see a station batch. The "device" is the file:
its hardware id is ``image:<serial>.bin`` (or ``.hex``), PUT writes it atomically (a kill
leaves no half image), VERIFY reads it back and compares it byte for byte, LOCK has nothing
to do (a file is final once written). Never opens a port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from credline.core.device import Credential, DeviceFault, DeviceHello, HookState, VerifyMismatch
from credline.core.errors import os_failure
from credline.files.atomic import write_atomic


class ImageBuilder(Protocol):
    """Makes one device's image (an NVS partition, a HEX file) from its credential."""

    def build(self, serial: str, password: str, generation: int) -> bytes: ...


def image_path(directory: Path, serial: str, suffix: str = ".bin") -> Path:
    return directory / f"{serial}{suffix}"


def hardware_id(serial: str, suffix: str = ".bin") -> str:
    return f"image:{serial}{suffix}"


class ImageFile:
    """One serial's image file in ``directory``."""

    def __init__(self, directory: Path, builder: ImageBuilder, serial: str,
                 suffix: str = ".bin") -> None:
        self.path = image_path(directory, serial, suffix)
        self.serial = serial
        self.suffix = suffix
        self._builder = builder

    def image(self, credential: Credential) -> bytes:
        return self._builder.build(credential.serial, credential.password.reveal(),
                                   credential.generation)

    def hello(self) -> DeviceHello:
        held = self.path.exists()
        return DeviceHello(hardware_id(self.serial, self.suffix),
                           HookState.PROVISIONED if held else HookState.BLANK,
                           self.serial if held else None)

    def put(self, credential: Credential) -> None:
        write_atomic(self.path, self.image(credential), what="image")

    def verify(self, credential: Credential) -> None:
        try:
            written = self.path.read_bytes()
        except FileNotFoundError:
            raise VerifyMismatch(f"{self.path}: the image is not there") from None
        except OSError as exc:
            raise DeviceFault(str(os_failure(exc, f"{self.path}: cannot read the image back"))
                              ) from None
        if written != self.image(credential):
            raise VerifyMismatch(f"{self.path}: the image read back differs from the one "
                                 "written")

    def lock(self) -> None:
        """A file is final once written and verified."""

    def close(self) -> None:
        """Nothing held open."""
