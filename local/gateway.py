"""The local gateway: one aiohttp server in front of the Chalice app.

HTTP requests go through Chalice's own `LocalGateway` (the same event shape API Gateway
sends). The app runs on one worker thread, as one Lambda container handles one event at a
time; Chalice keeps the current request on the app object, so calls must not overlap.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from local import mailbox
from local.host_guard import loopback_only
from local.websocket_gateway import WebSocketGateway

ReadinessCheck = Callable[[], bool]


SWEEP_SECONDS = 60


class LocalGateway:
    def __init__(self, app_module: Any, ready: ReadinessCheck) -> None:
        from chalice.config import Config
        from chalice.local import LocalGateway as ChaliceLocalGateway

        chalice_app = app_module.app
        self._chalice = ChaliceLocalGateway(
            chalice_app, Config.create(chalice_stage="local", app_name="eclinic", lambda_timeout=60)
        )
        self._lambda = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda")
        self._ready = ready
        # What /health reports; the run command sets a check that includes the media worker.
        self.health_check: ReadinessCheck = ready
        # The same handler functions that API Gateway invokes on AWS, by their module names.
        self.websocket = WebSocketGateway(
            {
                route: getattr(app_module, config.name)
                for route, config in chalice_app.websocket_handlers.items()
            }
        )
        self._sweep = getattr(app_module, "sweep_stale_connections", None)
        # What `/_local/aws` reports; the run command sets it once the stand-in is bootstrapped.
        self.aws_details: dict[str, str] | None = None

    def application(self) -> web.Application:
        # The one guard of every unauthenticated route: `/_local/...` and `/@connections/...`.
        application = web.Application(client_max_size=8 * 1024 * 1024, middlewares=[loopback_only])
        self.websocket.add_routes(application, "/ws")
        application.router.add_get("/health", self.health)
        application.router.add_get("/_local/mailbox", self.mailbox_page)
        application.router.add_get("/_local/mailbox.json", self.mailbox_json)
        application.router.add_get("/_local/aws", self.aws)
        application.router.add_route("*", "/{tail:.*}", self.rest)
        application.on_startup.append(self._start_sweeping)
        application.on_shutdown.append(self._close_sockets)
        application.on_cleanup.append(self._shutdown)
        return application

    async def _start_sweeping(self, application: web.Application) -> None:
        application["sweeper"] = asyncio.create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        """Runs the scheduled sweep (an EventBridge schedule on AWS) once a minute."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            if self._ready() and self._sweep is not None:
                loop = asyncio.get_running_loop()
                event = scheduled_event()
                try:
                    await loop.run_in_executor(self._lambda, self._sweep, event, None)
                except Exception as exc:
                    print(f"sweep failed: {type(exc).__name__}", flush=True)

    async def _close_sockets(self, application: web.Application) -> None:
        application["sweeper"].cancel()
        await self.websocket.close_all()

    async def health(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        if await loop.run_in_executor(None, self.health_check):
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "starting"}, status=503)

    async def mailbox_page(self, request: web.Request) -> web.Response:
        return web.Response(text=mailbox.page(), content_type="text/html")

    async def mailbox_json(self, request: web.Request) -> web.Response:
        return web.json_response({"messages": mailbox.messages()})

    async def aws(self, request: web.Request) -> web.Response:
        if self.aws_details is None:
            return _error(503, "internal", "eClinic is still starting; try again in a few seconds.")
        return web.json_response(self.aws_details)

    async def rest(self, request: web.Request) -> web.Response:
        if not self._ready():
            return _error(503, "internal", "eClinic is still starting; try again in a few seconds.")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()}
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(
                self._lambda,
                self._chalice.handle_request,
                request.method,
                request.path_qs,
                headers,
                body,
            )
        except Exception as exc:  # chalice.local.LocalGatewayException: no such route
            if type(exc).__name__ in ("ForbiddenError", "NotAuthorizedError"):
                return _error(404, "not_found", "There is nothing at this address.")
            raise
        return _to_response(answer)

    async def _shutdown(self, application: web.Application) -> None:
        self._lambda.shutdown(wait=False, cancel_futures=True)
        self.websocket.shutdown()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"error": {"code": code, "message": message}}),
        content_type="application/json",
    )


def _to_response(answer: dict[str, Any]) -> web.Response:
    body = answer.get("body") or b""
    if answer.get("isBase64Encoded") and isinstance(body, str):
        body = base64.b64decode(body)
    elif isinstance(body, str):
        body = body.encode()
    response = web.Response(status=int(answer["statusCode"]), body=body)
    for name, value in (answer.get("headers") or {}).items():
        response.headers[name] = value
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, value)
    return response


def scheduled_event() -> dict[str, object]:
    """What an EventBridge schedule hands the function: Chalice reads every one of these fields."""
    import uuid
    from datetime import UTC, datetime

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
