"""Shared fixtures. `aws` starts moto's server once per test session (the same stand-in and
bootstrap as the local run); tests that do not ask for it never start it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib import settings_names as app_settings
from local import aws_standin
from tests.management_recorder import ManagementRecorder


@dataclass
class AwsStack:
    endpoint: str
    env: dict[str, str]
    management: ManagementRecorder

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.env[app_settings.REGION],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsStack]:
    stand_in = aws_standin.start()
    management = ManagementRecorder().start()
    saved = dict(os.environ)
    os.environ.update(
        aws_standin.base_environment(stand_in.endpoint, "http://testserver.local", management.url)
    )
    aws_standin.bootstrap(os.environ)
    from chalicelib import wiring

    wiring.services.cache_clear()
    yield AwsStack(endpoint=stand_in.endpoint, env=dict(os.environ), management=management)
    wiring.services.cache_clear()
    os.environ.clear()
    os.environ.update(saved)
    management.stop()
    stand_in.stop()
