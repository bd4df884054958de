"""The one exception tree of credline.

Every error a user can cause or meet is a :class:`CredlineError` whose message names the
offending value and where it came from. The CLI boundary (``credline.cli.main``) turns these
into one line on stderr and an exit code; no traceback reaches an operator. Messages must never
contain a password or key material: callers pass identifiers (serial, file, line), not secrets.

Three branches, one exit code each:

- :class:`BadInput` (2): what the user gave is wrong (argument, profile, work order, key file,
  passphrase). Fix the input and run again.
- :class:`Failed` (1): a check ran and found a problem, or a device failed.
- :class:`EnvironmentFailed` (4): the machine around credline failed (registry unreachable or
  read-only, disk full, PKCS#11 module or token missing, log not writable). Always carries a
  hint saying what to check.

Exit code 3 is only for an internal error: a bug, never a verdict on the input.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3  # a bug in credline, never a verdict on the input
EXIT_ENVIRONMENT = 4

# OS errors that say the machine failed, not that the path given was wrong.
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS,
                                errno.EFBIG})


class CredlineError(Exception):
    """Base of every error credline reports to a user. Raise a branch, not this class; it
    defaults to exit code 2 (bad input)."""

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


# -- the input is wrong: exit 2 -------------------------------------------------------------

class BadInput(CredlineError):
    """A value given by the user (argument, file, work order, environment) is malformed."""

    exit_code = EXIT_BAD_INPUT


class ProfileError(BadInput):
    """A product profile is malformed or violates policy; names the file, key and value."""


class KeystoreError(BadInput):
    """A key cannot be loaded: wrong passphrase, tampered file, wrong PIN or object."""


class SerialTaken(BadInput):
    """Another batch or station holds this serial, or it is retired."""


class ProvenanceError(BadInput):
    """The log cannot be continued: a torn tail, another station's log, a log cut back."""


class RecordError(BadInput):
    """A credential record that cannot be built or read (too big, bad CRC, bad layout)."""


# -- a check failed or a device failed: exit 1 ----------------------------------------------

class Failed(CredlineError):
    """A check ran and found a problem, or a device failed; the input itself was fine."""

    exit_code = EXIT_CHECK_FAILED


class CheckFailed(Failed):
    """A check ran and found a problem (password mismatch, QA rule, audit failure)."""


class DeviceError(Failed):
    """A device failed; the message names its port and says what to do, in plain words."""


class FrameError(DeviceError):
    """A frame that cannot be decoded (bad escape, bad CRC, too short or too long): a line
    glitch, so the request may be resent."""


class BadReply(DeviceError):
    """A device's reply is well framed (its CRC is good) but breaks the protocol: wrong
    version, length, state or command. Not a line glitch, so never resent; the message names
    the port and what was wrong, with anything the device sent escaped."""


# -- the environment failed: exit 4, always with a hint -------------------------------------

class EnvironmentFailed(CredlineError):
    """The machine around credline failed: the input was fine, try again once it is fixed."""

    exit_code = EXIT_ENVIRONMENT
    default_hint = "check the machine, then run again"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or self.default_hint)


class RegistryError(EnvironmentFailed):
    """The registry cannot be used: unreachable, read-only or full."""

    default_hint = "check the database server, the network and the disk"


class StorageFailed(EnvironmentFailed):
    """A file cannot be written: the disk is full, read-only or failing."""

    default_hint = "free some space or check the disk, then run again"


class KeystoreUnavailable(EnvironmentFailed):
    """The key store itself is missing: no PKCS#11 module, no token in the slot."""

    default_hint = "check the token is plugged in and CREDLINE_PKCS11_MODULE"


class ToolMissing(EnvironmentFailed):
    """A program credline needs (a compiler, make) is missing or failed to build."""

    default_hint = "install the build tools (make, a C compiler)"


class PrinterError(EnvironmentFailed):
    """The label printer could not be reached or refused the label."""

    default_hint = "check the printer is on, online and has paper"


def os_failure(exc: OSError, what: str) -> CredlineError:
    """An OS error while touching ``what`` (a path and its role) as the right branch: a full,
    read-only or failing disk is the environment; a missing folder or a path that is not a
    folder is the input."""
    detail = exc.strerror or str(exc)
    if exc.errno in ENVIRONMENT_ERRNOS:
        return StorageFailed(f"{what}: {detail}")
    return BadInput(f"{what}: {detail}")


def describe_origin(origin: str | None) -> str:
    """Format an origin (``"--serial"``, ``"orders.csv line 7"``) for an error message."""
    return f" (from {origin})" if origin else ""
