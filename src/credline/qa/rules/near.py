"""``counter-like``: passwords within Hamming distance 2 (equal lengths) or edit distance 2
(lengths differing by one or two) of another password in the batch.

Schedule 1 para 1(3)(a): "the same save for a small amount of characters". The search never
compares all pairs: by the pigeonhole principle, two strings of equal length within Hamming
distance d agree exactly on at least one of d+1 disjoint segments, so each password is filed
under its d+1 segments and only passwords sharing a bucket are compared. For edit distance,
one of the d+1 segments of the shorter string occurs in the longer one shifted by at most d,
so the longer strings probe the shorter strings' segment index at offsets -d..+d.
Exact passwords (distance 0) are the ``duplicate`` rule's business and are skipped here.
"""

from __future__ import annotations

from collections.abc import Sequence

from credline.qa.report import Violation

RULE = "counter-like"
DISTANCE = 2
# A bucket (passwords sharing one exact segment) holds about one password on a random batch.
# A batch of counters fills one bucket with thousands, and enumerating all their close pairs
# would be quadratic (a million counters have ~10^9 of them). Past WINDOW members a new
# password is compared with the WINDOW most recent ones only, newest first, and in a bucket
# of more than CROWD it stops at its first close partner: every counter still finds a
# neighbour, but the flagged set and pair counts are then lower bounds, and the report says so.
WINDOW = 64
CROWD = 8


def segments(length: int, parts: int = DISTANCE + 1) -> list[tuple[int, int]]:
    """``parts`` disjoint (start, end) slices covering ``range(length)``, sizes within one."""
    bounds = [length * k // parts for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts)]


def hamming_within(a: str, b: str, limit: int) -> int | None:
    """Hamming distance of equal-length strings if at most ``limit``, else None."""
    distance = 0
    for x, y in zip(a, b, strict=True):
        if x != y:
            distance += 1
            if distance > limit:
                return None
    return distance


def edit_within(a: str, b: str, limit: int) -> int | None:
    """Levenshtein distance if at most ``limit``, else None (banded dynamic programme)."""
    if abs(len(a) - len(b)) > limit:
        return None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [limit + 1] * len(b)
        lo, hi = max(1, i - limit), min(len(b), i + limit)
        for j in range(lo, hi + 1):
            cost = 0 if ca == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if min(current) > limit:
            return None
        previous = current
    return previous[-1] if previous[-1] <= limit else None


def close_pairs(passwords: Sequence[str], limit: int = DISTANCE) -> set[tuple[int, int]]:
    """Index pairs (i < j) of distinct passwords within the rule's distance (exact unless a
    bucket outgrew :data:`WINDOW`; see :func:`search`)."""
    return search(passwords, limit)[0]


def search(passwords: Sequence[str], limit: int = DISTANCE
           ) -> tuple[set[tuple[int, int]], bool]:
    """Close pairs among the first occurrences of each distinct password, and whether the
    search was capped. Repeated passwords are the duplicate rule's: they are searched once."""
    first: dict[str, int] = {}
    by_length: dict[int, list[int]] = {}
    for i, password in enumerate(passwords):
        if first.setdefault(password, i) == i:
            by_length.setdefault(len(password), []).append(i)
    pairs: set[tuple[int, int]] = set()
    capped = False
    for length, members in by_length.items():
        for start, end in segments(length, limit + 1):
            capped |= _equal_length_pairs(passwords, members, start, end, limit, pairs)
    for short in sorted(by_length):
        longer = [j for n in range(short + 1, short + limit + 1) for j in by_length.get(n, ())]
        if longer:
            index = _segment_index(passwords, by_length[short], short, limit)
            capped |= _unequal_pairs(passwords, index, short, longer, limit, pairs)
    return pairs, capped


def _equal_length_pairs(passwords: Sequence[str], members: list[int], start: int, end: int,
                        limit: int, pairs: set[tuple[int, int]]) -> bool:
    """Pairs agreeing exactly on ``[start:end]`` and within Hamming distance ``limit``.

    One segment at a time, so only one dictionary of segments is alive; buckets that hold
    more than one password (rare on random passwords) are kept apart as lists.
    """
    first: dict[str, int] = {}
    crowded: dict[str, list[int]] = {}
    capped = False
    for j in members:
        b = passwords[j]
        key = b[start:end]
        i = first.setdefault(key, j)
        if i == j:
            continue
        bucket = crowded.get(key)
        if bucket is None:
            bucket = crowded[key] = [i]
        elif len(bucket) > WINDOW:
            capped = True
            del bucket[:-WINDOW]
        crowd = len(bucket) > CROWD
        for i in reversed(bucket):
            a = passwords[i]
            if a == b:
                continue
            distance = 0
            for x, y in zip(a, b, strict=True):  # inline: this is the million-row inner loop
                if x != y:
                    distance += 1
                    if distance > limit:
                        break
            else:
                pairs.add((i, j) if i < j else (j, i))
                if crowd:
                    capped = True
                    break
        bucket.append(j)
    return capped


def _segment_index(passwords: Sequence[str], members: list[int], length: int,
                   limit: int) -> dict[tuple[int, str], list[int]]:
    index: dict[tuple[int, str], list[int]] = {}
    for k, (start, end) in enumerate(segments(length, limit + 1)):
        for i in members:
            index.setdefault((k, passwords[i][start:end]), []).append(i)
    return index


def _unequal_pairs(passwords: Sequence[str], short_index: dict[tuple[int, str], list[int]],
                   short: int, longer: list[int], limit: int,
                   pairs: set[tuple[int, int]]) -> bool:
    parts = segments(short, limit + 1)
    capped = False
    for j in longer:
        b = passwords[j]
        candidates: set[int] = set()
        for k, (start, end) in enumerate(parts):
            size = end - start
            for shift in range(-limit, limit + 1):
                s = start + shift
                if s >= 0 and s + size <= len(b):
                    candidates.update(short_index.get((k, b[s:s + size]), ())[-WINDOW:])
        if len(candidates) > WINDOW:
            capped = True
        for i in candidates:
            if edit_within(passwords[i], b, limit) is not None:
                pairs.add((min(i, j), max(i, j)))
    return capped


def check(serials: Sequence[str], passwords: Sequence[str]) -> list[Violation]:
    """One violation per cluster of passwords linked by close pairs (union-find)."""
    pairs, capped = search(passwords)
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        parent[root(i)] = root(j)
    clusters: dict[int, list[int]] = {}
    for x in parent:
        clusters.setdefault(root(x), []).append(x)
    links: dict[int, int] = {}
    for i, _ in pairs:
        links[root(i)] = links.get(root(i), 0) + 1
    out = []
    for top, members in sorted(clusters.items(), key=lambda item: min(item[1])):
        members.sort()
        out.append(Violation(RULE, tuple(serials[i] for i in members),
                             f"{len(members)} passwords each within distance {DISTANCE} of "
                             f"another ({links[top]} close pair(s))"
                             + (CAPPED if capped else "")))
    return out


CAPPED = ("; crowded buckets were searched within a window, so more devices may be affected")
