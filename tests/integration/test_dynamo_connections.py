"""The connection registry's rate limit on moto's DynamoDB: a sliding window of 20 messages in
10 seconds per connection, kept on one item with a conditional write, and the token's expiry
stored with a clinician's connection."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.realtime.connections import MESSAGE_WINDOW, MESSAGES_PER_WINDOW, Connection, Role, channels_of
from chalicelib.realtime.dynamo_connections import DynamoConnectionRegistry
from tests.conftest import AwsStack
from tests.unit.factories import NOW


@pytest.fixture
def registry(aws: AwsStack) -> DynamoConnectionRegistry:
    from chalicelib.config import Settings
    from chalicelib.store.models import bind_models

    bind_models(Settings.from_env())
    return DynamoConnectionRegistry()


def clinician_connection() -> Connection:
    return Connection(
        id=uuid.uuid4().hex,
        role=Role.CLINICIAN,
        clinician_id="sub-" + uuid.uuid4().hex[:8],
        name="Ada Lovelace",
        connected_at=NOW,
        last_seen=NOW,
        groups=frozenset({"cardiology", "dermatology"}),
        email="ada@clinic.example",
        session_expires_at=NOW + timedelta(hours=1),
    )


def test_the_window_counts_per_connection_and_slides(registry: DynamoConnectionRegistry) -> None:
    connection, other = clinician_connection(), clinician_connection()
    registry.add(connection)
    registry.add(other)
    assert all(registry.allow_message(connection, NOW + timedelta(milliseconds=i)) for i in range(20))
    assert not registry.allow_message(connection, NOW + timedelta(seconds=1))
    assert registry.allow_message(other, NOW + timedelta(seconds=1))
    assert registry.allow_message(connection, NOW + MESSAGE_WINDOW + timedelta(milliseconds=1))
    assert registry.get(connection.id) == connection  # the count does not change the connection


def test_concurrent_messages_of_one_connection_are_counted_once_each(
    registry: DynamoConnectionRegistry,
) -> None:
    connection = clinician_connection()
    registry.add(connection)
    with ThreadPoolExecutor(max_workers=8) as pool:
        allowed = list(pool.map(lambda i: registry.allow_message(connection, NOW), range(30)))
    more = [registry.allow_message(connection, NOW) for _ in range(MESSAGES_PER_WINDOW)]
    assert sum(allowed) > 0 and sum(allowed) + sum(more) == MESSAGES_PER_WINDOW  # never one more


def test_parallel_connects_of_one_link_never_pass_the_limit(registry: DynamoConnectionRegistry) -> None:
    from chalicelib.realtime.connections import CONNECT_WINDOW, CONNECTS_PER_LINK

    link = f"appointment-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda i: registry.count_connect(link, NOW), range(CONNECTS_PER_LINK + 10)))
    counted = sorted(n for n in numbers if n is not None)
    assert counted == list(range(1, CONNECTS_PER_LINK + 1))  # each counted once, none past the limit
    assert numbers.count(None) == 10
    assert registry.connects_in_window(link, NOW) == CONNECTS_PER_LINK
    assert registry.connects_in_window(link, NOW + CONNECT_WINDOW) == 0
    assert registry.count_connect(link, NOW + CONNECT_WINDOW) == 1


def test_a_connection_is_connecting_in_every_channel_until_its_connect_returns(
    registry: DynamoConnectionRegistry,
) -> None:
    connection = clinician_connection()
    registry.add(replace(connection, connecting=True))
    assert all(
        c.connecting
        for channel in channels_of(connection)
        for c in registry.in_channel(channel)
        if c.id == connection.id
    )
    registry.update(connection)
    listed = [
        c
        for channel in channels_of(connection)
        for c in registry.in_channel(channel)
        if c.id == connection.id
    ]
    assert len(listed) == len(channels_of(connection)) == 3
    assert listed == [connection] * 3
