"""Phones, texts, reschedule and the reminder function end to end on moto: the REST answers,
the texts in SNS's outbox, the schedules in EventBridge Scheduler, and `send_reminder` invoked
with what a schedule carries, as Scheduler invokes it."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import settings_names as app_settings
from local import mailbox, texts
from tests.api.conftest import Api, invite_body
from tests.conftest import AwsStack
from tests.mail_parts import calendar_event, sequence_of

ADA, BEN, CYD = "ada@clinic.example", "ben@clinic.example", "cyd@clinic.example"


def mails_to(address: str) -> list[dict[str, Any]]:
    return [m for m in mailbox.messages() if address in m["to"]]


def texts_to(number: str) -> list[dict[str, Any]]:
    return [t for t in texts.messages() if t["to"] == number]


def link_in(text: str) -> str:
    match = re.search(r"http://testserver\.local(/visit/[A-Za-z0-9_-]{43})", text)
    assert match, text
    return match.group(1)


def ahead(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0).isoformat()


def schedules_of(aws: AwsStack, appointment_id: str) -> dict[str, dict[str, Any]]:
    """The appointment's reminder schedules in moto's EventBridge Scheduler, by kind."""
    client = aws.client("scheduler")
    group = aws.env[app_settings.REMINDER_GROUP]
    found = {}
    for summary in client.list_schedules(GroupName=group)["Schedules"]:
        if summary["Name"].startswith(appointment_id):
            schedule = client.get_schedule(Name=summary["Name"], GroupName=group)
            schedule.pop("ResponseMetadata", None)
            found[summary["Name"].removeprefix(f"{appointment_id}-")] = schedule
    return found


def fire(aws: AwsStack, appointment_id: str, kind: str = "1h") -> dict[str, str]:
    """What Scheduler does when the schedule's time comes: the function, with the schedule's input."""
    from app import send_reminder

    body = json.loads(schedules_of(aws, appointment_id)[kind]["Target"]["Input"])
    return dict(send_reminder(body, None))


def audit(api: Api, appointment_id: str) -> list[dict[str, Any]]:
    return list(api.as_(ADA, "GET", f"/api/appointments/{appointment_id}/audit").json_body["events"])


# -- phones and texts -----------------------------------------------------------------------


def test_an_invitation_with_a_phone_is_texted_with_the_link(api: Api) -> None:
    email = "pat.phone@example.com"
    created = api.invite(patient_email=email, patient_phone="+49 (30) 901820-11")
    assert created["patient_phone"] == "+493090182011" and created["patient_phone_opted_out"] is False
    assert created["invite"]["text_status"] == "sent"
    (text,) = texts_to("+493090182011")
    (mail,) = mails_to(email)
    assert link_in(text["text"]) == link_in(mail["text"])
    assert "Cardiology" in text["text"] and "Pat" not in text["text"]
    events = audit(api, created["id"])
    assert [e["action"] for e in events][-1] == "invitation_texted"
    assert "+49" not in json.dumps(events)


def test_an_invitation_without_a_phone_has_none(api: Api) -> None:
    created = api.invite(patient_email="pat.nophone@example.com")
    assert created["patient_phone"] is None and created["invite"]["text_status"] is None


@pytest.mark.parametrize("phone", ["030 901820", "+49 30", "call me", 4930901820, {"n": 1}])
def test_an_invalid_phone_is_400_and_changes_nothing(api: Api, phone: Any) -> None:
    email = "pat.badphone@example.com"
    before = api.as_(ADA, "GET", "/api/appointments").json_body["appointments"]
    sent_before = len(texts.messages())
    answer = api.as_(ADA, "POST", "/api/appointments", invite_body(patient_email=email, patient_phone=phone))
    assert answer.status_code == 400, answer.body
    assert answer.json_body["error"]["code"] == "validation_error"
    assert answer.json_body["error"]["field"] == "patient_phone" and answer.json_body["error"]["message"]
    assert api.as_(ADA, "GET", "/api/appointments").json_body["appointments"] == before
    assert not mails_to(email) and len(texts.messages()) == sent_before


def test_an_opted_out_number_is_shown_and_never_texted(api: Api) -> None:
    # moto keeps every number ending in 99 on the opt-out list, as if it had replied STOP.
    created = api.invite(patient_email="pat.stop@example.com", patient_phone="+4930901820099")
    assert created["patient_phone_opted_out"] is True and created["invite"]["text_status"] == "opted_out"
    assert created["invite"]["status"] == "sent" and texts_to("+4930901820099") == []
    assert [e["action"] for e in audit(api, created["id"])][-1] == "invitation_text_opted_out"


# -- reschedule ---------------------------------------------------------------------------


def test_reschedule_moves_mails_the_same_link_and_audits(api: Api, aws: AwsStack) -> None:
    email = "pat.moved@example.com"
    created = api.invite(patient_email=email, patient_phone="+493090182012", starts_at=ahead(days=2))
    new_start = ahead(days=3)
    moved = api.as_(BEN, "POST", f"/api/appointments/{created['id']}/reschedule", {"starts_at": new_start})
    assert moved.status_code == 200, moved.body
    body = moved.json_body
    assert body["starts_at"] == datetime.fromisoformat(new_start).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["status"] == "scheduled" and body["invite"]["count"] == 2
    first, second = mails_to(email)
    assert link_in(first["text"]) == link_in(second["text"]) and second["subject"].startswith("New time:")
    sequences = []
    for mail in (first, second):
        ics_event = calendar_event(_parsed(mail["id"]))
        assert str(ics_event["UID"]) == f"{created['id']}@eclinic"
        sequences.append(sequence_of(ics_event))
    assert sequences == [0, 1]
    assert len(texts_to("+493090182012")) == 2
    (event,) = [e for e in audit(api, created["id"]) if e["action"] == "rescheduled"]
    assert event["actor"] == BEN and event["detail"]["to_starts_at"] == body["starts_at"]
    assert event["detail"]["from_starts_at"] == created["starts_at"]
    # The reminders moved with it.
    expressions = {k: s["ScheduleExpression"] for k, s in schedules_of(aws, created["id"]).items()}
    due = datetime.fromisoformat(new_start).astimezone(UTC)
    assert expressions == {
        "24h": f"at({(due - timedelta(hours=24)).strftime('%Y-%m-%dT%H:%M:%S')})",
        "1h": f"at({(due - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%S')})",
    }


def _parsed(message_id: str) -> Any:
    import email
    import email.policy

    from moto.ses.models import ses_backends

    from local.aws_standin import ACCOUNT_ID, REGION

    (sent,) = [m for m in ses_backends[ACCOUNT_ID][REGION].sent_messages if m.id == message_id]
    raw = sent.raw_data if isinstance(sent.raw_data, bytes) else sent.raw_data.encode()
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "starts_at"),
        ({"starts_at": "next week"}, "starts_at"),
        ({"starts_at": "2027-01-05T10:00:00"}, "starts_at"),
        ({"starts_at": "2020-01-01T10:00:00Z"}, "starts_at"),
        ({"starts_at": "2099-01-01T10:00:00Z"}, "starts_at"),
        ({"starts_at": "+3d", "duration_minutes": 3}, "duration_minutes"),
        ({"starts_at": "+3d", "duration_minutes": 241}, "duration_minutes"),
        ({"starts_at": "+3d", "timezone": "Europe/Atlantis"}, "timezone"),
    ],
)
def test_each_bad_reschedule_is_400_and_changes_nothing(
    api: Api, aws: AwsStack, body: dict[str, Any], field: str
) -> None:
    email = f"pat.badmove.{uuid.uuid4().hex[:8]}@example.com"
    created = api.invite(patient_email=email)
    if body.get("starts_at") == "+3d":
        body = body | {"starts_at": ahead(days=3)}
    schedules = schedules_of(aws, created["id"])
    answer = api.as_(ADA, "POST", f"/api/appointments/{created['id']}/reschedule", body)
    assert answer.status_code == 400, answer.body
    assert (
        answer.json_body["error"]["code"] == "validation_error"
        and answer.json_body["error"]["field"] == field
    )
    assert api.as_(ADA, "GET", f"/api/appointments/{created['id']}").json_body == created
    assert len(mails_to(email)) == 1 and schedules_of(aws, created["id"]) == schedules


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"2027-01-05T10:00:00Z"'])
def test_a_malformed_reschedule_body_is_400(api: Api, raw: bytes) -> None:
    created = api.invite()
    answer = api.call("POST", f"/api/appointments/{created['id']}/reschedule", raw=raw, token=api.token(ADA))
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "validation_error"
    assert api.as_(ADA, "GET", f"/api/appointments/{created['id']}").json_body == created


@pytest.mark.parametrize("end", ["cancel", "complete"])
def test_an_ended_appointment_cannot_be_rescheduled(api: Api, end: str) -> None:
    created = api.invite()
    ended = api.as_(ADA, "POST", f"/api/appointments/{created['id']}/{end}").json_body
    answer = api.as_(
        ADA, "POST", f"/api/appointments/{created['id']}/reschedule", {"starts_at": ahead(days=3)}
    )
    assert answer.status_code == 409 and answer.json_body["error"]["code"] == "conflict"
    assert "rescheduled" in answer.json_body["error"]["message"]
    assert api.as_(ADA, "GET", f"/api/appointments/{created['id']}").json_body == ended


def test_another_groups_or_an_unknown_appointment_is_404(api: Api) -> None:
    created = api.invite()
    for who, appointment_id in ((CYD, created["id"]), (ADA, "5d0d1c5e-0000-4000-8000-000000000000")):
        answer = api.as_(
            who, "POST", f"/api/appointments/{appointment_id}/reschedule", {"starts_at": ahead(days=3)}
        )
        assert answer.status_code == 404 and answer.json_body["error"]["code"] == "not_found"
    assert api.as_(ADA, "GET", f"/api/appointments/{created['id']}").json_body == created


# -- the reminder function ------------------------------------------------------------------


def test_invite_plans_the_reminders_still_ahead_as_one_time_schedules(api: Api, aws: AwsStack) -> None:
    created = api.invite(starts_at=ahead(hours=30))
    schedules = schedules_of(aws, created["id"])
    assert sorted(schedules) == ["1h", "24h"]
    for schedule in schedules.values():
        assert schedule["ActionAfterCompletion"] == "DELETE" and schedule["FlexibleTimeWindow"] == {
            "Mode": "OFF"
        }
        assert schedule["Target"]["Arn"] == aws.env[app_settings.REMINDER_FUNCTION_ARN]
        assert schedule["Target"]["RoleArn"] == aws.env[app_settings.REMINDER_ROLE_ARN]
    soon = api.invite(starts_at=ahead(minutes=50))
    assert schedules_of(aws, soon["id"]) == {}


def test_a_due_reminder_mails_and_texts_once_and_is_audited(api: Api, aws: AwsStack) -> None:
    email, phone = "pat.remind@example.com", "+493090182013"
    created = api.invite(patient_email=email, patient_phone=phone)
    assert fire(aws, created["id"]) == {"status": "sent"}
    invitation, reminder = mails_to(email)
    assert reminder["subject"].startswith("Reminder: your video appointment with Cardiology")
    assert link_in(reminder["text"]) == link_in(invitation["text"])
    assert [a["filename"] for a in reminder["attachments"]] == ["appointment.ics"]
    assert len(texts_to(phone)) == 2 and texts_to(phone)[-1]["text"].startswith("Reminder:")
    (sent,) = [e for e in audit(api, created["id"]) if e["action"] == "reminder_sent"]
    assert sent["detail"] == {"kind": "1h", "text_status": "sent"} and sent["actor"] == "system"
    # Retried (or fired twice): nothing more.
    assert fire(aws, created["id"]) == {"status": "not_due"}
    assert len(mails_to(email)) == 2 and len(texts_to(phone)) == 2


def test_a_cancelled_appointment_keeps_no_schedule_and_a_stale_one_sends_nothing(
    api: Api, aws: AwsStack
) -> None:
    from app import send_reminder

    email = "pat.cancelled.reminder@example.com"
    created = api.invite(patient_email=email, patient_phone="+493090182014")
    stale = json.loads(schedules_of(aws, created["id"])["1h"]["Target"]["Input"])
    api.as_(ADA, "POST", f"/api/appointments/{created['id']}/cancel")
    assert schedules_of(aws, created["id"]) == {}
    mails, sent = len(mails_to(email)), len(texts_to("+493090182014"))
    assert send_reminder(stale, None) == {"status": "not_due"}
    assert (len(mails_to(email)), len(texts_to("+493090182014"))) == (mails, sent)


def test_a_moved_appointments_old_reminder_sends_nothing(api: Api, aws: AwsStack) -> None:
    from app import send_reminder

    email = "pat.moved.reminder@example.com"
    created = api.invite(patient_email=email)
    stale = json.loads(schedules_of(aws, created["id"])["1h"]["Target"]["Input"])
    api.as_(ADA, "POST", f"/api/appointments/{created['id']}/reschedule", {"starts_at": ahead(hours=5)})
    assert send_reminder(stale, None) == {"status": "not_due"}
    assert len(mails_to(email)) == 2  # the invitation and its new time, no reminder
    assert fire(aws, created["id"]) == {"status": "sent"}  # the schedule of the new time


def test_an_opted_out_patient_is_reminded_by_mail_only(api: Api, aws: AwsStack) -> None:
    email = "pat.stop.reminder@example.com"
    created = api.invite(patient_email=email, patient_phone="+4930901820199")
    assert fire(aws, created["id"]) == {"status": "sent"}
    assert len(mails_to(email)) == 2 and texts_to("+4930901820199") == []


@pytest.mark.parametrize("event", [{}, {"appointment_id": "x"}, {"detail": {}}, []])
def test_a_malformed_schedule_input_is_refused(event: Any, aws: AwsStack) -> None:
    from app import send_reminder

    sent = len(mailbox.messages())
    assert send_reminder(event, None) == {"status": "refused"}
    assert len(mailbox.messages()) == sent


def test_a_refused_reminder_mail_fails_the_invocation_for_a_retry(api: Api, aws: AwsStack) -> None:
    from chalicelib.usecases.reminders import ReminderNotSent

    email = "pat.refused.reminder@example.com"
    created = api.invite(patient_email=email)
    ses = aws.client("ses")
    ses.delete_identity(Identity="no-reply@clinic.example")
    try:
        with pytest.raises(ReminderNotSent):
            fire(aws, created["id"])
    finally:
        ses.verify_email_identity(EmailAddress="no-reply@clinic.example")
    assert [e["action"] for e in audit(api, created["id"])][-1] == "reminder_failed"
    assert fire(aws, created["id"]) == {"status": "sent"}  # the retry
    assert len(mails_to(email)) == 2
