"""A station's signing identity: an Ed25519 key, wrapped like a master key, enrolled in the
registry so that ``audit verify`` knows whose signature each log entry carries.

Never writes the private key unwrapped; never prints it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from credline.errors import BadInput, KeystoreError
from credline.ids import ID_RULE, is_valid_id
from credline.keystore import keyfile
from credline.provenance import public_bytes

KIND = "credline-station-key"


def enroll(out: Path, station_id: str, passphrase: str, registry: object | None = None,
           params: keyfile.ScryptParams | None = None) -> Ed25519PrivateKey:
    """Create a station key in ``out`` (wrapped) and register its public key."""
    if not is_valid_id(station_id):
        raise BadInput(f"invalid station id {station_id!r}: must be {ID_RULE}")
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    if registry is not None:
        registry.register_station(station_id, public_bytes(key))  # type: ignore[attr-defined]
    keyfile.write_new(out, keyfile.wrap(raw, passphrase, kind=KIND, label=station_id,
                                        params=params))
    return key


def station_passphrase(path: Path, *, confirm: bool = False) -> str:
    """``CREDLINE_STATION_PASSPHRASE``, else ``CREDLINE_PASSPHRASE``, else a prompt."""
    value = os.environ.get("CREDLINE_STATION_PASSPHRASE")
    if value is not None:
        return value
    return keyfile.passphrase_from_env_or_prompt(str(path), confirm=confirm)


def load_station_key(path: Path, passphrase: str | None = None) -> tuple[str, Ed25519PrivateKey]:
    """(station id, private key) from a station key file."""
    import json

    data = keyfile.read_file(path)
    if passphrase is None:
        passphrase = station_passphrase(path)
    raw = keyfile.unwrap(data, passphrase, str(path), kind=KIND)
    try:
        station_id = str(json.loads(data)["label"])
    except (ValueError, KeyError):
        raise KeystoreError(f"{path}: station key file has no station id") from None
    return station_id, Ed25519PrivateKey.from_private_bytes(raw)


def check_enrolled(registry: object, station_id: str, key: Ed25519PrivateKey) -> None:
    """Refuse a station key that the registry does not know under this station id."""
    known = registry.station_key(station_id)  # type: ignore[attr-defined]
    if known is None:
        registry.register_station(station_id, public_bytes(key))  # type: ignore[attr-defined]
    elif known != public_bytes(key):
        raise KeystoreError(f"station key for {station_id!r} does not match the key enrolled "
                            "in the registry (wrong station key file?)")
