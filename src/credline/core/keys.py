"""The one interface every keystore offers: HMAC-SHA256 under the master key, and its id.

A :class:`MasterKey` never hands out its key. Derivation needs only ``mac(message)``; a key
file computes it in process, a PKCS#11 token computes it inside the token
(:mod:`credline.keystore`). Here so that the core derives without importing any keystore.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from credline.core.kbkdf import HmacSha256

KEY_ID_MESSAGE = b"credline/v1/key-id"


@runtime_checkable
class MasterKey(Protocol):
    """A credline master key, wherever it lives."""

    @property
    def key_id(self) -> str:
        """First 8 bytes, hex, of HMAC-SHA256(K, "credline/v1/key-id")."""
        ...

    @property
    def fork_safe(self) -> bool:
        """True when a forked worker process may keep calling :meth:`mac` (no open session)."""
        ...

    def mac(self, message: bytes) -> bytes:
        """HMAC-SHA256(K, message)."""
        ...

    def describe(self) -> str:
        """Where the key lives, for messages and logs (never key material)."""
        ...


def key_id_of(mac: HmacSha256 | MasterKey) -> str:
    return mac.mac(KEY_ID_MESSAGE)[:8].hex()
