"""Worst stack depth of each public hook function, from GCC's -fcallgraph-info=su files.

    python3 tools/stack_depth.py TARGET build/cross/TARGET/*.ci

-fstack-usage alone gives each function's own frame; the worst depth of a public function is
its frame plus the deepest chain of calls below it, which needs the call graph GCC writes with
-fcallgraph-info. Calls through a pointer (the storage and send callbacks) are the port's own
code: they are marked "+ callbacks" rather than guessed. memcpy/memset/memcmp count as 0 here
(newlib's are leaf functions of a few words). Exits 1 if a frame is dynamic or the graph has a
cycle, since then no bound holds.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
FRAME = re.compile(r"\\n(\d+) bytes \((static|dynamic[^)]*)\)")
INDIRECT = "__indirect_call"


def load(paths: list[Path]) -> tuple[dict[str, int], dict[str, set[str]], list[str]]:
    frames: dict[str, int] = {}
    calls: dict[str, set[str]] = {}
    problems: list[str] = []
    for path in paths:
        text = path.read_text()
        for title, label in NODE.findall(text):
            match = FRAME.search(label)
            if match:
                frames[title] = int(match.group(1))
                if match.group(2) != "static":
                    problems.append(f"{title}: {match.group(2)} stack frame")
        for source, target in EDGE.findall(text):
            calls.setdefault(source, set()).add(target)
    return frames, calls, problems


def depth(name: str, frames: dict[str, int], calls: dict[str, set[str]],
          path: tuple[str, ...] = ()) -> tuple[int, bool]:
    """(worst bytes, reaches an indirect call) for name and everything it calls."""
    if name in path:
        raise ValueError("recursion: " + " -> ".join((*path, name)))
    worst, indirect = 0, False
    for callee in calls.get(name, ()):
        if callee == INDIRECT:
            indirect = True
            continue
        below, via = depth(callee, frames, calls, (*path, name))
        worst, indirect = max(worst, below), indirect or via
    return frames.get(name, 0) + worst, indirect


def main(argv: list[str]) -> int:
    target, paths = argv[1], [Path(p) for p in argv[2:]]
    frames, calls, problems = load(paths)
    public = sorted(n for n in frames if n.startswith("credline_") and ":" not in n)
    try:
        rows = [(name, *depth(name, frames, calls)) for name in public]
    except ValueError as exc:
        problems.append(str(exc))
        rows = []
    for problem in problems:
        print(f"{target}: {problem}", file=sys.stderr)
    print(f"{target}: worst stack depth per public function (bytes)")
    for name, worst, indirect in rows:
        print(f"  {name:28s} {worst:5d}{'  + callbacks' if indirect else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
