"""The one interface every keystore offers: HMAC-SHA256 under the master key, and its id.

A :class:`MasterKey` never hands out its key. Derivation needs only ``mac(message)``; a key
file computes it in process (:class:`LocalKey`), a PKCS#11 token computes it inside the token.
"""

from __future__ import annotations

from credline.core.kbkdf import HmacSha256
from credline.core.keys import KEY_ID_MESSAGE, MasterKey, key_id_of

__all__ = ["KEY_BYTES", "KEY_ID_MESSAGE", "LocalKey", "MasterKey", "key_id_of"]

KEY_BYTES = 32


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
