"""Where the credential partition goes in an ESP32's flash: the profile's ``[esp]`` section,
or the product's partition table CSV that it names.

``[esp] offset`` and ``size`` (default 0x6000) place it directly; ``[esp] partition_table``
(a path relative to the profile file) and ``partition`` (default ``credline``) read them from
the table the firmware was built with, so the station writes exactly where the firmware
looks. Every problem is a :class:`ProfileError` naming the file and the value, raised before
any batch, registry or port opens. Reads one file; writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from credline.core.errors import ProfileError
from credline.core.policy import Profile
from credline.image.nvs import DEFAULT_SIZE, PAGE, size_problem

DEFAULT_PARTITION = "credline"
FIRST_PARTITION = 0x9000  # after the bootloader and the partition table at 0x8000
_APP_ALIGN = 0x10000


@dataclass(frozen=True, slots=True)
class EspLayout:
    """The credential partition: its flash offset and size, and where they were read."""

    offset: int
    size: int
    origin: str


@dataclass(frozen=True, slots=True)
class _Row:
    name: str
    kind: str
    subtype: str
    offset: int
    size: int


def _number(text: str, where: str) -> int:
    text = text.strip()
    scale = 1
    if text[-1:].upper() in ("K", "M"):
        scale = 1024 if text[-1].upper() == "K" else 1024 * 1024
        text = text[:-1]
    try:
        return int(text, 0) * scale
    except ValueError:
        raise ProfileError(f"{where}: {text!r} is not a size or offset (0x6000, 24K, 1M)") \
            from None


def read_partition_table(path: Path) -> list[_Row]:
    """The rows of an ESP-IDF partition table CSV, empty offsets filled in as gen_esp32part
    places them (after the previous row; apps on 64 KiB, data on 4 KiB boundaries)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the partition table: {exc.strerror}") \
            from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: the partition table is not UTF-8 text") from None
    rows: list[_Row] = []
    following = FIRST_PARTITION
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [field.strip() for field in line.split(",")]
        where = f"{path}:{number}"
        if len(fields) < 5:
            raise ProfileError(f"{where}: {line!r}: a partition row is name, type, subtype, "
                               "offset, size[, flags]")
        name, kind, subtype, offset_text, size_text = fields[:5]
        align = _APP_ALIGN if kind == "app" else PAGE
        offset = (_number(offset_text, where) if offset_text
                  else (following + align - 1) // align * align)
        size = _number(size_text, where)
        rows.append(_Row(name, kind, subtype, offset, size))
        following = offset + size
    return rows


def esp_layout(profile: Profile) -> EspLayout:
    """The profile's credential partition (ProfileError naming file and value if wrong)."""
    esp = profile.section("esp")
    source = profile.source
    if "partition_table" in esp:
        return _from_table(profile, esp)
    if "offset" not in esp:
        raise ProfileError(f"{source}: [esp] needs offset (where the partition goes) or "
                           "partition_table (the product's partition table CSV)")
    size = int(esp.get("size", DEFAULT_SIZE))
    return _checked(EspLayout(int(esp["offset"]), size, f"{source}: [esp]"))


def _from_table(profile: Profile, esp: dict[str, object]) -> EspLayout:
    base = Path(profile.source).parent
    path = base / str(esp["partition_table"])
    name = str(esp.get("partition", DEFAULT_PARTITION))
    rows = {row.name: row for row in read_partition_table(path)}
    if name not in rows:
        raise ProfileError(f"{path}: no partition named {name!r} (asked by {profile.source}: "
                           f"[esp] partition; the table has {', '.join(rows) or 'none'})")
    row = rows[name]
    if (row.kind, row.subtype) != ("data", "nvs"):
        raise ProfileError(f"{path}: partition {name!r} is {row.kind}, {row.subtype}; the "
                           "credential partition must be data, nvs")
    origin = f"{path}: partition {name!r}"
    size = row.size
    if "size" in esp:
        wanted = int(str(esp["size"]))
        if wanted > row.size:
            raise ProfileError(f"{profile.source}: [esp] size = 0x{wanted:x}: does not fit "
                               f"partition {name!r} of {path} (0x{row.size:x} bytes)")
        size = wanted
    if "offset" in esp and int(str(esp["offset"])) != row.offset:
        raise ProfileError(f"{profile.source}: [esp] offset = 0x{int(str(esp['offset'])):x}: "
                           f"partition {name!r} of {path} is at 0x{row.offset:x}")
    return _checked(EspLayout(row.offset, size, origin))


def _checked(layout: EspLayout) -> EspLayout:
    problem = size_problem(layout.size)
    if problem is not None:
        raise ProfileError(f"{layout.origin}: size 0x{layout.size:x}: {problem}")
    if layout.offset % PAGE:
        raise ProfileError(f"{layout.origin}: offset 0x{layout.offset:x}: must be a multiple "
                           "of 0x1000 (one flash sector)")
    if layout.offset < FIRST_PARTITION:
        raise ProfileError(f"{layout.origin}: offset 0x{layout.offset:x}: overlaps the "
                           f"bootloader and partition table (below 0x{FIRST_PARTITION:x})")
    return layout
