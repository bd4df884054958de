"""Batch derivation: a serial list in, a CSV of passwords out, streaming.

Rows are ``serial,password,generation,key_id,fingerprint``. Memory stays flat in the number
of serials (apart from the duplicate digests of :mod:`credline.serials`): serials are read,
derived and written in chunks. With a key that survives ``fork`` (a key file), chunks are
derived by one worker process per core; a PKCS#11 key derives in this process, in the token.
The output file appears only when every row is written (:mod:`credline.atomicfile`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from credline.atomicfile import atomic_text
from credline.derive import Deriver, password_message
from credline.serials import read_serials

HEADER = "serial,password,generation,key_id,fingerprint\n"
CHUNK = 8192

_worker_state: tuple[Deriver, str] | None = None


def derive_rows(deriver: Deriver, product: str, serials: Iterable[str]) -> str:
    """CSV text for already-validated serials at generation 0 (the hot loop)."""
    key_mac = deriver.key.mac
    encode = deriver._encoder.encode
    fingerprint = deriver.fingerprint
    key_id = deriver.key_id
    out = []
    for serial in serials:
        password = encode(key_mac(password_message(product, serial, 0)))
        out.append(f"{serial},{password},0,{key_id},{fingerprint(password)}\n")
    return "".join(out)


def _work(chunk: list[str]) -> str:
    assert _worker_state is not None
    deriver, product = _worker_state
    return derive_rows(deriver, product, chunk)


def _chunks(serials: Iterator[tuple[int, str]]) -> Iterator[list[str]]:
    while chunk := [serial for _, serial in islice(serials, CHUNK)]:
        yield chunk


def derive_file(deriver: Deriver, product: str, source: Path, out: Path,
                workers: int | None = None) -> int:
    """Derive every serial in ``source`` into ``out``; returns the row count.

    Raises :class:`~credline.errors.BadInput` on the first malformed or duplicate serial,
    leaving ``out`` as it was.
    """
    global _worker_state
    if workers is None:
        workers = (os.cpu_count() or 1) if deriver.key.fork_safe else 1
    count = 0
    with atomic_text(out) as handle:
        handle.write(HEADER)
        chunks = _chunks(read_serials(source))
        if workers <= 1:
            for chunk in chunks:
                handle.write(derive_rows(deriver, product, chunk))
                count += len(chunk)
            return count
        _worker_state = (deriver, product)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for text in pool.imap(_work, chunks, chunksize=1):
                    handle.write(text)
                    count += text.count("\n")
        finally:
            _worker_state = None
    return count
