"""ZPL II for Zebra label printers, drawn from the label's layout (or a hand-written template).

By default every field is placed where :func:`credline.labels.model.plan` put it: one
``^FO``/``^A0``/``^FB`` field per line of text, sized to its box, and the QR code as ``^BQ`` at
the layout's module size in byte mode (``MM,B<count>``), so the printer draws the very symbol
the layout measured. A hand-written template (``[label] template = "x.zpl"``) with ``{field}``
placeholders is filled instead, and its geometry is checked the same way before a batch starts.

Field values (a password may contain ``^`` or ``~`` in a printable alphabet) are inserted
hex-escaped under ``^FH``, so no value can inject a ZPL command; a template that puts a field
in a ``^FD`` without ``^FH`` is refused. :func:`parse` reads a label back into its fields and
:func:`geometry` into boxes, for tests and for checking a template before a batch starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from credline.core.errors import ProfileError
from credline.labels.layout import QR_QUIET, Box, Font, Layout, qr_shape, text_width
from credline.labels.model import Label, LabelSpec, plan

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_LAYOUT_FIELDS = ("width_dots", "height_dots")
_FIELD_NAMES = ("product", "product_name", "serial", "key_id", "batch", "generation",
                "password", "qr", "support_end", "security_contact")
_SAFE = re.compile(r"[0-9A-Za-z .,:/()#+=@*!?&%$<>\[\]{}|'\"-]")


_SAFE_TEXT = re.compile(rf"{_SAFE.pattern}*")


def _escape(value: str) -> str:
    """``^FH`` hex escapes (``_`` indicator) for anything outside a plain, safe set."""
    if _SAFE_TEXT.fullmatch(value):  # most fields: nothing to escape, one match
        return value
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
    """The ZPL for one label: from its layout, or from the profile's hand-written template."""
    if spec.template is None:
        return from_layout(plan(label, spec))
    check_template(spec.template)
    values = {name: _escape(value) for name, value in label.fields().items()}
    values["width_dots"] = str(spec.width_dots)
    values["height_dots"] = str(spec.height_dots)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], spec.template)


def from_layout(layout: Layout) -> str:
    """ZPL drawing ``layout``: each text line in its own field box, the QR at its module."""
    out = ["^XA", "^CI28", f"^PW{layout.width}", f"^LL{layout.height}"]
    for text in layout.texts:
        spacing = text.line_height - text.size
        for i, line in enumerate(text.lines):
            y = text.box.y + i * text.line_height
            out.append(f"^FO{text.box.x},{y}^A0N,{text.size},{text.size}"
                       f"^FB{text.box.w},1,{spacing},L^FH^FD{_escape(line)}^FS")
    if layout.qr:
        qr, quiet = layout.qr, QR_QUIET * layout.qr.module
        count = len(qr.content.encode("utf-8"))
        out.append(f"^FO{qr.box.x + quiet},{qr.box.y + quiet}^BQN,2,{qr.module}"
                   f"^FH^FDMM,B{count:04d}{_escape(qr.content)}^FS")
    out.append("^XZ")
    return "\n".join(out) + "\n"


def check_geometry(zpl: str, origin: str) -> None:
    """Refuse a label whose fields leave ``^PW``/``^LL`` or overlap (see :func:`geometry`)."""
    width, height, boxes = geometry(zpl)
    problems = [f"{name} {box} is outside the {width}x{height}-dot label"
                for name, box in boxes if not box.inside(width, height)]
    problems += [f"{a} {abox} overlaps {b} {bbox}" for i, (a, abox) in enumerate(boxes)
                 for b, bbox in boxes[i + 1:] if abox.overlaps(bbox)]
    if problems:
        raise ProfileError(f"{origin}: the printer would clip or overprint this label: "
                           + "; ".join(problems))


def geometry(zpl: str) -> tuple[int, int, list[tuple[str, Box]]]:
    """``^PW``, ``^LL`` and every field's box in dots, read from the ZPL itself.

    A text field's box is its ``^FB`` block (or, without one, the width of its data in font
    0, measured as the layout measures it); a QR's is its symbol, quiet zone included, at the
    ``^BQ`` magnification, the symbol rebuilt from the field's data.
    """
    width = height = 0
    boxes: list[tuple[str, Box]] = []
    for fld in parse(zpl):
        for cmd in fld.commands:
            if cmd.startswith("PW"):
                width = int(cmd[2:])
            elif cmd.startswith("LL"):
                height = int(cmd[2:])
        origin = _args(fld.commands, "FO")
        if not origin:
            continue
        x, y = int(origin[0]), int(origin[1])
        name = f"field {fld.data[:12]!r}"
        if fld.is_qr:
            boxes.append(("qr", _qr_box(fld, x, y)))
            continue
        font = _args(fld.commands, "A0") or ["N", "9", "9"]
        size = int(font[1])
        block = _args(fld.commands, "FB")
        if block:
            lines, spacing = int(block[1]), int(block[2] or 0)
            w = int(block[0])
            if text_width(fld.data, Font.BOLD, size) > w:
                w = int(text_width(fld.data, Font.BOLD, size)) + 1  # it would wrap or clip
            boxes.append((name, Box(x, y, w, lines * (size + spacing))))
        else:
            boxes.append((name, Box(x, y, int(text_width(fld.data, Font.BOLD, size)) + 1,
                                    size)))
    return width, height, boxes


def _args(commands: tuple[str, ...], name: str) -> list[str]:
    for cmd in commands:
        if cmd.startswith(name):
            return cmd[len(name):].split(",")
    return []


def _qr_box(fld: ZplField, x: int, y: int) -> Box:
    module = int([*_args(fld.commands, "BQ"), "", "", "2"][2] or 2)
    head, _, rest = fld.data.partition(",")
    content = rest[5:] if head.endswith("M") and rest.startswith("B") else rest
    side = qr_shape(content)[0]
    quiet = QR_QUIET * module
    return Box(x - quiet, y - quiet, (side + 2 * QR_QUIET) * module,
               (side + 2 * QR_QUIET) * module)


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
