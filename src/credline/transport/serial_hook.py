"""Talking to the credline hook over a serial port (or any pyserial URL).

Opens ports by name or URL with ``serial.serial_for_url`` (a tty, a pty of a virtual device,
``socket://``, ``loop://``), never an OS handle. Each request carries a sequence number; a
reply that does not come within the timeout, or comes damaged, is retried. Errors are
:class:`DeviceError`\\s in plain words for the operator; no password appears in any of them.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

import serial

from credline.errors import CredlineError
from credline.framing import Deframer, Frame, FrameError
from credline.protocol import (
    HELLO,
    LOCK,
    NONCE_BYTES,
    PUT,
    REPLY_ERROR,
    REPLY_OK,
    VERIFY,
    DeviceState,
    Hello,
    WireError,
)
from credline.record import Record

DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 3


class DeviceError(CredlineError):
    """A device failed; the message says what to do in plain words."""

    exit_code = 1


class NoAnswer(DeviceError):
    pass


class DeviceRefused(DeviceError):
    def __init__(self, message: str, code: WireError) -> None:
        super().__init__(message)
        self.code = code


class VerifyFailed(DeviceError):
    pass


class HookLink:
    """One device on one port."""

    def __init__(self, port: str, baud: int = 115200, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self._seq = secrets.randbelow(256)
        self.bytes_sent = 0
        self.bytes_received = 0
        try:
            self._serial = serial.serial_for_url(port, baudrate=baud, timeout=0.05,
                                                 write_timeout=timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise NoAnswer(f"cannot open {port}: {exc}",
                           hint="is the adapter plugged in and the port name right?") from None
        self._serial.reset_input_buffer()
        self._deframer = Deframer()

    def close(self) -> None:
        self._serial.close()

    def __enter__(self) -> HookLink:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, cmd: int, body: bytes = b"") -> bytes:
        """Send a command and return the reply body; retries on silence or damage."""
        self._seq = (self._seq + 1) & 0xFF
        frame = Frame(self._seq, cmd, body).encode()
        last = "no answer"
        for _ in range(self.retries + 1):
            try:
                self._serial.write(frame)
                self._serial.flush()
            except (serial.SerialException, OSError):
                raise NoAnswer(f"device on {self.port} went away",
                               hint="check the cable and power") from None
            self.bytes_sent += len(frame)
            reply = self._await(self._seq)
            if isinstance(reply, Frame):
                if reply.cmd == REPLY_ERROR and len(reply.body) == 2:
                    try:
                        code = WireError(reply.body[1])
                    except ValueError:
                        raise DeviceError(f"device on {self.port} sent unknown error "
                                          f"{reply.body[1]}") from None
                    if code is WireError.CRC:
                        last = "our frame arrived damaged"
                        continue  # the line damaged our frame: send it again
                    raise DeviceRefused(f"device on {self.port} refused: {code.plain}", code)
                if reply.cmd == cmd | REPLY_OK:
                    return reply.body
                last = f"unexpected reply 0x{reply.cmd:02x}"
            else:
                last = reply
        raise NoAnswer(f"device on {self.port} did not answer ({last}) after "
                       f"{self.retries + 1} tries", hint="check the cable")

    def _await(self, seq: int) -> Frame | str:
        deadline = time.monotonic() + self.timeout
        problem = "no answer"
        while time.monotonic() < deadline:
            try:
                # Return as soon as anything arrives (a fixed size would wait out the timeout).
                data = self._serial.read(max(1, self._serial.in_waiting))
            except (serial.SerialException, OSError):
                raise NoAnswer(f"device on {self.port} went away",
                               hint="check the cable and power") from None
            self.bytes_received += len(data)
            for item in self._deframer.feed(data):
                if isinstance(item, FrameError):
                    problem = f"garbled reply ({item})"
                    return problem
                if item.seq == seq:
                    return item
        return problem

    def hello(self) -> Hello:
        try:
            return Hello.parse(self.request(HELLO, bytes([1])))
        except ValueError:
            raise DeviceError(f"device on {self.port} sent a malformed HELLO",
                              hint="is this a credline device?") from None

    def put(self, record: Record) -> DeviceState:
        return DeviceState(self.request(PUT, record.encode())[0])

    def verify(self, record: Record) -> None:
        """Fresh nonce in, HMAC(nonce, stored record) out; raises unless it matches."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        answer = self.request(VERIFY, nonce)
        expected = hmac.digest(nonce, record.encode(), "sha256")
        if not hmac.compare_digest(answer, expected):
            raise VerifyFailed(f"device on {self.port} holds different bytes than were sent",
                               hint="re-provision it; if it repeats, the flash may be failing")

    def lock(self) -> DeviceState:
        return DeviceState(self.request(LOCK)[0])


@dataclass(frozen=True)
class ProvisionResult:
    port: str
    serial: str
    hardware_id: str
    state: DeviceState
    seconds: float
    bytes_sent: int
    bytes_received: int


def provision_device(port: str, record: Record, *, lock: bool = True, baud: int = 115200,
                     timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES
                     ) -> ProvisionResult:
    """HELLO, PUT, VERIFY and (by default) LOCK one device."""
    start = time.monotonic()
    with HookLink(port, baud=baud, timeout=timeout, retries=retries) as link:
        hello = link.hello()
        if hello.state is DeviceState.LOCKED:
            raise DeviceRefused(f"device on {port} is already locked (serial "
                                f"{hello.serial!r})", WireError.LOCKED)
        link.put(record)
        link.verify(record)
        state = link.lock() if lock else DeviceState.PROVISIONED
        return ProvisionResult(port, record.serial, hello.hardware_id, state,
                               time.monotonic() - start, link.bytes_sent, link.bytes_received)
