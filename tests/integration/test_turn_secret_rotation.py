"""The functions' side of a TURN secret rotation, against moto's Secrets Manager: credentials are
signed with the secret's AWSCURRENT, and a warm function follows a rotation within
REREAD_AFTER instead of signing with what it read at its start for as long as it lives."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime, timedelta

from chalicelib import aws as aws_clients
from chalicelib import settings_names as app_settings
from chalicelib.auth.turn_credentials import (
    REREAD_AFTER,
    TurnCredentials,
    password,
    turn_credentials,
)
from chalicelib.config import Settings
from tests.conftest import AwsStack

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
URLS = "turn:turn.test:3478?transport=udp,turns:turn.test:443?transport=tcp"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def signed_with(turn: TurnCredentials, *candidates: str) -> str:
    """Which of the candidates the next call's credential is made from."""
    entry = turn.ice_server(NOW, NOW + timedelta(hours=1))
    username = str(entry["username"])
    (secret,) = [c for c in candidates if password(c.encode(), username) == entry["credential"]]
    return secret


def functions_turn(aws: AwsStack, arn: str, clock: Clock) -> TurnCredentials:
    """TURN credentials as a function builds them (chalicelib.wiring.build): the settings from
    the environment the stack gives it, resolved through Secrets Manager."""
    settings = Settings.from_env({**aws.env, app_settings.TURN_URLS: URLS, app_settings.TURN_SECRET_ARN: arn})

    def read_secret(name: str) -> str:
        return str(
            aws_clients.client(settings, "secretsmanager").get_secret_value(SecretId=name)["SecretString"]
        )

    resolved = settings.resolved(secret=read_secret, parameter=lambda name: "{}")
    turn = turn_credentials(resolved.turn_urls, resolved.turn_secret, reread=lambda: read_secret(arn))
    assert turn is not None
    return dataclasses.replace(turn, clock=clock)


def test_a_warm_function_signs_with_the_rotated_secret_within_minutes(aws: AwsStack) -> None:
    client = aws.client("secretsmanager")
    first, second = (secrets.token_urlsafe(36) for _ in range(2))
    arn = client.create_secret(Name=f"turn-functions-{secrets.token_hex(4)}", SecretString=first)["ARN"]
    clock = Clock()
    turn = functions_turn(aws, arn, clock)
    assert signed_with(turn, first, second) == first

    # A new AWSCURRENT: the function keeps the value it has for a while ...
    client.put_secret_value(SecretId=arn, SecretString=second)
    clock.now += REREAD_AFTER.total_seconds() - 1
    assert signed_with(turn, first, second) == first
    # ... then reads AWSCURRENT again and signs with the new secret from then on.
    clock.now += 1
    assert signed_with(turn, first, second) == second
    assert signed_with(turn, first, second) == second


def test_a_secret_that_cannot_be_read_again_keeps_the_last_value(aws: AwsStack) -> None:
    client = aws.client("secretsmanager")
    first = secrets.token_urlsafe(36)
    arn = client.create_secret(Name=f"turn-functions-{secrets.token_hex(4)}", SecretString=first)["ARN"]
    clock = Clock()
    turn = functions_turn(aws, arn, clock)
    client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    clock.now += REREAD_AFTER.total_seconds()
    # Calls still get TURN: the last value is still the current or the previous one for coturn.
    assert signed_with(turn, first) == first


def test_the_local_run_s_secret_is_never_read_again() -> None:
    turn = turn_credentials(URLS.split(","), "local-secret")
    assert turn is not None and turn.reread is None
