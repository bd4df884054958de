"""Keystores: where master keys live. See :mod:`credline.keystore.base` for the interface."""

from __future__ import annotations

from pathlib import Path

from credline.core.keys import MasterKey
from credline.keystore.base import LocalKey

__all__ = ["LocalKey", "MasterKey", "open_key"]


def open_key(ref: str) -> MasterKey:
    """Open a master key by reference: an RFC 7512 ``pkcs11:`` URI, or a key file path."""
    if ref.startswith("pkcs11:"):
        from credline.keystore.pkcs11 import open_uri

        return open_uri(ref)
    from credline.keystore import keyfile

    return keyfile.load(Path(ref))
