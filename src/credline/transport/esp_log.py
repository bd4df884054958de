"""esptool's one global logger, routed per thread: each port's progress to its own callback.

esptool logs through a process-wide singleton, so two ports flashing at once would write over
each other (esptool #1102, #227). :func:`install` puts one :class:`PortRouter` in its place;
:func:`routed` tells it, for the calling thread, where that port's progress and messages go.
esptool's lines are kept per port (the last few, on :attr:`Route.lines`, for a script or a
test to read); nothing is printed here. A thread with no route is silent.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from esptool.logger import TemplateLogger, log
from esptool.reset import ResetStrategy

Progress = Callable[[int, int], None]  # (done, total) in esptool's units


@dataclass
class Route:
    port: str
    progress: Progress | None = None
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=8))


class PortRouter(TemplateLogger):  # type: ignore[misc]
    """A TemplateLogger that hands each call to the calling thread's route."""

    def __init__(self) -> None:
        self._local = threading.local()

    def route(self) -> Route | None:
        route: Route | None = getattr(self._local, "route", None)
        return route

    def set_route(self, route: Route | None) -> None:
        self._local.route = route

    def _keep(self, text: str) -> None:
        route = self.route()
        if route is not None and text.strip():
            route.lines.append(text.strip())

    def print(self, *args: Any, **kwargs: Any) -> None:
        self._keep(" ".join(str(arg) for arg in args))

    def note(self, message: str) -> None:
        self._keep(message)

    def warning(self, message: str) -> None:
        self._keep(message)

    def error(self, message: str) -> None:
        self._keep(message)

    def stage(self, finish: bool = False) -> None:
        """Collapsible stages are a terminal nicety; a station has its own screen."""

    def progress_bar(self, cur_iter: int, total_iters: int, prefix: str = "",
                     suffix: str = "", bar_length: int = 30) -> None:
        route = self.route()
        if route is not None and route.progress is not None:
            route.progress(cur_iter, total_iters)

    def set_verbosity(self, verbosity: str) -> None:
        """The router keeps everything; what to show is the station's choice."""


_ROUTER = PortRouter()
_INSTALLED = threading.Lock()
_installed = False


def install() -> PortRouter:
    """Put the router in esptool's place (once per process)."""
    global _installed
    with _INSTALLED:
        if not _installed:
            log.set_logger(_ROUTER)
            # esptool's reset strategies bound the *original* logger's warn at import time
            # (a PrintOnce), so their "chip was not reset" warning would reach stderr
            # unrouted, from whatever thread: send it to the port's route too.
            ResetStrategy.print_once = _ROUTER.warning
            _installed = True
    return _ROUTER


@contextlib.contextmanager
def routed(port: str, progress: Progress | None = None) -> Iterator[Route]:
    """esptool's output on this thread goes to ``port``'s route while inside."""
    router = install()
    before = router.route()
    route = Route(port, progress) if before is None or before.port != port else before
    if progress is not None:
        route.progress = progress
    router.set_route(route)
    try:
        yield route
    finally:
        router.set_route(before)
