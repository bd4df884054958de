"""The page, script and style of the browser views, served by :mod:`credline.web.server`.

No framework, no CDN, no inline script (the server's Content-Security-Policy allows only its
own ``/app.js`` and ``/style.css``). The script builds the page with ``textContent`` and
``classList`` only, never ``innerHTML``: a serial, a reason or a station name is always text,
whatever a device sent. The title is escaped here on the server side for the same reason.
"""

from __future__ import annotations

from html import escape

VIEWS = ("station", "cell")


def page(view: str, title: str) -> str:
    """The HTML shell of a view (``station`` or ``cell``); the script fills it."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}")
    safe = escape(title, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{safe}</title>
<link rel="stylesheet" href="/style.css">
<script src="/app.js" defer></script>
</head>
<body data-view="{view}">
<header>
<h1 id="title">{safe}</h1>
<p id="counts" class="counts" aria-live="polite">connecting...</p>
<p id="link" class="link">live</p>
</header>
<main id="tiles" class="tiles"></main>
<section id="end" class="end" hidden></section>
<section class="failures"><h2>Last failures</h2><ol id="failures"></ol></section>
</body>
</html>
"""


STYLE_CSS = """\
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f4f4; color: #111; }
header { background: #222; color: #fff; padding: 0.6em 1em; display: flex; gap: 2em;
  align-items: baseline; flex-wrap: wrap; }
h1 { font-size: 1.3em; margin: 0; }
.counts { font-size: 1.6em; font-weight: bold; margin: 0; }
.link { margin: 0 0 0 auto; color: #9f9; }
.link.lost { color: #f99; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(16em, 1fr));
  gap: 0.8em; padding: 1em; }
.tile { background: #fff; border: 4px solid #999; border-radius: 0.5em; padding: 0.6em; }
.tile.pass { border-color: #1a7f37; }
.tile.fail { border-color: #c62828; }
.tile .port { font-weight: bold; overflow-wrap: anywhere; }
.tile .serial { font-family: ui-monospace, monospace; font-size: 1.2em; }
.tile .result { font-size: 3.2em; font-weight: 900; text-align: center; margin: 0.1em 0;
  letter-spacing: 0.1em; border-radius: 0.2em; }
.tile.pass .result { background: #1a7f37; color: #fff; }
.tile.fail .result { background: #c62828; color: #fff; }
.tile .result.idle { font-size: 1.4em; color: #555; font-weight: 600; }
.tile .reason { color: #7a1010; overflow-wrap: anywhere; }
.tile .next { font-weight: bold; margin-top: 0.3em; }
.end { margin: 0 1em; padding: 0.8em; font-size: 1.6em; font-weight: bold;
  background: #ffd54f; }
.end.closed { background: #1a7f37; color: #fff; }
.failures { padding: 0 1em 1em; }
table { border-collapse: collapse; margin: 1em; background: #fff; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child, td.name { text-align: left; }
"""

APP_JS = r"""'use strict';
// Everything shown is set with textContent: nothing received is ever parsed as HTML.
const view = document.body.dataset.view;
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function counts(s) {
  const left = s.left === null ? 'open-ended' : s.left + ' left';
  return s.passed + ' passed, ' + s.failed + ' failed, ' + left + ', ' +
    s.rate_per_hour + '/hour';
}

function tile(p) {
  const shown = p.result || (p.phase === 'FAIL' ? 'FAIL' : null);
  const node = el('article', 'tile' + (shown ? ' ' + shown.toLowerCase() : ''));
  node.dataset.port = p.port;
  node.appendChild(el('div', 'port', p.port + '  (' + p.passed + ' ok, ' + p.failed +
    ' failed)'));
  const serial = p.result ? p.result_serial : p.serial;
  node.appendChild(el('div', 'serial', serial || '(no serial)'));
  if (shown) {
    node.appendChild(el('div', 'result', shown));
  } else {
    node.appendChild(el('div', 'result idle', p.detail ? p.phase + ' ' + p.detail : p.phase));
  }
  const reason = shown === 'FAIL' ? (p.result_reason || p.reason) : null;
  if (reason) node.appendChild(el('div', 'reason', reason));
  node.appendChild(el('div', 'next', '\u25b6 ' + p.next));
  return node;
}

function renderStation(s) {
  $('counts').textContent = counts(s);
  $('tiles').replaceChildren(...s.ports.map(tile));
  $('failures').replaceChildren(...s.failures.map(
    (f) => el('li', null, f.port + ' ' + (f.serial || '') + ': ' + f.reason)));
  const end = $('end');
  end.hidden = !s.finished;
  if (s.finished) {
    const closed = (s.outcome || '').startsWith('batch closed');
    end.className = 'end' + (closed ? ' closed' : '');
    end.replaceChildren(el('div', null, closed ? 'BATCH CLOSED' : (s.outcome ||
      'batch finished')));
    if (s.sheet) end.appendChild(el('div', 'sheet', 'label sheet: ' + s.sheet));
  }
}

function renderCell(c) {
  let passed = 0, failed = 0;
  const table = el('table');
  const head = el('tr');
  for (const h of ['batch', 'product', 'station', 'passed', 'failed', 'in flight',
                   'retired', 'batch state']) head.appendChild(el('th', null, h));
  table.appendChild(head);
  for (const b of c.batches) {
    for (const st of b.stations) {
      passed += st.locked; failed += st.failed;
      const row = el('tr');
      row.dataset.batch = b.batch; row.dataset.station = st.station;
      for (const [v, cls] of [[b.batch, 'name'], [b.product, 'name'], [st.station, 'name'],
                              [st.locked, 'passed'], [st.failed, 'failed'],
                              [st.in_flight, 'inflight'], [st.retired, 'retired'],
                              [b.state, 'name']]) row.appendChild(el('td', cls, v));
      table.appendChild(row);
    }
  }
  $('counts').textContent = passed + ' passed, ' + failed + ' failed, ' +
    c.stations.length + ' station(s)';
  $('tiles').replaceChildren(table);
  $('failures').replaceChildren(...c.failures.map(
    (f) => el('li', null, f.batch + ' ' + f.station + ' ' + f.serial + ': ' + f.reason)));
}

function render(data) {
  if (view === 'cell') renderCell(data); else renderStation(data);
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

const source = new EventSource('/events');
source.onmessage = (event) => {
  $('link').textContent = 'live';
  $('link').className = 'link';
  render(JSON.parse(event.data));
};
source.onerror = () => {
  $('link').textContent = 'connection lost: retrying';
  $('link').className = 'link lost';
};
"""
