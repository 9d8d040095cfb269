"""Per-call TURN credentials (the TURN REST scheme coturn checks with `use-auth-secret`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from chalicelib.auth.turn_credentials import MAX_LIFETIME, MIN_LIFETIME, turn_credentials

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
URLS = ("turn:turn.example:3478?transport=udp", "turns:turn.example:443?transport=tcp")


def expiry(entry: dict[str, object]) -> datetime:
    return datetime.fromtimestamp(int(str(entry["username"]).split(":")[0]), UTC)


def test_the_credential_is_the_hmac_of_the_user_name_as_coturn_computes_it() -> None:
    turn = turn_credentials(URLS, "shared-with-coturn")
    assert turn is not None
    entry = turn.ice_server(NOW, NOW + timedelta(hours=1))
    assert entry["urls"] == list(URLS)
    username = str(entry["username"])
    expected = base64.b64encode(hmac.new(b"shared-with-coturn", username.encode(), hashlib.sha1).digest())
    assert entry["credential"] == expected.decode()
    expires, opaque = username.split(":")
    assert expires.isdigit() and len(opaque) == 16


def test_each_call_gets_its_own_credential() -> None:
    turn = turn_credentials(URLS, "s")
    assert turn is not None
    first, second = (turn.ice_server(NOW, NOW + timedelta(hours=1)) for _ in range(2))
    assert first["username"] != second["username"] and first["credential"] != second["credential"]


def test_it_lives_until_the_window_ends_never_past_four_hours() -> None:
    turn = turn_credentials(URLS, "s")
    assert turn is not None
    assert expiry(turn.ice_server(NOW, NOW + timedelta(hours=2))) == NOW + timedelta(hours=2)
    assert expiry(turn.ice_server(NOW, NOW + timedelta(hours=9))) == NOW + MAX_LIFETIME
    # a session running late, past its window: still long enough for the call to connect
    assert expiry(turn.ice_server(NOW, NOW - timedelta(minutes=5))) == NOW + MIN_LIFETIME


def test_no_turn_entry_without_both_urls_and_secret() -> None:
    assert turn_credentials(URLS, "") is None
    assert turn_credentials((), "s") is None
