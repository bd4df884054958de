"""A test double of the ESP32 ROM serial loader, on a pseudo-terminal, its flash in a file.

What esptool (5.x) sends to an ESP32's ROM with its stub disabled is answered as the ROM
answers it: SLIP frames; SYNC (eight replies); READ_REG / WRITE_REG over a small register
file (the chip-detect magic, the eFuse words holding the MAC, the UART divider esptool reads
the crystal from, and the SPI peripheral, so esptool's "user command" RDID gets a JEDEC id);
SPI_ATTACH, SPI_SET_PARAMS, CHANGE_BAUDRATE; FLASH_BEGIN / DATA / END and their deflate
variants (erase, then program: programming clears bits only, as NOR flash does);
SPI_FLASH_MD5; READ_FLASH_SLOW; MEM_BEGIN / DATA / END. GET_SECURITY_INFO and anything else
is refused as the ESP32 ROM refuses it (status 1, "invalid message"). Each flash write goes
to the file at once, so killing the double is pulling the plug.

Faults for tests: ``unplug_after`` flash blocks the double closes its pty (a cable pulled
mid-write); ``garbage`` makes it answer every frame with noise; ``stuck_at`` is a flash
address whose bits are stuck at 0 (a worn cell: what is programmed there reads back wrong).
A test tool: nothing of credline's product code imports it. Run it as a process with
``python -m credline.transport.esp_double --flash FILE --mac MAC``; it prints its port.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import select
import socket
import struct
import sys
import threading
import tty
import zlib
from dataclasses import dataclass, field
from pathlib import Path

FLASH_SIZE = 4 * 1024 * 1024
SECTOR = 4096
MAGIC_REG, ESP32_MAGIC = 0x40001000, 0x00F01D83
EFUSE_BASE = 0x3FF5A000
UART_CLKDIV_REG = 0x3FF40014
SPI_BASE = 0x3FF42000
SPI_CMD, SPI_USR2, SPI_W0 = SPI_BASE, SPI_BASE + 0x24, SPI_BASE + 0x80
SPI_CMD_USR = 1 << 18
JEDEC_ID = 0x1640EF  # Winbond W25Q32: 4 MB
RDID = 0x9F

SYNC, WRITE_REG, READ_REG = 0x08, 0x09, 0x0A
SPI_SET_PARAMS, SPI_ATTACH, READ_FLASH_SLOW, CHANGE_BAUDRATE = 0x0B, 0x0D, 0x0E, 0x0F
FLASH_BEGIN, FLASH_DATA, FLASH_END = 0x02, 0x03, 0x04
MEM_BEGIN, MEM_END, MEM_DATA = 0x05, 0x06, 0x07
DEFL_BEGIN, DEFL_DATA, DEFL_END = 0x10, 0x11, 0x12
SPI_FLASH_MD5 = 0x13
INVALID = bytes((1, 0x05, 0, 0))  # status failed, "received message is invalid"
OK = bytes(4)
BAD_CHECKSUM = bytes((1, 0x07, 0, 0))


def slip(frame: bytes) -> bytes:
    return b"\xc0" + frame.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"


def unslip(frame: bytes) -> bytes:
    return frame.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")


def parse_mac(text: str) -> bytes:
    parts = text.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"MAC {text!r}: give six hex bytes, e.g. 24:0a:c4:00:00:01")
    return bytes(int(p, 16) for p in parts)


class Flash:
    """NOR flash in a file: erased to 0xFF by sector; programming can only clear bits."""

    def __init__(self, path: Path, size: int = FLASH_SIZE, stuck_at: int | None = None) -> None:
        self.size = size
        self.stuck_at = stuck_at
        if not path.exists() or path.stat().st_size != size:
            path.write_bytes(b"\xff" * size)
        self._fd = os.open(path, os.O_RDWR)

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, max(0, min(length, self.size - offset)), offset)

    def erase(self, offset: int, length: int) -> None:
        start = offset - offset % SECTOR
        end = min(self.size, -(-(offset + length) // SECTOR) * SECTOR)
        if end > start:
            os.pwrite(self._fd, b"\xff" * (end - start), start)

    def program(self, offset: int, data: bytes) -> None:
        data = data[:max(0, self.size - offset)]
        old = self.read(offset, len(data))
        merged = bytearray((int.from_bytes(old, "little") & int.from_bytes(data, "little"))
                           .to_bytes(len(data), "little"))
        if self.stuck_at is not None and offset <= self.stuck_at < offset + len(data):
            merged[self.stuck_at - offset] = 0
        os.pwrite(self._fd, bytes(merged), offset)

    def close(self) -> None:
        os.close(self._fd)


@dataclass
class _Download:
    offset: int
    block: int
    written: int = 0
    inflate: zlib._Decompress | None = None


@dataclass
class RomLoader:
    """The ROM's answers: one request frame in, the reply frames out."""

    flash: Flash
    mac: bytes
    unplug_after: int | None = None
    garbage: bool = False
    blocks: int = 0
    regs: dict[int, int] = field(default_factory=dict)
    unplugged: bool = False
    _download: _Download | None = None

    def __post_init__(self) -> None:
        self.regs.update({
            MAGIC_REG: ESP32_MAGIC,
            EFUSE_BASE + 4: int.from_bytes(self.mac[2:6], "big"),
            EFUSE_BASE + 8: int.from_bytes(self.mac[0:2], "big"),
            UART_CLKDIV_REG: 347,  # 40 MHz / 115200 baud: a 40 MHz crystal
        })

    def answer(self, frame: bytes) -> list[bytes]:
        if self.garbage:
            return [b"\x55\xaa garbage \xff" * 3]
        if len(frame) < 8 or frame[0] != 0:
            return []  # the ROM ignores what is no request
        op, length, checksum = struct.unpack_from("<BHI", frame, 1)
        data = frame[8:8 + length]
        try:
            value, body = self._dispatch(op, data, checksum)
        except (struct.error, ValueError, zlib.error):
            value, body = 0, INVALID
        reply = slip(struct.pack("<BBHI", 1, op, len(body), value) + body)
        return [reply] * (8 if op == SYNC else 1)

    def _dispatch(self, op: int, data: bytes, checksum: int) -> tuple[int, bytes]:
        if op == SYNC:
            return 0x20120707, OK
        if op == READ_REG:
            return self.regs.get(struct.unpack_from("<I", data)[0], 0), OK
        if op == WRITE_REG:
            self._write_reg(*struct.unpack_from("<III", data))
            return 0, OK
        if op in (SPI_ATTACH, SPI_SET_PARAMS, CHANGE_BAUDRATE, MEM_BEGIN, MEM_DATA, MEM_END):
            return 0, OK
        if op in (FLASH_BEGIN, DEFL_BEGIN):
            erase, _count, block, offset = struct.unpack_from("<IIII", data)
            self.flash.erase(offset, erase)
            self._download = _Download(offset, block, inflate=(
                zlib.decompressobj() if op == DEFL_BEGIN else None))
            return 0, OK
        if op in (FLASH_DATA, DEFL_DATA):
            return 0, self._program(data, checksum)
        if op in (FLASH_END, DEFL_END):
            self._download = None
            return 0, OK
        if op == SPI_FLASH_MD5:
            offset, size = struct.unpack_from("<II", data)
            digest = hashlib.md5(self.flash.read(offset, size), usedforsecurity=False)
            return 0, digest.hexdigest().encode() + OK
        if op == READ_FLASH_SLOW:
            offset, size = struct.unpack_from("<II", data)
            return 0, self.flash.read(offset, min(size, 64)).ljust(64, b"\xff") + OK
        return 0, INVALID

    def _write_reg(self, address: int, value: int, mask: int) -> None:
        self.regs[address] = (self.regs.get(address, 0) & ~mask) | (value & mask)
        if address == SPI_CMD and value & SPI_CMD_USR:
            command = self.regs.get(SPI_USR2, 0) & 0xFFFF
            self.regs[SPI_W0] = JEDEC_ID if command == RDID else 0
            self.regs[SPI_CMD] &= ~SPI_CMD_USR  # the command is done at once

    def _program(self, data: bytes, checksum: int) -> bytes:
        size, seq = struct.unpack_from("<II", data)
        payload = data[16:16 + size]
        download = self._download
        if download is None or len(payload) != size:
            return INVALID
        check = 0xEF
        for byte in payload:
            check ^= byte
        if check != checksum & 0xFF:
            return BAD_CHECKSUM
        self.blocks += 1
        if self.unplug_after is not None and self.blocks > self.unplug_after:
            self.unplugged = True
            return OK
        if download.inflate is not None:
            payload = download.inflate.decompress(payload)
            self.flash.program(download.offset + download.written, payload)
            download.written += len(payload)
        else:
            self.flash.program(download.offset + seq * download.block, payload)
        return OK


class EspDouble:
    """The loader on a pty of its own (:attr:`port` is the path esptool opens), or with
    ``loopback=True`` on a TCP port of 127.0.0.1 (:attr:`port` is a pyserial
    ``socket://`` URL). A socket has no DTR/RTS lines to refuse, so esptool's reset sequences
    run as against a board's USB-UART bridge; each new connection is the cable plugged in
    again, the flash kept."""

    def __init__(self, flash: Path, mac: str, *, unplug_after: int | None = None,
                 garbage: bool = False, stuck_at: int | None = None,
                 loopback: bool = False) -> None:
        self.flash_path = flash
        self.mac = mac
        self.loader = RomLoader(Flash(flash, stuck_at=stuck_at), parse_mac(mac), unplug_after,
                                garbage)
        self._server: socket.socket | None = None
        self._fds: list[int] = []
        if loopback:
            self._server = socket.create_server(("127.0.0.1", 0))
            self.port = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
            self._line: int | None = None
        else:
            master, slave = os.openpty()
            tty.setraw(slave)
            self._fds = [master, slave]  # holding the slave open: no EIO between sessions
            self.port = os.ttyname(slave)
            self._line = master
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None

    def start(self) -> EspDouble:
        self._thread = threading.Thread(target=self.serve, name=f"esp double {self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        """Answer frames until stopped or unplugged."""
        pending = b""
        while not self.loader.unplugged:
            watched = [self._stop_r, *([self._line] if self._line is not None else []),
                       *([self._server.fileno()] if self._server is not None else [])]
            ready, _, _ = select.select(watched, [], [])
            if self._stop_r in ready:
                break
            if self._server is not None and self._server.fileno() in ready:
                self._hang_up()
                connection, _ = self._server.accept()
                self._line = os.dup(connection.fileno())
                connection.close()
                pending = b""
                continue
            assert self._line is not None
            try:
                chunk = os.read(self._line, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                if self._server is None:
                    break
                self._hang_up()  # the other end closed: wait for the next connection
                continue
            pending += chunk
            while b"\xc0" in pending:
                frame, _, pending = pending.partition(b"\xc0")
                if not frame:
                    continue
                for reply in self.loader.answer(unslip(frame)):
                    os.write(self._line, reply)
                if self.loader.unplugged:
                    break
        self._unplug()

    def _hang_up(self) -> None:
        if self._server is not None and self._line is not None:
            with contextlib.suppress(OSError):
                os.close(self._line)
            self._line = None

    def _unplug(self) -> None:
        self._hang_up()
        if self._server is not None:
            self._server.close()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        else:
            self._unplug()
        for fd in (self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.loader.flash.close()

    def read_flash(self, offset: int, length: int) -> bytes:
        return self.loader.flash.read(offset, length)


class EspBench:
    """``count`` doubles in ``workdir`` (flash ``esp-NN.flash``, MACs 02:c1:ed:00:00:NN,
    locally administered), served by threads of this process; a context manager."""

    def __init__(self, workdir: Path, count: int) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.doubles = [EspDouble(workdir / f"esp-{i:02d}.flash", f"02:c1:ed:00:00:{i:02x}")
                        for i in range(count)]

    def __enter__(self) -> EspBench:
        for double in self.doubles:
            double.start()
        return self

    def __exit__(self, *_: object) -> None:
        for double in self.doubles:
            double.stop()

    @property
    def ports(self) -> list[str]:
        return [double.port for double in self.doubles]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ESP32 ROM loader double on a pty")
    parser.add_argument("--flash", type=Path, required=True)
    parser.add_argument("--mac", required=True)
    parser.add_argument("--unplug-after", type=int)
    parser.add_argument("--garbage", action="store_true")
    parser.add_argument("--loopback", action="store_true", help="socket:// instead of a pty")
    args = parser.parse_args(argv)
    double = EspDouble(args.flash, args.mac, unplug_after=args.unplug_after,
                       garbage=args.garbage, loopback=args.loopback)
    print(double.port, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        double.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
