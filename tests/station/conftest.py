"""Fixtures of the station tests (``station_env`` is shared: see tests/conftest.py)."""
