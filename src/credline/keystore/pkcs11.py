"""Master keys in a PKCS#11 token (an HSM, or SoftHSM2 in tests), addressed by RFC 7512 URI.

    pkcs11:token=line1;object=acme-cam?module-path=/usr/lib/softhsm/libsofthsm2.so

The HMAC runs inside the token (CKM_SHA256_HMAC); the key object must be sensitive and
non-extractable, and this module refuses one that is not. The module library comes from the
URI's ``module-path``, else ``CREDLINE_PKCS11_MODULE``, else Debian's SoftHSM2; the PIN from
``pin-value``, else ``CREDLINE_PKCS11_PIN``. Tokens are selected by label, never by slot id
(SoftHSM reassigns slot ids when a token is initialised). Error messages name the URI without
its PIN.

SP 800-108 needs no token mechanism: with L = 256 bits it is one HMAC call, built on
CKM_SHA256_HMAC by :mod:`credline.core.kbkdf`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from credline.core.errors import KeystoreError, KeystoreUnavailable
from credline.core.keys import key_id_of
from credline.keystore.base import KEY_BYTES

DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
_PATH_ATTRS = {"token", "object", "id", "type", "manufacturer", "model", "serial"}
_QUERY_ATTRS = {"module-path", "pin-value"}


@dataclass(frozen=True)
class Pkcs11Uri:
    """The parts of an RFC 7512 URI credline uses."""

    token: str
    label: str | None
    key_id: bytes | None
    module: str
    pin: str | None
    text: str  # the URI with any pin-value removed, for messages

    @classmethod
    def parse(cls, uri: str) -> Pkcs11Uri:
        if not uri.startswith("pkcs11:"):
            raise KeystoreError(f"not a PKCS#11 URI: {uri!r} (expected 'pkcs11:token=...;"
                                "object=...')")
        body, _, query = uri[len("pkcs11:"):].partition("?")
        path = _pairs(body, ";", _PATH_ATTRS, uri)
        params = _pairs(query, "&", _QUERY_ATTRS, uri) if query else {}
        shown = "pkcs11:" + body + ("?module-path=" + params["module-path"]
                                    if "module-path" in params else "")
        if "token" not in path:
            raise KeystoreError(f"{shown}: the URI must name the token (token=LABEL)")
        if "object" not in path and "id" not in path:
            raise KeystoreError(f"{shown}: the URI must name the key (object=LABEL or id=...)")
        if path.get("type", "secret-key") != "secret-key":
            raise KeystoreError(f"{shown}: type={path['type']!r}: a credline master key is a "
                                "secret-key object")
        module = (unquote(params["module-path"]) if "module-path" in params
                  else os.environ.get("CREDLINE_PKCS11_MODULE", DEFAULT_MODULE))
        pin = unquote(params["pin-value"]) if "pin-value" in params else os.environ.get(
            "CREDLINE_PKCS11_PIN")
        return cls(token=unquote(path["token"]),
                   label=unquote(path["object"]) if "object" in path else None,
                   key_id=unquote_to_bytes(path["id"]) if "id" in path else None,
                   module=module, pin=pin, text=shown)


def _pairs(text: str, separator: str, allowed: set[str], uri: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in filter(None, text.split(separator)):
        name, equals, value = item.partition("=")
        if not equals or name not in allowed:
            shown = uri.split("?")[0]
            raise KeystoreError(f"{shown}: unsupported URI attribute {name!r} (credline "
                                f"understands {', '.join(sorted(allowed))})")
        pairs[name] = value
    return pairs


def _open_session(uri: Pkcs11Uri, *, rw: bool = False) -> Any:
    import pkcs11
    from pkcs11 import exceptions as p11e

    if not os.path.exists(uri.module):
        raise KeystoreUnavailable(f"{uri.text}: PKCS#11 module {uri.module!r} not found",
                                  hint="install it or set CREDLINE_PKCS11_MODULE")
    if uri.pin is None:
        raise KeystoreError(f"{uri.text}: no PIN (set CREDLINE_PKCS11_PIN)")
    try:
        token = pkcs11.lib(uri.module).get_token(token_label=uri.token)
        try:
            return token.open(user_pin=uri.pin, rw=rw)
        except p11e.UserAlreadyLoggedIn:
            # PKCS#11 logins are per process and token: another open session of ours
            # already logged in, and this one shares that login.
            return token.open(rw=rw)
    except p11e.NoSuchToken:
        raise KeystoreUnavailable(f"{uri.text}: no token labelled {uri.token!r}",
                                  hint="check the token is plugged in and initialised"
                                  ) from None
    except p11e.PinIncorrect:
        raise KeystoreError(f"{uri.text}: the token refused the PIN") from None
    except p11e.PinLocked:
        raise KeystoreError(f"{uri.text}: the token's PIN is locked") from None
    except p11e.PKCS11Error as exc:
        raise KeystoreError(f"{uri.text}: token error {type(exc).__name__}") from None


def _find(session: Any, uri: Pkcs11Uri) -> Any:
    from pkcs11 import Attribute, ObjectClass
    from pkcs11 import exceptions as p11e

    query: dict[Any, Any] = {Attribute.CLASS: ObjectClass.SECRET_KEY}
    if uri.label is not None:
        query[Attribute.LABEL] = uri.label
    if uri.key_id is not None:
        query[Attribute.ID] = uri.key_id
    found = list(session.get_objects(query))
    if not found:
        raise KeystoreError(f"{uri.text}: no secret key with that label/id in token "
                            f"{uri.token!r}")
    if len(found) > 1:
        raise KeystoreError(f"{uri.text}: {len(found)} keys match; name one by id=")
    key = found[0]
    try:
        sensitive, extractable = key[Attribute.SENSITIVE], key[Attribute.EXTRACTABLE]
    except p11e.PKCS11Error:
        raise KeystoreError(f"{uri.text}: cannot read the key's attributes") from None
    if not sensitive or extractable:
        raise KeystoreError(f"{uri.text}: the key is extractable or not sensitive; credline "
                            "uses only sensitive, non-extractable token keys")
    return key


class Pkcs11Key:
    """A master key inside a token. Holds an open session until :meth:`close`."""

    def __init__(self, uri: Pkcs11Uri) -> None:
        self._uri = uri
        self._session = _open_session(uri)
        try:
            self._key = _find(self._session, uri)
            self._key_id = key_id_of(self)
        except BaseException:
            self._session.close()
            raise

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def fork_safe(self) -> bool:
        return False  # a PKCS#11 session does not survive fork()

    def mac(self, message: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11 import exceptions as p11e

        try:
            return bytes(self._key.sign(message, mechanism=Mechanism.SHA256_HMAC))
        except p11e.PKCS11Error as exc:
            raise KeystoreError(f"{self._uri.text}: HMAC in the token failed "
                                f"({type(exc).__name__})") from None

    def describe(self) -> str:
        return f"{self._uri.text} (key id {self._key_id})"

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"Pkcs11Key({self.describe()})"


def open_uri(uri: str) -> Pkcs11Key:
    """Open the master key a ``pkcs11:`` URI names."""
    return Pkcs11Key(Pkcs11Uri.parse(uri))


def import_key(uri: str, raw: bytes, *, length_check: bool = True) -> Pkcs11Key:
    """Create a sensitive, non-extractable HMAC key holding ``raw`` in the token.

    Refuses when an object with the same label (or id) exists. ``length_check=False`` lets
    conformance tests import NIST test keys of other lengths (SoftHSM takes 32 to 512 bytes).
    """
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11 import exceptions as p11e

    parsed = Pkcs11Uri.parse(uri)
    if length_check and len(raw) != KEY_BYTES:
        raise KeystoreError(f"a credline master key is {KEY_BYTES} bytes, got {len(raw)}")
    if parsed.label is None:
        raise KeystoreError(f"{parsed.text}: name the new key with object=LABEL")
    with _open_session(parsed, rw=True) as session:
        query: dict[Any, Any] = {Attribute.LABEL: parsed.label}
        if any(True for _ in session.get_objects(query)):
            raise KeystoreError(f"{parsed.text}: token {parsed.token!r} already holds an "
                                f"object labelled {parsed.label!r}; refusing to add another")
        template: dict[Any, Any] = {
            Attribute.CLASS: ObjectClass.SECRET_KEY,
            Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
            Attribute.VALUE: raw,
            Attribute.LABEL: parsed.label,
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.SIGN: True,
            Attribute.VERIFY: True,
            Attribute.ENCRYPT: False,
            Attribute.DECRYPT: False,
            Attribute.WRAP: False,
            Attribute.UNWRAP: False,
            Attribute.DERIVE: False,
        }
        if parsed.key_id is not None:
            template[Attribute.ID] = parsed.key_id
        try:
            session.create_object(template)
        except p11e.PKCS11Error as exc:
            raise KeystoreError(f"{parsed.text}: the token refused the key "
                                f"({type(exc).__name__})") from None
    return Pkcs11Key(parsed)
