"""The published support information (UK PSTI Schedule 1 paras 2 and 3) as a small static
site: one plain-English page per product, understandable without technical knowledge, and an
index searchable by make and model. Free to read, in English, asking for nothing.

Pages are built from profiles (:class:`~credline.core.compliance.Compliance`); a product
missing an item the page needs is an error naming it, raised before any page is written.
Pure: returns file names and texts; the caller writes them.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from credline.core.compliance import SUPPORT_ITEMS, Compliance
from credline.core.errors import BadInput

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;
color:#1a1a1a;line-height:1.55;font-size:1.05rem}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.4rem}
header,main,footer{max-width:44rem;margin:0 auto;padding:0 1rem}
header{padding-top:1.5rem}h1{font-size:1.8rem}h2{font-size:1.25rem;margin-top:1.8rem}
a{color:#0b4f9c}a:focus{outline:3px solid #f2a900}
.answer{font-size:1.15rem}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #999;padding:.4rem .6rem;text-align:left}th{background:#eef2f7}
label{display:block;font-weight:600;margin-top:1rem}input{font-size:1rem;padding:.4rem;
width:100%;max-width:24rem;border:2px solid #555}footer{margin-top:2.5rem;padding-bottom:2rem;
font-size:.9rem;color:#333}
"""

# Filters the index as the reader types; without scripts the whole list still shows.
SEARCH = """
document.getElementById('q').addEventListener('input', function () {
  var words = this.value.toLowerCase().split(/\\s+/).filter(Boolean);
  var rows = document.querySelectorAll('#products tbody tr'), shown = 0;
  rows.forEach(function (row) {
    var text = row.getAttribute('data-search');
    var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
    row.hidden = !hit; if (hit) { shown += 1; }
  });
  document.getElementById('count').textContent = shown + ' of ' + rows.length + ' products';
});
"""


def page_name(facts: Compliance) -> str:
    return f"{facts.product}.html"


def _long(iso: str) -> str:
    return f"{dt.date.fromisoformat(iso):%d %B %Y}".lstrip("0")


def _contact_link(contact: str) -> str:
    href = contact if contact.startswith(("https://", "http://", "mailto:")) else \
        f"mailto:{contact}"
    return f'<a href="{escape(href)}">{escape(contact.removeprefix("mailto:"))}</a>'


def _frame(title: str, body: str, script: str = "") -> str:
    tail = f"<script>{script}</script>" if script else ""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            '<a class="skip" href="#main">Skip to the main content</a>'
            f"{body}{tail}</body></html>\n")


def product_page(facts: Compliance) -> str:
    get = facts.get
    name = f"{facts.make} {facts.model}".strip()
    end = _long(get("compliance", "support_period_end"))
    ack = int(get("compliance", "acknowledge_within_days"))
    every = int(get("compliance", "status_update_days"))
    number = get("product", "model_number")
    about = f"Model number {escape(number)}. " if number else ""
    docs = get("compliance", "documentation_url")
    more = (f'<h2>Where can I find out more?</h2><p>The instructions and other documents for '
            f'this product are at <a href="{escape(docs)}">{escape(docs)}</a>.</p>'
            if docs else "")
    body = (
        f'<header><p><a href="index.html">All products</a></p>'
        f"<h1>Security support for the {escape(name)}</h1></header>"
        f'<main id="main"><p>{about}Made by {escape(get("product", "manufacturer"))}. '
        f'This page tells you how long this product gets security updates and how to tell '
        f'us about a security problem. You can read it without signing in or giving any '
        f'personal details.</p>'
        f"<h2>How long will this product get security updates?</h2>"
        f'<p class="answer">Until at least <strong>{escape(end)}</strong>.</p>'
        f"<p>Until then we will fix security problems we find or are told about, and send "
        f"the fixes to the product as updates. We may make this date later, but never "
        f"earlier.</p>"
        f"<h2>How do I tell you about a security problem?</h2>"
        f'<p class="answer">Contact us at {_contact_link(get("compliance", "security_contact"))}.'
        f"</p><p>You do not need to be a customer or an expert to tell us.</p>"
        f"<h2>What happens after I tell you?</h2>"
        f"<p>We will let you know we have received your report within {ack} "
        f"day{'s' if ack != 1 else ''}. After that, we will tell you what is happening at "
        f"least every {every} day{'s' if every != 1 else ''} until the problem is "
        f"resolved.</p>{more}</main>"
        f"<footer><p>Published by {escape(get('product', 'manufacturer'))} under the UK "
        f"Product Security and Telecommunications Infrastructure regulations (Schedule 1, "
        f"paragraphs 2 and 3).</p></footer>")
    return _frame(f"Security support for the {name}", body)


def index_page(products: list[Compliance]) -> str:
    rows = []
    for facts in sorted(products, key=lambda f: (f.make.lower(), f.model.lower())):
        number = facts.get("product", "model_number")
        search = " ".join((facts.make, facts.model, number, facts.product)).lower()
        rows.append(f'<tr data-search="{escape(search)}"><td>{escape(facts.make)}</td><td>'
                    f'<a href="{escape(page_name(facts))}">{escape(facts.model)}</a></td>'
                    f"<td>{escape(number or '-')}</td><td>"
                    f"{escape(_long(facts.get('compliance', 'support_period_end')))}</td></tr>")
    body = (
        '<header><h1>Security support for our products</h1></header><main id="main">'
        "<p>Find your product to see how long it gets security updates and how to tell us "
        "about a security problem.</p>"
        '<label for="q">Search by make or model</label>'
        '<input id="q" type="search" autocomplete="off">'
        f'<p id="count" aria-live="polite">{len(rows)} products</p>'
        '<table id="products"><caption>Products and the date their security updates run '
        'until</caption><thead><tr><th scope="col">Make</th><th scope="col">Model</th>'
        '<th scope="col">Model number</th><th scope="col">Security updates until</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table></main>")
    return _frame("Security support for our products", body, SEARCH)


def build_site(products: list[Compliance]) -> dict[str, str]:
    """File name -> HTML for the index and each product; BadInput before any page if a
    product lacks an item or two profiles are of one product."""
    if not products:
        raise BadInput("give at least one --profile")
    seen: dict[str, str] = {}
    for facts in products:
        facts.require(SUPPORT_ITEMS, "the support page")
        if facts.product in seen:
            raise BadInput(f"{facts.source} and {seen[facts.product]} are both profiles of "
                           f"product {facts.product!r}: give one per product")
        seen[facts.product] = facts.source
    site = {page_name(facts): product_page(facts) for facts in products}
    site["index.html"] = index_page(products)
    return site
