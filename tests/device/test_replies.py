"""Every reply parser is total: any bytes a device sends become a typed result or a BadReply
naming the port, never another exception (hypothesis, on the parsers and through HookLink over
a real pty), and what a device sends shows up escaped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.errors import BadReply, DeviceError
from credline.core.framing import Deframer, Frame, unslip
from credline.core.protocol import (
    HELLO,
    LOCK,
    MAC_BYTES,
    PUT,
    REPLY_ERROR,
    REPLY_OK,
    VERIFY,
    DeviceState,
    Hello,
    WireError,
    parse_mac,
    parse_reply,
    parse_state,
    reply_size_at_least,
)
from credline.transport.serial_hook import DeviceRefused, HookLink, NoAnswer
from credline.transport.virtual import VirtualDevice
from tests.device.conftest import record
from tests.device.ptydevice import PtyDevice, error, hello_body, ok

ORIGIN = "device on /dev/ttyTEST"
COMMANDS = (HELLO, PUT, VERIFY, LOCK)
BODY_PARSERS: dict[int, Callable[[bytes], object]] = {
    HELLO: lambda body: Hello.parse(body, ORIGIN),
    PUT: lambda body: parse_state(body, PUT, ORIGIN),
    VERIFY: lambda body: parse_mac(body, ORIGIN),
    LOCK: lambda body: parse_state(body, LOCK, ORIGIN),
}


def parse_any(frame: Frame, cmd: int) -> object:
    """What a station makes of ``frame`` answering ``cmd``: a result, or BadReply."""
    answer = parse_reply(frame, cmd, ORIGIN)
    return BODY_PARSERS[cmd](answer) if isinstance(answer, bytes) else answer


@st.composite
def hello_bodies(draw: st.DrawFn) -> bytes:
    """HELLO bodies near the valid layout: lengths that lie, states and versions off by a bit."""
    head = bytes([draw(st.sampled_from([1, 1, 1, 0, 2, 9])), 1, 1,
                  draw(st.integers(0, 3) | st.integers(0, 255))])
    hwid, serial = draw(st.binary(max_size=40)), draw(st.binary(max_size=70))
    announced = draw(st.just(len(hwid)) | st.integers(0, 255))
    body = head + bytes([announced]) + hwid + bytes([len(serial) % 256]) + serial
    cut = draw(st.integers(0, len(body)))
    return draw(st.sampled_from([body, body[:cut], body + draw(st.binary(max_size=4))]))


def reply_frames(cmd: int) -> st.SearchStrategy[Frame]:
    bodies = st.binary(max_size=80) | hello_bodies() | st.binary(min_size=2, max_size=2)
    return st.builds(Frame, seq=st.just(1),
                     cmd=st.sampled_from([cmd | REPLY_OK, REPLY_ERROR]) | st.integers(0, 255),
                     body=bodies, version=st.just(1) | st.integers(0, 255))


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: f"0x{c:02x}")
@settings(max_examples=400)
@given(data=st.data())
def test_any_reply_to_any_command_parses_or_is_a_bad_reply(cmd: int, data: st.DataObject
                                                            ) -> None:
    frame = data.draw(reply_frames(cmd))
    try:
        result = parse_any(frame, cmd)
    except BadReply as exc:
        assert exc.message.startswith(ORIGIN) and exc.message.isprintable()
        return
    if isinstance(result, Hello):
        assert result.hardware_id.isprintable() and result.serial.isprintable()
    assert isinstance(result, Hello | DeviceState | bytes | WireError)


@given(body=hello_bodies())
def test_a_hello_is_parsed_exactly_when_its_lengths_add_up(body: bytes) -> None:
    fits = (len(body) >= 6 and len(body) > 5 + body[4]
            and len(body) == 6 + body[4] + body[5 + body[4]])
    try:
        hello = Hello.parse(body, ORIGIN)
    except BadReply:
        assert not fits or body[0] != 1 or body[3] > 2
        return
    assert fits and hello.state == body[3] and hello.hardware_id.isprintable()


@pytest.mark.parametrize(("body", "fragment"), [
    (hello_body(b"A" * 20)[:5] + b"AB", "hardware id of 20 bytes and a serial length "
                                         "announced, 2 bytes follow"),
    (bytes([1, 1, 1, 0, 250]) + b"ABC", "hardware id of 250 bytes"),
    (hello_body(b"HW", state=9), "HELLO with state 9"),
    (hello_body(b"HW", b"SN1")[:-1], "a serial of 3 bytes announced, 2 bytes follow"),
    (hello_body(b"HW") + b"x", "a serial of 0 bytes announced, 1 bytes follow"),
    (b"\x01\x01", "2 bytes, at least 6 expected"),
    (bytes([9]) + hello_body(b"HW")[1:], "speaks protocol version 9"),
])
def test_malformed_hellos_are_named(body: bytes, fragment: str) -> None:
    with pytest.raises(BadReply, match=fragment) as info:
        Hello.parse(body, ORIGIN)
    assert str(info.value).startswith(ORIGIN)


def test_what_a_device_sends_is_escaped() -> None:
    hello = Hello.parse(hello_body(b"\x1b[32mPASS\x1b[0m", b"\r\n10:00 PASS X\\"), ORIGIN)
    assert hello.hardware_id == "\\x1b[32mPASS\\x1b[0m"
    assert hello.serial == "\\x0d\\x0a10:00 PASS X\\\\"
    assert Hello.parse(hello_body(b"HW-01", b"SN.1:a_b"), ORIGIN).serial == "SN.1:a_b"


# -- through HookLink, over a real pty ---------------------------------------------------------

def call(link: HookLink, cmd: int) -> object:
    if cmd == HELLO:
        return link.hello()
    if cmd == PUT:
        return link.put(record())
    if cmd == VERIFY:
        link.verify(record())
        return None
    return link.lock()


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: f"0x{c:02x}")
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_hooklink_turns_any_reply_into_a_result_or_a_device_error(cmd: int,
                                                                   data: st.DataObject) -> None:
    reply = data.draw(reply_frames(cmd))

    def script(request: Frame, honest: Frame) -> bytes:
        return Frame(request.seq, reply.cmd, reply.body, version=reply.version).encode()

    with PtyDevice(script=script) as device, HookLink(device.port, timeout=0.3,
                                                       retries=1) as link:
        try:
            call(link, cmd)
        except DeviceError as exc:
            assert str(exc).startswith(f"device on {device.port}") and str(exc).isprintable()


def replace(cmd: int, make: Callable[[Frame], bytes]) -> Callable[[Frame, Frame], bytes]:
    """A script answering ``cmd`` with ``make(request)`` and everything else honestly."""
    def script(request: Frame, honest: Frame) -> bytes:
        return make(request) if request.cmd == cmd else honest.encode()
    return script


HOSTILE_REPLIES = {
    "hello-hwid-20-of-2": (HELLO, lambda r: ok(r, bytes([1, 1, 1, 0, 20]) + b"AB"),
                           "hardware id of 20 bytes"),
    "hello-hwid-250-of-3": (HELLO, lambda r: ok(r, bytes([1, 1, 1, 0, 250]) + b"ABC"),
                            "hardware id of 250 bytes"),
    "hello-state-9": (HELLO, lambda r: ok(r, hello_body(b"HW", state=9)), "state 9"),
    "put-ok-empty": (PUT, lambda r: ok(r, b""), "PUT with 0 bytes"),
    "put-ok-state-9": (PUT, lambda r: ok(r, b"\x09"), "PUT with state 9"),
    "put-ok-but-empty": (PUT, lambda r: ok(r, b"\x00"), "PUT with OK but state empty"),
    "verify-short": (VERIFY, lambda r: ok(r, bytes(MAC_BYTES - 1)), "VERIFY with 31 bytes"),
    "lock-ok-empty": (LOCK, lambda r: ok(r, b""), "LOCK with 0 bytes"),
    "lock-ok-state-9": (LOCK, lambda r: ok(r, b"\x09"), "LOCK with state 9"),
    "lock-ok-but-provisioned": (LOCK, lambda r: ok(r, b"\x01"), "state provisioned, not locked"),
    "version-9": (LOCK, lambda r: ok(r, b"\x02", version=9), "in protocol version 9"),
    "wrong-command": (PUT, lambda r: Frame(r.seq, LOCK | REPLY_OK, b"\x02").encode(),
                      "answered PUT with command 0x84"),
    "short-error": (PUT, lambda r: Frame(r.seq, REPLY_ERROR, b"\x02").encode(),
                    "error reply of 1 bytes"),
    "unknown-error": (PUT, lambda r: error(r, 77), "unknown error code 77"),
    "error-for-another-command": (PUT, lambda r: error(r, WireError.INVALID, cmd=LOCK),
                                  "an error for command 0x04"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_REPLIES))
def test_each_bad_reply_is_a_bad_reply_naming_the_port_and_not_resent(name: str) -> None:
    cmd, make, fragment = HOSTILE_REPLIES[name]
    with PtyDevice(script=replace(cmd, make)) as device, HookLink(device.port,
                                                                  timeout=0.5) as link:
        with pytest.raises(BadReply, match=fragment) as info:
            for step in COMMANDS[:COMMANDS.index(cmd) + 1]:  # the steps up to the bad one
                call(link, step)
        assert str(info.value).startswith(f"device on {device.port} ")
        assert len(device.seen(cmd)) == 1  # a well-framed reply is no line glitch


def test_a_refusal_is_a_typed_refusal() -> None:
    script = replace(PUT, lambda r: error(r, WireError.IO))
    with (PtyDevice(script=script) as device, HookLink(device.port) as link,
          pytest.raises(DeviceRefused, match="its flash could not be written") as info):
        link.put(record())
    assert info.value.code is WireError.IO


def test_a_device_that_always_says_the_frame_was_damaged_runs_out_of_tries() -> None:
    script = replace(HELLO, lambda r: error(r, WireError.CRC))
    with PtyDevice(script=script) as device, HookLink(device.port, retries=2) as link:
        with pytest.raises(NoAnswer, match="our frame arrived damaged"):
            link.hello()
        assert len(device.seen(HELLO)) == 3


@st.composite
def valid_replies(draw: st.DrawFn) -> Frame:
    """Every reply a credline device sends: OK to each command, or an error."""
    cmd = draw(st.sampled_from(COMMANDS))
    if draw(st.booleans()):
        return Frame(draw(st.integers(0, 255)), REPLY_ERROR,
                     bytes([cmd, draw(st.integers(1, 10))]))
    body = {HELLO: hello_body(draw(st.binary(max_size=40)), draw(st.binary(max_size=64)),
                              draw(st.integers(0, 2))),
            PUT: bytes([draw(st.integers(0, 2))]), LOCK: bytes([2]),
            VERIFY: draw(st.binary(min_size=32, max_size=32))}[cmd]
    return Frame(draw(st.integers(0, 255)), cmd | REPLY_OK, body)


@settings(max_examples=300)
@given(reply=valid_replies())
def test_a_replys_size_is_never_overstated_and_known_once_its_header_is_in(reply: Frame
                                                                            ) -> None:
    """The link sleeps through the bytes a reply still owes: never for more than it owes
    (a station would sit idle), and for all of them once the header says which reply it is
    (and a HELLO's two length bytes are in)."""
    encoded = reply.encode()
    size = 3 + len(reply.body) + 4  # version, seq, cmd, body, CRC: unescaped
    deframer = Deframer()
    for byte in encoded[:-1]:  # the closing END would hand the frame over
        deframer.feed(bytes([byte]))
        received, head = deframer.partial()
        assert unslip(encoded[1:-1]).startswith(head)  # the frame so far, unescaped
        assert received >= len(head)  # escapes only add bytes on the line
        assert reply_size_at_least(head) <= size
        told = len(head) >= 3 and (reply.cmd != HELLO | REPLY_OK or
                                   (len(head) > 7 and len(head) > 8 + reply.body[4]))
        if told:
            assert reply_size_at_least(head) == size


@given(data=st.binary(max_size=120))
def test_any_bytes_give_a_size_to_wait_for(data: bytes) -> None:
    deframer = Deframer()
    deframer.feed(data)
    received, head = deframer.partial()
    assert reply_size_at_least(head) >= 7 and received >= len(head)


@pytest.mark.parametrize("chunk", [1, 16])
def test_a_throttled_reply_is_read_in_a_few_calls_not_one_a_byte(tmp_path: Path,
                                                                  chunk: int) -> None:
    """At 115200 baud a byte takes 87 us; waking for each one cost the station a read call
    a byte, on every port (bench/station.py). Bytes one at a time (a bare UART) and in
    packets (a USB adapter) alike.

    A device that falls behind its line rate (its process scheduled late, on a busy
    machine) costs a read more each time; so the bound is on the four replies together: at
    least two bytes a read on average, where one a byte was the defect (3 to 5 reads a reply
    here when the machine is idle, up to 10 for one reply seen on a loaded 2-core one)."""
    slow = VirtualDevice(tmp_path / "slow.bin", hwid="SLOW1", baud=115200,
                         tx_chunk=chunk).start()
    seen = []
    try:
        with HookLink(slow.port, baud=115200) as link:
            for name, call in (("HELLO", link.hello), ("PUT", lambda: link.put(record())),
                               ("VERIFY", lambda: link.verify(record())), ("LOCK", link.lock)):
                before, received = link.reads, link.bytes_received
                call()
                seen.append((name, link.reads - before, link.bytes_received - received))
    finally:
        slow.stop()
    assert all(size >= 10 for _, _, size in seen), seen
    assert sum(reads for _, reads, _ in seen) <= sum(size for _, _, size in seen) // 2, seen


def test_a_url_port_goes_through_pyserial_and_a_tty_through_its_descriptor(
        tmp_path: Path) -> None:
    """A plain tty is read and written on its descriptor; any other pyserial URL keeps its
    own behaviour. ``spy://`` logs what crosses the line only if its own read and write are
    used: a shortcut taken for it would leave the log without the exchange."""
    def exchange(port: str) -> str:
        with HookLink(port, timeout=1.0) as link:
            hello = link.hello()
            link.put(record())
            link.verify(record())
            link.lock()
            return hello.hardware_id

    spied = tmp_path / "spy.txt"
    with PtyDevice(hwid=b"DIRECT") as direct, PtyDevice(hwid=b"SPIED") as other:
        assert exchange(direct.port) == "DIRECT"
        assert exchange(f"spy://{other.port}?file={spied}") == "SPIED"
        assert [f.cmd for f in direct.requests] == [f.cmd for f in other.requests] \
            == list(COMMANDS)
    log = spied.read_text()
    assert log.count("TX") >= 4 and log.count("RX") >= 4, log  # every request and reply


@pytest.mark.parametrize("when", ["before the request", "after the request"])
def test_a_device_that_goes_away_is_named_as_gone_on_the_descriptor_path(when: str) -> None:
    """A pty whose other end closes fails reads and writes with EIO, as a pulled adapter
    does: the request ends as NoAnswer naming the port, not as an OSError."""
    with PtyDevice(hwid=b"GONE", script=lambda request, honest: None) as device, \
            HookLink(device.port, timeout=1.0, retries=0) as link:  # it never answers
        if when == "before the request":
            device.close()
        else:
            threading.Timer(0.2, device.close).start()
        with pytest.raises(NoAnswer, match=f"device on {device.port} went away"):
            link.hello()
