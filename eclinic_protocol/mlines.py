"""The seats of a call and the order of its m-lines: every browser's offer holds its m-lines in
this order, and the worker matches them by it (which m-line carries what is said nowhere in
the SDP).

A call has four seats: the clinician's, the patient's and two guests' (an interpreter, a family
member, a colleague: `guest-1` and `guest-2`, the lowest one free when a guest is added). A
page's m-lines, in order:

  0  audio   its microphone out, and the first other seat's microphone in
  1  video   its camera out, and the first other seat's camera in
  2  screen  the clinician's screen share: the clinician's page sends it (an m-line it adds
             when sharing starts, or `inactive` while it needs the m-lines after it), every
             other page receives it (an m-line it offers from the start)
  3  audio   the second other seat's microphone in
  4  video   the second other seat's camera in
  5  audio   the third other seat's microphone in
  6  video   the third other seat's camera in

"The other seats" are SEATS without the page's own, in SEATS order: the patient's page gets
the clinician on m-lines 0-1, guest-1 on 3-4 and guest-2 on 5-6. A page adds the pair of an
other seat when that seat is taken (`participants`), with every pair before it, and sets a pair
`inactive` when its seat empties (an m-line is never removed; the next guest of that seat
takes it up again); either way it offers again, so a join or a leave renegotiates.

The pages' copy is `SEATS`, `M_LINES`, `PAGE_DIRECTIONS` and `mLineSources` in
templates/pages/assets/protocol.js, checked against this one by tests/unit/test_protocol.py.
"""

from __future__ import annotations

AUDIO = "audio"
VIDEO = "video"
SCREEN = "screen"
M_LINES = (AUDIO, VIDEO, SCREEN)  # the first three m-lines, on every page
VIDEO_SLOTS = (VIDEO, SCREEN)  # the video m-lines among those, in order

CLINICIAN = "clinician"
PATIENT = "patient"
GUEST_SEATS = ("guest-1", "guest-2")
SEATS = (CLINICIAN, PATIENT, *GUEST_SEATS)
MAX_M_LINES = len(M_LINES) + 2 * (len(SEATS) - 2)

# What each seat's page offers on the first three m-lines, in M_LINES order; every m-line after
# them is `recvonly` (or `inactive`, its seat empty).
PAGE_DIRECTIONS = {
    PATIENT: ("sendrecv", "sendrecv", "recvonly"),
    CLINICIAN: ("sendrecv", "sendrecv", "sendonly"),
    **{seat: ("sendrecv", "sendrecv", "recvonly") for seat in GUEST_SEATS},
}
_MIRRORED = {"sendrecv": "sendrecv", "recvonly": "sendonly", "sendonly": "recvonly", "inactive": "inactive"}


def other_seats(seat: str) -> tuple[str, ...]:
    """The seats whose media a page of `seat` receives, in the order of its m-line pairs."""
    return tuple(other for other in SEATS if other != seat)


def m_line_slot(index: int) -> str:
    """What the m-line at `index` carries: AUDIO, VIDEO or SCREEN."""
    if index < len(M_LINES):
        return M_LINES[index]
    return AUDIO if (index - len(M_LINES)) % 2 == 0 else VIDEO


def m_line_source(seat: str, index: int) -> str | None:
    """The seat whose media the m-line at `index` of a `seat` page receives; None for the
    clinician's own screen share (nothing comes back on it)."""
    if index == M_LINES.index(SCREEN):
        return None if seat == CLINICIAN else CLINICIAN
    if index < len(M_LINES):
        return other_seats(seat)[0]
    return other_seats(seat)[1 + (index - len(M_LINES)) // 2]


def m_line_sent(seat: str, index: int) -> bool:
    """Whether the page of `seat` sends its own media on the m-line at `index`."""
    if index == M_LINES.index(SCREEN):
        return seat == CLINICIAN
    return index < len(M_LINES)


def page_direction(seat: str, index: int) -> str:
    """What the page of `seat` offers on the m-line at `index` (its seat taken)."""
    if index < len(M_LINES):
        return PAGE_DIRECTIONS[seat][index]
    return "recvonly"


def answer_direction(seat: str, index: int, offered: str | None = None) -> str:
    """The worker's direction on a page's m-line: the mirror of what the page offers there
    (`offered`, when the page set it `inactive`, or else what the seat's page offers)."""
    return _MIRRORED[offered or page_direction(seat, index)]
