"""The local run's unauthenticated routes answer only to the run's own loopback address.

`/_local/...` (mailbox, AWS stand-in details) and the WebSocket management API
(`/@connections/...`) carry no credentials, as on AWS the management API is reached with IAM
and the mailbox does not exist. A web page elsewhere could still reach them through DNS
rebinding: its own name, resolved to 127.0.0.1, makes the browser treat the local run as the
page's origin. Such a request still names the page's host in `Host`, so these routes answer
only when `Host` is `127.0.0.1:PORT` or `localhost:PORT`, PORT being the port the request
arrived on; anything else gets 403 (API.md, "The local run").
"""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp.typedefs import Handler

GUARDED_PREFIXES = ("/_local", "/@connections")
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def is_guarded(request: web.Request) -> bool:
    """By the path and by the route that answers it, so that no spelling slips past."""
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else ""
    return any(p.startswith(GUARDED_PREFIXES) for p in (request.path, canonical))


def allowed_hosts(port: int) -> frozenset[str]:
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:  # a browser leaves the default port out of Host
        hosts.update(LOOPBACK_NAMES)
    return frozenset(hosts)


def local_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(sockname, tuple) and len(sockname) >= 2 and isinstance(sockname[1], int):
        return sockname[1]
    return None


def host_is_own(request: web.Request) -> bool:
    host = request.headers.get("Host")  # not request.host: that falls back to this machine's name
    port = local_port(request)
    return host is not None and port is not None and host.lower() in allowed_hosts(port)


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_guarded(request) and not host_is_own(request):
        return forbidden()
    return await handler(request)


def forbidden() -> web.Response:
    message = "This address of the local run answers only to 127.0.0.1 or localhost on its own port."
    return web.Response(
        status=403,
        text=json.dumps({"error": {"code": "forbidden", "message": message}}),
        content_type="application/json",
    )
