"""The audit tests run against both registry backends, like the registry's own tests."""

from __future__ import annotations

from tests.registry.conftest import registry_url

__all__ = ["registry_url"]
