"""The local WebSocket gateway on its own, with recording handlers instead of the app."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import requests
import websockets
from aiohttp import web

from local.websocket_gateway import WebSocketGateway
from tests.local.conftest import free_port
from tests.threads import run_async


class Recorder:
    def __init__(self, refuse: bool = False, connect_seconds: float = 0.0) -> None:
        self.events: list[dict[str, Any]] = []
        self.refuse = refuse
        self.connect_seconds = connect_seconds
        self.lock = threading.Lock()

    def handler(self, route: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with self.lock:
                self.events.append(event)
            if route == "$connect":
                time.sleep(self.connect_seconds)
            if route == "$connect" and self.refuse:
                return {"statusCode": 401, "body": json.dumps({"error": {"code": "unauthorized"}})}
            return {"statusCode": 200}

        return handle


def run(recorder: Recorder, scenario: Callable[[str, WebSocketGateway], Awaitable[None]]) -> None:
    async def main() -> None:
        gateway = WebSocketGateway({r: recorder.handler(r) for r in ("$connect", "$default", "$disconnect")})
        application = web.Application()
        gateway.add_routes(application)
        runner = web.AppRunner(application)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await scenario(f"127.0.0.1:{port}", gateway)
        finally:
            await gateway.close_all()
            await runner.cleanup()
            gateway.shutdown()

    run_async(main)


def test_events_have_api_gateways_shape_and_order() -> None:
    recorder = Recorder()

    async def scenario(host: str, gateway: WebSocketGateway) -> None:
        async with websockets.connect(f"ws://{host}/ws?token=abc&x=1") as socket:
            await socket.send('{"type": "one"}')
            await socket.send('{"type": "two"}')
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.2)

    run(recorder, scenario)
    kinds = [(e["requestContext"]["routeKey"], e["requestContext"]["eventType"]) for e in recorder.events]
    assert kinds == [
        ("$connect", "CONNECT"),
        ("$default", "MESSAGE"),
        ("$default", "MESSAGE"),
        ("$disconnect", "DISCONNECT"),
    ]
    connect, first, second, _ = recorder.events
    assert connect["queryStringParameters"] == {"token": "abc", "x": "1"}
    assert [first["body"], second["body"]] == ['{"type": "one"}', '{"type": "two"}']
    ids = {e["requestContext"]["connectionId"] for e in recorder.events}
    assert len(ids) == 1
    for e in recorder.events:
        context = e["requestContext"]
        assert {"domainName", "stage", "apiId", "requestId", "connectedAt"} <= set(context)


def test_a_client_gone_while_connect_runs_is_disconnected() -> None:
    """A page reloaded under load can drop a socket whose $connect is still running; the
    connection $connect registered must get its $disconnect, or the patient stays "online"."""
    recorder = Recorder(connect_seconds=0.5)

    async def scenario(host: str, gateway: WebSocketGateway) -> None:
        address, port = host.split(":")
        _reader, writer = await asyncio.open_connection(address, int(port))
        writer.write(
            b"GET /ws?token=abc HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.close()
        await writer.wait_closed()
        for _ in range(30):
            await asyncio.sleep(0.1)
            if len(recorder.events) == 2:
                break
        assert not gateway.sockets, "the gateway still holds the dropped socket"
        assert len(recorder.events) == 2, "no $disconnect before the gateway closed"

    run(recorder, scenario)
    routes = [e["requestContext"]["routeKey"] for e in recorder.events]
    assert routes == ["$connect", "$disconnect"]
    assert len({e["requestContext"]["connectionId"] for e in recorder.events}) == 1


def test_a_refused_connect_never_opens() -> None:
    recorder = Recorder(refuse=True)

    async def scenario(host: str, gateway: WebSocketGateway) -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(f"ws://{host}/ws?token=bad"):
                pass
        assert refused.value.response.status_code == 401
        assert not gateway.sockets

    run(recorder, scenario)
    assert [e["requestContext"]["routeKey"] for e in recorder.events] == ["$connect"]


def test_management_api_posts_reads_closes_and_answers_410() -> None:
    recorder = Recorder()

    async def scenario(host: str, gateway: WebSocketGateway) -> None:
        async with websockets.connect(f"ws://{host}/ws") as socket:
            await asyncio.sleep(0.1)
            (connection_id,) = gateway.sockets
            base = f"http://{host}/@connections/{connection_id}"
            loop = asyncio.get_running_loop()
            posted = await loop.run_in_executor(
                None, lambda: requests.post(base, data=b'{"type":"hello"}', timeout=5)
            )
            assert posted.status_code == 200
            assert json.loads(await asyncio.wait_for(socket.recv(), 5)) == {"type": "hello"}
            info = await loop.run_in_executor(None, lambda: requests.get(base, timeout=5))
            assert info.status_code == 200 and "connectedAt" in info.json()
            closed = await loop.run_in_executor(None, lambda: requests.delete(base, timeout=5))
            assert closed.status_code == 204
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 5)
        await asyncio.sleep(0.2)
        gone = await asyncio.get_running_loop().run_in_executor(
            None, lambda: requests.post(f"http://{host}/@connections/{connection_id}", data=b"{}", timeout=5)
        )
        assert gone.status_code == 410 and gone.headers["x-amzn-ErrorType"] == "GoneException"

    run(recorder, scenario)
    assert recorder.events[-1]["requestContext"]["routeKey"] == "$disconnect"


def test_boto3_sees_410_as_gone_exception() -> None:
    recorder = Recorder()

    async def scenario(host: str, gateway: WebSocketGateway) -> None:
        import boto3

        client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=f"http://{host}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        loop = asyncio.get_running_loop()
        with pytest.raises(client.exceptions.GoneException):
            await loop.run_in_executor(
                None, lambda: client.post_to_connection(ConnectionId="nope", Data=b"{}")
            )

    run(recorder, scenario)
