"""A PDF sheet of labels for office printers (reportlab), each with a vector QR code (segno).

Each label is drawn from the same layout as its ZPL (:func:`credline.labels.model.plan`), in
points (a dot is 72/dpi points), its corner on the dot grid so every QR module is whole dots
at the label's dpi. The QR code is drawn as filled squares straight from segno's matrix: no
raster images, so the sheet stays small and sharp at any printer resolution.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from credline.labels.layout import QR_QUIET, qr_symbol
from credline.labels.model import Label, LabelSpec, plan

MARGIN = 10 * mm
GAP = 3 * mm
BASELINE = 0.9  # of the font size, from the top of a line's slot (descenders still fit)


def render_sheet(labels: Sequence[Label], spec: LabelSpec, title: str = "") -> bytes:
    """A4 pages of labels in a grid of the profile's label size; returns the PDF bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(title or "credline labels")
    canvas.setCreator("credline")
    dot = 72.0 / spec.dpi
    width, height = spec.width_dots * dot, spec.height_dots * dot
    columns = max(1, int((A4[0] - 2 * MARGIN + GAP) // (width + GAP)))
    rows = max(1, int((A4[1] - 2 * MARGIN + GAP) // (height + GAP)))
    per_page = columns * rows
    for index, label in enumerate(labels):
        if index and index % per_page == 0:
            canvas.showPage()
        slot = index % per_page
        # Corners on the dot grid counted from the page's top left, where a rasteriser
        # starts, so each QR module is whole dots when the sheet is printed at the dpi.
        x = round((MARGIN + (slot % columns) * (width + GAP)) / dot) * dot
        down = round((MARGIN + (slot // columns) * (height + GAP)) / dot) * dot
        _draw_label(canvas, label, spec, x, A4[1] - down - height)
    if not labels:
        canvas.drawString(MARGIN, A4[1] - MARGIN, "no labels")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_label(canvas: Canvas, label: Label, spec: LabelSpec, x: float, y: float) -> None:
    """One label from its layout; ``(x, y)`` is its bottom left corner in points."""
    plan_ = plan(label, spec)
    dot = 72.0 / spec.dpi
    width, height = plan_.width * dot, plan_.height * dot
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0.7)
    canvas.rect(x, y, width, height)
    top = y + height
    canvas.setFillGray(0)
    for text in plan_.texts:
        canvas.setFont(text.font.value, text.size * dot)
        for i, line in enumerate(text.lines):
            baseline = text.box.y + i * text.line_height + BASELINE * text.size
            canvas.drawString(x + text.box.x * dot, top - baseline * dot, line)
    if plan_.qr:
        qr = plan_.qr
        _draw_qr(canvas, qr.content, x + qr.box.x * dot, top - qr.box.bottom * dot,
                 qr.module * dot)


def _draw_qr(canvas: Canvas, content: str, x: float, y: float, module: float) -> None:
    qr = qr_symbol(content)
    matrix = [list(row) for row in qr.matrix_iter(scale=1, border=QR_QUIET)]
    size = module * len(matrix)
    # One filled path per code, one rectangle per horizontal run of dark modules: about a
    # third of the operators of a square per module, so large sheets render fast.
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - (r + 1) * module
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            path.rect(x + start * module, top, (c - start) * module, module)
    canvas.setFillGray(0)
    canvas.drawPath(path, stroke=0, fill=1)
