"""Reading a product profile file; the checking and parsing is :mod:`credline.core.profile`."""

from __future__ import annotations

from pathlib import Path

from credline.core.errors import BadInput, ProfileError
from credline.core.policy import Profile
from credline.core.profile import parse_profile


def load_profile(path: Path | str) -> Profile:
    """Read and validate a profile file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read profile: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: profile is not UTF-8 text") from None
    return parse_profile(text, str(path))
