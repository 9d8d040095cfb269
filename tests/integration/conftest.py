"""The DynamoDB stores on moto, for the tests of each adapter."""

from __future__ import annotations

import pytest

from chalicelib.wiring import DynamoStores
from tests.conftest import AwsStack


@pytest.fixture
def stores(aws: AwsStack) -> DynamoStores:
    from chalicelib.config import Settings
    from chalicelib.store.models import bind_models

    settings = Settings.from_env()
    bind_models(settings)
    return DynamoStores.on(settings)
