"""The demo clinicians and author groups of API.md, created at every local start."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "Clinic-Demo-2026!"  # noqa: S105 - the public demo password of API.md, local run only
GROUPS = {"cardiology": "Cardiology", "dermatology": "Dermatology"}


@dataclass(frozen=True)
class DemoClinician:
    email: str
    name: str
    group: str


CLINICIANS = (
    DemoClinician("ada@clinic.example", "Ada Lovelace", "cardiology"),
    DemoClinician("ben@clinic.example", "Ben Okafor", "cardiology"),
    DemoClinician("cyd@clinic.example", "Cyd Charisse", "dermatology"),
)
