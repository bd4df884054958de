"""The browser views of a station and of a cell: a small HTTP server (stdlib) that sends the
live state as server-sent events to a page that needs nothing from the network.

:mod:`~credline.web.server` serves a page, its script and style, ``/state`` (JSON) and
``/events`` (SSE) on the one address it is given; :mod:`~credline.web.pages` holds the page,
which renders every value as text (``textContent``), never as HTML, so nothing a device sends
can become markup or script; :mod:`~credline.web.cell` reads a cell's live counts per station
and batch from a shared registry. The server never sees a password: the states it sends are
the operator screen's (serials, results, plain-word reasons) and the registry's counts.
"""
