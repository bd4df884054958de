"""The pure core: everything compliance rests on, and nothing that touches a port, a disk, a
clock or an adapter (import-linter keeps it so)."""
