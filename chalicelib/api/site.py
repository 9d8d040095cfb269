"""The HTML pages (the clinician's schedule, the patient's visit) and their static assets.

These are not JSON routes: a page answers HTML with its security headers, an asset its file.
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.edge import error_response, services
from chalicelib.errors import NotFound

blueprint = Blueprint(__name__)


def page(template: str, root: str) -> Response:
    from chalicelib import pages

    settings = services().settings
    host = blueprint.current_request.headers.get("host", "")
    return Response(
        body=pages.render(template, root=root, ws_url=settings.ws_url),
        status_code=200,
        headers=pages.security_headers(settings.ws_url, host, settings.files_origin),
    )


@blueprint.route("/")
def schedule_page() -> Response:
    return page("pages/schedule.html", root="./")


@blueprint.route("/visit/{token}")
def visit_page(token: str) -> Response:
    return page("pages/visit.html", root="../")


@blueprint.route("/assets/{name}")
def asset(name: str) -> Response:
    from chalicelib import pages

    found = pages.asset(name)
    if found is None:
        return error_response(NotFound("No such file."))
    return Response(
        body=found.body,
        status_code=200,
        headers={"Content-Type": found.content_type, "Cache-Control": "public, max-age=300"},
    )
