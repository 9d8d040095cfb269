"""Settings: what the environment says, and what is only named there (secrets, endpoints)."""

from __future__ import annotations

import json

import pytest

from chalicelib import settings_names as app_settings
from chalicelib.config import Settings


def test_local_defaults_and_names() -> None:
    settings = Settings.from_env(
        {app_settings.TABLE_PREFIX: "x-", app_settings.ICE_SERVERS: '[{"urls": ["stun:s"]}]'}
    )
    assert settings.appointments_table == "x-appointments" and settings.documents_table == "x-documents"
    assert settings.ice_servers == ({"urls": ["stun:s"]},)
    assert settings.resolved(secret=_never, parameter=_never) is settings


def test_secrets_and_endpoints_are_looked_up_once_named() -> None:
    settings = Settings.from_env(
        {
            app_settings.LINK_SECRET_ARN: "arn:link",
            app_settings.WORKER_SECRET_ARN: "arn:worker",
            app_settings.ENDPOINTS_PARAMETER: "/eclinic/endpoints",
        }
    )
    endpoints = {
        "public_base_url": "https://abc.execute-api.eu-central-1.amazonaws.com/api/",
        "ws_url": "wss://def.execute-api.eu-central-1.amazonaws.com/api",
        "ws_management_url": "https://def.execute-api.eu-central-1.amazonaws.com/api",
    }
    secrets = {"arn:link": "l" * 48, "arn:worker": "w" * 32}
    resolved = settings.resolved(secret=secrets.__getitem__, parameter=lambda name: json.dumps(endpoints))
    assert resolved.link_secret == b"l" * 48 and resolved.worker_secret == "w" * 32
    assert resolved.public_base_url == "https://abc.execute-api.eu-central-1.amazonaws.com/api"
    assert (
        resolved.ws_url == endpoints["ws_url"]
        and resolved.ws_management_url == endpoints["ws_management_url"]
    )


def _never(name: str) -> str:
    raise AssertionError(f"looked up {name}")


def test_the_turn_secret_comes_from_secrets_manager_and_stays_out_of_the_ice_servers() -> None:
    settings = Settings.from_env(
        {
            app_settings.ICE_SERVERS: '[{"urls": ["stun:stun.example:3478"]}]',
            app_settings.TURN_URLS: "turn:turn.example:3478?transport=udp, turns:turn.example:5349",
            app_settings.TURN_SECRET_ARN: "arn:turn",
        }
    )
    resolved = settings.resolved(secret={"arn:turn": "shared-with-coturn"}.__getitem__, parameter=_never)
    assert resolved.turn_urls == ("turn:turn.example:3478?transport=udp", "turns:turn.example:5349")
    assert resolved.turn_secret == "shared-with-coturn"
    assert resolved.ice_servers == ({"urls": ["stun:stun.example:3478"]},)  # TURN is made per call


def test_the_local_run_names_the_turn_secret_itself() -> None:
    settings = Settings.from_env(
        {app_settings.TURN_URLS: "turn:127.0.0.1:3478", app_settings.TURN_SECRET: "s"}
    )
    assert settings.resolved(secret=_never, parameter=_never).turn_secret == "s"


def test_the_ice_transport_policy_is_all_or_relay() -> None:
    assert Settings.from_env({}).ice_transport_policy == "all"
    assert Settings.from_env({app_settings.ICE_TRANSPORT_POLICY: "relay"}).ice_transport_policy == "relay"
    with pytest.raises(ValueError, match=app_settings.ICE_TRANSPORT_POLICY):
        Settings.from_env({app_settings.ICE_TRANSPORT_POLICY: "tcp"})
