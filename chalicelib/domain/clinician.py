"""The signed-in clinician and the author groups that bound what they may see.

A clinician *is* their user id (the Cognito `sub`): every check of who holds a session, every
channel and every audit record uses it. The email is for people to read, never to decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Clinician:
    id: str  # the Cognito `sub`: never changes, and the user cannot set it
    email: str
    name: str
    groups: frozenset[str]

    def require_member(self, group: str, field: str = "group") -> None:
        """Acting *for* a group the clinician is not in is forbidden (403)."""
        if group not in self.groups:
            raise Forbidden("You are not a member of that author group.", field)

    def require_visible(self, group: str) -> None:
        """Another group's appointment is reported as not found, never as forbidden."""
        if group not in self.groups:
            raise NotFound("No such appointment.")
