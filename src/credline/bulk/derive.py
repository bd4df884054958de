"""Batch derivation: a serial list in, a CSV of passwords out, streaming.

Rows are ``serial,password,generation,key_id,fingerprint``. Memory stays flat in the number
of serials (apart from the duplicate hashes of :mod:`credline.files.serials`): the file is read,
validated, derived and written in blocks. With a key that survives ``fork`` (a key file),
blocks are validated and derived by one worker process per core while this process reads,
checks duplicates and writes; a PKCS#11 key derives in this process, in the token.
The output file appears only when every row is written (:mod:`credline.files.atomic`).
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import signal
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TextIO

from credline.core.derive import Deriver, password_message
from credline.core.errors import BadInput
from credline.files.output import is_regular, output_text
from credline.files.serials import (
    Block,
    DuplicateGuard,
    first_malformed,
    malformed,
    read_blocks,
    read_serials,
)
from credline.keystore.base import LocalKey

HEADER = "serial,password,generation,key_id,fingerprint\n"
_NEEDS_QUOTING = frozenset(',"')  # serials never hold these; some password alphabets do

_worker_state: tuple[Deriver, str] | None = None


def derive_rows(deriver: Deriver, product: str, serials: Iterable[str]) -> str:
    """CSV text for already-validated serials at generation 0: the hot loop.

    Equivalent to ``Deriver.password_text`` and ``Deriver.fingerprint`` per row (a test holds
    it to that); with a local key it inlines both HMACs over precomputed pad states.
    """
    key_id = deriver.key_id
    if not isinstance(deriver.key, LocalKey) or _NEEDS_QUOTING & set(deriver.format.alphabet):
        # A token (every HMAC goes through it), or passwords that CSV must quote.
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for serial in serials:
            password = deriver.password_text(product, serial, 0)
            writer.writerow((serial, password, 0, key_id, deriver.fingerprint(password)))
        return buffer.getvalue()
    encode = deriver.encoder.encode
    head = password_message(product, "", 0)
    prefix, suffix = head[:-10], head[-8:]  # around u16be(len S) ‖ S: u32be(g) ‖ u32be(L)
    okm_inner, okm_outer = deriver.key.local_hmac().pads()
    fp_inner, fp_outer = deriver.fingerprint_hmac().pads()
    out = []
    for serial in serials:
        raw = serial.encode()
        inner = okm_inner.copy()
        inner.update(prefix + len(raw).to_bytes(2, "big") + raw + suffix)
        outer = okm_outer.copy()
        outer.update(inner.digest())
        password = encode(outer.digest())
        inner = fp_inner.copy()
        inner.update(password.encode())
        outer = fp_outer.copy()
        outer.update(inner.digest())
        out.append(f"{serial},{password},0,{key_id},{outer.hexdigest()}\n")
    return "".join(out)


def _derive_block(deriver: Deriver, product: str,
                  block: Block) -> tuple[str, tuple[int, str] | None]:
    """(CSV text, None), or ("", (line, value)) for the block's first malformed serial."""
    bad = first_malformed(block)
    if bad is not None:
        return "", bad
    return derive_rows(deriver, product, [value for value in block.values if value]), None


def _quiet_worker() -> None:
    # Ctrl-C reaches the whole process group: the parent alone turns it into a clean stop
    # (it terminates the pool); a worker printing its own KeyboardInterrupt traceback would not.
    # The worker was forked with SIGINT blocked (see _derived), so none arrives before this.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _work(block: Block) -> tuple[str, tuple[int, str] | None]:
    assert _worker_state is not None
    return _derive_block(*_worker_state, block)


def _guarded(blocks: Iterator[Block], guard: DuplicateGuard) -> Iterator[Block]:
    for block in blocks:
        guard.add_block(block)
        yield block


def _derived(deriver: Deriver, product: str, blocks: Iterator[Block],
             workers: int) -> Generator[tuple[str, tuple[int, str] | None], None, None]:
    """Each block's CSV text (or its first malformed serial), in order; workers in a pool."""
    global _worker_state
    if workers <= 1:
        for block in blocks:
            yield _derive_block(deriver, product, block)
        return
    _worker_state = (deriver, product)
    try:
        # Workers are forked with SIGINT blocked until they ignore it; a Ctrl-C meanwhile
        # waits here and is raised in this process once the pool exists to be terminated.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pool = multiprocessing.get_context("fork").Pool(workers, initializer=_quiet_worker)
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            raise
        with pool:  # terminates the workers however the block ends
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            yield from pool.imap(_work, blocks, chunksize=1)
    finally:
        _worker_state = None


Progress = Callable[[int], None]


def derive_file(deriver: Deriver, product: str, source: Path, out: Path,
                workers: int | None = None, *, stream: TextIO | None = None,
                progress: Progress | None = None) -> int:
    """Derive every serial in ``source`` into ``out``; returns the row count.

    ``out`` follows :func:`credline.files.output.output_text` (``-`` or a path naming
    ``stream`` writes there; a device or FIFO is written through). Raises
    :class:`~credline.core.errors.BadInput` on the first malformed or duplicate serial, or when
    ``source`` holds no serials at all, leaving ``out`` as it was: a stream or device cannot
    take back what it was sent, so for those the whole file is checked before the first row.
    ``progress`` is called with the rows written so far after each block.
    """
    if workers is None:
        workers = (os.cpu_count() or 1) if deriver.key.fork_safe else 1
    if not is_regular(out, stream) and not sum(1 for _ in read_serials(source)):
        raise _empty(source)
    blocks = _guarded(read_blocks(source), DuplicateGuard(source))
    count = 0
    # closing(): a bad serial stops the pool now, not when the traceback is collected.
    with output_text(out, stream) as handle, closing(_derived(deriver, product, blocks,
                                                              workers)) as results:
        handle.write(HEADER)
        for text, bad in results:
            if bad is not None:
                raise malformed(source, *bad)
            handle.write(text)
            count += text.count("\n")  # one per row: passwords hold no newline
            if progress is not None:
                progress(count)
        if not count:  # raised inside the block, so no header-only file appears
            raise _empty(source)
    return count


def _empty(source: Path) -> BadInput:
    return BadInput(f"{source}: no serials to derive (an empty file, blank lines or a header "
                    "alone); nothing was written")
