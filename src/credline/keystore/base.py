"""The one interface every keystore offers: HMAC-SHA256 under the master key, and its id.

A :class:`MasterKey` never hands out its key. Derivation needs only ``mac(message)``; a key
file computes it in process (:class:`LocalKey`), a PKCS#11 token computes it inside the token.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from credline.kbkdf import HmacSha256

KEY_BYTES = 32
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


class LocalKey:
    """A master key held in this process (loaded from a key file, or a demo key)."""

    __slots__ = ("_hmac", "_key_id", "_origin")

    def __init__(self, key: bytes, origin: str) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a credline master key is {KEY_BYTES} bytes, got {len(key)}")
        self._hmac = HmacSha256(key)
        self._key_id = key_id_of(self._hmac)
        self._origin = origin

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def fork_safe(self) -> bool:
        return True

    def mac(self, message: bytes) -> bytes:
        return self._hmac.mac(message)

    def describe(self) -> str:
        return f"{self._origin} (key id {self._key_id})"

    def local_hmac(self) -> HmacSha256:
        """The in-process HMAC, for batch loops that inline it (never leaves the process)."""
        return self._hmac

    def __repr__(self) -> str:
        return f"LocalKey({self.describe()})"
