"""Scripted devices on pseudo-terminals, for tests: a hostile or broken device beside a good one.

:class:`PtyDevice` speaks the real framing (:mod:`credline.core.framing`) over ``os.openpty`` and
answers as the hook would (HELLO, PUT, VERIFY, LOCK, typed errors), unless its ``script``
says otherwise: the script sees each request and the honest reply, and returns the bytes to
send instead (or None for silence). :class:`PtyProxy` sits between a station and a real
virtual device and can damage frames on the way, as a noisy line does. Both stop their
thread and close their descriptors in :meth:`close` (use them as context managers).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import select
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass, field

from credline.core.framing import END, Deframer, Frame
from credline.core.protocol import (
    HELLO,
    LOCK,
    NONCE_BYTES,
    PUT,
    REPLY_ERROR,
    REPLY_OK,
    VERIFY,
    DeviceState,
    WireError,
)

Script = Callable[[Frame, Frame], bytes | None]  # (request, honest reply) -> bytes to send


def ok(request: Frame, body: bytes, *, version: int = 1) -> bytes:
    """An OK reply to ``request`` on the wire."""
    return Frame(request.seq, request.cmd | REPLY_OK, body, version=version).encode()


def error(request: Frame, code: int, cmd: int | None = None) -> bytes:
    """An error reply to ``request`` on the wire (``cmd``: the command it claims to refuse)."""
    return Frame(request.seq, REPLY_ERROR,
                 bytes([request.cmd if cmd is None else cmd, code])).encode()


def hello_body(hwid: bytes, serial: bytes = b"", state: int = DeviceState.EMPTY) -> bytes:
    return bytes([1, 1, 1, state, len(hwid)]) + hwid + bytes([len(serial)]) + serial


def honest(request: Frame, honest_reply: Frame) -> bytes | None:
    return honest_reply.encode()


@dataclass
class PtyDevice:
    """A Python stand-in for the hook on a pty; ``port`` is the path a station opens."""

    hwid: bytes = b"PTYDEV"
    script: Script = honest
    serial: bytes = b""  # what HELLO reports before any PUT
    state: DeviceState = DeviceState.EMPTY
    record: bytes | None = None
    requests: list[Frame] = field(default_factory=list)
    port: str = field(init=False)

    def __post_init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: a serial line carries bytes
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop answering and close both ends (once: a descriptor closed twice could be
        another file's by then)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def seen(self, cmd: int) -> list[Frame]:
        """The requests with command ``cmd`` received so far."""
        with self._lock:
            return [frame for frame in self.requests if frame.cmd == cmd]

    def _serve(self) -> None:
        deframer = Deframer()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            for request in deframer.feed(data):
                if isinstance(request, Frame):
                    self._answer(request)

    def _answer(self, request: Frame) -> None:
        with self._lock:
            self.requests.append(request)
            reply = self.script(request, self._honest(request))
        if reply is not None:
            with contextlib.suppress(OSError):
                os.write(self._master, reply)

    def _honest(self, request: Frame) -> Frame:
        """What the C hook would answer (docs/protocol.md), keeping a record like it does."""
        def refuse(code: WireError) -> Frame:
            return Frame(request.seq, REPLY_ERROR, bytes([request.cmd, code]))

        body: bytes
        if request.cmd == HELLO:
            body = hello_body(self.hwid, self.serial, self.state)
        elif request.cmd == PUT:
            if self.state is DeviceState.LOCKED:
                return refuse(WireError.LOCKED)
            self.record, self.state = request.body, DeviceState.PROVISIONED
            body = bytes([self.state])
        elif request.cmd == VERIFY:
            if len(request.body) != NONCE_BYTES:
                return refuse(WireError.INVALID)
            if self.record is None:
                return refuse(WireError.NOT_PROVISIONED)
            body = hmac.digest(request.body, self.record, "sha256")
        elif request.cmd == LOCK:
            if self.record is None:
                return refuse(WireError.NOT_PROVISIONED)
            self.state = DeviceState.LOCKED
            body = bytes([self.state])
        else:
            return refuse(WireError.UNKNOWN)
        return Frame(request.seq, request.cmd | REPLY_OK, body)


class PtyProxy:
    """A line between a station (on ``port``) and a device's pty, that can damage frames.

    ``damage(n, frame)`` gets the n-th frame the station sends (0-based, the bytes between two
    END markers, still SLIP-escaped) and returns what goes on to the device. Everything both
    ways is kept in ``to_device`` and ``to_station`` for the test to read.
    """

    def __init__(self, device_port: str, damage: Callable[[int, bytes], bytes]) -> None:
        self._damage = damage
        self._device = os.open(device_port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._device)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.to_device = bytearray()
        self.to_station = bytearray()
        self._pending = bytearray()
        self._frames = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __enter__(self) -> PtyProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._device):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master, self._device], [], [], 0.05)
            try:
                if self._device in ready:
                    data = os.read(self._device, 4096)
                    self.to_station += data
                    os.write(self._master, data)
                if self._master in ready:
                    self._from_station(os.read(self._master, 4096))
            except OSError:
                return

    def _from_station(self, data: bytes) -> None:
        for byte in data:
            if byte != END:
                self._pending.append(byte)
                continue
            if self._pending:
                out = bytes([END]) + self._damage(self._frames, bytes(self._pending)) + bytes([END])
                self._frames += 1
                self._pending.clear()
                self.to_device += out
                os.write(self._device, out)
