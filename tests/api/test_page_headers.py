"""The pages' Content-Security-Policy: `connect-src` names the page's own origin, its one
WebSocket URL and the file store, and no wildcard scheme (a script that got in could not send
what it read anywhere else)."""

from __future__ import annotations

from tests.api.conftest import Api


def connect_sources(api: Api, path: str, host: str) -> list[str]:
    answer = api.client.http.get(path, headers={"Host": host})
    assert answer.status_code == 200
    policy = dict(
        part.strip().split(" ", 1)
        for part in answer.headers["Content-Security-Policy"].split(";")
        if part.strip()
    )
    return policy["connect-src"].split()


def test_connect_src_is_pinned_to_the_pages_own_websocket(api: Api) -> None:
    sources = connect_sources(api, "/", "127.0.0.1:8000")
    assert sources[:3] == ["'self'", "ws://127.0.0.1:8000/ws", "wss://127.0.0.1:8000/ws"]
    assert not {"ws:", "wss:", "*", "https:"} & set(sources)
    assert len(sources) >= 4  # and the file store's origin, for screenshot links
