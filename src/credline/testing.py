"""Hypothesis strategies and ready-made property checks for QA teams' own pytest files.

Strategies draw what credline works with: serials, product ids, password formats,
profiles, master keys and whole derived batches. The ``assert_*`` functions run one batch
QA rule (the same code as ``credline batch check``) and raise :class:`AssertionError`
naming the rule, the serials and the pattern found, never a password. See docs/qa-guide.md.

Needs ``hypothesis``: ``pip install 'credline[testing]'`` (the library itself never imports
it). Test keys drawn here are for tests only.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("credline.testing needs hypothesis: pip install 'credline[testing]'"
                      ) from exc

from credline.core.derive import Deriver
from credline.core.ids import ProductId, Serial
from credline.core.policy import ALPHABETS, Exposure, PasswordFormat, Profile
from credline.keystore.base import LocalKey
from credline.qa import Batch, Report, Violation, check_batch
from credline.qa.rules import distribution, duplicate, guessable, near, policy, public, unkeyed

ID_CHARS = string.ascii_letters + string.digits + "._:-"

BatchLike = Batch | Iterable[tuple[str, str]]

__all__ = [
    "WIDE_ALPHABETS",
    "assert_batch_clean",
    "assert_distribution_uniform",
    "assert_no_public_info",
    "assert_no_unkeyed_derivation",
    "assert_not_counter_like",
    "assert_not_guessable",
    "assert_policy",
    "assert_unique",
    "batches",
    "derive_batch",
    "keys",
    "password_formats",
    "product_ids",
    "profiles",
    "serials",
]


# --- strategies -------------------------------------------------------------------------

def serials(min_size: int = 1, max_size: int = 64) -> st.SearchStrategy[Serial]:
    """Valid credline-v1 serials: 1-64 characters from ``[0-9A-Za-z._:-]``."""
    return st.text(ID_CHARS, min_size=min_size, max_size=max_size).map(Serial)


def product_ids(min_size: int = 1, max_size: int = 64) -> st.SearchStrategy[ProductId]:
    return st.text(ID_CHARS, min_size=min_size, max_size=max_size).map(ProductId)


def password_formats(min_bits: float = 48,
                     alphabets: Sequence[str] | None = None) -> st.SearchStrategy[PasswordFormat]:
    """Formats credline accepts with at least ``min_bits`` (named alphabets by default)."""
    choices = list(alphabets) if alphabets is not None else list(ALPHABETS.values())

    def lengths(alphabet: str) -> st.SearchStrategy[PasswordFormat]:
        shortest = 1
        while PasswordFormat(alphabet, shortest).bits < min_bits:
            shortest += 1
        longest = shortest
        while len(alphabet) ** (longest + 1) <= 2**128:
            longest += 1
        return st.integers(shortest, longest).map(lambda n: PasswordFormat(alphabet, n))

    return st.sampled_from(choices).flatmap(lengths)


def profiles(exposure: Exposure | None = None,
             product: st.SearchStrategy[ProductId] | None = None,
             alphabets: Sequence[str] | None = None) -> st.SearchStrategy[Profile]:
    """Valid profiles: a product id, an exposure and a format above its floor.

    Note that digit and hex alphabets exceed the QA rules' per-device false-positive budget
    (docs/qa-guide.md); pass ``alphabets`` to draw only the wider ones in whole-batch checks.
    """
    exposures = st.just(exposure) if exposure is not None else st.sampled_from(list(Exposure))
    products = product if product is not None else product_ids(max_size=24)
    return exposures.flatmap(lambda e: st.builds(
        Profile, product=products, format=password_formats(e.floor_bits, alphabets),
        exposure=st.just(e)))


WIDE_ALPHABETS = tuple(ALPHABETS[name] for name in ("crockford32", "base58", "alnum",
                                                    "printable"))


def keys() -> st.SearchStrategy[LocalKey]:
    """In-memory master keys (32 random bytes; for tests only)."""
    return st.binary(min_size=32, max_size=32).map(lambda raw: LocalKey(raw, "hypothesis key"))


def derive_batch(key: LocalKey, profile: Profile, serial_list: Iterable[str]) -> Batch:
    """The batch credline-v1 derives for ``serial_list`` (generation 0), with fingerprints."""
    deriver = Deriver(key, profile.format)
    batch = Batch(fingerprints=[], source=f"derived batch of {profile.product}")
    assert batch.fingerprints is not None
    for serial in serial_list:
        password = deriver.password_text(profile.product, serial)
        batch.serials.append(serial)
        batch.passwords.append(password)
        batch.fingerprints.append(deriver.fingerprint(password))
    return batch


def batches(min_size: int = 1, max_size: int = 50, profile: Profile | None = None,
            key: LocalKey | None = None) -> st.SearchStrategy[tuple[Profile, Batch]]:
    """``(profile, batch)`` pairs: distinct serials derived with a drawn (or given) key and
    profile."""
    profile_st = st.just(profile) if profile is not None else profiles()
    key_st = st.just(key) if key is not None else keys()
    serial_st = st.lists(serials(max_size=24), min_size=min_size, max_size=max_size,
                         unique=True)
    return st.tuples(profile_st, key_st, serial_st).map(
        lambda t: (t[0], derive_batch(t[1], t[0], t[2])))


# --- property checks --------------------------------------------------------------------

def _as_batch(rows: BatchLike) -> Batch:
    return rows if isinstance(rows, Batch) else Batch.from_pairs(list(rows))


def _fail_on(violations: Sequence[Violation], what: str) -> None:
    if violations:
        lines = [f"{what}: {len(violations)} violation(s)"]
        lines += [f"  [{v.rule}] {v.detail}: {', '.join(v.serials[:10])}"
                  + (" ..." if len(v.serials) > 10 else "") for v in violations[:20]]
        raise AssertionError("\n".join(lines))


def assert_unique(rows: BatchLike) -> None:
    """No two devices share a password (Schedule 1 para 1(2))."""
    batch = _as_batch(rows)
    _fail_on(duplicate.within_batch(batch.serials, batch.passwords), "passwords not unique")


def assert_not_counter_like(rows: BatchLike) -> None:
    """No two passwords within Hamming (or edit) distance 2 (para 1(3)(a))."""
    batch = _as_batch(rows)
    _fail_on(near.check(batch.serials, batch.passwords), "counter-like passwords")


def assert_no_public_info(rows: BatchLike, public_values: Iterable[str] = (),
                          product: str | None = None) -> None:
    """No password contains its serial, the product id or a public value (para 1(3)(b))."""
    batch = _as_batch(rows)
    values = [(f"public value {n}", v) for n, v in enumerate(public_values, 1)]
    if product:
        values.append(("the product id", product))
    _fail_on(public.check(batch.serials, batch.passwords, public.PublicIndex(values),
                          batch.public), "passwords based on public information")


def assert_not_guessable(rows: BatchLike, alphabet: str = ALPHABETS["crockford32"]) -> None:
    """No common password and no 7-character run (para 1(3)(d))."""
    batch = _as_batch(rows)
    _fail_on(guessable.check(batch.serials, batch.passwords, alphabet), "guessable passwords")


def assert_no_unkeyed_derivation(rows: BatchLike, fmt: PasswordFormat | None = None,
                                 public_values: Iterable[str] = ()) -> None:
    """No password is an unkeyed hash of its serial or a public value (para 1(3)(c))."""
    batch = _as_batch(rows)
    fmt = fmt or PasswordFormat.default()
    index = unkeyed.UnkeyedIndex([(f"public value {n}", v) for n, v in
                                  enumerate(public_values, 1)], fmt.alphabet, fmt.length)
    _fail_on(unkeyed.check(batch.serials, batch.passwords, index, batch.public),
             "passwords derived without a key")


def assert_distribution_uniform(rows: BatchLike, fmt: PasswordFormat | None = None) -> None:
    """Every position is uniform over the alphabet (skipped below 5 rows per character)."""
    batch = _as_batch(rows)
    fmt = fmt or PasswordFormat.default()
    found, _ = distribution.check(batch.passwords, fmt.alphabet, fmt.length)
    _fail_on(found, "biased passwords")


def assert_policy(rows: BatchLike, profile: Profile) -> None:
    """Every password has the profile's length and alphabet."""
    batch = _as_batch(rows)
    _fail_on(policy.check(batch.serials, batch.passwords, profile), "policy violations")


def assert_batch_clean(rows: BatchLike, profile: Profile, public_values: Iterable[str] = (),
                       registered: Iterable[tuple[str, str] | str] | None = None) -> Report:
    """Every rule, as ``credline batch check`` runs them; returns the (clean) report."""
    report = check_batch(_as_batch(rows), profile, public_values=public_values,
                         registered=registered)
    _fail_on(report.violations, "batch check failed")
    return report
