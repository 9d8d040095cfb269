"""A small stand-in for the API Gateway WebSocket API, for the local run.

It turns each connect, message and disconnect into the event API Gateway sends
(`requestContext` with `routeKey`, `eventType`, `connectionId`, `domainName`, `stage`, and
`queryStringParameters` on connect), calls the same handlers, and serves the management API
(`POST`/`GET`/`DELETE /@connections/{id}`, 410 when gone). A handler's refusal of `$connect`
refuses the handshake: the socket never opens. The management API carries no credentials; the
local gateway serves it behind `local.host_guard` (loopback `Host` only), as every `/_local` route.

Handlers run on a pool of threads, like several warm Lambda containers; one connection's
messages are handled one after another, in order.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

Handler = Callable[[dict[str, Any], Any], Any]
# API Gateway's own limit on one message; the handlers enforce the contract's 32 KiB.
MAX_FRAME_BYTES = 128 * 1024


@dataclass
class OpenSocket:
    """One client's open websocket here (the app's own view of it is its registry Connection)."""

    socket: web.WebSocketResponse
    connected_at: float
    source_ip: str
    user_agent: str
    last_active: float = field(default_factory=time.time)


class WebSocketGateway:
    def __init__(
        self,
        handlers: Mapping[str, Handler],
        stage: str = "local",
        api_id: str = "local",
        workers: int = 8,
    ) -> None:
        self._handlers = dict(handlers)
        self._stage = stage
        self._api_id = api_id
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ws-lambda")
        self.sockets: dict[str, OpenSocket] = {}

    def add_routes(self, application: web.Application, path: str = "/ws") -> None:
        application.router.add_get(path, self.accept)
        application.router.add_post("/@connections/{connection_id}", self.post_to_connection)
        application.router.add_get("/@connections/{connection_id}", self.get_connection)
        application.router.add_delete("/@connections/{connection_id}", self.delete_connection)

    # -- the client side -----------------------------------------------------------

    async def accept(self, request: web.Request) -> web.StreamResponse:
        # Shaped like API Gateway's ids ("CvJ8seXSliACFrQ="), from an alphabet that is safe in a URL path.
        connection_id = base64.urlsafe_b64encode(secrets.token_bytes(10)).decode()
        connected_at = time.time()
        answer = await self.invoke(
            "$connect",
            self._event("$connect", "CONNECT", connection_id, request, connected_at),
        )
        status = int(answer.get("statusCode", 200)) if isinstance(answer, dict) else 200
        if status >= 300:
            return web.Response(
                status=status, text=str(answer.get("body") or ""), content_type="application/json"
            )
        socket = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, autoping=True)
        try:
            await socket.prepare(request)
        except ConnectionResetError:
            # The client left while $connect ran: as on API Gateway, $disconnect follows, or the
            # connection $connect registered would stay (a patient "online" who is not).
            event = self._event("$disconnect", "DISCONNECT", connection_id, request, connected_at)
            event["requestContext"].update({"disconnectStatusCode": 1006, "disconnectReason": ""})
            await self.invoke("$disconnect", event)
            return socket
        live = OpenSocket(
            socket, connected_at, request.remote or "127.0.0.1", request.headers.get("User-Agent", "")
        )
        self.sockets[connection_id] = live
        try:
            async for frame in socket:
                live.last_active = time.time()
                if frame.type is WSMsgType.TEXT:
                    body, encoded = frame.data, False
                elif frame.type is WSMsgType.BINARY:
                    body, encoded = base64.b64encode(frame.data).decode(), True
                else:
                    break
                event = self._event("$default", "MESSAGE", connection_id, request, connected_at)
                event.update({"body": body, "isBase64Encoded": encoded})
                await self.invoke("$default", event)
        finally:
            self.sockets.pop(connection_id, None)
            event = self._event("$disconnect", "DISCONNECT", connection_id, request, connected_at)
            event["requestContext"].update(
                {"disconnectStatusCode": socket.close_code or 1005, "disconnectReason": ""}
            )
            await self.invoke("$disconnect", event)
        return socket

    async def invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        handler = self._handlers.get(route_key)
        if handler is None:
            return {"statusCode": 200}
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, handler, event, None)

    def _event(
        self, route_key: str, event_type: str, connection_id: str, request: web.Request, connected_at: float
    ) -> dict[str, Any]:
        now = time.time()
        context = {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "connectionId": connection_id,
            "connectedAt": int(connected_at * 1000),
            "domainName": request.host,
            "stage": self._stage,
            "apiId": self._api_id,
            "requestId": uuid.uuid4().hex,
            "extendedRequestId": uuid.uuid4().hex,
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now * 1000),
            "identity": {
                "sourceIp": request.remote or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
        }
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if route_key == "$connect":
            event["headers"] = dict(request.headers)
            event["multiValueHeaders"] = {k: request.headers.getall(k) for k in request.headers}
            query = dict(request.query)
            event["queryStringParameters"] = query or None
            event["multiValueQueryStringParameters"] = {k: request.query.getall(k) for k in query} or None
        return event

    # -- the management API ------------------------------------------------------------

    async def post_to_connection(self, request: web.Request) -> web.Response:
        live = self.sockets.get(request.match_info["connection_id"])
        if live is None or live.socket.closed:
            return _gone()
        data = await request.read()
        try:
            await live.socket.send_str(data.decode())
        except (ConnectionResetError, RuntimeError):
            return _gone()
        return web.Response(status=200)

    async def get_connection(self, request: web.Request) -> web.Response:
        live = self.sockets.get(request.match_info["connection_id"])
        if live is None:
            return _gone()
        return web.json_response(
            {
                "connectedAt": _iso(live.connected_at),
                "lastActiveAt": _iso(live.last_active),
                "identity": {"sourceIp": live.source_ip, "userAgent": live.user_agent},
            }
        )

    async def delete_connection(self, request: web.Request) -> web.Response:
        live = self.sockets.get(request.match_info["connection_id"])
        if live is None:
            return _gone()
        await live.socket.close(code=1000, message=b"closed by server")
        return web.Response(status=204)

    async def close_all(self) -> None:
        for live in list(self.sockets.values()):
            await live.socket.close(code=1001, message=b"server shutting down")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _gone() -> web.Response:
    return web.Response(
        status=410,
        text=json.dumps({"message": "Gone"}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": "GoneException"},
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
