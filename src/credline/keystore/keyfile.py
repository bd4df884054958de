"""Passphrase-wrapped key files: scrypt + AES-256-GCM in a versioned JSON envelope.

The envelope records its KDF parameters and the key id; every header field is bound to the
ciphertext as associated data, so editing any byte of the file makes unwrapping fail. The
plaintext key exists only in memory, inside :class:`~credline.keystore.base.LocalKey`.
This module never writes a plaintext key to disk and never prints one.
"""

from __future__ import annotations

import base64
import getpass
import hmac
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from credline.core.errors import KeystoreError
from credline.core.kbkdf import HmacSha256
from credline.core.keys import key_id_of
from credline.keystore.base import KEY_BYTES, LocalKey

FORMAT = "credline-keyfile"
VERSION = 1


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost. The default (2^17, 8, 1) is OWASP's recommendation: ~128 MiB, ~0.5 s."""

    n: int = 2**17
    r: int = 8
    p: int = 1

    def check(self, origin: str) -> None:
        if (self.n < 2**10 or self.n > 2**22 or self.n & (self.n - 1)
                or not 1 <= self.r <= 32 or not 1 <= self.p <= 16):
            raise KeystoreError(f"{origin}: unsupported scrypt parameters n={self.n} "
                                f"r={self.r} p={self.p}")


def _kek(passphrase: str, salt: bytes, params: ScryptParams) -> bytes:
    return Scrypt(salt=salt, length=32, n=params.n, r=params.r, p=params.p).derive(
        passphrase.encode("utf-8"))


def _header_aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


MIN_PASSPHRASE = 12


def wrap(key: bytes, passphrase: str, *, kind: str = "credline-master-key",
         params: ScryptParams | None = None, label: str = "") -> bytes:
    """The JSON envelope (bytes) holding ``key`` wrapped under ``passphrase``."""
    if not passphrase:
        raise KeystoreError("refusing an empty passphrase")
    if len(passphrase) < MIN_PASSPHRASE:
        # The file may be copied anywhere and attacked offline; scrypt slows each guess, it
        # cannot make a short passphrase long. (Only new files are held to this.)
        raise KeystoreError(f"refusing a passphrase of {len(passphrase)} character(s): a key "
                            f"file needs at least {MIN_PASSPHRASE}; nothing was written")
    params = params or ScryptParams()
    salt, nonce = os.urandom(16), os.urandom(12)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "label": label,
        "key_id": key_id_of(HmacSha256(key)) if kind == "credline-master-key" else "",
        "kdf": {"name": "scrypt", "n": params.n, "r": params.r, "p": params.p,
                "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode()},
    }
    sealed = AESGCM(_kek(passphrase, salt, params)).encrypt(nonce, key, _header_aad(header))
    envelope = dict(header, ciphertext=base64.b64encode(sealed).decode())
    return (json.dumps(envelope, indent=2) + "\n").encode()


def unwrap(data: bytes, passphrase: str, origin: str, *,
           kind: str = "credline-master-key") -> bytes:
    """The key inside an envelope; :class:`KeystoreError` for a wrong passphrase or tampering."""
    try:
        envelope = json.loads(data)
        header = {k: envelope[k] for k in ("format", "version", "kind", "label", "key_id",
                                           "kdf", "cipher")}
        if header["format"] != FORMAT:
            raise KeystoreError(f"{origin}: not a credline key file (format "
                                f"{header['format']!r})")
        if header["version"] != VERSION:
            raise KeystoreError(f"{origin}: key file version {header['version']!r} is not "
                                f"supported by this credline (knows version {VERSION})")
        if header["kind"] != kind:
            raise KeystoreError(f"{origin}: holds a {header['kind']!r}, expected a {kind!r}")
        kdf, cipher = header["kdf"], header["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "AES-256-GCM":
            raise KeystoreError(f"{origin}: unsupported algorithms {kdf['name']!r}/"
                                f"{cipher['name']!r}")
        params = ScryptParams(int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cipher["nonce"], validate=True)
        sealed = base64.b64decode(envelope["ciphertext"], validate=True)
    except KeystoreError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise KeystoreError(f"{origin}: malformed key file ({type(exc).__name__})") from None
    params.check(origin)
    try:
        key = AESGCM(_kek(passphrase, salt, params)).decrypt(nonce, sealed, _header_aad(header))
    except (InvalidTag, ValueError):
        raise KeystoreError(f"{origin}: wrong passphrase, or the key file has been altered"
                            ) from None
    if kind == "credline-master-key" and (len(key) != KEY_BYTES or not hmac.compare_digest(
            key_id_of(HmacSha256(key)), str(header["key_id"]))):
        raise KeystoreError(f"{origin}: key id in the file does not match the key")
    return key


def passphrase_from_env_or_prompt(origin: str, *, confirm: bool = False) -> str:
    """``CREDLINE_PASSPHRASE``, else an interactive prompt; never echoed."""
    value = os.environ.get("CREDLINE_PASSPHRASE")
    if value is not None:
        return value
    if sys.stdin is None or not sys.stdin.isatty():
        # No terminal to prompt on (a pipe, a service): getpass would warn and echo risks;
        # the passphrase is the first line of standard input instead.
        line = sys.stdin.readline().rstrip("\r\n").lstrip("\ufeff") if sys.stdin else ""
        if not line:
            raise KeystoreError(f"{origin}: no passphrase given (set CREDLINE_PASSPHRASE, or "
                                "pipe it as the first line of standard input)")
        return line
    # getpass reads the terminal itself, never echoes, and keeps click out of the adapters.
    try:
        text = getpass.getpass(f"Passphrase for {origin}: ")
        if confirm and getpass.getpass("Repeat it: ") != text:
            raise KeystoreError(f"{origin}: the two passphrases differ; nothing was written")
    except (EOFError, KeyboardInterrupt):
        raise KeystoreError(f"{origin}: no passphrase given (set CREDLINE_PASSPHRASE or "
                            "answer the prompt)") from None
    return text


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` with owner-only permissions; never overwrite an existing key file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeystoreError(f"{path}: already exists; refusing to overwrite a key file"
                            ) from None
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot create key file: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise KeystoreError(f"{path}: cannot write key file: {exc.strerror}") from None


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot read key file: {exc.strerror}") from None


def create(path: Path, key: bytes, passphrase: str, params: ScryptParams | None = None
           ) -> LocalKey:
    """Wrap ``key`` into a new key file at ``path``."""
    if len(key) != KEY_BYTES:
        raise KeystoreError(f"a credline master key is {KEY_BYTES} bytes, got {len(key)}")
    write_new(path, wrap(key, passphrase, params=params))
    return LocalKey(key, str(path))


def load(path: Path, passphrase: str | None = None) -> LocalKey:
    """Open a key file; the passphrase defaults to the environment or a prompt."""
    data = read_file(path)
    if passphrase is None:
        passphrase = passphrase_from_env_or_prompt(str(path))
    return LocalKey(unwrap(data, passphrase, str(path)), str(path))
