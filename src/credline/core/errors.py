"""The one exception tree of credline.

Every error a user can cause or meet is a :class:`CredlineError` whose message names the
offending value and where it came from. The CLI boundary (``credline.cli``) turns these into
one line on stderr and an exit code; no traceback reaches an operator. Messages must never
contain a password or key material: callers pass identifiers (serial, file, line), not secrets.

Exit codes: 0 ok, 1 a check failed, 2 bad input (3 only for an internal error: a bug).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3  # a bug in credline, never a verdict on the input


class CredlineError(Exception):
    """Base of every error credline reports to a user. Defaults to exit code 2 (bad input)."""

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class BadInput(CredlineError):
    """A value given by the user (argument, file, work order, environment) is malformed."""


class ProfileError(BadInput):
    """A product profile is malformed or violates policy; names the file, key and value."""


class KeystoreError(BadInput):
    """A key cannot be loaded: wrong passphrase, tampered file, missing token or object."""


class CheckFailed(CredlineError):
    """A check ran and found a problem (password mismatch, QA rule, audit failure)."""

    exit_code = EXIT_CHECK_FAILED


class DeviceError(CredlineError):
    """A device failed; the message names its port and says what to do, in plain words."""

    exit_code = EXIT_CHECK_FAILED


class BadReply(DeviceError):
    """A device's reply is well framed (its CRC is good) but breaks the protocol: wrong
    version, length, state or command. Not a line glitch, so never resent; the message names
    the port and what was wrong, with anything the device sent escaped."""


def describe_origin(origin: str | None) -> str:
    """Format an origin (``"--serial"``, ``"orders.csv line 7"``) for an error message."""
    return f" (from {origin})" if origin else ""
