"""A live view over HTTP: one page, ``/state`` as JSON and ``/events`` as server-sent events.

Stdlib only (:mod:`http.server`), a thread per connection. It binds to exactly the address it
is given (``127.0.0.1:8080``; port 0 picks a free one) and nothing else. Each ``/events``
client gets the state whenever it changes (checked a few times a second) and a comment line
now and then so proxies keep the stream open. Responses forbid every source but the server
itself (Content-Security-Policy), so the page works offline and loads no CDN.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from credline.core.errors import BadInput, EnvironmentFailed
from credline.web.pages import APP_JS, STYLE_CSS, page

State = Callable[[], dict[str, Any]]
POLL = 0.25  # seconds between looks at the state for each events client
KEEPALIVE = 10.0
FLUSH = 3.0  # seconds close() waits for open streams to send their last state
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def parse_address(text: str, origin: str = "--web") -> tuple[str, int]:
    """``HOST:PORT`` (IPv4 or a name; ``[::1]:PORT`` for IPv6) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BadInput(f"{origin} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080 "
                       "(port 0 picks a free one)")
    return host, int(port)


class LiveServer:
    """Serves ``state()`` live at ``address`` until :meth:`close`."""

    def __init__(self, address: str, state: State, *, view: str, title: str,
                 origin: str = "--web") -> None:
        host, port = parse_address(address, origin)
        self._state = state
        self._stop = threading.Event()
        self._streams = 0
        self._streams_changed = threading.Condition()
        self._page = page(view, title).encode("utf-8")
        handler = _handler(self)
        kind = _V6Server if ":" in host else ThreadingHTTPServer
        try:
            self._httpd = kind((host, port), handler)
        except OSError as exc:
            raise EnvironmentFailed(f"{origin} {address}: cannot listen there: "
                                    f"{exc.strerror or exc}",
                                    hint="give a free port, or 0 for any") from None
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name=f"web {address}")
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def snapshot(self) -> str:
        return json.dumps(self._state(), separators=(",", ":"), default=str)

    def close(self) -> None:
        """Send every open stream the last state (a finished batch's outcome), then stop."""
        self._stop.set()
        with self._streams_changed:
            self._streams_changed.wait_for(lambda: self._streams == 0, timeout=FLUSH)
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(server: LiveServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "credline"
        sys_version = ""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                self._send(200, "text/html; charset=utf-8", server._page)
            elif path == "/app.js":
                self._send(200, "text/javascript; charset=utf-8", APP_JS.encode())
            elif path == "/style.css":
                self._send(200, "text/css; charset=utf-8", STYLE_CSS.encode())
            elif path == "/state":
                self._send(200, "application/json", server.snapshot().encode())
            elif path == "/events":
                self._events()
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found\n")

        def _headers(self, code: int, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", CSP)

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self._headers(code, kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _events(self) -> None:
            self._headers(200, "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            last, quiet = "", time.monotonic()
            with server._streams_changed:
                server._streams += 1
            try:
                while True:
                    stopping = server._stop.is_set()
                    data = server.snapshot()
                    if data != last:
                        self.wfile.write(f"data: {data}\n\n".encode())
                        self.wfile.flush()
                        last, quiet = data, time.monotonic()
                    elif time.monotonic() - quiet > KEEPALIVE:
                        self.wfile.write(b": still here\n\n")
                        self.wfile.flush()
                        quiet = time.monotonic()
                    if stopping:
                        return  # the last state is sent
                    server._stop.wait(POLL)
            except (BrokenPipeError, ConnectionResetError):
                return  # the browser went away
            finally:
                with server._streams_changed:
                    server._streams -= 1
                    server._streams_changed.notify_all()

        def log_message(self, format: str, *args: Any) -> None:
            return  # requests are not the operator's business; nothing is printed

    return Handler
