"""Product profiles: the TOML text of ``factory/profiles/*.toml`` checked and parsed (pure;
:mod:`credline.files.profiles` reads the files).

Every key is checked against :data:`SCHEMA` and its range against
:data:`credline.core.settings.CHECKS`; an unknown section or key, a wrong type, a value out
of range, a bad id or a policy violation raises :class:`ProfileError` naming the file, the
key and the value.
Adapters that own a section (device transport, labels, compliance statement) read it from
``Profile.sections`` and add their keys to :data:`SCHEMA` here, in one place.
"""

from __future__ import annotations

import tomllib
from typing import Any

from credline.core.compliance import compliance_of
from credline.core.errors import BadInput, ProfileError
from credline.core.ids import ProductId
from credline.core.policy import ALPHABETS, Exposure, KeyScope, PasswordFormat, Profile, Storage
from credline.core.settings import check_values

# section -> key -> accepted Python type(s). Required keys are listed in REQUIRED.
SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "product": {"id": str, "name": str, "manufacturer": str, "firmware": str, "make": str,
                "model": str, "model_number": str, "category": str},
    "password": {"alphabet": str, "alphabet_chars": str, "length": int, "grouping": int,
                 "exposure": str, "storage": str},
    "key": {"scope": str, "custody": str},
    "device": {"transport": str, "serial_source": str, "baud": int, "timeout": (int, float),
               "retries": int, "verifier_iterations": int},
    "label": {"template": str, "format": str, "printer": str, "width_mm": (int, float),
              "height_mm": (int, float), "dpi": int, "qr": str, "wifi_ssid": str,
              "support": bool, "qr_support": bool},
    # Read by credline.core.compliance: the statement (Schedule 4), the support pages
    # (Schedule 1 paras 2 and 3) and the batch terms the registry enforces.
    "compliance": {"support_period_end": str, "support_period_start": str, "declaration": str,
                   "signatory": str, "signatory_function": str, "place": str,
                   "product_type": str, "manufacturer_address": str, "representative": str,
                   "security_contact": str, "acknowledge_within_days": int,
                   "status_update_days": int, "documentation_url": str},
    "hex": {"address": int, "sector_size": int, "prog_size": int, "flash_start": int,
            "flash_size": int},
    "esp": {"size": int, "offset": int, "partition_table": str, "partition": str,
            "chip": str, "baud": int, "reset": str},
}
REQUIRED = {("product", "id")}


def parse_profile(text: str, source: str) -> Profile:
    """Validate profile TOML text; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: not valid TOML: {exc}") from None
    _check_schema(data, source)
    product = data["product"]
    password = data.get("password", {})

    def where(section: str, key: str) -> str:
        return f"{source}: [{section}] {key}"

    try:
        product_id = ProductId(product["id"], origin=where("product", "id"))
    except BadInput as exc:
        raise ProfileError(exc.message) from None
    exposure = _enum(Exposure, password, "exposure", Exposure.ONLINE, where)
    storage = _enum(Storage, password, "storage", Storage.PLAINTEXT, where)
    scope = _enum(KeyScope, data.get("key", {}), "scope", KeyScope.PRODUCT, where)
    alphabet = _alphabet(password, where)
    length = password.get("length", exposure.default_length)
    fmt = _format(alphabet, length, where)
    sections = {name: dict(values) for name, values in data.items()
                if name not in ("product", "password", "key")}
    sections["product"] = dict(product)
    profile = Profile(product=product_id, format=fmt, exposure=exposure,
                      grouping=password.get("grouping", 4), storage=storage,
                      key_scope=scope, source=source, sections=sections)
    compliance_of(profile)  # what spans keys (a support period starting after it ends)
    return profile


def _check_schema(data: dict[str, Any], source: str) -> None:
    for section, values in data.items():
        if section not in SCHEMA:
            raise ProfileError(f"{source}: unknown section [{section}] (known: "
                               f"{', '.join(sorted(SCHEMA))})")
        if not isinstance(values, dict):
            raise ProfileError(f"{source}: {section} must be a [{section}] table")
        for key, value in values.items():
            expected = SCHEMA[section].get(key)
            if expected is None:
                raise ProfileError(f"{source}: [{section}] unknown key {key!r} (known: "
                                   f"{', '.join(sorted(SCHEMA[section]))})")
            if (isinstance(value, bool) and expected is not bool) or not isinstance(
                    value, expected):
                raise ProfileError(f"{source}: [{section}] {key} = {value!r}: wrong type")
    for section, key in REQUIRED:
        if key not in data.get(section, {}):
            raise ProfileError(f"{source}: [{section}] {key} is required")
    bad = check_values(data)
    if bad is not None:
        section, key, value, why = bad
        raise ProfileError(f"{source}: [{section}] {key} = {value!r}: {why}")


def _enum(kind: Any, table: dict[str, Any], key: str, default: Any, where: Any) -> Any:
    if key not in table:
        return default
    try:
        return kind(table[key])
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ProfileError(f"{where('password' if kind is not KeyScope else 'key', key)} = "
                           f"{table[key]!r}: must be one of {choices}") from None


def _alphabet(password: dict[str, Any], where: Any) -> str:
    if "alphabet" in password and "alphabet_chars" in password:
        raise ProfileError(f"{where('password', 'alphabet')}: give alphabet (a name) or "
                           "alphabet_chars (the characters), not both")
    if "alphabet_chars" in password:
        return str(password["alphabet_chars"])
    name = password.get("alphabet", "crockford32")
    if name not in ALPHABETS:
        raise ProfileError(f"{where('password', 'alphabet')} = {name!r}: unknown alphabet "
                           f"(known: {', '.join(ALPHABETS)}; or set alphabet_chars)")
    return ALPHABETS[name]


def _format(alphabet: str, length: int, where: Any) -> PasswordFormat:
    try:
        return PasswordFormat(alphabet, length)
    except ProfileError as exc:
        key = "length" if "length" in exc.message or "bits" in exc.message else "alphabet"
        raise ProfileError(f"{where('password', key)}: {exc.message}") from None
