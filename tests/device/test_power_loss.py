"""Power pulled at a random moment of a provisioning, on both kinds of device: the process
(the virtual device, or QEMU with its board) is killed with SIGKILL while the hook writes its
slow flash, then started again on the same flash file and provisioned to the end."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.protocol import DeviceState
from credline.core.record import Record
from credline.transport.serial_hook import DeviceError, HookLink
from tests.boards import KINDS, make_device, require
from tests.device.conftest import PASSWORD, record
from tests.device.exchange import provision_device

FLASH_DELAY_MS = 40  # per program or erase call: a provisioning spends a few hundred ms writing


def _provision_in_background(port: str, rec: Record) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(DeviceError):  # the power went: the line died under it
            provision_device(port, rec, timeout=0.5, retries=0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=6, deadline=None)
@given(after=st.floats(0.0, 0.6))
def test_kill_mid_write_then_restart_and_reprovision(
        tmp_path_factory: pytest.TempPathFactory, kind: str, after: float) -> None:
    require(kind)
    flash = tmp_path_factory.mktemp("kill") / "flash.bin"
    dev = make_device(kind, flash, "KILL1", flash_delay_ms=FLASH_DELAY_MS).start()
    try:
        thread = _provision_in_background(dev.port, record())
        time.sleep(after)  # where the kill lands; the assertions hold wherever that is
        dev.unplug()
        thread.join(timeout=10)
        view = dev.runtime(check_password=PASSWORD)
        assert view["provisioned"] in ("0", "1")
        if view["provisioned"] == "1":  # the new record whole, never a torn one
            assert view["serial"] == "SN0001" and view["password"] == "match"
        dev.restart(flash_delay_ms=0)
        if view["locked"] == "1":  # the kill came after LOCK: the board says so
            with HookLink(dev.port) as link:
                hello = link.hello()
            assert (hello.state, hello.serial) == (DeviceState.LOCKED, "SN0001")
        else:
            assert provision_device(dev.port, record()).state is DeviceState.LOCKED
        assert dev.runtime(check_password=PASSWORD) == {
            "provisioned": "1", "locked": "1", "serial": "SN0001",
            "key_id": "e98c6960947e8461", "generation": "0", "password": "match"}
    finally:
        dev.stop()
