"""Reuses the API tests' fixtures: the Chalice test client and logged-in helpers."""

from tests.api.conftest import api, client

__all__ = ["api", "client"]
