"""Paging of the growing REST lists: a `limit`, an opaque `next` cursor, walked to the end."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from tests.api.conftest import Api
from tests.api.test_documents_api import link_token

ADA = "ada@clinic.example"


def walk(api: Api, path: str, key: str, limit: int, token: str | None = None) -> tuple[list[Any], int]:
    items: list[Any] = []
    pages = 0
    query = f"?limit={limit}"
    while True:
        answer = api.call("GET", path + query, token=token if token is not None else api.token(ADA))
        assert answer.status_code == 200, answer.body
        assert set(answer.json_body) <= {key, "next"}
        assert len(answer.json_body[key]) <= limit
        items.extend(answer.json_body[key])
        pages += 1
        if "next" not in answer.json_body:
            return items, pages
        query = f"?limit={limit}&cursor={answer.json_body['next']}"


def test_audit_is_paged_and_walking_the_cursor_gives_every_event_once_in_order(api: Api) -> None:
    created = api.invite()
    for _ in range(2):
        assert api.as_(ADA, "POST", f"/api/appointments/{created['id']}/reinvite").status_code == 200
    path = f"/api/appointments/{created['id']}/audit"
    whole = api.as_(ADA, "GET", path).json_body
    assert "next" not in whole and len(whole["events"]) >= 4
    items, pages = walk(api, path, "events", 2)
    assert items == whole["events"]
    assert pages >= 2


def test_a_garbage_cursor_is_a_validation_error(api: Api) -> None:
    created = api.invite()
    for cursor in ["garbage!", "e30", base64.urlsafe_b64encode(b"not json").decode(), "x" * 5000]:
        answer = api.as_(ADA, "GET", f"/api/appointments/{created['id']}/audit?cursor={cursor}")
        assert answer.status_code == 400, cursor
        assert answer.json_body["error"]["code"] == "validation_error"
        assert answer.json_body["error"]["field"] == "cursor"
    for limit in ["0", "101", "two", "-1"]:
        answer = api.as_(ADA, "GET", f"/api/appointments/{created['id']}/audit?limit={limit}")
        assert answer.status_code == 400 and answer.json_body["error"]["field"] == "limit"


def test_a_cursor_from_another_appointment_reads_nothing_of_it(api: Api) -> None:
    first, second = api.invite(), api.invite()
    api.as_(ADA, "POST", f"/api/appointments/{first['id']}/reinvite")
    page = api.as_(ADA, "GET", f"/api/appointments/{first['id']}/audit?limit=1").json_body
    assert "next" in page
    answer = api.as_(ADA, "GET", f"/api/appointments/{second['id']}/audit?limit=1&cursor={page['next']}")
    assert answer.status_code == 400 and answer.json_body["error"]["field"] == "cursor"
    # Rewriting the scope inside the cursor does not help either: the position is the first's.
    inner = json.loads(base64.urlsafe_b64decode(page["next"] + "=="))
    forged = base64.urlsafe_b64encode(json.dumps({"s": second["id"], "k": inner["k"]}).encode()).decode()
    answer = api.as_(ADA, "GET", f"/api/appointments/{second['id']}/audit?cursor={forged.rstrip('=')}")
    assert answer.status_code in (200, 400)
    if answer.status_code == 200:
        assert all(e["action"] for e in answer.json_body["events"])
        assert first["id"] not in json.dumps(answer.json_body)


def test_patient_documents_are_paged(api: Api) -> None:
    email = f"pat.paging.{uuid.uuid4().hex[:10]}@example.com"
    created = api.invite(patient_email=email)
    token = link_token(email)
    sent = [
        api.as_(
            ADA, "POST", f"/api/appointments/{created['id']}/documents", {"title": f"Doc {n}", "text": "x"}
        )
        for n in range(5)
    ]
    assert all(s.status_code == 201 for s in sent)
    path = f"/api/visit/{token}/documents"
    items, pages = walk(api, path, "documents", 2, token="")
    assert [d["id"] for d in items] == [s.json_body["id"] for s in sent]
    assert pages == 3
    garbage = api.call("GET", path + "?cursor=%25%25")
    assert garbage.status_code == 400 and garbage.json_body["error"]["field"] == "cursor"


def test_chat_history_routes_take_limit_and_cursor(api: Api) -> None:
    email = f"pat.chat.{uuid.uuid4().hex[:10]}@example.com"
    created = api.invite(patient_email=email)
    token = link_token(email)
    clinician = api.as_(ADA, "GET", f"/api/appointments/{created['id']}/messages?limit=2")
    assert clinician.status_code == 200 and clinician.json_body == {"messages": []}
    for path in [f"/api/appointments/{created['id']}/messages", f"/api/visit/{token}/messages"]:
        answer = api.as_(ADA, "GET", path + "?cursor=bad")
        assert answer.status_code == 400 and answer.json_body["error"]["field"] == "cursor"


def test_the_schedule_is_paged_and_the_cursor_is_bound_to_its_query(api: Api) -> None:
    from datetime import UTC, datetime, timedelta
    from urllib.parse import quote

    # A window of its own, far enough ahead that no other test's appointments fall into it.
    day = datetime(2027, 1, 4, 9, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)
    made = [api.invite(starts_at=(day + timedelta(minutes=15 * (n // 2))).isoformat()) for n in range(5)]
    window = f"from={quote(day.isoformat())}&to={quote((day + timedelta(hours=3)).isoformat())}"
    path = f"/api/appointments?{window}"
    whole = api.as_(ADA, "GET", path).json_body
    assert "next" not in whole and {a["id"] for a in whole["appointments"]} == {a["id"] for a in made}

    items: list[Any] = []
    query = "&limit=2"
    while True:
        answer = api.as_(ADA, "GET", path + query)
        assert answer.status_code == 200 and len(answer.json_body["appointments"]) <= 2, answer.body
        items.extend(answer.json_body["appointments"])
        if "next" not in answer.json_body:
            break
        query = f"&limit=2&cursor={answer.json_body['next']}"
    assert items == whole["appointments"]

    cursor = api.as_(ADA, "GET", path + "&limit=2").json_body["next"]
    other_window = f"from={quote(day.isoformat())}&to={quote((day + timedelta(hours=4)).isoformat())}"
    for elsewhere in (
        f"/api/appointments?{other_window}&cursor={cursor}",
        f"/api/appointments?{window}&cursor=garbage!",
    ):
        answer = api.as_(ADA, "GET", elsewhere)
        assert answer.status_code == 400 and answer.json_body["error"]["field"] == "cursor", elsewhere
    # A well-formed cursor for this query whose position is not one is refused too.
    scope = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["s"]
    forged = base64.urlsafe_b64encode(json.dumps({"s": scope, "k": "x"}).encode()).decode().rstrip("=")
    answer = api.as_(ADA, "GET", f"{path}&cursor={forged}")
    assert answer.status_code == 400 and answer.json_body["error"]["field"] == "cursor"


def test_screenshots_are_paged(api: Api) -> None:
    from datetime import UTC, datetime, timedelta

    from chalicelib.config import Settings
    from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
    from chalicelib.wiring import DynamoStores

    created = api.invite()
    stores = DynamoStores.on(Settings.from_env())
    appointment = stores.appointments.get(created["id"])
    assert appointment is not None
    now = datetime.now(UTC)
    for n in range(5):
        at = now + timedelta(seconds=n)
        status = ScreenshotStatus.DENIED if n == 2 else ScreenshotStatus.STORED  # not listed
        shot = Screenshot(id=f"shot-{n}", appointment_id=appointment.id, requested_by="ada",
                          requested_at=at, status=status, key=f"screenshots/{appointment.id}/shot-{n}.jpg",
                          filename=f"shot-{n}.jpg", width=640, height=480, taken_at=at)  # fmt: skip
        stores.screenshots.add(shot, appointment.audit_event("screenshot_stored", "ada", at))
    path = f"/api/appointments/{created['id']}/screenshots"
    whole = api.as_(ADA, "GET", path).json_body
    assert [s["id"] for s in whole["screenshots"]] == ["shot-0", "shot-1", "shot-3", "shot-4"]
    items, pages = walk(api, path, "screenshots", 3)
    assert [s["id"] for s in items] == ["shot-0", "shot-1", "shot-3", "shot-4"] and pages == 2
    other = api.invite()
    cursor = api.as_(ADA, "GET", path + "?limit=1").json_body["next"]
    answer = api.as_(ADA, "GET", f"/api/appointments/{other['id']}/screenshots?cursor={cursor}")
    assert answer.status_code == 400 and answer.json_body["error"]["field"] == "cursor"


def _dynamo() -> Any:
    from chalicelib.config import Settings
    from chalicelib.wiring import DynamoStores

    return DynamoStores.on(Settings.from_env()).appointments


def _a_window_of_its_own() -> Any:
    """A start for a few hours no other test books: 1 to 11 months ahead, at a random hour."""
    from datetime import UTC, datetime, timedelta

    draw = uuid.uuid4().int
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=30 + draw % 300, hours=(draw // 300) % 18, minutes=7)


def _schedule_walk(api: Api, path: str, email: str = ADA, limit: str = "") -> tuple[list[Any], list[int]]:
    items: list[Any] = []
    sizes: list[int] = []
    query = limit
    while True:
        answer = api.as_(email, "GET", path + query)
        assert answer.status_code == 200, answer.body
        assert set(answer.json_body) <= {"appointments", "next"}
        items.extend(answer.json_body["appointments"])
        sizes.append(len(answer.json_body["appointments"]))
        if "next" not in answer.json_body:
            return items, sizes
        query = f"{limit}&cursor={answer.json_body['next']}"


def test_a_schedule_of_more_than_a_hundred_comes_whole_and_in_order_through_the_cursor(api: Api) -> None:
    from datetime import timedelta
    from urllib.parse import quote

    from chalicelib.store.ports import schedule_position
    from tests.unit.factories import appointment

    repo = _dynamo()
    day = _a_window_of_its_own()
    # 130 in the caller's group, three at each start: a page can end inside a run of ties.
    made = [
        appointment(
            id=str(uuid.uuid4()),
            group="cardiology",
            starts_at=day + timedelta(minutes=5 * (n // 3)),
            link_token_hash=uuid.uuid4().hex,
            created_at=day - timedelta(days=1),
        )
        for n in range(130)
    ]
    for a in made:
        repo.add(a, a.audit_event("created", "ada", a.created_at))
    expected = [a.id for a in sorted(made, key=schedule_position)]

    def schedule(until: timedelta) -> str:
        return f"/api/appointments?from={quote(day.isoformat())}&to={quote((day + until).isoformat())}"

    path = schedule(timedelta(hours=6))

    items, sizes = _schedule_walk(api, path)
    assert sizes == [100, 30]  # default and greatest page: 100
    assert [a["id"] for a in items] == expected
    assert [a["starts_at"] for a in items] == sorted(a["starts_at"] for a in items)
    items, sizes = _schedule_walk(api, path, limit="&limit=40")
    assert [a["id"] for a in items] == expected and sizes == [40, 40, 40, 10]
    # What fits in one page has no `next`, a full page included.
    for query in ["", "&group=cardiology", "&limit=99"]:
        exact, sizes = _schedule_walk(api, schedule(timedelta(minutes=5 * 33 - 1)) + query)
        assert sizes == [99] and [a["id"] for a in exact] == expected[:99], query

    for limit in ["0", "101", "1000", "ten", "-5", ""]:
        answer = api.as_(ADA, "GET", f"{path}&limit={limit}")
        assert answer.status_code == 400, limit
        assert answer.json_body["error"] == {"code": "validation_error", "field": "limit",
                                             "message": answer.json_body["error"]["message"]}  # fmt: skip


def test_a_schedule_cursor_is_refused_for_another_caller_group_or_window_and_changes_nothing(
    api: Api,
) -> None:
    from datetime import timedelta
    from urllib.parse import quote

    day = _a_window_of_its_own()
    for n in range(3):
        api.invite(starts_at=(day + timedelta(minutes=15 * n)).isoformat())
        api.invite(
            "cyd@clinic.example", group="dermatology", starts_at=(day + timedelta(minutes=15 * n)).isoformat()
        )
    window = f"from={quote(day.isoformat())}&to={quote((day + timedelta(hours=2)).isoformat())}"
    path = f"/api/appointments?{window}"
    before = api.as_(ADA, "GET", path).json_body
    assert "next" not in before and len(before["appointments"]) == 3
    cursor = api.as_(ADA, "GET", path + "&limit=1").json_body["next"]

    refused = [
        ("cyd@clinic.example", f"{path}&cursor={cursor}"),  # another caller's groups
        (ADA, f"/api/appointments?from={quote(day.isoformat())}&cursor={cursor}"),  # the default `to`
        (ADA, f"{path}&cursor={cursor}x"),
        (ADA, f"{path}&cursor={cursor[:-2]}"),
        (ADA, f"{path}&cursor="),
        (ADA, f"{path}&cursor=" + "A" * 3000),
    ]
    for email, call in refused:
        answer = api.as_(email, "GET", call)
        assert answer.status_code == 400, call
        assert answer.json_body["error"]["code"] == "validation_error"
        assert answer.json_body["error"]["field"] == "cursor", call
    # A group the caller is not in stays forbidden, whatever the cursor.
    answer = api.as_(ADA, "GET", f"{path}&group=dermatology&cursor={cursor}")
    assert answer.status_code == 403
    assert api.as_(ADA, "GET", path).json_body == before
    assert len(api.as_("cyd@clinic.example", "GET", path).json_body["appointments"]) == 3


def test_screenshots_refuse_a_bad_cursor_or_limit(api: Api) -> None:
    created = api.invite()
    path = f"/api/appointments/{created['id']}/screenshots"
    assert api.as_(ADA, "GET", path).json_body == {"screenshots": []}
    for query in ["cursor=garbage!", "cursor=e30", "cursor=" + "x" * 5000]:
        answer = api.as_(ADA, "GET", f"{path}?{query}")
        assert answer.status_code == 400 and answer.json_body["error"]["field"] == "cursor", query
    for limit in ["0", "101", "two"]:
        answer = api.as_(ADA, "GET", f"{path}?limit={limit}")
        assert answer.status_code == 400 and answer.json_body["error"]["field"] == "limit", limit
    # Another clinic's appointment is not found before any cursor is read.
    answer = api.as_("cyd@clinic.example", "GET", f"{path}?cursor=garbage!")
    assert answer.status_code == 404
