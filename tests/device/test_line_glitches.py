"""A line glitch is resent, over real ptys: a frame the device says reached it damaged (error
9, or 3 from hooks before 1.1) goes again with the same seq, and a bad SLIP escape damaged on
the way to the real C hook is answered as a CRC error and resent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from credline.core.framing import Deframer, Frame, unslip
from credline.core.protocol import HELLO, PUT, REPLY_ERROR, DeviceState, WireError
from credline.transport.serial_hook import HookLink
from credline.transport.virtual import VirtualDevice
from tests.device.conftest import PASSWORD, record
from tests.device.exchange import provision_device
from tests.device.ptydevice import PtyDevice, PtyProxy, error


@pytest.mark.parametrize("code", [WireError.CRC, WireError.TOO_BIG])
def test_a_frame_the_device_got_damaged_is_sent_again(code: WireError) -> None:
    answered: list[int] = []

    def script(request: Frame, honest: Frame) -> bytes:
        answered.append(request.cmd)
        first = answered.count(request.cmd) == 1
        return error(request, code) if request.cmd == PUT and first else honest.encode()

    with PtyDevice(script=script) as device, HookLink(device.port, timeout=0.5) as link:
        link.hello()
        assert link.put(record()) is DeviceState.PROVISIONED
        puts = device.seen(PUT)
    assert len(puts) == 2 and puts[0] == puts[1]  # the same frame, same seq, once more
    assert device.record == record().encode()


def _bad_escape_in_put(damaged: list[int]) -> Callable[[int, bytes], bytes]:
    """Damage the station's first PUT after its header: 0xDB 0x01 is no escape. Found by its
    command, not its place: a HELLO resent on a slow machine (its reply later than the
    timeout) made the second frame a HELLO, and the PUT went through undamaged."""
    def damage(n: int, frame: bytes) -> bytes:
        if damaged or unslip(frame)[2] != PUT:
            return frame
        damaged.append(n)
        return frame[:3] + b"\xdb\x01" + frame[3:]

    return damage


def test_a_bad_escape_on_the_line_is_answered_as_a_crc_error_and_resent(
        tmp_path: Path) -> None:
    device = VirtualDevice(tmp_path / "flash.bin", hwid="GLITCH").start()
    try:
        damaged: list[int] = []
        with PtyProxy(device.port, _bad_escape_in_put(damaged)) as line:
            # A timeout that a busy machine does not reach: the resend under test is the
            # one the device's CRC error asks for, which comes at once.
            result = provision_device(line.port, record(), timeout=2.0)
            replies = [f for f in Deframer().feed(bytes(line.to_station)) if isinstance(f, Frame)]
            sent = [f for f in Deframer().feed(bytes(line.to_device)) if isinstance(f, Frame)]
    finally:
        device.stop()
    assert result.state is DeviceState.LOCKED and len(damaged) == 1
    put_seq = next(f.seq for f in sent if f.cmd == PUT)  # the damaged try does not decode
    assert [(f.cmd, f.body) for f in replies if f.seq == put_seq] == [
        (REPLY_ERROR, bytes([PUT, WireError.CRC])), (PUT | 0x80, b"\x01")]
    assert sum(f.cmd == HELLO for f in sent) == 1
    view = device.runtime(check_password=PASSWORD)
    assert (view["serial"], view["locked"], view["password"]) == ("SN0001", "1", "match")
