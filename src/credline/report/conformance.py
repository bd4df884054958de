"""Two texts an assessor asks for and no tool wrote: the ETSI EN 303 645 implementation
conformance rows for provisions 5.1-1 and 5.1-2, and the ETSI TS 103 701 IXIT entry
"1-AuthMech" describing how the passwords are generated, both filled from the profile and
the batch. Words are ours (the standards' own text is not reproduced). Pure.
"""

from __future__ import annotations

from credline.core.compliance import EN_303_645, EN_ISSUED, EN_VERSION
from credline.core.policy import KeyScope, Profile
from credline.report.facts import BatchFacts

DEFAULT_CUSTODY = ("a passphrase-wrapped key file (scrypt + AES-256-GCM) or a PKCS#11 token "
                   "that computes the HMAC inside and never releases the key (docs/keystores.md)")


def _mechanism(profile: Profile) -> str:
    fmt = profile.format
    return (f"credline-v1: OKM = NIST SP 800-108 counter-mode KDF with HMAC-SHA256 under a "
            f"32-byte random master key, over the product id, the serial and a generation "
            f"number; the password is OKM reduced modulo {len(fmt.alphabet)}^{fmt.length} and "
            f"written in the {fmt.alphabet_name} alphabet ({len(fmt.alphabet)} characters), "
            f"{fmt.length} characters, {fmt.bits:.1f} bits")


def _scope(profile: Profile) -> str:
    if profile.key_scope is KeyScope.BATCH:
        return ("a new master key for every batch, enforced by the registry when a batch "
                "opens (a key another batch used is refused): a leaked key exposes one batch")
    return "one master key for the product line"


def ics_rows(profile: Profile, facts: BatchFacts) -> str:
    """The conformance rows as Markdown: provision, status, support, detail."""
    fmt = profile.format
    unique = (f"Yes. Each device of batch {facts.batch_id} gets its own password derived from "
              f"its serial with a keyed hash ({_mechanism(profile)}). The registry's database "
              f"constraints refuse a second device with the same fingerprint for the product; "
              f"batch check verdict: {'PASS' if facts.verdict.ok else 'FAIL'} "
              f"({facts.verdict.checked} devices; {facts.verdict_basis}).")
    automated = (f"Yes. The password cannot be computed from the serial or any public value "
                 f"without the master key ({', '.join(facts.key_ids)}); {fmt.bits:.1f} bits "
                 f"against a floor of {profile.exposure.floor_bits} bits for "
                 f"{profile.exposure.value} exposure; key scope: {_scope(profile)}. QA rules "
                 "reject counter-like, guessable, public-information and unkeyed-hash "
                 "passwords.")
    return "\n".join([
        f"# {EN_303_645} {EN_VERSION} ({EN_ISSUED}): implementation conformance, passwords",
        "",
        f"Product {facts.product}, batch {facts.batch_id}.",
        "",
        "| Provision | Status | Support | Detail |",
        "|---|---|---|---|",
        "| 5.1-1 (unique per device passwords) | M C1 (passwords are used) | Y | "
        f"{unique} |",
        "| 5.1-2 (generation mechanism resists automated attacks on the class) | M C2 "
        f"(pre-installed unique passwords) | Y | {automated} |",
        "",
    ])


def ixit_auth_mech(profile: Profile, facts: BatchFacts) -> str:
    """The TS 103 701 IXIT entry 1-AuthMech for the pre-installed password, as Markdown."""
    custody = str(profile.section("key").get("custody") or DEFAULT_CUSTODY)
    fmt = profile.format
    fields = (
        ("ID", "AuthMech-1: pre-installed per-device password"),
        ("Description", f"The password a user needs to log in to or join the "
                        f"{facts.product} for the first time; printed on the device's label."),
        ("Authentication factor", "knowledge: a password"),
        ("Password generation mechanism", _mechanism(profile)),
        ("Alphabet", f"{fmt.alphabet_name}: {fmt.alphabet}"),
        ("Length and strength", f"{fmt.length} characters, {fmt.bits:.1f} bits"),
        ("Exposure", f"{profile.exposure.value} (floor {profile.exposure.floor_bits} bits)"),
        ("Key scope", _scope(profile)),
        ("Key custody", custody),
        ("Key id(s) of this batch", ", ".join(facts.key_ids)),
        ("Storage on the device", profile.storage.value),
        ("Evidence", "docs/derivation.md (published test vectors), the batch check verdict, "
                     "the signed provenance checkpoint of this pack"),
    )
    lines = ["# ETSI TS 103 701 IXIT 1-AuthMech", "", f"Product {facts.product}, batch "
             f"{facts.batch_id}.", "", "| Field | Value |", "|---|---|"]
    bar = "\\|"
    lines += [f"| {name} | {value.replace('|', bar)} |" for name, value in fields]
    return "\n".join(lines) + "\n"
