"""Talking to the credline hook over a serial port (or any pyserial URL).

Opens ports by name or URL with ``serial.serial_for_url`` (a tty, a pty of a virtual device,
``socket://``, ``loop://``), never an OS handle; a plain tty is then read and written on the
descriptor pyserial opened and set up. Each request carries a sequence number; a
reply that does not come within the timeout, or comes damaged, is retried, and so is a request
the device says reached it damaged. Whatever bytes a device sends, every method returns a typed
result or raises a :class:`DeviceError` (a malformed reply: :class:`BadReply`) in plain words
for the operator, naming the port; no password appears in any of them.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import select
import termios
import time

import serial

from credline.core.errors import BadReply, DeviceError
from credline.core.escape import escape_text
from credline.core.framing import PROTOCOL_VERSION, Deframer, Frame, FrameError
from credline.core.protocol import (
    HELLO,
    LOCK,
    NAMES,
    NONCE_BYTES,
    PUT,
    VERIFY,
    DeviceState,
    Hello,
    WireError,
    parse_mac,
    parse_reply,
    parse_state,
    reply_size_at_least,
)
from credline.core.record import Record

# What a port whose device vanished can raise: pyserial's own errors, the OS's, and termios's
# (a pty whose other end closed fails tcflush with termios.error, which is not an OSError).
LINE_ERRORS = (serial.SerialException, OSError, termios.error)
DEFAULT_TIMEOUT = 2.0


def open_failure(exc: BaseException) -> str:
    """Why a port did not open, once: pyserial wraps the OS error and repeats it
    ("[Errno 2] could not open port X: [Errno 2] No such file or directory: 'X'")."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc)
DEFAULT_RETRIES = 3

__all__ = ["BadReply", "DeviceError", "DeviceRefused", "HookLink", "NoAnswer", "VerifyFailed"]


class NoAnswer(DeviceError):
    pass


class DeviceRefused(DeviceError):
    def __init__(self, message: str, code: WireError) -> None:
        super().__init__(message)
        self.code = code


class VerifyFailed(DeviceError):
    pass


class HookLink:
    """One device on one port. Every method returns a typed result or raises a DeviceError."""

    def __init__(self, port: str, baud: int = 115200, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES) -> None:
        self.port = port
        self.origin = f"device on {escape_text(port)}"  # how messages name it
        self.timeout = timeout
        self.retries = retries
        self._seq = secrets.randbelow(256)
        self.bytes_sent = 0
        self.bytes_received = 0
        self.reads = 0  # read calls made: a reply should take a few, not one a byte
        self._byte_time = 10 / baud  # start, 8 data and stop bit
        try:
            self._serial = serial.serial_for_url(port, baudrate=baud, timeout=0.05,
                                                 write_timeout=timeout)
            self._serial.reset_input_buffer()
        except (*LINE_ERRORS, ValueError) as exc:
            raise NoAnswer(f"cannot open {escape_text(port)}: {escape_text(open_failure(exc))}",
                           hint="is the adapter plugged in and the port name right?") from None
        self._deframer = Deframer()
        # A plain tty (a USB adapter, a virtual device's pty) is read and written on the
        # descriptor pyserial opened and configured: its read and write were most of the
        # Python a request costs, on every port at once. Other URLs (socket://, loop://,
        # spy://, rfc2217://) have their own behaviour and go through pyserial.
        self._fd: int | None = (self._serial.fd if type(self._serial) is serial.Serial
                                else None)

    def close(self) -> None:
        # A port whose device vanished may fail to close; that must not hide why it failed.
        with contextlib.suppress(*LINE_ERRORS):
            self._serial.close()

    def __enter__(self) -> HookLink:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, cmd: int, body: bytes = b"") -> bytes:
        """Send a command and return the OK reply's body.

        The same frame (same seq) goes again on silence, a damaged reply, or the device saying
        our frame arrived damaged (error 9, or 3: see :attr:`WireError.resend`). A refusal
        raises DeviceRefused, a well-framed but malformed reply BadReply (never resent).
        """
        self._seq = (self._seq + 1) & 0xFF
        frame = Frame(self._seq, cmd, body).encode()
        last = "no answer"
        for _ in range(self.retries + 1):
            self._send(frame)
            reply = self._await(self._seq)
            if isinstance(reply, str):
                last = reply
                continue
            answer = parse_reply(reply, cmd, self.origin)
            if isinstance(answer, bytes):
                return answer
            if not answer.resend:
                raise DeviceRefused(f"{self.origin} refused: {answer.plain}", answer)
            last = "our frame arrived damaged"
        raise NoAnswer(f"{self.origin} did not answer ({last}) after "
                       f"{self.retries + 1} tries", hint="check the cable")

    def _send(self, frame: bytes) -> None:
        try:
            self._transmit(frame)
        except LINE_ERRORS:
            raise NoAnswer(f"{self.origin} went away", hint="check the cable and power") from None
        self.bytes_sent += len(frame)

    def _await(self, seq: int) -> Frame | str:
        deadline = time.monotonic() + self.timeout
        problem = "no answer"
        while time.monotonic() < deadline:
            try:
                # Return as soon as anything arrives (a fixed size would wait out the timeout).
                data = self._receive(deadline)
            except LINE_ERRORS:
                raise NoAnswer(f"{self.origin} went away",
                               hint="check the cable and power") from None
            self.reads += 1
            self.bytes_received += len(data)
            for item in self._deframer.feed(data):
                if isinstance(item, FrameError):
                    problem = f"garbled reply ({item})"
                    return problem
                if item.seq == seq:
                    return item
            self._sleep_through_reply(deadline)
        return problem

    def _transmit(self, frame: bytes) -> None:
        """All of ``frame`` out (within the timeout), then wait until the line took it."""
        if self._fd is None:
            self._serial.write(frame)
            self._serial.flush()
            return
        deadline = time.monotonic() + self.timeout
        while frame:
            try:
                frame = frame[os.write(self._fd, frame):]
                continue
            except BlockingIOError:  # the port's buffer is full (pyserial opens it O_NONBLOCK)
                pass
            if not select.select([], [self._fd], [], max(0.0, deadline - time.monotonic()))[1]:
                raise serial.SerialTimeoutException("write timeout")
        termios.tcdrain(self._fd)

    def _receive(self, deadline: float) -> bytes:
        """What has arrived, once anything has (empty at the deadline)."""
        if self._fd is None:
            return bytes(self._serial.read(max(1, self._serial.in_waiting)))
        if not select.select([self._fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            return b""
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return b""
        if not data:  # how Linux shows a USB adapter pulled out
            raise serial.SerialException("the port is readable but gives no data")
        return data

    def _sleep_through_reply(self, deadline: float) -> None:
        """A reply under way that is still bytes short of its known size: sleep through
        them at the line's rate, then read them at once. Waking for every byte as it comes
        costs the station a read call a byte, on every port at once."""
        received, head = self._deframer.partial()
        # Every byte of the reply is at least one on the line, and its closing END is one more.
        missing = reply_size_at_least(head) + 1 - received
        if missing <= 1:
            return
        try:
            if self._serial.in_waiting:  # more came meanwhile (a burst, a USB packet)
                return
        except LINE_ERRORS:
            return  # the next read says the device went away
        time.sleep(max(0.0, min(missing * self._byte_time, deadline - time.monotonic())))

    def hello(self) -> Hello:
        return Hello.parse(self.request(HELLO, bytes([PROTOCOL_VERSION])), self.origin)

    def put(self, record: Record) -> DeviceState:
        return self._expect(PUT, self.request(PUT, record.encode()), DeviceState.PROVISIONED)

    def verify(self, record: Record) -> None:
        """Fresh nonce in, HMAC(nonce, stored record) out; raises unless it matches."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        answer = parse_mac(self.request(VERIFY, nonce), self.origin)
        expected = hmac.digest(nonce, record.encode(), "sha256")
        if not hmac.compare_digest(answer, expected):
            raise VerifyFailed(f"{self.origin} holds different bytes than were sent",
                               hint="re-provision it; if it repeats, the flash may be failing")

    def lock(self) -> DeviceState:
        return self._expect(LOCK, self.request(LOCK), DeviceState.LOCKED)

    def _expect(self, cmd: int, body: bytes, wanted: DeviceState) -> DeviceState:
        """The state an OK reply reports, which must be the one the command leads to."""
        state = parse_state(body, cmd, self.origin)
        if state is not wanted:
            raise BadReply(f"{self.origin} answered {NAMES[cmd]} with OK but state "
                           f"{state.name.lower()}, not {wanted.name.lower()}",
                           hint="is this a credline device?")
        return state
