"""An image file as the station's :class:`~credline.core.device.Link`: ``DIR/<serial>.bin``.

``credline image esp --registry`` records image files exactly as the station records
devices (reserved, written, verified, locked, signed log entries, labels), so QA, labels and
``audit verify`` see an image batch as they see a station batch. The "device" is the file:
its hardware id is ``image:<serial>.bin``, PUT writes it atomically (a kill leaves no half
image), VERIFY reads it back and compares it byte for byte, LOCK has nothing to do (a file
is final once written). Never opens a port.
"""

from __future__ import annotations

from pathlib import Path

from credline.core.device import Credential, DeviceFault, DeviceHello, HookState, VerifyMismatch
from credline.core.errors import os_failure
from credline.files.atomic import write_atomic
from credline.image.nvs import NvsBuilder


def image_path(directory: Path, serial: str) -> Path:
    return directory / f"{serial}.bin"


def hardware_id(serial: str) -> str:
    return f"image:{serial}.bin"


class ImageFile:
    """One serial's image file in ``directory``."""

    def __init__(self, directory: Path, builder: NvsBuilder, serial: str) -> None:
        self.path = image_path(directory, serial)
        self.serial = serial
        self._builder = builder

    def image(self, credential: Credential) -> bytes:
        return self._builder.build(credential.serial, credential.password.reveal(),
                                   credential.generation)

    def hello(self) -> DeviceHello:
        held = self.path.exists()
        return DeviceHello(hardware_id(self.serial),
                           HookState.PROVISIONED if held else HookState.BLANK,
                           self.serial if held else None)

    def put(self, credential: Credential) -> None:
        write_atomic(self.path, self.image(credential), what="NVS image")

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
