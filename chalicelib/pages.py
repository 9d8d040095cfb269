"""The clinician's and the patient's pages, and the static files they load.

Pages are rendered from `templates/pages/` and learn everything else (the REST base, the
WebSocket URL) from the page itself: every URL in them is relative to a `<base>` at the
app's root, so one build works locally and behind API Gateway's stage path.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.templating import TEMPLATES_DIR, environment

PAGE_TEMPLATES = ("pages/_layout.html", "pages/schedule.html", "pages/visit.html")
ASSETS_DIR = TEMPLATES_DIR / "pages" / "assets"
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str


def render(template: str, root: str, ws_url: str | None) -> str:
    """The page, with the server's own limits and wording (`limits`, `patient_status_words`,
    `guest_status_words`) for the templates and, as the page's JSON config block, for its
    scripts: written once, here."""
    from chalicelib.domain import chat, document, notice
    from chalicelib.domain.patient_wording import GUEST_WORDS, PATIENT_WORDS

    limits = {
        "chat_max": chat.CHAT_MAX,
        "document_max_bytes": document.MAX_BYTES,
        "notice_max": notice.NOTICE_MAX,
    }
    return (
        environment()
        .get_template(template)
        .render(
            root=root,
            ws_url=ws_url or "",
            limits=limits,
            patient_status_words={status.value: words for status, words in PATIENT_WORDS.items()},
            guest_status_words={status.value: words for status, words in GUEST_WORDS.items()},
        )
    )


def asset(name: str) -> Asset | None:
    """A file from the assets folder by its plain name; nothing else is reachable."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    path = ASSETS_DIR / name
    content_type = ASSET_TYPES.get(path.suffix)
    if content_type is None or not path.is_file():
        return None
    return Asset(body=path.read_text(encoding="utf-8"), content_type=content_type)


def security_headers(ws_url: str | None, page_host: str, files_origin: str) -> dict[str, str | list[str]]:
    """The page may connect to its own origin (the REST API), to the one WebSocket URL it is
    given (the same host's /ws when none is configured: the local run), and to `files_origin`,
    which serves the short-lived screenshot links (S3, or moto's S3 locally). Nowhere else: a
    script that got in could not send what it read to a host of its own."""
    websocket = ws_url or f"ws://{page_host}/ws wss://{page_host}/ws"
    connect = f"'self' {websocket} {files_origin}"
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        # The patient's URL holds their token: never send it on to anyone as a Referer.
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            f"connect-src {connect}; img-src 'self' data: blob: {files_origin}; media-src 'self' blob:; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        ),
        "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
    }
