"""What goes on a device's label, and how the profile's ``[label]`` section is read.

A :class:`Label` is the one object that holds a device's password in printable form (grouped
for reading, plain in the QR code). It is built from a :class:`~credline.core.secret.Password` at
the moment a label is rendered and handed straight to a renderer; it is never logged, and its
``repr`` is redacted. Pure: no I/O apart from reading a template file named by the profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote

from credline.core.encoding import group
from credline.core.errors import ProfileError
from credline.core.policy import Profile
from credline.core.secret import Password

QR_SCHEME = "credline:v1"
DEFAULT_SSID = "{product}-{serial_tail}"


class QrKind(StrEnum):
    """What the QR code on a label holds."""

    CREDLINE = "credline"  # credline:v1?product=..&serial=..&password=..
    WIFI = "wifi"  # WIFI:T:WPA;S:<ssid>;P:<password>;; (phones join the network)
    NONE = "none"


class LabelFormat(StrEnum):
    ZPL = "zpl"
    PDF = "pdf"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """The profile's ``[label]`` section, validated."""

    template: str | None = None  # ZPL template text; None = the built-in default
    format: LabelFormat = LabelFormat.BOTH
    printer: str | None = None  # a device path (or directory) ZPL is written to
    width_mm: float = 50.0
    height_mm: float = 30.0
    dpi: int = 203
    qr: QrKind = QrKind.CREDLINE
    wifi_ssid: str = DEFAULT_SSID

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
    template = None
    if "template" in section:
        path = Path(section["template"])
        if not path.is_absolute() and profile.source != "<built-in>":
            path = Path(profile.source).parent / path
        try:
            template = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ProfileError(f"{where} template = {section['template']!r}: cannot read "
                               f"{path}: {reason}") from None
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
    return LabelSpec(template=template, format=fmt, printer=section.get("printer"),
                     width_mm=float(width), height_mm=float(height), dpi=dpi, qr=qr,
                     wifi_ssid=section.get("wifi_ssid", DEFAULT_SSID))


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

    def fields(self) -> dict[str, str]:
        """Template fields by name (what ``{name}`` in a ZPL template expands to)."""
        return {"product": self.product, "product_name": self.product_name,
                "serial": self.serial, "key_id": self.key_id, "batch": self.batch,
                "generation": str(self.generation), "password": self.password_grouped,
                "qr": self.qr_content}


def qr_content(kind: QrKind, product: str, serial: str, password: str,
               ssid_template: str = DEFAULT_SSID) -> str:
    """The QR payload: the ungrouped password (machines do not need grouping)."""
    if kind is QrKind.WIFI:
        ssid = ssid_template.format(product=product, serial=serial, serial_tail=serial[-4:])
        return f"WIFI:T:WPA;S:{_wifi_escape(ssid)};P:{_wifi_escape(password)};;"
    if kind is QrKind.NONE:
        return ""
    return (f"{QR_SCHEME}?product={quote(product, safe='')}&serial={quote(serial, safe='')}"
            f"&password={quote(password, safe='')}")


def _wifi_escape(text: str) -> str:
    # The WIFI: URI format escapes \ ; , " and : with a backslash.
    return "".join("\\" + ch if ch in '\\;,":' else ch for ch in text)


def make_label(profile: Profile, spec: LabelSpec, *, serial: str, password: Password,
               key_id: str, batch: str, generation: int) -> Label:
    """The label for one device: the only place the password becomes printable text."""
    plain = password.reveal()
    name = str(profile.section("product").get("name", profile.product))
    return Label(product=str(profile.product), product_name=name, serial=serial,
                 key_id=key_id, batch=batch, generation=generation,
                 password_grouped=group(plain, profile.grouping),
                 qr_content=qr_content(spec.qr, str(profile.product), serial, plain,
                                       spec.wifi_ssid))
