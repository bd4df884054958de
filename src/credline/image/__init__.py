"""Per-device flash images for lines that program with other tools (gang programmers)."""
