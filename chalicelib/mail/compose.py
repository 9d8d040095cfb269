"""Composes the patient's mails (and a guest's invitation) from `templates/email/` with jinja2,
and the .ics with icalendar.

A guest's mail is made from the same context with `guest` set: it goes to the guest, and its
templates get the guest's name and role but no `patient_name` at all (a template naming the
patient fails to render), so nothing of the patient reaches a guest.

Autoescaping is on for HTML templates, so a patient name like `<b>` prints as text. Headers
are set through `email.message.EmailMessage`, which refuses line breaks in header values, and
every name has already been checked for control characters; nothing a user types can add a
header. The calendar file comes from the `icalendar` library rather than hand-built text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import icalendar

from chalicelib.domain.appointment import Appointment
from chalicelib.domain.guest import ROLE_WORDS, Guest
from chalicelib.templating import environment

EMAIL_TEMPLATES = (
    "email/invitation.html",
    "email/invitation.txt",
    "email/cancellation.html",
    "email/cancellation.txt",
    "email/reminder.html",
    "email/reminder.txt",
    "email/guest_invitation.html",
    "email/guest_invitation.txt",
)


@dataclass(frozen=True)
class MailContext:
    appointment: Appointment
    group_name: str
    visit_url: str
    sender: str
    now: datetime
    guest: Guest | None = None  # a guest's invitation: to them, with their own link as visit_url

    def render(self, template: str) -> str:
        local = self.appointment.local_start()
        if self.guest is None:
            person = {"patient_name": self.appointment.patient_name}
        else:
            person = {"guest_name": self.guest.name, "guest_role": ROLE_WORDS[self.guest.role]}
        return (
            environment()
            .get_template(template)
            .render(
                **person,
                group_name=self.group_name,
                visit_url=self.visit_url,
                date=local.strftime("%A %d %B %Y"),
                time=local.strftime("%H:%M"),
                zone=zone_label(self.appointment.timezone, local),
                duration_minutes=self.appointment.duration_minutes,
                # Rescheduled at least once: the invitation says that the time is a new one.
                moved=self.appointment.calendar_sequence > 0,
            )
        )

    def envelope(self, subject: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.sender
        if self.guest is None:
            to = Address(display_name=self.appointment.patient_name, addr_spec=self.appointment.patient_email)
        else:
            to = Address(display_name=self.guest.name, addr_spec=self.guest.email or "")
        message["To"] = to
        message["Date"] = format_datetime(self.now)
        message["Message-ID"] = make_msgid(domain="eclinic")
        return message

    def when(self) -> str:
        local = self.appointment.local_start()
        return f"{local.strftime('%a %d %b %Y, %H:%M')} {local.tzname()}"


def zone_label(zone: str, local: datetime) -> str:
    """'Europe/Berlin, CET' names the zone and the abbreviation in force on that date."""
    abbreviation = local.tzname()
    return zone if not abbreviation or abbreviation == zone else f"{zone}, {abbreviation}"


def invitation(context: MailContext) -> EmailMessage:
    subject = f"Your video appointment with {context.group_name} on {context.when()}"
    if context.appointment.calendar_sequence > 0:
        subject = f"New time: {subject}"
    return _with_visit_button(context, subject, "email/invitation")


def guest_invitation(context: MailContext) -> EmailMessage:
    """A guest's invitation (`context.guest` set, with an email): the clinic, the time, the role."""
    subject = f"Invitation: video appointment with {context.group_name} on {context.when()}"
    return _with_visit_button(context, subject, "email/guest_invitation")


def reminder(context: MailContext) -> EmailMessage:
    """Before the start: the same button and the same calendar file as the invitation."""
    subject = f"Reminder: your video appointment with {context.group_name} on {context.when()}"
    return _with_visit_button(context, subject, "email/reminder")


def _with_visit_button(context: MailContext, subject: str, template: str) -> EmailMessage:
    """A mail with the waiting room's button (`template`.txt and .html) and the .ics."""
    message = context.envelope(subject)
    message.set_content(context.render(f"{template}.txt"))
    message.add_alternative(context.render(f"{template}.html"), subtype="html")
    _add_event(message, context)
    return message


def _add_event(message: EmailMessage, context: MailContext) -> None:
    message.add_attachment(
        calendar(context, cancelled=False),
        subtype="calendar",
        filename="appointment.ics",
        params={"method": "PUBLISH"},
    )


def cancellation(context: MailContext) -> EmailMessage:
    message = context.envelope(f"Cancelled: your video appointment on {context.when()}")
    message.set_content(context.render("email/cancellation.txt"))
    message.add_alternative(context.render("email/cancellation.html"), subtype="html")
    message.add_attachment(
        calendar(context, cancelled=True),
        subtype="calendar",
        filename="cancellation.ics",
        params={"method": "CANCEL"},
    )
    return message


def calendar(context: MailContext, cancelled: bool) -> str:
    appointment = context.appointment
    cal = icalendar.Calendar()
    cal.add("prodid", "-//eClinic//Video appointments//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = icalendar.Event()
    # A guest's event is their own (a family member may share the patient's calendar).
    guest = f"-{context.guest.id}" if context.guest else ""
    event.add("uid", f"{appointment.id}{guest}@eclinic")
    event.add("dtstamp", context.now)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"Video appointment with {context.group_name}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # The invitation's SEQUENCE is the appointment's (0, one more at each reschedule); a
    # cancellation is one more than the last one published, so calendars apply it.
    event.add("sequence", appointment.calendar_sequence + (1 if cancelled else 0))
    if not cancelled:
        event.add("url", context.visit_url)
        event.add("description", f"Join the virtual waiting room: {context.visit_url}")
    cal.add_component(event)
    return bytes(cal.to_ical()).decode()
