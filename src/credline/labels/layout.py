"""Where every field of a label goes: one layout model that both the ZPL and the PDF draw.

:func:`layout` places the title, the serial, the caption, the grouped password, an optional
note, the optional support lines and the footer in a text column, and the QR code in a square
on the right, all in printer dots at the label's dpi. Every field gets its own box inside the
label's margins; boxes never overlap; text that does not fit its column is shrunk (down to a
readable floor) and wrapped, never cut. A label that cannot hold its fields even so is refused
(:class:`~credline.core.errors.ProfileError`) with the size it would need, before anything is
printed. The QR's module is a whole number of dots, at least :data:`QR_MIN_MODULE_MM` wide, so
the code decodes at the printer's resolution.

Text widths come from the PostScript metrics of Helvetica and Courier (reportlab's tables,
no I/O); Zebra's font 0 is a condensed face, narrower than these, so a ZPL field measured
this way fits its box too. Pure: no file, no clock; holds the password only inside the
:class:`Layout` the renderer draws and drops.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from enum import StrEnum

import segno
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth

from credline.core.errors import ProfileError

MARGIN_MM = 1.5
GAP_MM = 0.6
QR_MIN_MODULE_MM = 0.33  # below a third of a millimetre phone cameras start to miss modules
QR_QUIET = 2  # modules of white around the code, inside its box
QR_MAX_SHARE = 0.4  # of the label's width: the rest is for words people read
LINE = 1.15  # line height, in font sizes: room for descenders
MIN_TEXT_MM = 1.2  # the smallest letters a label prints (about 3.5 pt)


class Font(StrEnum):
    """The faces a label uses, named as PDF's standard fonts (the metrics source)."""

    SANS = "Helvetica"
    BOLD = "Helvetica-Bold"
    MONO = "Courier-Bold"


def text_width(text: str, font: Font, size: float) -> float:
    """Width of ``text`` in the same unit as ``size`` (dots here), in ``font`` and in
    Helvetica Bold, whichever is wider: the ZPL draws every field in Zebra's font 0, whose
    condensed letters Helvetica Bold's widths bound, so one layout fits both renderers."""
    return float(max(_width(text, font, size), _width(text, Font.BOLD, size)))


@functools.cache
def _metrics(font: Font) -> tuple[str, tuple[int, ...]]:
    """A standard font's encoding and its 256 glyph widths (thousandths of the size)."""
    face = getFont(font.value)
    return face.encName, tuple(face.widths)


def _width(text: str, font: Font, size: float) -> float:
    """reportlab's ``stringWidth``, computed as it does (the glyph widths of the encoded
    bytes, summed, times size / 1000) from its own tables read once: a station lays out a
    label for every device, and reportlab's general path was most of that."""
    encoding, widths = _metrics(font)
    try:
        encoded = text.encode(encoding)
    except UnicodeEncodeError:  # letters from its substitution fonts: its own path
        return float(stringWidth(text, font.value, size))
    return sum(map(widths.__getitem__, encoded)) * 0.001 * size


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in dots, origin top left (as ZPL's ^FO), y growing down."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def overlaps(self, other: Box) -> bool:
        return (self.x < other.right and other.x < self.right
                and self.y < other.bottom and other.y < self.bottom)

    def inside(self, width: int, height: int) -> bool:
        return self.x >= 0 and self.y >= 0 and self.right <= width and self.bottom <= height


@dataclass(frozen=True, slots=True)
class TextField:
    """One text field placed: its box, font, size in dots and the lines it was wrapped into."""

    name: str
    box: Box
    font: Font
    size: int
    lines: tuple[str, ...] = field(repr=False)

    @property
    def line_height(self) -> int:
        return line_height(self.size)


@dataclass(frozen=True, slots=True)
class QrField:
    """The QR code: its box (quiet zone included), module in dots, symbol size in modules."""

    box: Box
    module: int
    modules: int  # the symbol's side without the quiet zone
    version: int
    content: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Layout:
    width: int
    height: int
    dpi: int
    texts: tuple[TextField, ...]
    qr: QrField | None

    def boxes(self) -> list[tuple[str, Box]]:
        named = [(t.name, t.box) for t in self.texts]
        return named + ([("qr", self.qr.box)] if self.qr else [])


@dataclass(frozen=True, slots=True)
class Want:
    """A field the caller wants on the label: its text, face and preferred size in mm."""

    name: str
    text: str = field(repr=False)
    font: Font
    size_mm: float
    max_lines: int = 2
    bottom: bool = False  # anchored to the bottom edge (the footer)
    secret: bool = False  # the password: never kept after the label is drawn


def line_height(size: int) -> int:
    return math.ceil(size * LINE)


def dots(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def qr_symbol(content: str) -> segno.QRCode:
    """The QR symbol both renderers draw: byte mode, level M, no error boost (ZPL's ``MM,B``)."""
    return segno.make_qr(content, error="m", mode="byte", boost_error=False)


def qr_shape(content: str) -> tuple[int, int]:
    """(modules a side, version) of :func:`qr_symbol`'s code for ``content``, which is all a
    layout needs. The mask segno picks (its slowest step: 8 trial masks scored) never changes
    the size, and in byte mode an ASCII payload's size depends only on its length, so that
    is worked out once per length: a station lays out a label per device."""
    if content.isascii():
        return _ascii_shape(len(content))
    return _shape(segno.make_qr(content, error="m", mode="byte", boost_error=False, mask=0))


@functools.cache
def _ascii_shape(length: int) -> tuple[int, int]:
    return _shape(segno.make_qr("a" * length, error="m", mode="byte", boost_error=False,
                                mask=0))


def _shape(symbol: segno.QRCode) -> tuple[int, int]:
    return int(symbol.symbol_size(scale=1, border=0)[0]), int(symbol.version)


def layout(width: int, height: int, dpi: int, wants: list[Want], qr: str) -> Layout:
    """Place ``wants`` (top to bottom, ``bottom`` ones at the foot) and a QR of ``qr``."""
    margin, gap = dots(MARGIN_MM, dpi), max(1, dots(GAP_MM, dpi))
    inner_w, inner_h = width - 2 * margin, height - 2 * margin
    qr_field = _place_qr(qr, margin, inner_w, inner_h, width, dpi) if qr else None
    column = inner_w - (qr_field.box.w + gap if qr_field else 0)
    texts = _place_texts(wants, margin, column, inner_h, gap, dpi, width, height)
    return Layout(width=width, height=height, dpi=dpi, texts=texts, qr=qr_field)


def _place_qr(content: str, margin: int, inner_w: int, inner_h: int, width: int,
              dpi: int) -> QrField:
    side, version = qr_shape(content)
    total = side + 2 * QR_QUIET
    floor = max(2, math.ceil(QR_MIN_MODULE_MM / 25.4 * dpi))
    best = min(inner_h, int(inner_w * QR_MAX_SHARE)) // total
    module = max(floor, best)
    if module * total > min(inner_h, inner_w):
        need = (floor * total + 2 * margin) / dpi * 25.4
        raise ProfileError(f"label too small for its QR code: a version {version} code "
                           f"at {dpi} dpi needs {need:.1f} mm of label height "
                           f"(modules of {floor} dots); make the label larger or the QR "
                           "payload shorter")
    size = module * total
    box = Box(width - margin - size, margin, size, size)
    return QrField(box=box, module=module, modules=side, version=version,
                   content=content)


def _place_texts(wants: list[Want], margin: int, column: int, inner_h: int, gap: int,
                 dpi: int, width: int, height: int) -> tuple[TextField, ...]:
    floor = max(8, dots(MIN_TEXT_MM, dpi))
    present = [w for w in wants if w.text]
    budget = inner_h - gap * max(0, len(present) - 1)
    for step in range(0, 60):
        scale = 1.0 - step * 0.02
        fitted = [_fit(w, column, max(floor, round(dots(w.size_mm, dpi) * scale)), floor)
                  for w in present]
        if all(f is not None for f in fitted):
            heights = [len(f[1]) * line_height(f[0]) for f in fitted if f is not None]
            if sum(heights) <= budget:
                return _stack(present, fitted, margin, column, gap, height)
        if all(round(dots(w.size_mm, dpi) * scale) <= floor for w in present):
            break
    mm = (width / dpi * 25.4, height / dpi * 25.4)
    raise ProfileError(f"label {mm[0]:.0f} x {mm[1]:.0f} mm at {dpi} dpi cannot hold "
                       f"{', '.join(w.name for w in present)} without cutting text (letters "
                       f"of at least {MIN_TEXT_MM} mm); make the label larger, the QR smaller "
                       "or the fields shorter")


def _stack(present: list[Want], fitted: list[tuple[int, tuple[str, ...]] | None],
           margin: int, column: int, gap: int, height: int) -> tuple[TextField, ...]:
    out: list[TextField] = []
    y = margin
    bottom = height - margin
    feet = [(w, f) for w, f in zip(present, fitted, strict=True) if w.bottom and f]
    for want, fit in reversed(feet):
        size, lines = fit
        h = len(lines) * line_height(size)
        bottom -= h
        out.append(TextField(want.name, Box(margin, bottom, column, h), want.font, size, lines))
        bottom -= gap
    for want, maybe in zip(present, fitted, strict=True):
        if want.bottom or maybe is None:
            continue
        size, lines = maybe
        h = len(lines) * line_height(size)
        out.append(TextField(want.name, Box(margin, y, column, h), want.font, size, lines))
        y += h + gap
    return tuple(sorted(out, key=lambda t: t.box.y))


def _fit(want: Want, column: int, size: int, floor: int) -> tuple[int, tuple[str, ...]] | None:
    """``want`` at ``size`` or smaller (down to ``floor``) wrapped into ``column`` dots in at
    most its lines, or None if even ``floor`` needs too many lines."""
    if want.secret:
        return _fit_text(want.text, want.font, want.max_lines, column, size, floor)
    # The title, captions and footer are the same on every label of a batch: fitted once.
    return _fit_known(want.text, want.font, want.max_lines, column, size, floor)


def _fit_text(text: str, font: Font, max_lines: int, column: int, size: int,
              floor: int) -> tuple[int, tuple[str, ...]] | None:
    for tried in range(size, floor - 1, -1):
        lines = wrap(text, font, tried, column)
        if len(lines) <= max_lines:
            return tried, lines
    return None


_fit_known = functools.lru_cache(maxsize=1024)(_fit_text)


def wrap(text: str, font: Font, size: float, width: float) -> tuple[str, ...]:
    """Greedy wrap at spaces, then after hyphens and slashes, then anywhere: never cut."""
    lines: list[str] = []
    current = ""
    for word in _pieces(text):
        candidate = current + word
        if text_width(candidate.rstrip(), font, size) <= width:
            current = candidate
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = word.lstrip()
        while text_width(current.rstrip(), font, size) > width and len(current) > 1:
            cut = _longest_prefix(current, font, size, width)
            lines.append(current[:cut])
            current = current[cut:]
    if current.strip():
        lines.append(current.rstrip())
    return tuple(lines)


def _pieces(text: str) -> list[str]:
    """Words with the break after them kept: ``"a-b c"`` -> ``["a-", "b ", "c"]``."""
    pieces, start = [], 0
    for i, ch in enumerate(text):
        if ch in " -/":
            pieces.append(text[start:i + 1])
            start = i + 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _longest_prefix(text: str, font: Font, size: float, width: float) -> int:
    cut = 1
    while cut < len(text) and text_width(text[:cut + 1], font, size) <= width:
        cut += 1
    return cut


def check(plan: Layout) -> list[str]:
    """What is wrong with a layout (empty when every box is inside and none overlap)."""
    problems = []
    boxes = plan.boxes()
    for name, box in boxes:
        if not box.inside(plan.width, plan.height):
            problems.append(f"{name} {box} outside the {plan.width}x{plan.height} label")
    for i, (name, box) in enumerate(boxes):
        for other, obox in boxes[i + 1:]:
            if box.overlaps(obox):
                problems.append(f"{name} {box} overlaps {other} {obox}")
    for text in plan.texts:
        for line in text.lines:
            if text_width(line, text.font, text.size) > text.box.w:
                problems.append(f"{text.name} line wider than its box")
    return problems
