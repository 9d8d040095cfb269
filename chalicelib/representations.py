"""The contract's JSON shapes (API.md), built from domain objects in one place.

REST answers and websocket pushes both use these, so a client sees one Appointment shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.device_check import DeviceCheck
from chalicelib.domain.guest import Guest, GuestSummary
from chalicelib.domain.task import Task
from chalicelib.domain.timeutil import iso_utc
from eclinic_protocol import to_browser
from eclinic_protocol.mlines import PATIENT


def appointment(a: Appointment) -> dict[str, Any]:
    return {
        "id": a.id,
        "group": a.group,
        "starts_at": iso_utc(a.starts_at),
        "duration_minutes": a.duration_minutes,
        "timezone": a.timezone,
        "patient_name": a.patient_name,
        "patient_email": a.patient_email,
        "patient_phone": a.patient_phone,
        # Not in API.md's list: the number replied STOP, so no text reaches it (README, "Texts").
        "patient_phone_opted_out": a.patient_phone_opted_out,
        "status": a.status.value,
        "waiting_since": iso_utc(a.waiting_since) if a.waiting_since else None,
        "taken_by": a.taken_by,
        # Not in API.md's list: the colleague's display name for "Session running with ...".
        "taken_by_name": a.taken_by_name,
        "invited_by": a.invited_by,
        "invite": {
            "status": a.invite.status.value,
            "count": a.invite.count,
            "last_sent_at": iso_utc(a.invite.last_sent_at) if a.invite.last_sent_at else None,
            # Not in API.md: the invitation's text, sent/failed/opted_out (null without a phone).
            "text_status": a.invite.text_status.value if a.invite.text_status else None,
        },
        "created_at": iso_utc(a.created_at),
        "updated_at": iso_utc(a.updated_at),
        # Not in API.md's list: what the patient's device check found (README, "Device check").
        "device_check": device_check(a.device_check),
        # The guests not removed (invited or online), for the schedule row: kept on the
        # appointment itself, so a schedule page needs no read per appointment.
        "guests": [guest(g) for g in a.guests],
    }


def guest(g: Guest | GuestSummary) -> dict[str, Any]:
    """A guest as the clinician sees it (API.md): never their email, phone or link."""
    return {"id": g.id, "name": g.name, "role": g.role.value, "status": g.status.value}


def device_check(check: DeviceCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {"camera": check.camera, "microphone": check.microphone, "at": iso_utc(check.at)}


def visit(a: Appointment, group_name: str, as_guest: Guest | None = None) -> dict[str, Any]:
    """What a link may see: the patient's own appointment, nothing of the clinic's, and who
    opens it (`participant`). A guest's view has the same fields, but `patient_name` is ""
    (docs/api.md): a guest learns who is in the call from the call itself."""
    participant: dict[str, Any] = {"role": "patient"}
    if as_guest is not None:
        participant = {"role": "guest", "name": as_guest.name, "guest_role": as_guest.role.value}
    return {
        "participant": participant,
        # Beyond API.md: the page's seat in the call, by which it lays out its m-lines and tiles.
        "seat": as_guest.seat if as_guest is not None else PATIENT,
        "appointment": {
            "id": a.id,
            "starts_at": iso_utc(a.starts_at),
            "duration_minutes": a.duration_minutes,
            "timezone": a.timezone,
            "group_name": group_name,
            "patient_name": a.patient_name if as_guest is None else "",
            "status": a.status.value,
            # Not in API.md's list: so that the waiting room can say how long the patient waited.
            "waiting_since": iso_utc(a.waiting_since) if a.waiting_since else None,
        },
    }


def task(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "appointment_id": t.appointment_id,
        "title": t.title,
        "note": t.note,
        "created_by": t.created_by,
        "created_at": iso_utc(t.created_at),
    }


@overload
def instant(value: datetime) -> str: ...
@overload
def instant(value: datetime | None) -> str | None: ...
def instant(value: datetime | None) -> str | None:
    """Microsecond precision, UTC, ending in Z: for events that may share a second."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def audit_event(e: AuditEvent) -> dict[str, Any]:
    return {
        "at": instant(e.at),
        # Who, for people to read (a clinician's email then, "patient", "system"), and who it
        # really was: a clinician's user id, which no one can change.
        "actor": e.actor_email or e.actor,
        "actor_id": e.actor,
        "action": e.action,
        "from": e.from_status.value,
        "to": e.to_status.value,
        # Not in API.md: what else the action records (a reminder's kind, the old and new time
        # of a reschedule); never patient data.
        "detail": dict(e.detail) if e.detail else None,
    }


def user(c: Clinician, group_names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "email": c.email,
        "name": c.name,
        "groups": [{"id": g, "name": group_names.get(g, g)} for g in sorted(c.groups)],
    }


def chat(m: ChatMessage) -> dict[str, Any]:
    """A chat line: the websocket's `chat` push, and each item of the REST chat history."""
    return to_browser.Chat(
        appointment_id=m.appointment_id,
        id=m.id,
        sender=m.sender_role,
        seat=m.seat,
        name=m.sender_name,
        text=m.text,
        at=instant(m.at),
    ).to_json()


def notice(appointment_id: str, text: str, from_name: str, at: datetime) -> dict[str, Any]:
    """A clinician's notice to a waiting patient (API.md's `notice`, as the patient gets it)."""
    return to_browser.Notice(
        appointment_id=appointment_id, text=text, from_name=from_name, at=instant(at)
    ).to_json()
