"""The docs in `docs/` against the code: what the code writes or reads must be named there.

Each check finds its names in the code itself (the Python source read with `ast`, or the
objects imported: the websocket messages from eclinic_protocol's registries), so a new audit
action, state, transition, websocket message type or field, or setting fails here until the
docs name it. No AWS, no network.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
APP_SOURCES = sorted([ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")])


def doc(name: str) -> str:
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing"
    return path.read_text(encoding="utf-8")


def backticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", text))


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def strings_in(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub.value


# -- (a) audit actions -------------------------------------------------------------------------


def module_constants(trees: dict[Path, ast.Module]) -> dict[str, ast.expr]:
    """Module-level `NAME = value` assignments of every module, by name."""
    found: dict[str, ast.expr] = {}
    for tree in trees.values():
        for statement in tree.body:
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = statement.value
            elif (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.value is not None
            ):
                found[statement.target.id] = statement.value
    return found


def local_assignments(function: ast.AST, name: str) -> list[ast.expr]:
    return [
        node.value
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    ]


def action_strings(
    argument: ast.expr, function: ast.AST | None, constants: dict[str, ast.expr], where: str
) -> set[str]:
    """The action strings an argument of `audit_event(...)` can be."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return {argument.value}
    if isinstance(argument, ast.Call):
        return set()  # an AuditEvent made by an inner `audit_event(...)` call, which is scanned itself
    if isinstance(argument, ast.IfExp):
        return action_strings(argument.body, function, constants, where) | action_strings(
            argument.orelse, function, constants, where
        )
    if isinstance(argument, ast.Subscript) and isinstance(argument.value, ast.Name):
        table = constants.get(argument.value.id)
        assert isinstance(table, ast.Dict), f"{where}: cannot resolve the action table {argument.value.id}"
        return {v.value for v in table.values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    if isinstance(argument, ast.Attribute) and argument.attr.isupper():
        value = constants.get(argument.attr)
        assert value is not None, f"{where}: cannot resolve the action constant {argument.attr}"
        return action_strings(value, None, constants, where)
    if isinstance(argument, ast.Name) and argument.id.isupper() and argument.id in constants:
        return action_strings(constants[argument.id], None, constants, where)
    if isinstance(argument, ast.Name) and function is not None:
        values = local_assignments(function, argument.id)
        if values:
            return set().union(*(action_strings(v, function, constants, where) for v in values))
    if isinstance(argument, ast.Attribute) and argument.attr == "value":
        return set()  # `move.value`: every Move value is checked on its own
    raise AssertionError(f"{where}: an audit action this test cannot resolve: {ast.unparse(argument)}")


def written_audit_actions() -> dict[str, str]:
    """Every audit action string the code writes, with where it is written."""
    trees = {path: parse(path) for path in APP_SOURCES}
    constants = module_constants(trees)
    found: dict[str, str] = {}
    for path, tree in trees.items():
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name != "audit_event":
                continue
            receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
            if isinstance(receiver, ast.Name) and receiver.id == "representations":
                continue  # the JSON of a stored event, not an event being made
            argument = next((k.value for k in call.keywords if k.arg == "action"), None)
            if argument is None and call.args:
                argument = call.args[0]
            if argument is None:
                continue
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            around = [f for f in functions if f.lineno <= call.lineno <= (f.end_lineno or f.lineno)]
            enclosing = max(around, key=lambda f: f.lineno, default=None)  # the innermost
            for action in action_strings(argument, enclosing, constants, where):
                found.setdefault(action, where)
    return found


def test_the_scan_finds_the_audit_actions_it_must() -> None:
    """Guards the scanner itself: a scan that found nothing would pass every check below."""
    found = written_audit_actions()
    for action in ("created", "invitation_sent", "invitation_texted", "notice_sent", "screenshot_denied"):
        assert action in found, f"the audit scan no longer finds `{action}`; fix the scan in {__file__}"


def test_every_audit_action_the_code_writes_is_in_audit_md() -> None:
    from chalicelib.domain.appointment import Move

    written = written_audit_actions()
    for move in Move:
        written.setdefault(move.value, "chalicelib/domain/appointment.py: Move")
    documented = backticked(doc("audit.md"))
    missing = {a: w for a, w in sorted(written.items()) if a not in documented}
    listed = ", ".join(f"`{a}` ({w})" for a, w in missing.items())
    assert not missing, f"docs/audit.md does not name these audit actions (action: where written): {listed}"


def test_audit_md_lists_no_action_the_code_no_longer_writes() -> None:
    from chalicelib.domain.appointment import Move

    written = set(written_audit_actions()) | {m.value for m in Move}
    text = doc("audit.md")
    assert "\n## Moves" in text, "docs/audit.md has no '## Moves' section (the action tables start there)"
    actions_part = text.split("\n## Moves", 1)[1]  # above it: the table of an event's fields
    rows = re.findall(r"^\|\s*`([a-z_]+)`\s*\|", actions_part, flags=re.MULTILINE)
    assert rows, "docs/audit.md has no table rows starting with an action in backticks"
    stale = sorted(set(rows) - written)
    assert not stale, f"docs/audit.md lists actions the code does not write: {stale}"


# -- (b) states and transitions ----------------------------------------------------------------


def test_every_status_is_in_states_md() -> None:
    from chalicelib.domain.appointment import Status

    documented = backticked(doc("states.md"))
    missing = [s.value for s in Status if s.value not in documented]
    assert not missing, f"docs/states.md does not name these statuses: {missing}"


def test_every_transition_is_a_row_and_an_arrow_in_states_md() -> None:
    from chalicelib.domain.appointment import TRANSITIONS

    text = doc("states.md")
    for (source, move), target in TRANSITIONS.items():
        row = rf"^\|\s*`{source.value}`\s*\|\s*`{move.value}`\s*\|\s*`{target.value}`\s*\|"
        assert re.search(row, text, flags=re.MULTILINE), (
            f"docs/states.md has no table row | `{source.value}` | `{move.value}` | `{target.value}` |"
        )
        arrow = rf"^\s*{source.value} --> {target.value} : {move.value}\s*$"
        assert re.search(arrow, text, flags=re.MULTILINE), (
            f"docs/states.md's stateDiagram has no line `{source.value} --> {target.value} : {move.value}`"
        )


def test_states_md_has_no_transition_the_table_lacks() -> None:
    from chalicelib.domain.appointment import TRANSITIONS

    table = {(s.value, m.value, t.value) for (s, m), t in TRANSITIONS.items()}
    rows = set(
        re.findall(r"^\|\s*`([a-z_]+)`\s*\|\s*`([a-z_]+)`\s*\|\s*`([a-z_]+)`\s*\|", doc("states.md"), re.M)
    )
    assert rows, "docs/states.md has no transition table"
    stale = sorted(rows - table)
    assert not stale, f"docs/states.md lists transitions that TRANSITIONS does not have: {stale}"


@pytest.mark.parametrize("name", ["FINAL_STATES", "RESCHEDULABLE"])
def test_final_and_reschedulable_states_are_in_states_md(name: str) -> None:
    from chalicelib.domain import appointment

    members = sorted(s.value for s in getattr(appointment, name))
    lines = [line for line in doc("states.md").splitlines() if f"`{name}` =" in line]
    assert lines, f"docs/states.md has no line saying `{name}` = ..."
    named = backticked(lines[0])
    missing = [m for m in members if m not in named]
    assert not missing, f"docs/states.md's `{name}` line does not name {missing} (the code has {members})"


# -- (c) websocket message types ---------------------------------------------------------------

# Each table of protocol.md, with the registry of eclinic_protocol it describes, and for the
# tables of messages the server handles the role whose handler table it is.
TABLES = {
    "Clinician browser to server": ("from_browser", "CLINICIAN_SENDS", "clinician"),
    "Patient browser to server": ("from_browser", "PATIENT_SENDS", "patient"),
    "Guest browser to server": ("from_browser", "GUEST_SENDS", "guest"),
    "Media worker to server": ("from_worker", "WORKER_SENDS", "worker"),
    "Server to clinician browser": ("to_browser", "CLINICIAN_RECEIVES", None),
    "Server to patient browser": ("to_browser", "PATIENT_RECEIVES", None),
    "Server to guest browser": ("to_browser", "GUEST_RECEIVES", None),
    "Server to media worker": ("to_worker", "WORKER_RECEIVES", None),
}
# Rows that say "as the clinician's" take their fields from this table's row of the same type.
SAME_AS = {
    "Patient browser to server": "Clinician browser to server",
    "Server to patient browser": "Server to clinician browser",
    "Guest browser to server": "Clinician browser to server",
    "Server to guest browser": "Server to clinician browser",
}


def section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"docs/protocol.md has no section '## {heading}'"
    return match.group(1)


def table_rows(heading: str) -> dict[str, list[str]]:
    """The section's table rows by message type (a row may name several), as lists of cells."""
    rows: dict[str, list[str]] = {}
    for line in section(doc("protocol.md"), heading).splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            for kind in re.findall(r"`([a-z_]+)`", cells[0]):
                rows[kind] = cells
    return rows


def registry(heading: str) -> Any:
    import importlib

    module, name, _ = TABLES[heading]
    return getattr(importlib.import_module(f"eclinic_protocol.{module}"), name)


@pytest.mark.parametrize("heading", list(TABLES))
def test_each_table_of_protocol_md_has_one_row_per_message_type_of_its_direction(heading: str) -> None:
    rows, defined = set(table_rows(heading)), registry(heading).types
    assert not defined - rows, f"docs/protocol.md, '{heading}', has no row for {sorted(defined - rows)}"
    assert not rows - defined, (
        f"docs/protocol.md, '{heading}', lists {sorted(rows - defined)}, not in {TABLES[heading][1]}"
    )


@pytest.mark.parametrize("heading", list(TABLES))
def test_each_row_of_protocol_md_names_every_field_of_its_message(heading: str) -> None:
    rows = table_rows(heading)
    for kind, message in registry(heading).by_type.items():
        fields = rows[kind][1]
        if fields.startswith("as ") and heading in SAME_AS:
            fields = table_rows(SAME_AS[heading])[kind][1]
        missing = [f for f in message.wire_fields() if f not in backticked(fields)]
        assert not missing, f"docs/protocol.md, '{heading}', row `{kind}` does not name the fields {missing}"


@pytest.mark.parametrize("heading", [h for h, (_, _, role) in TABLES.items() if role])
def test_each_row_of_protocol_md_names_the_handler_of_its_message(heading: str) -> None:
    from chalicelib.realtime.connections import Role
    from tests.unit.factories import FakeWorld

    role = TABLES[heading][2]
    assert role is not None
    handlers = FakeWorld().live()._handlers(Role(role))
    rows = table_rows(heading)
    for kind, route in handlers.items():
        named = route.handle.__qualname__
        assert f"`{named}`" in rows[kind][2], (
            f"docs/protocol.md, '{heading}', row `{kind}` names the handler {rows[kind][2]}; it is `{named}`"
        )


def test_the_pages_table_of_protocol_md_matches_the_page_scripts() -> None:
    """Each module the table names sends and handles (by protocol.js's names) what its row says."""
    from eclinic_protocol import from_browser, to_browser

    sends = from_browser.CLINICIAN_SENDS.types | from_browser.PATIENT_SENDS.types
    gets = to_browser.CLINICIAN_RECEIVES.types | to_browser.PATIENT_RECEIVES.types
    assets = ROOT / "templates" / "pages" / "assets"
    for line in section(doc("protocol.md"), "Where the pages send what").splitlines():
        module = re.match(r"^\| `([\w-]+\.js)`", line)
        if not module:
            continue
        _, sent, handled = [cell.strip() for cell in line.strip().strip("|").split("|")]
        script = (assets / module.group(1)).read_text(encoding="utf-8")
        uses_to = {k.lower() for k in re.findall(r"\bToServer\.(\w+)", script)}
        uses_from = {k.lower() for k in re.findall(r"\bFromServer\.(\w+)", script)}
        assert backticked(sent) & sends <= uses_to, f"{module.group(1)} does not send all of: {sent}"
        assert backticked(handled) & gets <= uses_from, f"{module.group(1)} does not handle all of: {handled}"


# -- (d) settings ------------------------------------------------------------------------------


def read_settings(path: Path) -> set[str]:
    """ECLINIC_* names a module reads: string constants that are exactly such a name."""
    return {s for s in strings_in(parse(path)) if re.fullmatch(r"ECLINIC_[A-Z0-9_]+", s)}


# Where the functions', the worker's and the local run's variables are named (each name once).
SETTINGS_SOURCES = [
    "chalicelib/settings_names.py",
    "media_worker/settings_names.py",
    "local/settings_names.py",
]


@pytest.mark.parametrize("source", SETTINGS_SOURCES)
def test_every_setting_the_code_reads_is_in_operations_md(source: str) -> None:
    names = read_settings(ROOT / source)
    if source == "chalicelib/settings_names.py":
        assert len(names) > 20, f"the settings scan of {source} no longer finds the settings"
    documented = backticked(doc("operations.md"))
    missing = sorted(n for n in names if n not in documented)
    assert not missing, f"docs/operations.md does not name these settings read by {source}: {missing}"


# -- the index ---------------------------------------------------------------------------------


def test_the_index_links_every_page_and_each_link_resolves() -> None:
    index = doc("README.md")
    for name in sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md"):
        assert f"]({name})" in index, f"docs/README.md does not link docs/{name}"
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            found = (page.parent / target).resolve().is_file()
            assert found, f"docs/{page.name} links {target}, which is missing"
