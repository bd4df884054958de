"""Orchestration of ``batch check``: a batch and its context in, a :class:`Report` out.

Runs every rule of the brief's "Batch QA rules" over one batch. Pure apart from
:func:`check_file` and :func:`read_public_values`, which read the files the CLI names.
The registry is reached only through an iterable of registered fingerprints, so this
module never opens a database.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from credline.core.errors import BadInput
from credline.core.policy import PasswordFormat, Profile
from credline.qa.batch import Batch, read_batch
from credline.qa.report import RULES, Report, Violation
from credline.qa.rules import distribution, duplicate, guessable, near, policy, public, unkeyed

Registered = Iterable[tuple[str, str] | str]
Stage = Callable[[str], None]
# What ``progress`` is told, in order: reading, the batch-wide rules, the per-row ones, done.
STAGES = ("reading the batch", "batch-wide rules (duplicate, counter-like, distribution)",
          "per-row rules (public-info, guessable, unkeyed-derivation, policy)", "done")


UNKNOWN_PRODUCT = "unknown-product"


def default_profile(product: str = UNKNOWN_PRODUCT) -> Profile:
    """The profile assumed without ``--profile``: Crockford base32, 12 characters, online."""
    from credline.core.ids import ProductId

    return Profile(ProductId(product), PasswordFormat.default())


PARALLEL_MIN_ROWS = 100_000  # below this a second process costs more than it saves
_forked: tuple[Batch, Profile, list[tuple[str, str]]] | None = None


def check_batch(batch: Batch, profile: Profile, *, public_values: Iterable[str] = (),
                product: str | None = None, registered: Registered | None = None,
                fingerprint: Callable[[str], str] | None = None,
                workers: int | None = None,
                parallel_min_rows: int = PARALLEL_MIN_ROWS,
                progress: Stage | None = None) -> Report:
    """Run every rule. ``registered`` is the registry's fingerprints for the product (pairs
    of serial and fingerprint, or bare fingerprints); the batch's own fingerprints come from
    its column or from ``fingerprint`` (the key's fingerprint function).

    With two or more cores and a large batch, the per-row rules run in a forked process
    while this one runs the batch-wide rules (``workers=1`` turns that off);
    ``parallel_min_rows`` is what counts as large (tests lower it to fork on small batches).
    ``progress`` is told each stage as it starts (see :data:`STAGES`).
    """
    tell = progress or (lambda _stage: None)
    ident = product or profile.product
    batch_values = [("the product id", ident)] if ident != UNKNOWN_PRODUCT else []
    batch_values += [(f"--public value {n}", v) for n, v in enumerate(public_values, 1)]
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    report = Report(checked=len(batch))
    if workers > 1 and len(batch) >= parallel_min_rows:
        per_row = _in_child(batch, profile, batch_values)
    else:
        per_row = None
    try:
        tell(STAGES[1])
        found = _batch_rules(batch, profile, report)
        if registered is not None:
            found += duplicate.against_registry(
                batch.serials, _fingerprints(batch, fingerprint), registered)
    except BaseException:
        if per_row is not None:
            per_row.cancel()
        raise
    tell(STAGES[2])
    found += per_row.get() if per_row is not None else _row_rules(batch, profile, batch_values)
    tell(STAGES[3])
    order = {rule: n for n, rule in enumerate(RULES)}
    report.violations = sorted(found, key=lambda v: order[v.rule])
    return report


def _batch_rules(batch: Batch, profile: Profile, report: Report) -> list[Violation]:
    """The rules that look at the whole batch at once."""
    serials, passwords, fmt = batch.serials, batch.passwords, profile.format
    found = duplicate.within_batch(serials, passwords) + near.check(serials, passwords)
    biased, note = distribution.check(passwords, fmt.alphabet, fmt.length)
    report.notes.append(note)
    return found + biased


def _row_rules(batch: Batch, profile: Profile,
               batch_values: list[tuple[str, str]]) -> list[Violation]:
    """The rules that look at one row at a time."""
    serials, passwords, fmt = batch.serials, batch.passwords, profile.format
    found = public.check(serials, passwords, public.PublicIndex(batch_values), batch.public)
    found += guessable.check(serials, passwords, fmt.alphabet)
    index = unkeyed.UnkeyedIndex(batch_values, fmt.alphabet, fmt.length)
    found += unkeyed.check(serials, passwords, index, batch.public)
    return found + policy.check(serials, passwords, profile)


class _Pending:
    """The per-row rules running in a forked child (which inherits the batch, no copy)."""

    def __init__(self, pool: Any, result: Any) -> None:
        self._pool, self.result = pool, result

    def cancel(self) -> None:
        self._pool.terminate()
        self._pool.join()

    def get(self) -> list[Violation]:
        try:
            found: list[Violation] = self.result.get()
            return found
        except BaseException:  # Ctrl-C: do not wait for the child to finish its rows
            self.cancel()
            raise
        finally:
            self._pool.close()
            self._pool.join()


def _quiet_child() -> None:
    # Ctrl-C reaches the whole process group; the parent alone stops cleanly (and terminates
    # this child), so the child must not print a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _forked_rows() -> list[Violation]:
    assert _forked is not None
    return _row_rules(*_forked)


def _in_child(batch: Batch, profile: Profile,
              batch_values: list[tuple[str, str]]) -> _Pending:
    global _forked
    _forked = (batch, profile, batch_values)
    try:
        # Forked with SIGINT blocked until the child ignores it (a Ctrl-C meanwhile is raised
        # here, once the pool exists to be terminated).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pool = multiprocessing.get_context("fork").Pool(1, initializer=_quiet_child)
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            raise
        pending = _Pending(pool, None)
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            pending.result = pool.apply_async(_forked_rows)
        except BaseException:
            pending.cancel()
            raise
        return pending
    finally:
        _forked = None


def _fingerprints(batch: Batch, fingerprint: Callable[[str], str] | None) -> list[str]:
    if fingerprint is not None:
        return [fingerprint(p) for p in batch.passwords]
    if batch.fingerprints is None:
        raise BadInput(f"{batch.source}: checking against the registry needs the batch's "
                       "fingerprints: a 'fingerprint' column, or --key to compute them")
    return batch.fingerprints


def read_public_values(path: Path) -> list[str]:
    """One public value a line; blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read public values: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: public values file is not UTF-8 text") from None
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def check_file(path: Path, profile: Profile | None = None, *, public_file: Path | None = None,
               product: str | None = None, registered: Registered | None = None,
               fingerprint: Callable[[str], str] | None = None,
               workers: int | None = None, progress: Stage | None = None) -> Report:
    """Read ``path`` (and ``public_file``) and check the batch."""
    publics = read_public_values(public_file) if public_file else []
    if progress is not None:
        progress(STAGES[0])
    batch = read_batch(path)
    return check_batch(batch, profile or default_profile(product or UNKNOWN_PRODUCT),
                       public_values=publics, product=product, registered=registered,
                       fingerprint=fingerprint, workers=workers, progress=progress)


__all__ = ["Batch", "Report", "Violation", "check_batch", "check_file", "default_profile",
           "read_batch", "read_public_values"]
