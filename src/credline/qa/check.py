"""Orchestration of ``batch check``: a batch and its context in, a :class:`Report` out.

Runs every rule of the brief's "Batch QA rules" over one batch. Pure apart from
:func:`check_file` and :func:`read_public_values`, which read the files the CLI names.
The registry is reached only through an iterable of registered fingerprints, so this
module never opens a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from credline.errors import BadInput
from credline.policy import PasswordFormat, Profile
from credline.qa.batch import Batch, read_batch
from credline.qa.report import Report, Violation
from credline.qa.rules import distribution, duplicate, guessable, near, policy, public, unkeyed

Registered = Iterable[tuple[str, str] | str]


UNKNOWN_PRODUCT = "unknown-product"


def default_profile(product: str = UNKNOWN_PRODUCT) -> Profile:
    """The profile assumed without ``--profile``: Crockford base32, 12 characters, online."""
    from credline.ids import ProductId

    return Profile(ProductId(product), PasswordFormat.default())


def check_batch(batch: Batch, profile: Profile, *, public_values: Iterable[str] = (),
                product: str | None = None, registered: Registered | None = None,
                fingerprint: Callable[[str], str] | None = None) -> Report:
    """Run every rule. ``registered`` is the registry's fingerprints for the product (pairs
    of serial and fingerprint, or bare fingerprints); the batch's own fingerprints come from
    its column or from ``fingerprint`` (the key's fingerprint function)."""
    serials, passwords = batch.serials, batch.passwords
    fmt = profile.format
    report = Report(checked=len(batch))
    add = report.violations.extend
    add(duplicate.within_batch(serials, passwords))
    if registered is not None:
        add(duplicate.against_registry(serials, _fingerprints(batch, fingerprint), registered))
    add(near.check(serials, passwords))
    ident = product or profile.product
    batch_values = [("the product id", ident)] if ident != UNKNOWN_PRODUCT else []
    batch_values += [(f"--public value {n}", v) for n, v in enumerate(public_values, 1)]
    add(public.check(serials, passwords, public.PublicIndex(batch_values), batch.public))
    add(guessable.check(serials, passwords, fmt.alphabet))
    index = unkeyed.UnkeyedIndex(batch_values, fmt.alphabet, fmt.length)
    add(unkeyed.check(serials, passwords, index, batch.public))
    found, note = distribution.check(passwords, fmt.alphabet, fmt.length)
    add(found)
    report.notes.append(note)
    add(policy.check(serials, passwords, profile))
    return report


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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read public values: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: public values file is not UTF-8 text") from None
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def check_file(path: Path, profile: Profile | None = None, *, public_file: Path | None = None,
               product: str | None = None, registered: Registered | None = None,
               fingerprint: Callable[[str], str] | None = None) -> Report:
    """Read ``path`` (and ``public_file``) and check the batch."""
    publics = read_public_values(public_file) if public_file else []
    batch = read_batch(path)
    return check_batch(batch, profile or default_profile(product or UNKNOWN_PRODUCT),
                       public_values=publics, product=product, registered=registered,
                       fingerprint=fingerprint)


__all__ = ["Batch", "Report", "Violation", "check_batch", "check_file", "default_profile",
           "read_batch", "read_public_values"]
