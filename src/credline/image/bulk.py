"""Per-device images in bulk, without a registry: ``DIR/<serial>.bin`` (ESP32 NVS) or
``DIR/<serial>.hex`` for each serial.

Each file is written atomically; a failure stops the run with the files written so far
complete and no half image. With a registry the station's image batch
(:mod:`credline.station.images`) does this instead, recording every file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from credline.core.derive import Deriver
from credline.core.errors import CheckFailed
from credline.core.ids import Serial
from credline.core.policy import Profile, policy_violations
from credline.core.secret import Password


def write_images(deriver: Deriver, profile: Profile, serials: Iterable[str],
                 write: Callable[[str, Password], object]) -> int:
    """``write(serial, password)`` each serial's image (generation 0); the number written.
    A password that breaks the profile's policy stops the run (CheckFailed), as it stops a
    station. ``write`` writes atomically, so a failure leaves the files so far whole."""
    count = 0
    for serial in serials:
        password = deriver.password(profile.product, Serial(serial), 0)
        problems = policy_violations(password.reveal(), profile)
        if problems:
            raise CheckFailed(f"the password derived for {serial} breaks the profile's "
                              f"policy ({'; '.join(problems)}): stopping")
        write(serial, password)
        count += 1
    return count
