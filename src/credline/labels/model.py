"""What goes on a device's label, and how the profile's ``[label]`` section is read.

A :class:`Label` is the one object that holds a device's password in printable form (grouped
for reading, plain in the QR code). It is built from a :class:`~credline.core.secret.Password` at
the moment a label is rendered and handed straight to a renderer; it is never logged, and its
``repr`` is redacted. :func:`plan` turns a label into the :mod:`~credline.labels.layout` both
renderers draw. Pure: no I/O apart from reading a template file named by the profile.

A template (``[label] template``) is either a layout file (``*.toml``: the caption above the
password, an optional note, the footer) that credline lays out for ZPL and PDF alike, or a
hand-written ZPL file (``*.zpl``) whose fixed geometry is checked against the label size
before a batch starts.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote

from credline.core.encoding import group
from credline.core.errors import ProfileError
from credline.core.policy import Profile
from credline.core.secret import Password
from credline.labels.layout import Font, Layout, Want, layout

QR_SCHEME = "credline:v1"
DEFAULT_SSID = "{product}-{serial_tail}"


class QrKind(StrEnum):
    """What the QR code on a label holds."""

    CREDLINE = "credline"  # credline:v1?product=..&serial=..&password=..
    WIFI = "wifi"  # WIFI:T:WPA;S:<ssid>;P:<password>;; (phones join the network)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class LabelTemplate:
    """A layout template: the words around the fields (``{field}`` placeholders allowed)."""

    caption: str = "Password"
    note: str = ""
    footer: str = "key {key_id}  batch {batch}"


TEMPLATE_KEYS = ("caption", "note", "footer")
DEFAULT_LAYOUT = LabelTemplate()


class LabelFormat(StrEnum):
    ZPL = "zpl"
    PDF = "pdf"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """The profile's ``[label]`` section, validated."""

    template: str | None = None  # a hand-written ZPL template; None = laid out by credline
    layout: LabelTemplate = DEFAULT_LAYOUT
    format: LabelFormat = LabelFormat.BOTH
    printer: str | None = None  # a device path (or directory) ZPL is written to
    width_mm: float = 50.0
    height_mm: float = 30.0
    dpi: int = 203
    qr: QrKind = QrKind.CREDLINE
    wifi_ssid: str = DEFAULT_SSID
    support: bool = False  # print the support end date and the security contact
    qr_support: bool = False  # and put them in the QR payload too
    support_end: str = ""
    security_contact: str = ""

    @property
    def width_dots(self) -> int:
        return round(self.width_mm / 25.4 * self.dpi)

    @property
    def height_dots(self) -> int:
        return round(self.height_mm / 25.4 * self.dpi)


def spec_from_profile(profile: Profile) -> LabelSpec:
    """Read ``[label]``; a template path is relative to the profile file's directory."""
    section = profile.section("label")
    where = f"{profile.source}: [label]"
    template, plan_text = None, DEFAULT_LAYOUT
    if "template" in section:
        text, path = _read_template(profile, section["template"], where)
        if path.suffix == ".toml":
            plan_text = parse_template(text, str(path))
        else:
            template = text
    try:
        fmt = LabelFormat(section.get("format", "both"))
        qr = QrKind(section.get("qr", "credline"))
    except ValueError as exc:
        raise ProfileError(f"{where} {exc}") from None
    dpi = section.get("dpi", 203)
    width, height = section.get("width_mm", 50.0), section.get("height_mm", 30.0)
    if not 100 <= dpi <= 1200 or not 10 <= width <= 300 or not 10 <= height <= 300:
        raise ProfileError(f"{where} size {width}x{height} mm at {dpi} dpi: expected 10-300 mm "
                           "and 100-1200 dpi")
    support, qr_support = bool(section.get("support")), bool(section.get("qr_support"))
    end, contact = _support(profile, support or qr_support, where)
    if qr_support and qr is not QrKind.CREDLINE:
        raise ProfileError(f"{where} qr_support = true needs qr = \"credline\" (a {qr.value} "
                           "QR code has no place for the support period)")
    return LabelSpec(template=template, layout=plan_text, format=fmt,
                     printer=section.get("printer"), width_mm=float(width),
                     height_mm=float(height), dpi=dpi, qr=qr,
                     wifi_ssid=section.get("wifi_ssid", DEFAULT_SSID), support=support,
                     qr_support=qr_support, support_end=end, security_contact=contact)


def _read_template(profile: Profile, name: str, where: str) -> tuple[str, Path]:
    path = Path(name)
    if not path.is_absolute() and profile.source != "<built-in>":
        path = Path(profile.source).parent / path
    try:
        return path.read_text(encoding="utf-8"), path
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ProfileError(f"{where} template = {name!r}: cannot read {path}: "
                           f"{reason}") from None


def parse_template(text: str, origin: str) -> LabelTemplate:
    """A layout template file: TOML with ``caption``, ``note`` and ``footer`` strings."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{origin}: not valid TOML: {exc}") from None
    for key, value in data.items():
        if key not in TEMPLATE_KEYS:
            raise ProfileError(f"{origin}: unknown key {key!r} (known: "
                               f"{', '.join(TEMPLATE_KEYS)})")
        if not isinstance(value, str):
            raise ProfileError(f"{origin}: {key} = {value!r}: must be a string")
    plan_text = LabelTemplate(**data)
    for key in TEMPLATE_KEYS:
        try:
            getattr(plan_text, key).format(**_SAMPLE_FIELDS)
        except (KeyError, ValueError, IndexError) as exc:
            raise ProfileError(f"{origin}: {key} = {getattr(plan_text, key)!r}: bad "
                               f"placeholder {exc} (known: {', '.join(_SAMPLE_FIELDS)})"
                               ) from None
    return plan_text


_SAMPLE_FIELDS = {"product": "", "product_name": "", "serial": "", "key_id": "", "batch": "",
                  "generation": "", "support_end": "", "security_contact": ""}


def _support(profile: Profile, wanted: bool, where: str) -> tuple[str, str]:
    """The support end date and security contact from ``[compliance]``, when asked for."""
    if not wanted:
        return "", ""
    compliance = profile.section("compliance")
    for key in ("support_period_end", "security_contact"):
        if not compliance.get(key):
            raise ProfileError(f"{where} support = true needs [compliance] {key} in "
                               f"{profile.source}")
    return str(compliance["support_period_end"]), str(compliance["security_contact"])


@dataclass(frozen=True, slots=True)
class Label:
    """One device's label. Holds the password: render it and let it go."""

    product: str
    product_name: str
    serial: str
    key_id: str
    batch: str
    generation: int
    password_grouped: str = field(repr=False)
    qr_content: str = field(repr=False)
    support_end: str = ""  # printed only when the profile's [label] support is on
    security_contact: str = ""

    def fields(self) -> dict[str, str]:
        """Template fields by name (what ``{name}`` in a ZPL template expands to)."""
        return {"product": self.product, "product_name": self.product_name,
                "serial": self.serial, "key_id": self.key_id, "batch": self.batch,
                "generation": str(self.generation), "password": self.password_grouped,
                "qr": self.qr_content, "support_end": self.support_end,
                "security_contact": self.security_contact}


def qr_content(kind: QrKind, product: str, serial: str, password: str,
               ssid_template: str = DEFAULT_SSID, support: tuple[str, str] | None = None
               ) -> str:
    """The QR payload: the ungrouped password (machines do not need grouping), and with
    ``support`` (end date, contact) the support period and security contact too."""
    if kind is QrKind.WIFI:
        ssid = ssid_template.format(product=product, serial=serial, serial_tail=serial[-4:])
        return f"WIFI:T:WPA;S:{_wifi_escape(ssid)};P:{_wifi_escape(password)};;"
    if kind is QrKind.NONE:
        return ""
    text = (f"{QR_SCHEME}?product={quote(product, safe='')}&serial={quote(serial, safe='')}"
            f"&password={quote(password, safe='')}")
    if support:
        text += (f"&support_end={quote(support[0], safe='')}"
                 f"&contact={quote(support[1], safe='')}")
    return text


def _wifi_escape(text: str) -> str:
    # The WIFI: URI format escapes \ ; , " and : with a backslash.
    return "".join("\\" + ch if ch in '\\;,":' else ch for ch in text)


def make_label(profile: Profile, spec: LabelSpec, *, serial: str, password: Password,
               key_id: str, batch: str, generation: int) -> Label:
    """The label for one device: the only place the password becomes printable text."""
    plain = password.reveal()
    name = str(profile.section("product").get("name", profile.product))
    support = (spec.support_end, spec.security_contact) if spec.qr_support else None
    return Label(product=str(profile.product), product_name=name, serial=serial,
                 key_id=key_id, batch=batch, generation=generation,
                 password_grouped=group(plain, profile.grouping),
                 qr_content=qr_content(spec.qr, str(profile.product), serial, plain,
                                       spec.wifi_ssid, support),
                 support_end=spec.support_end if spec.support else "",
                 security_contact=spec.security_contact if spec.support else "")


_SECRET_FIELDS = frozenset({"password", "qr"})


def _tells_secret(template: str) -> bool:
    """Whether a layout text names a field that holds the password (``{password}``,
    ``{qr}``): such a text is laid out afresh on every label and kept nowhere."""
    return any(name is not None and re.split(r"[.\[!:]", name, maxsplit=1)[0] in _SECRET_FIELDS
               for _, name, _, _ in string.Formatter().parse(template))


def plan(label: Label, spec: LabelSpec) -> Layout:
    """Where each of ``label``'s fields goes on a ``spec``-sized label (dots at its dpi)."""
    words = label.fields()
    text = spec.layout
    wants = [
        Want("title", label.product_name, Font.BOLD, 3.0),
        Want("serial", f"S/N {label.serial}", Font.SANS, 2.4),
        Want("caption", text.caption.format(**words), Font.SANS, 1.8, max_lines=1,
             secret=_tells_secret(text.caption)),
        Want("password", label.password_grouped, Font.MONO, 3.6, max_lines=1, secret=True),
        Want("note", text.note.format(**words), Font.SANS, 1.8,
             secret=_tells_secret(text.note)),
    ]
    if label.support_end:
        wants.append(Want("support", f"Security updates until {label.support_end}",
                          Font.SANS, 1.6))
    if label.security_contact:
        wants.append(Want("contact", f"Report security issues: {label.security_contact}",
                          Font.SANS, 1.6, max_lines=3))
    wants.append(Want("footer", text.footer.format(**words), Font.SANS, 1.4, bottom=True,
                      secret=_tells_secret(text.footer)))
    return layout(spec.width_dots, spec.height_dots, spec.dpi, wants, label.qr_content)
