"""Written information and screenshots through REST, on moto's S3."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import pytest
import requests

from chalicelib import settings_names as app_settings
from local import mailbox
from tests.api.conftest import Api
from tests.conftest import AwsStack

ADA, CYD = "ada@clinic.example", "cyd@clinic.example"


def link_token(email: str) -> str:
    (mail,) = [m for m in mailbox.messages() if m["to"] == [email] and m["subject"].startswith("Your video")]
    match = re.search(r"/visit/([A-Za-z0-9_-]{43})", mail["text"])
    assert match
    return match.group(1)


@pytest.fixture
def visit(api: Api) -> tuple[dict[str, Any], str]:
    email = f"pat.docs.{uuid.uuid4().hex[:10]}@example.com"
    created = api.invite(patient_email=email)
    return created, link_token(email)


def test_text_and_file_documents_are_stored_encrypted_and_reach_only_the_link(
    api: Api, aws: AwsStack, visit: tuple[dict[str, Any], str]
) -> None:
    created, token = visit
    text = api.as_(
        ADA, "POST", f"/api/appointments/{created['id']}/documents", {"title": "After-care", "text": "Rest."}
    )
    assert text.status_code == 201
    assert set(text.json_body) == {"id", "title", "filename", "url"}
    assert text.json_body["filename"] == "After-care.txt"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    file = api.as_(
        ADA,
        "POST",
        f"/api/appointments/{created['id']}/documents",
        {"title": "Diagram", "filename": "C:\\temp\\my diagram.png", "content_type": "image/png",
         "content_base64": base64.b64encode(png).decode()},
    )  # fmt: skip
    assert file.status_code == 201 and file.json_body["filename"] == "my diagram.png"

    s3 = aws.client("s3")
    bucket = aws.env[app_settings.FILES_BUCKET]
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"documents/{created['id']}/")["Contents"]
    ]
    assert len(keys) == 2
    for key in keys:
        assert s3.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] in ("AES256", "aws:kms")

    listed = api.call("GET", f"/api/visit/{token}/documents").json_body["documents"]
    assert [d["title"] for d in listed] == ["After-care", "Diagram"]
    redirect = api.call("GET", f"/api/visit/{token}/documents/{file.json_body['id']}")
    assert redirect.status_code == 302
    assert requests.get(redirect.headers["Location"], timeout=10).content == png
    assert api.call("GET", f"/api/visit/{token}/documents/nope").status_code == 404
    assert api.call("GET", "/api/visit/" + "B" * 43 + "/documents").status_code == 404

    api.as_(ADA, "POST", f"/api/appointments/{created['id']}/complete")
    events = api.as_(ADA, "GET", f"/api/appointments/{created['id']}/audit").json_body["events"]
    assert [e["action"] for e in events].count("document_sent") == 2


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (
            {"title": "x", "content_type": "application/zip", "content_base64": "UEsDBA=="},
            400,
            "content_type",
        ),
        (
            {
                "title": "x",
                "content_type": "image/jpeg",
                "content_base64": base64.b64encode(b"GIF89a").decode(),
            },
            400,
            "content_type",
        ),
        ({"title": "x"}, 400, "content_type"),
        (
            {
                "title": "x",
                "content_type": "text/plain",
                "content_base64": base64.b64encode(b"a" * (5 * 1024 * 1024 + 10)).decode(),
            },
            413,
            "content_base64",
        ),
    ],
)
def test_bad_documents_are_refused_and_nothing_is_stored(
    api: Api, aws: AwsStack, visit: tuple[dict[str, Any], str], body: dict[str, Any], status: int, field: str
) -> None:
    created, token = visit
    answer = api.as_(ADA, "POST", f"/api/appointments/{created['id']}/documents", body)
    assert answer.status_code == status and answer.json_body["error"]["field"] == field
    listing = aws.client("s3").list_objects_v2(
        Bucket=aws.env[app_settings.FILES_BUCKET], Prefix=f"documents/{created['id']}/"
    )
    assert listing.get("KeyCount", 0) == 0
    assert api.call("GET", f"/api/visit/{token}/documents").json_body["documents"] == []


def test_a_body_beyond_the_document_limit_is_413(api: Api, visit: tuple[dict[str, Any], str]) -> None:
    created, _ = visit
    raw = b'{"title": "x", "content_base64": "' + b"A" * (8 * 1024 * 1024) + b'"}'
    answer = api.call("POST", f"/api/appointments/{created['id']}/documents", raw=raw, token=api.token(ADA))
    assert answer.status_code == 413


def test_another_group_sees_no_screenshots_or_documents(api: Api, visit: tuple[dict[str, Any], str]) -> None:
    created, _ = visit
    assert api.as_(ADA, "GET", f"/api/appointments/{created['id']}/screenshots").json_body == {
        "screenshots": []
    }
    assert api.as_(CYD, "GET", f"/api/appointments/{created['id']}/screenshots").status_code == 404
    sent = api.as_(CYD, "POST", f"/api/appointments/{created['id']}/documents", {"title": "x", "text": "y"})
    assert sent.status_code == 404


def test_a_cancelled_link_gets_no_documents(api: Api, visit: tuple[dict[str, Any], str]) -> None:
    created, token = visit
    api.as_(ADA, "POST", f"/api/appointments/{created['id']}/cancel")
    assert api.call("GET", f"/api/visit/{token}/documents").status_code == 410
