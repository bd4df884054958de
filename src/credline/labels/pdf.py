"""A PDF sheet of labels for office printers (reportlab), each with a vector QR code (segno).

The QR code is drawn as filled squares straight from segno's matrix: no raster images, so the
sheet stays small and sharp at any printer resolution.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from credline.labels.model import Label, LabelSpec

MARGIN = 10 * mm
GAP = 3 * mm
QR_BORDER = 2  # modules of quiet zone; decoders want some, labels have little room


def render_sheet(labels: Sequence[Label], spec: LabelSpec, title: str = "") -> bytes:
    """A4 pages of labels in a grid of the profile's label size; returns the PDF bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(title or "credline labels")
    canvas.setCreator("credline")
    width, height = spec.width_mm * mm, spec.height_mm * mm
    columns = max(1, int((A4[0] - 2 * MARGIN + GAP) // (width + GAP)))
    rows = max(1, int((A4[1] - 2 * MARGIN + GAP) // (height + GAP)))
    per_page = columns * rows
    for index, label in enumerate(labels):
        if index and index % per_page == 0:
            canvas.showPage()
        slot = index % per_page
        x = MARGIN + (slot % columns) * (width + GAP)
        y = A4[1] - MARGIN - (slot // columns + 1) * (height + GAP) + GAP
        _draw_label(canvas, label, x, y, width, height)
    if not labels:
        canvas.drawString(MARGIN, A4[1] - MARGIN, "no labels")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_label(canvas: Canvas, label: Label, x: float, y: float, width: float,
                height: float) -> None:
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0.7)
    canvas.rect(x, y, width, height)
    pad = 2 * mm
    qr_size = height - 2 * pad if label.qr_content else 0.0
    if label.qr_content:
        _draw_qr(canvas, label.qr_content, x + width - pad - qr_size, y + pad, qr_size)
    text_x = x + pad
    top = y + height - pad
    canvas.setFillGray(0)
    canvas.setFont("Helvetica-Bold", 7)
    canvas.drawString(text_x, top - 7, label.product_name[:32])
    canvas.setFont("Helvetica", 6.5)
    canvas.drawString(text_x, top - 16, f"S/N {label.serial}")
    canvas.drawString(text_x, top - 25, "Password")
    size = 9.0 if len(label.password_grouped) <= 16 else 7.0
    canvas.setFont("Courier-Bold", size)
    canvas.drawString(text_x, top - 25 - size - 1, label.password_grouped)
    canvas.setFont("Helvetica", 5)
    canvas.drawString(text_x, y + pad, f"key {label.key_id}  batch {label.batch}")


def _draw_qr(canvas: Canvas, content: str, x: float, y: float, size: float) -> None:
    qr = segno.make_qr(content, error="m")
    matrix = [list(row) for row in qr.matrix_iter(scale=1, border=QR_BORDER)]
    module = size / len(matrix)
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
