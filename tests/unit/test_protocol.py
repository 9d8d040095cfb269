"""The websocket protocol (eclinic_protocol) against its senders and receivers: each message
the server sends parses as one its receiver reads, the handler tables handle exactly what the
protocol says each role sends, the pages' protocol.js names the same types and m-line order,
and no message is built outside the package. No network; the page scripts are read as text."""

from __future__ import annotations

import ast
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api import bodies
from chalicelib.realtime.connections import Role
from eclinic_protocol import from_browser, from_worker, mlines, to_browser, to_worker
from eclinic_protocol.errors import ProtocolError
from tests.unit.factories import ADA, WORKER_SECRET, FakeWorld, invite_body, send

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "templates" / "pages" / "assets"
SENDS = {
    Role.CLINICIAN: from_browser.CLINICIAN_SENDS,
    Role.PATIENT: from_browser.PATIENT_SENDS,
    Role.GUEST: from_browser.GUEST_SENDS,
    Role.WORKER: from_worker.WORKER_SENDS,
}
RECEIVES = {
    Role.CLINICIAN: to_browser.CLINICIAN_RECEIVES,
    Role.PATIENT: to_browser.PATIENT_RECEIVES,
    Role.GUEST: to_browser.GUEST_RECEIVES,
    Role.WORKER: to_worker.WORKER_RECEIVES,
}


# -- the package on its own --------------------------------------------------------------------


def imports_of(package: Path) -> set[str]:
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_the_package_needs_the_standard_library_only() -> None:
    outside = imports_of(ROOT / "eclinic_protocol") - set(sys.stdlib_module_names) - {"eclinic_protocol"}
    assert not outside, f"eclinic_protocol imports {sorted(outside)}: both deployables must run it as is"


def test_the_worker_imports_nothing_of_the_server() -> None:
    assert not imports_of(ROOT / "media_worker") & {"chalicelib", "chalice", "pynamodb", "app"}


def test_an_offer_without_sdp_is_refused_naming_the_field() -> None:
    body = to_worker.Offer(appointment_id="a", seat="patient", sender="c1", sdp="v=0\r\n").to_json()
    del body["sdp"]
    with pytest.raises(ProtocolError) as refused:
        to_worker.WORKER_RECEIVES.parse(body)
    assert (refused.value.field, refused.value.message) == ("sdp", "`sdp` is required.")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "capture", "appointment_id": "a", "request_id": "r", "key": 7, "not_after": "x"}, "key"),
        ({"type": "candidate", "appointment_id": "a", "seat": "guest", "from": "c"}, "seat"),
        ({"type": "nonsense"}, "type"),
        ({"type": "worker_hello", "worker_id": "w", "capacity": True, "load": 0}, "capacity"),
    ],
)
def test_a_wrong_or_missing_field_is_named(body: dict[str, Any], field: str) -> None:
    registry = from_worker.WORKER_SENDS if body["type"] == "worker_hello" else to_worker.WORKER_RECEIVES
    with pytest.raises(ProtocolError) as refused:
        registry.parse(body)
    assert refused.value.field == field


def test_every_message_reads_back_what_it_sends() -> None:
    offer = to_worker.Offer(appointment_id="a", seat="clinician", sender="c1", peer_id="p", sdp="v=0\r\n")
    assert offer.to_json()["from"] == "c1"
    assert to_worker.Offer.parse(offer.to_json()) == offer
    state = to_browser.MediaState(appointment_id="a", audio=False, sender="patient", seat="patient")
    assert state.to_json() == {
        "type": "media_state",
        "appointment_id": "a",
        "audio": False,
        "from": "patient",
        "seat": "patient",
    }
    assert to_browser.MediaState.parse(state.to_json()) == state


# -- the server's handler tables ---------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_the_handler_table_of_each_role_handles_what_the_protocol_says_it_sends(role: Role) -> None:
    assert set(FakeWorld().live()._handlers(role)) == SENDS[role].types


# -- what the server sends, read by its receivers ------------------------------------------------


def a_day_of_messages(world: FakeWorld) -> None:
    """A notice, a call with signalling, chat, two screenshots, and the session's end."""
    live = world.live()
    appointment = world.service().invite(ADA, bodies.invite(invite_body()))
    aid = appointment.id
    live.connect("ada-1", {"id_token": ADA.email})
    live.connect("pat-1", {"token": world.token_of(appointment)})
    live.connect("conn-w1", {"worker_token": WORKER_SECRET})
    send(live, "conn-w1", **from_worker.WorkerHello(worker_id="w1", capacity=4, load=0).to_json())
    send(live, "ada-1", type="ping")
    send(live, "ada-1", type="notice", appointment_id=aid, text="Five minutes")
    send(live, "pat-1", type="device_check", appointment_id=aid, camera="ok", microphone="ok")
    send(live, "ada-1", type="take", appointment_id=aid)
    send(live, "ada-1", type="call", appointment_id=aid)
    for side, role in (("ada-1", "clinician"), ("pat-1", "patient")):
        send(live, side, type="offer", appointment_id=aid, peer_id="p", sdp="v=0\r\noffer")
        send(live, side, type="candidate", appointment_id=aid, peer_id="p", candidate=None)
        answer = from_worker.Answer(appointment_id=aid, to=side, sdp="v=0\r\nanswer", seat=role)
        send(live, "conn-w1", **answer.to_json())
        send(live, side, type="media_state", appointment_id=aid, audio=False, video_off="camera_off")
        send(live, side, type="quality", appointment_id=aid, level="fair", rtt_ms=120)
        send(live, side, type="chat", appointment_id=aid, text="Hello")
    send(live, "conn-w1", **from_worker.Renegotiate(appointment_id=aid, seat="clinician").to_json())
    for granted in (True, False):
        (requested,) = send(live, "ada-1", type="screenshot_request", appointment_id=aid)
        request_id = requested["request_id"]
        send(
            live,
            "pat-1",
            type="screenshot_consent",
            appointment_id=aid,
            request_id=request_id,
            granted=granted,
        )
    captured = from_worker.Captured(appointment_id=aid, request_id=request_id, width=640, height=480)
    send(live, "conn-w1", **captured.to_json())  # the denied one: a conflict, answered with `error`
    send(live, "ada-1", type="hangup", appointment_id=aid, mode="leave")


def test_every_message_the_server_sends_parses_as_its_receiver_reads_it() -> None:
    world = FakeWorld()
    a_day_of_messages(world)
    roles = {"ada-1": Role.CLINICIAN, "pat-1": Role.PATIENT, "conn-w1": Role.WORKER}
    seen: dict[Role, set[str]] = {role: set() for role in roles.values()}
    for connection_id, message in world.management.sent:
        role = roles[connection_id]
        RECEIVES[role].parse(message)  # raises ProtocolError on anything its receiver cannot read
        seen[role].add(message["type"])
    assert seen[Role.WORKER] == {"offer", "candidate", "capture", "end"}
    assert {"appointment", "call", "answer", "media_state", "quality", "chat"} <= seen[Role.CLINICIAN]
    assert {"notice", "status", "session_ended", "screenshot_request", "answer"} <= seen[Role.PATIENT]


def test_every_reply_parses_as_its_receiver_reads_it() -> None:
    world = FakeWorld()
    live = world.live()
    live.connect("ada-1", {"id_token": ADA.email})
    live.connect("conn-w1", {"worker_token": WORKER_SECRET})
    replies = [
        *send(live, "ada-1", type="ping"),
        *send(live, "ada-1", type="take"),  # error: no appointment_id
    ]
    for reply in replies:
        to_browser.CLINICIAN_RECEIVES.parse(reply)
    (welcome,) = send(
        live, "conn-w1", **from_worker.WorkerHello(worker_id="w1", capacity=1, load=0).to_json()
    )
    assert to_worker.WORKER_RECEIVES.parse(welcome) == to_worker.WorkerWelcome(worker_id="w1")


def test_no_message_is_built_outside_the_package() -> None:
    """Every `{"type": ...}` is a class of eclinic_protocol: a dict literal would escape the checks."""
    sources = [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "media_worker").rglob("*.py")]
    literals = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Dict)
        and any(isinstance(key, ast.Constant) and key.value == "type" for key in node.keys)
    ]
    assert not literals, f"messages built as dict literals (build them with eclinic_protocol): {literals}"


# -- the pages ---------------------------------------------------------------------------------


def js_object(name: str) -> dict[str, str]:
    text = (ASSETS / "protocol.js").read_text(encoding="utf-8")
    match = re.search(rf"export const {name} = Object\.freeze\(\{{(.*?)\}}\);", text, re.S)
    assert match, f"protocol.js has no `export const {name} = Object.freeze({{...}});`"
    return dict(re.findall(r'(\w+): "([a-z_]+)"', match.group(1)))


def js_list(text: str) -> list[str]:
    return re.findall(r'"([a-z]+)"', text)


def test_protocol_js_names_the_types_of_the_package() -> None:
    for name, registries in (
        ("ToServer", tuple(PAGE_SENDS.values())),
        ("FromServer", tuple(PAGE_RECEIVES.values())),
    ):
        names = js_object(name)
        assert all(key == value.upper() for key, value in names.items()), names
        assert set(names.values()) == set().union(*(r.types for r in registries)), name


def js_row(text: str, table: str, seat: str) -> list[str | None]:
    """One seat's row of a per-seat table of protocol.js (`seat: Object.freeze([...])`, the key
    quoted when it has a dash), its values strings or null."""
    body = re.search(rf"export const {table} = Object\.freeze\(\{{(.*?)\n\}}\);", text, re.S)
    assert body, f"protocol.js has no `export const {table} = Object.freeze({{...}});`"
    key = f'"{seat}"' if "-" in seat else seat
    row = re.search(rf"^\s*{re.escape(key)}: Object\.freeze\(\[(.*?)\]\)", body.group(1), re.M)
    assert row, f"{table} has no row for {seat}"
    return [
        None if item == "null" else item.strip('"') for item in re.findall(r'"[a-z0-9-]+"|null', row.group(1))
    ]


def test_protocol_js_states_the_m_line_layout_of_the_package() -> None:
    text = (ASSETS / "protocol.js").read_text(encoding="utf-8")
    order = re.search(r"export const M_LINES = Object\.freeze\(\[(.*?)\]\);", text)
    assert order and tuple(js_list(order.group(1))) == mlines.M_LINES
    seats = re.search(r"export const SEATS = Object\.freeze\(\[(.*?)\]\);", text)
    assert seats and tuple(re.findall(r'"([a-z0-9-]+)"', seats.group(1))) == mlines.SEATS
    assert set(mlines.PAGE_DIRECTIONS) == set(mlines.SEATS)
    for seat in mlines.SEATS:
        assert tuple(js_row(text, "PAGE_DIRECTIONS", seat)) == mlines.PAGE_DIRECTIONS[seat], seat
        sources = [mlines.m_line_source(seat, index) for index in range(mlines.MAX_M_LINES)]
        assert js_row(text, "M_LINE_SOURCES", seat) == sources, seat


def expected_m_lines(seat: str, taken: set[str], sharing: bool) -> list[str]:
    """The directions a `seat` page offers (the rule of mlines' docstring): its own m-lines,
    the screen (a clinician's only while sharing or while pairs follow it, `inactive` then),
    and a pair per further other seat up to the last one taken, `inactive` while empty."""
    others = mlines.other_seats(seat)
    last = max((k for k, other in enumerate(others) if k and other in taken), default=0)
    screen_sent = mlines.m_line_sent(seat, 2)
    count = len(mlines.M_LINES) + 2 * last if last or sharing or not screen_sent else 2
    directions = []
    for index in range(count):
        source = mlines.m_line_source(seat, index)
        if index == 2 and screen_sent:
            directions.append("sendonly" if sharing else "inactive")
        elif index < len(mlines.M_LINES) or source in taken:
            directions.append(mlines.page_direction(seat, index))
        else:
            directions.append("inactive")
    return directions


def test_the_pages_offer_the_m_lines_of_the_seats_taken() -> None:
    """call-layout.js, run by node for every seat and every set of other seats taken."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: `make test` installs it (apt-get install nodejs)")
    cases = [
        (seat, sorted(taken), sharing)
        for seat in mlines.SEATS
        for size in range(len(mlines.SEATS))
        for taken in itertools.combinations(mlines.other_seats(seat), size)
        for sharing in ((False, True) if seat == mlines.CLINICIAN else (False,))
    ]
    script = (
        f'import {{ pageMLines }} from "{(ASSETS / "call-layout.js").as_uri()}";\n'
        f"const cases = {json.dumps(cases)};\n"
        "console.log(JSON.stringify(cases.map(([seat, taken, sharing]) =>"
        " pageMLines(seat, new Set(taken), { sharing }).map((line) => line.direction))));\n"
    )
    run = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    for (seat, taken, sharing), found in zip(cases, json.loads(run.stdout), strict=True):
        assert found == expected_m_lines(seat, set(taken), sharing), (seat, taken, sharing)


def page_modules(entry: str) -> list[Path]:
    """The page's module graph: its entry script and everything it imports, transitively."""
    found: list[Path] = []
    pending = [ASSETS / entry]
    while pending:
        path = pending.pop()
        if path in found:
            continue
        found.append(path)
        imports = re.findall(r'^import .*?"\./([\w-]+\.js)";$', path.read_text(encoding="utf-8"), re.M)
        pending += [ASSETS / name for name in imports]
    return found


# The page of each role: its entry script, and the modules of that graph it never runs (a
# guest's link opens the patient's page, which wires patient-only.js for the patient alone).
PAGES = {
    "clinician": ("schedule.js", ()),
    "patient": ("visit.js", ()),
    "guest": ("visit.js", ("patient-only.js",)),
}
PAGE_SENDS = {
    "clinician": from_browser.CLINICIAN_SENDS,
    "patient": from_browser.PATIENT_SENDS,
    "guest": from_browser.GUEST_SENDS,
}
PAGE_RECEIVES = {
    "clinician": to_browser.CLINICIAN_RECEIVES,
    "patient": to_browser.PATIENT_RECEIVES,
    "guest": to_browser.GUEST_RECEIVES,
}


@pytest.mark.parametrize("role", list(PAGES))
def test_each_page_sends_what_its_role_may_and_handles_what_it_gets(role: str) -> None:
    entry, left_out = PAGES[role]
    modules = [path for path in page_modules(entry) if path.name not in left_out]
    text = "\n".join(path.read_text(encoding="utf-8") for path in modules)
    to_server, from_server = js_object("ToServer"), js_object("FromServer")
    sent = {to_server[key] for key in re.findall(r"\btype: ToServer\.(\w+)", text)}
    handled = {from_server[key] for key in re.findall(r"\bFromServer\.(\w+)", text)}
    assert sent == PAGE_SENDS[role].types, f"the {role}'s page ({entry}) sends {sorted(sent)}"
    missing = PAGE_RECEIVES[role].types - handled
    assert not missing, f"the server sends {sorted(missing)} to the {role} page, which never handles them"


def test_the_guest_page_runs_the_patient_only_module_for_the_patient_alone() -> None:
    """visit.js builds patient-only.js's parts only where the link is not a guest's."""
    text = (ASSETS / "visit.js").read_text(encoding="utf-8")
    uses = re.findall(r"^.*\b(?:ScreenshotConsent|reportDeviceCheck)\b.*$", text, re.M)
    uses = [line for line in uses if not line.startswith("import ")]
    assert uses and all(re.search(r"\bguest\b", line) for line in uses), uses


def test_the_pages_write_no_message_type_as_a_string() -> None:
    types = set().union(*(r.types for r in (*PAGE_SENDS.values(), *PAGE_RECEIVES.values())))
    found = []
    for path in ASSETS.glob("*.js"):
        for pattern in (r'\bcase "([a-z_]+)"', r'\btype [!=]== "([a-z_]+)"', r'\bref [!=]== "([a-z_]+)"'):
            found += [f"{path.name}: {t}" for t in re.findall(pattern, path.read_text()) if t in types]
        sends = re.findall(r'send\(\{\s*type: "([a-z_]+)"', path.read_text())
        found += [f"{path.name}: {t}" for t in sends]
    assert not found, f"use protocol.js's ToServer / FromServer instead of: {found}"
