"""ZPL II for Zebra label printers: a template with ``{field}`` placeholders, filled safely.

Field values (a password may contain ``^`` or ``~`` in a printable alphabet) are inserted
hex-escaped under ``^FH``, so no value can inject a ZPL command; a template that puts a field
in a ``^FD`` without ``^FH`` is refused. :func:`parse` reads a label back into its fields,
for tests and for checking a template before a batch starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from credline.core.errors import ProfileError
from credline.labels.model import Label, LabelSpec

DEFAULT_TEMPLATE = """\
^XA
^CI28
^PW{width_dots}
^LL{height_dots}
^FO16,14^A0N,26,26^FB250,2,0,L^FH^FD{product_name}^FS
^FO16,72^A0N,22,22^FH^FDS/N {serial}^FS
^FO16,104^A0N,20,20^FDPassword^FS
^FO16,128^A0N,32,32^FH^FD{password}^FS
^FO16,176^A0N,16,16^FH^FDkey {key_id} batch {batch}^FS
^FO268,14^BQN,2,4^FH^FDQA,{qr}^FS
^XZ
"""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_LAYOUT_FIELDS = ("width_dots", "height_dots")
_FIELD_NAMES = ("product", "product_name", "serial", "key_id", "batch", "generation",
                "password", "qr")
_SAFE = re.compile(r"[0-9A-Za-z .,:/()#+=@*!?&%$<>\[\]{}|'\"-]")


def _escape(value: str) -> str:
    """``^FH`` hex escapes (``_`` indicator) for anything outside a plain, safe set."""
    return "".join(ch if _SAFE.fullmatch(ch) else
                   "".join(f"_{b:02X}" for b in ch.encode("utf-8")) for ch in value)


def check_template(template: str, origin: str = "label template") -> None:
    """Refuse a template ZPL printers would misread or that could leak unescaped values."""
    body = template.strip()
    if not body.startswith("^XA") or not body.endswith("^XZ"):
        raise ProfileError(f"{origin}: a ZPL label must start with ^XA and end with ^XZ")
    for name in _PLACEHOLDER.findall(template):
        if name not in _FIELD_NAMES and name not in _LAYOUT_FIELDS:
            raise ProfileError(f"{origin}: unknown field {{{name}}} (known: "
                               f"{', '.join(_FIELD_NAMES + _LAYOUT_FIELDS)})")
    for field_cmds in template.split("^FS"):
        head, fd, data = field_cmds.partition("^FD")
        if fd and _PLACEHOLDER.search(data) and "^FH" not in head:
            raise ProfileError(f"{origin}: field data {data.strip()!r} has a placeholder but "
                               "no ^FH before its ^FD (values must be hex-escaped)")


def render(label: Label, spec: LabelSpec) -> str:
    """The ZPL for one label."""
    template = spec.template or DEFAULT_TEMPLATE
    check_template(template)
    values = {name: _escape(value) for name, value in label.fields().items()}
    values["width_dots"] = str(spec.width_dots)
    values["height_dots"] = str(spec.height_dots)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True, slots=True)
class ZplField:
    """One ``^FD..^FS`` field of a parsed label: its commands and its decoded data."""

    commands: tuple[str, ...]
    data: str

    @property
    def is_qr(self) -> bool:
        return any(cmd.startswith("BQ") for cmd in self.commands)


def parse(zpl: str) -> list[ZplField]:
    """The fields of one ZPL label, ``^FH`` escapes decoded; ValueError if malformed."""
    body = zpl.strip()
    if not body.startswith("^XA") or not body.endswith("^XZ"):
        raise ValueError("label does not start with ^XA and end with ^XZ")
    inner = body[3:-3]
    if "^XA" in inner or "^XZ" in inner:
        raise ValueError("nested ^XA/^XZ")
    fields = []
    pending: list[str] = []
    pos = 0
    while pos < len(inner):
        if inner[pos] in "\r\n":
            pos += 1
            continue
        if inner[pos] != "^":
            raise ValueError(f"text outside a field at offset {pos}: {inner[pos:pos + 10]!r}")
        if inner.startswith("^FD", pos):
            end = inner.find("^FS", pos)
            if end < 0:
                raise ValueError(f"^FD at offset {pos} without ^FS")
            raw = inner[pos + 3:end]
            data = _unescape(raw) if any(c.startswith("FH") for c in pending) else raw
            fields.append(ZplField(tuple(pending), data))
            pending = []
            pos = end + 3
            continue
        nxt = inner.find("^", pos + 1)
        nxt = len(inner) if nxt < 0 else nxt
        pending.append(inner[pos + 1:nxt].strip())
        pos = nxt
    return fields


def _unescape(raw: str) -> str:
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == "_":
            out += bytes.fromhex(raw[i + 1:i + 3])
            i += 3
        else:
            out += raw[i].encode()
            i += 1
    return out.decode("utf-8")
