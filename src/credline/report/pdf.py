"""A :class:`~credline.report.document.Document` as a PDF (reportlab): a title, numbered
sections, tables, the figures drawn as vector graphics, a signature block with a line to
sign on, and page numbers. ``invariant`` output: the same document gives the same bytes.
Pure apart from returning bytes; the caller writes them.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Line, PolyLine, String
from reportlab.graphics.shapes import Rect as RlRect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RlTable

from credline.report.document import Document, Figure, Label, Polyline, Rect, Segment, Table

_STYLES = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=10, leading=13.5)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8.5, leading=10.5)
HEAD = ParagraphStyle("head", parent=_STYLES["Heading2"], fontSize=13, spaceBefore=10,
                      keepWithNext=1)
TITLE = ParagraphStyle("title", parent=_STYLES["Title"], fontSize=20, leading=24)
SUB = ParagraphStyle("sub", parent=BODY, fontSize=9.5, textColor=colors.HexColor("#444444"))
_ANCHOR = {"start": "start", "middle": "middle", "end": "end"}


def _drawing(figure: Figure, width: float) -> Drawing:
    """The figure scaled to ``width``; its y axis (downwards) flipped to reportlab's."""
    scale = min(1.0, width / figure.width)
    height = figure.height
    drawing = Drawing(figure.width * scale, height * scale)
    for shape in figure.shapes:
        item: Any
        if isinstance(shape, Rect):
            item = RlRect(shape.x, height - shape.y - shape.h, shape.w, shape.h,
                          fillColor=colors.HexColor(shape.fill), strokeColor=None)
        elif isinstance(shape, Segment):
            item = Line(shape.x1, height - shape.y1, shape.x2, height - shape.y2,
                        strokeColor=colors.HexColor(shape.stroke), strokeWidth=shape.width)
        elif isinstance(shape, Polyline):
            flat = [v for x, y in shape.points for v in (x, height - y)]
            item = PolyLine(flat, strokeColor=colors.HexColor(shape.stroke),
                            strokeWidth=shape.width)
        elif isinstance(shape, Label):
            item = String(shape.x, height - shape.y, shape.text, fontSize=shape.size,
                          fontName="Helvetica", textAnchor=_ANCHOR[shape.anchor],
                          fillColor=colors.HexColor(shape.fill))
        else:  # pragma: no cover - Shape is closed
            continue
        drawing.add(item)
    drawing.scale(scale, scale)
    return drawing


def _table(table: Table, width: float) -> RlTable:
    data = [[Paragraph(f"<b>{escape(h)}</b>", CELL) for h in table.header]]
    data += [[Paragraph(escape(c), CELL) for c in row] for row in table.rows]
    columns = len(table.header)
    widths = [width / columns] * columns
    if columns == 2:
        widths = [width * 0.32, width * 0.68]
    out = RlTable(data, colWidths=widths, repeatRows=1)
    out.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return out


def _signature(doc: Document) -> list[Flowable]:
    sig = doc.signature
    assert sig is not None
    line = RlTable([[""]], colWidths=[75 * mm], rowHeights=[14 * mm])
    line.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.8, colors.black)]))
    line.hAlign = "LEFT"
    lines = [Paragraph("Signed", HEAD),
             Paragraph(f"Signed for and on behalf of {escape(sig.on_behalf_of)}:", BODY),
             line, Paragraph("Signature", CELL), Spacer(1, 4 * mm)]
    for name, value in (("Name", sig.name), ("Function", sig.function),
                        ("Place of issue", sig.place), ("Date of issue", sig.date)):
        lines.append(Paragraph(f"<b>{name}:</b> {escape(value)}", BODY))
    return [KeepTogether(lines)]


def to_pdf(doc: Document) -> bytes:
    buffer = io.BytesIO()
    frame_width = A4[0] - 40 * mm

    def page(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillGray(0.35)
        canvas.drawString(20 * mm, 10 * mm, doc.footer[:120] if doc.footer else doc.title)
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, f"page {template.page}")
        canvas.restoreState()

    template = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                                 topMargin=18 * mm, bottomMargin=18 * mm, title=doc.title,
                                 author="credline", creator="credline", invariant=True)
    story: list[Flowable] = [Paragraph(escape(doc.title), TITLE),
                             Paragraph(escape(doc.subtitle), SUB), Spacer(1, 4 * mm)]
    for number, section in enumerate(doc.sections, 1):
        story.append(Paragraph(f"{number}. {escape(section.heading)}", HEAD))
        for block in section.blocks:
            if isinstance(block, Table):
                story.append(_table(block, frame_width))
                story.append(Spacer(1, 2 * mm))
            elif isinstance(block, Figure):
                story.append(KeepTogether([_drawing(block, frame_width),
                                           Paragraph(escape(block.caption), CELL),
                                           Spacer(1, 3 * mm)]))
            else:
                story.append(Paragraph(escape(block), BODY))
    if doc.signature is not None:
        story += _signature(doc)
    template.build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()
