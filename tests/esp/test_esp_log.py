"""esptool's global logger, routed per thread: no port ever sees another port's progress."""

from __future__ import annotations

import threading

from esptool.logger import log
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.transport.esp_log import routed


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.integers(1, 40), min_size=2, max_size=6))
def test_each_thread_sees_only_its_own_progress(steps: list[int]) -> None:
    seen: dict[str, list[tuple[int, int]]] = {f"port{i}": [] for i in range(len(steps))}
    start = threading.Barrier(len(steps))

    def flash(port: str, total: int) -> None:
        with routed(port, lambda done, of: seen[port].append((done, of))):
            start.wait()
            for done in range(1, total + 1):
                log.progress_bar(done, total)  # what esptool's write_flash calls
                log.print(f"{port} says {done}")

    threads = [threading.Thread(target=flash, args=(port, total))
               for port, total in zip(seen, steps, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (port, got), total in zip(seen.items(), steps, strict=True):
        assert got == [(done, total) for done in range(1, total + 1)], port


def test_a_thread_without_a_route_prints_nothing(capsys: object) -> None:
    with routed("portX") as route:
        log.print("inside")
    log.print("outside")  # the router is installed; this thread has no route now
    assert list(route.lines) == ["inside"]
    out = capsys.readouterr()  # type: ignore[attr-defined]
    assert out.out == "" and out.err == ""
