"""The m-lines of a call, in order: every browser's offer holds them in this order, and the
worker matches them by it (which m-line carries what is said nowhere in the SDP).

  audio   the microphone, both ways
  video   the camera, both ways
  screen  the clinician's screen share: the clinician's page sends it (an m-line it adds when
          sharing starts), the patient's page receives it (an m-line it offers from the start)

The pages' copy is `M_LINES` and `PAGE_DIRECTIONS` in templates/pages/assets/protocol.js,
checked against this one by tests/unit/test_protocol.py.
"""

from __future__ import annotations

AUDIO = "audio"
VIDEO = "video"
SCREEN = "screen"
M_LINES = (AUDIO, VIDEO, SCREEN)
VIDEO_SLOTS = (VIDEO, SCREEN)  # the video m-lines, in order

# What each side's page offers on each m-line, in M_LINES order.
PAGE_DIRECTIONS = {
    "patient": ("sendrecv", "sendrecv", "recvonly"),
    "clinician": ("sendrecv", "sendrecv", "sendonly"),
}
_MIRRORED = {"sendrecv": "sendrecv", "recvonly": "sendonly", "sendonly": "recvonly", "inactive": "inactive"}


def answer_direction(role: str, slot: str) -> str:
    """The worker's direction on a page's m-line: the mirror of what the page offers there."""
    return _MIRRORED[PAGE_DIRECTIONS[role][M_LINES.index(slot)]]
