"""The one place where boto3 clients are made, lazily and once per process.

Lambda keeps a process warm between requests, so a client built on first use is reused;
importing this module costs nothing until a client is asked for.
"""

from __future__ import annotations

import functools
from typing import Any

from chalicelib.config import Settings


@functools.cache
def _session(region: str) -> Any:
    import boto3

    return boto3.session.Session(region_name=region)


def client(settings: Settings, service: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client for `service`; endpoint from the settings unless one is given."""
    return _client(settings.region, service, endpoint_url or settings.endpoint_url)


@functools.cache
def _client(region: str, service: str, endpoint_url: str | None) -> Any:
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=32,
    )
    return _session(region).client(service, endpoint_url=endpoint_url, config=config)
