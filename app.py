"""eClinic's Chalice app: the wiring Chalice needs, and the websocket and scheduled handlers.

The REST routes live in Blueprints, one per resource group, in `chalicelib/api/`; the mapping
of domain errors to HTTP answers is `chalicelib/api/edge.py`'s. Everything heavy (boto3,
PynamoDB, JWT, jinja2) is imported on first use through `services()`, so a cold start imports
little.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Rate, Response, WebsocketEvent

from chalicelib.api import appointments, auth, documents, guests, site, tasks, visit
from chalicelib.api.edge import services
from chalicelib.errors import EclinicError, ValidationFailed

app = Chalice(app_name="eclinic")
app.experimental_feature_flags.update(["WEBSOCKETS"])

for routes in (auth, appointments, tasks, documents, guests, visit):
    app.register_blueprint(routes.routes.blueprint)
app.register_blueprint(site.blueprint)


# -- websocket --------------------------------------------------------------------------


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> Response:
    query = event.to_dict().get("queryStringParameters") or {}
    try:
        services().live.connect(event.connection_id, query)
    except EclinicError as exc:
        # API Gateway refuses the handshake with this status: the socket never opens.
        return Response(body=exc.to_body(), status_code=exc.status)
    return Response(body="", status_code=200)


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> Response:
    svc = services()
    for reply in svc.live.handle(event.connection_id, event.body):
        svc.live.reply(event.connection_id, reply)
    return Response(body="", status_code=200)


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> Response:
    services().live.disconnect(event.connection_id)
    return Response(body="", status_code=200)


# -- scheduled --------------------------------------------------------------------------


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_stale_connections(event: Any) -> None:
    services().live.sweep()


@app.lambda_function(name="send_reminder")
def send_reminder(event: Any, context: Any) -> dict[str, str]:
    """The reminder schedules' target (EventBridge Scheduler; the local run's timer locally).
    A malformed input is refused and not retried; a refused mail raises, so it is retried."""
    from chalicelib.domain.reminders import Reminder

    try:
        outcome = services().reminders.send(Reminder.from_input(event))
    except ValidationFailed as exc:
        from chalicelib.logs import logger

        logger().warning("reminder input refused", reason=exc.message)
        return {"status": "refused"}
    return {"status": outcome}
