"""A report as data: title, sections of paragraphs, tables and figures, an optional signature
block. The statement and the batch report are built as a :class:`Document`; the renderers
(:mod:`credline.report.markdown`, :mod:`credline.report.html`, :mod:`credline.report.pdf`)
turn one into a file, so the words are written once. Pure: no I/O.

Figures are lists of drawing primitives laid out here once (:mod:`credline.report.plots`),
in points with y growing downwards; each renderer only maps primitives to its own shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = "#444444"
    width: float = 0.8


@dataclass(frozen=True)
class Label:
    x: float
    y: float  # the baseline
    text: str
    size: float = 8.0
    anchor: str = "start"  # start | middle | end
    fill: str = "#222222"


@dataclass(frozen=True)
class Polyline:
    points: tuple[tuple[float, float], ...]
    stroke: str = "#1f5fa8"
    width: float = 1.5


Shape = Rect | Segment | Label | Polyline


@dataclass(frozen=True)
class Figure:
    """A picture: its shapes, its size in points, and words saying what it shows (alt text
    for the HTML, a caption for the PDF)."""

    title: str
    width: float
    height: float
    shapes: tuple[Shape, ...]
    caption: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = str | Table | Figure


@dataclass
class Section:
    heading: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Signature:
    """The signature block: who signs, in which function, for whom, where and when."""

    on_behalf_of: str
    name: str
    function: str
    place: str
    date: str


@dataclass
class Document:
    title: str
    subtitle: str
    sections: list[Section]
    signature: Signature | None = None
    footer: str = ""
