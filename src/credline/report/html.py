"""A :class:`~credline.report.document.Document` as one self-contained HTML page: inline CSS,
figures as inline SVG, no script, no font, no link to anywhere, so it opens offline and
prints as it shows. Every value is escaped. Pure: no I/O."""

from __future__ import annotations

from html import escape

from credline.report.document import Document, Figure, Label, Polyline, Rect, Segment, Table

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;
max-width:52rem;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ccc}.subtitle{color:#444;margin-top:0}
table{border-collapse:collapse;margin:.6rem 0;width:100%}th,td{border:1px solid #bbb;
padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#eef2f7}
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#333}
svg{width:100%;max-width:44rem;height:auto}
.signature{margin-top:2.5rem}.line{border-bottom:1px solid #000;width:18rem;height:2.5rem}
footer{margin-top:2rem;font-size:.85rem;color:#444}
"""


def _svg(figure: Figure, number: int) -> str:
    ident = f"fig{number}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{ident}" '
             f'viewBox="0 0 {figure.width:.0f} {figure.height:.0f}" '
             f'width="{figure.width:.0f}" height="{figure.height:.0f}">',
             f'<title id="{ident}">{escape(figure.title)}</title>',
             '<rect width="100%" height="100%" fill="#ffffff"/>']
    for shape in figure.shapes:
        if isinstance(shape, Rect):
            parts.append(f'<rect x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.w:.1f}" '
                         f'height="{shape.h:.1f}" fill="{shape.fill}"/>')
        elif isinstance(shape, Segment):
            parts.append(f'<line x1="{shape.x1:.1f}" y1="{shape.y1:.1f}" x2="{shape.x2:.1f}" '
                         f'y2="{shape.y2:.1f}" stroke="{shape.stroke}" '
                         f'stroke-width="{shape.width}"/>')
        elif isinstance(shape, Polyline):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in shape.points)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{shape.stroke}" '
                         f'stroke-width="{shape.width}"/>')
        elif isinstance(shape, Label):
            parts.append(f'<text x="{shape.x:.1f}" y="{shape.y:.1f}" font-size="{shape.size}" '
                         f'text-anchor="{shape.anchor}" fill="{shape.fill}" '
                         f'font-family="sans-serif">{escape(shape.text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(table: Table) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.header)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def to_html(doc: Document) -> str:
    body = [f"<header><h1>{escape(doc.title)}</h1>",
            f'<p class="subtitle">{escape(doc.subtitle)}</p></header>', "<main>"]
    figures = 0
    for number, section in enumerate(doc.sections, 1):
        body.append(f"<section><h2>{number}. {escape(section.heading)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                body.append(_table(block))
            elif isinstance(block, Figure):
                figures += 1
                body.append(f"<figure>{_svg(block, figures)}<figcaption>"
                            f"{escape(block.caption)}</figcaption></figure>")
            else:
                body.append(f"<p>{escape(block)}</p>")
        body.append("</section>")
    if doc.signature is not None:
        sig = doc.signature
        body.append(f'<section class="signature"><h2>Signed</h2><p>Signed for and on behalf '
                    f'of {escape(sig.on_behalf_of)}:</p><div class="line"></div>'
                    f"<p>Name: {escape(sig.name)}<br>Function: {escape(sig.function)}<br>"
                    f"Place of issue: {escape(sig.place)}<br>Date of issue: "
                    f"{escape(sig.date)}</p></section>")
    body.append("</main>")
    if doc.footer:
        body.append(f"<footer><p>{escape(doc.footer)}</p></footer>")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(doc.title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
