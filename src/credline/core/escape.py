"""Text from outside (a device's hardware id, serial, firmware) made safe to show and store.

A device may send any bytes. Shown raw, an escape sequence paints the operator's terminal (a
green PASS that never happened) and a CR or LF forges a line of a screen, a log or a label.
Everything a device sends becomes printable text here, once, where the reply is parsed; the
screens escape again whatever reaches them. Pure: no I/O.
"""

from __future__ import annotations


def escape_bytes(data: bytes) -> str:
    r"""Printable ASCII as is, a backslash doubled, any other byte as ``\xNN``.

    Injective, so two devices sending different bytes never show the same text, and a valid
    serial or hardware id comes through unchanged.
    """
    if data.isascii() and data.decode("ascii").isprintable() and b"\\" not in data:
        return data.decode("ascii")
    out = []
    for byte in data:
        if byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def escape_text(text: str) -> str:
    r"""``text`` with every character that is not printable (controls, line breaks, bidi
    overrides) as ``\xNN``, ``\uNNNN`` or ``\UNNNNNNNN``; printable text is unchanged, so
    text already escaped is not escaped twice."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _code(ch) for ch in text)


def _code(ch: str) -> str:
    point = ord(ch)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"
