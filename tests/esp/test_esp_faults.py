"""What the esp transport calls a device fault: a reply esptool's own code cannot parse fails
that board alone; the same kind of error raised by credline's code is a bug and stays one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from esptool.util import byte, flash_size_bytes

from credline.core.device import DeviceFault
from credline.transport.esp import _faults, mac_text


@pytest.mark.parametrize("parse", [lambda: byte(b"", 3),  # a reply shorter than its fields
                                   lambda: flash_size_bytes("xyMB")])
def test_esptools_own_parse_errors_fail_the_board(parse: Callable[[], object]) -> None:
    with pytest.raises(DeviceFault) as caught, _faults("/dev/ttyUSB3", "reading the MAC"):
        parse()
    message = str(caught.value)
    assert message.startswith("/dev/ttyUSB3: reading the MAC failed: the device answered "
                              "garbage (")


def test_the_same_errors_from_credlines_code_stay_bugs() -> None:
    with pytest.raises(ValueError, match="format code"), _faults("/dev/ttyUSB3", "hello"):
        mac_text(("not", "a", "mac"))  # type: ignore[arg-type]


def test_a_callback_esptool_calls_that_fails_is_not_the_devices_fault() -> None:
    # The relay stands for esptool calling back (progress, log lines): its own error is the
    # device's, the error of the credline code it called is credline's.
    with pytest.raises(DeviceFault), _faults("/dev/ttyUSB3", "writing the partition"):
        _through_esptool(None)
    with pytest.raises(ValueError), _faults("/dev/ttyUSB3", "writing the partition"):
        _through_esptool(lambda: mac_text(("x",)))  # type: ignore[arg-type]


def _through_esptool(call: Callable[[], object] | None) -> object:
    """``call`` run from a frame of a module named as esptool's; with none, that frame
    raises IndexError itself."""
    namespace: dict[str, object] = {"__name__": "esptool.loader", "call": call}
    exec("def relay():\n    return call() if call else b''[0]\n", namespace)  # noqa: S102
    return namespace["relay"]()  # type: ignore[operator]
