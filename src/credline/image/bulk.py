"""Per-device NVS images in bulk, without a registry: ``DIR/<serial>.bin`` for each serial.

Each file is written atomically; a failure stops the run with the files written so far
complete and no half image. With a registry the station's image batch
(:mod:`credline.station.images`) does this instead, recording every file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from credline.core.derive import Deriver
from credline.core.errors import CheckFailed
from credline.core.ids import Serial
from credline.core.policy import Profile, policy_violations
from credline.files.atomic import write_atomic
from credline.image.nvs import NvsBuilder
from credline.image.target import image_path


def write_images(deriver: Deriver, profile: Profile, builder: NvsBuilder,
                 serials: Iterable[str], out: Path) -> int:
    """Write one image per serial (generation 0); the number written. A password that
    breaks the profile's policy stops the run (CheckFailed), as it stops a station."""
    count = 0
    for serial in serials:
        password = deriver.password(profile.product, Serial(serial), 0)
        problems = policy_violations(password.reveal(), profile)
        if problems:
            raise CheckFailed(f"the password derived for {serial} breaks the profile's "
                              f"policy ({'; '.join(problems)}): stopping")
        write_atomic(image_path(out, serial), builder.build(serial, password.reveal(), 0),
                     what="NVS image")
        count += 1
    return count
