"""A guest of a visit: an interpreter, a family member or a colleague the clinician invites by a
link of their own.

A guest is stored with its appointment and holds one of the call's two guest seats
(eclinic_protocol.mlines.GUEST_SEATS) until removed; their link (256 bits, only its hash kept)
opens that one appointment as that guest, never as the patient. At most MAX_GUESTS at a time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from eclinic_protocol.mlines import GUEST_SEATS

MAX_GUESTS = len(GUEST_SEATS)


class GuestRole(enum.StrEnum):
    INTERPRETER = "interpreter"
    FAMILY = "family"
    COLLEAGUE = "colleague"


# How the invitation names the role: "... with Cardiology as an interpreter on ...".
ROLE_WORDS = {
    GuestRole.INTERPRETER: "an interpreter",
    GuestRole.FAMILY: "a family member",
    GuestRole.COLLEAGUE: "a colleague",
}


class GuestStatus(enum.StrEnum):
    INVITED = "invited"
    ONLINE = "online"  # while a page of theirs is connected (LiveService keeps it)
    REMOVED = "removed"


@dataclass(frozen=True)
class Guest:
    id: str
    appointment_id: str
    name: str
    role: GuestRole
    email: str | None  # at least one of email and phone (E.164)
    phone: str | None
    seat: str  # one of GUEST_SEATS: the one held, and once removed the one last held
    status: GuestStatus
    link_token_hash: str
    invited_by: str  # the clinician's user id
    created_at: datetime
    removed_at: datetime | None = None

    @property
    def removed(self) -> bool:
        return self.status is GuestStatus.REMOVED

    def summary(self) -> GuestSummary:
        return GuestSummary(id=self.id, name=self.name, role=self.role, seat=self.seat, status=self.status)


@dataclass(frozen=True)
class GuestSummary:
    """What the appointment itself keeps of each guest not removed (`Appointment.guests`): the
    schedule row shows them without reading the guests, and the seats taken are known from the
    appointment alone, so adding a guest is conditional on the appointment's version."""

    id: str
    name: str
    role: GuestRole
    seat: str
    status: GuestStatus  # invited or online
