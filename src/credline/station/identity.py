"""A station's signing identity: an Ed25519 key, wrapped like a master key, enrolled in the
registry so that ``audit verify`` knows whose signature each log entry carries.

Enrolment is explicit (``credline station enroll``): a station the registry does not know is
refused, never enrolled on its first run. Never writes the private key unwrapped; never
prints it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from credline.core.errors import BadInput, KeystoreError
from credline.core.ids import ID_RULE, is_valid_id
from credline.keystore import keyfile
from credline.provenance import public_bytes

KIND = "credline-station-key"


class Enrolment(Protocol):
    """The registry as station identity sees it (:class:`credline.registry.Registry`)."""

    url: str

    def register_station(self, station_id: str, public_key: bytes) -> None: ...

    def station_key(self, station_id: str) -> bytes | None: ...


def enroll(out: Path, station_id: str, passphrase: str, registry: Enrolment | None = None,
           params: keyfile.ScryptParams | None = None) -> Ed25519PrivateKey:
    """Create a station key in ``out`` (wrapped, never over an existing file), then register
    its public key.

    The file comes first: a public key enrolled with no file holding its private half would
    claim the station id for a key nobody has. If registering fails, the file just created
    is removed again.
    """
    if not is_valid_id(station_id):
        raise BadInput(f"invalid station id {station_id!r}: must be {ID_RULE}")
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    keyfile.write_new(out, keyfile.wrap(raw, passphrase, kind=KIND, label=station_id,
                                        params=params))
    if registry is not None:
        try:
            registry.register_station(station_id, public_bytes(key))
        except BaseException:
            out.unlink(missing_ok=True)
            raise
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


def enroll_command(station_id: str, url: str) -> str:
    """The command that enrols ``station_id`` in the registry at ``url``, for messages."""
    return (f"credline station enroll --out NEW.key --station-id {station_id} "
            f"--registry {url}")


def check_enrolled(registry: Enrolment, station_id: str, key: Ed25519PrivateKey) -> None:
    """Refuse a station the registry does not know, or knows under another key."""
    known = registry.station_key(station_id)
    if known is None:
        raise BadInput(f"station {station_id!r} is not enrolled in registry {registry.url}",
                       hint=f"enrol it with '{enroll_command(station_id, registry.url)}' and "
                       "give --station-key NEW.key")
    if known != public_bytes(key):
        raise KeystoreError(f"station key for {station_id!r} does not match the key enrolled "
                            f"in registry {registry.url} (wrong station key file?)")
