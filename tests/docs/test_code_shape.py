"""The size limits of the code (issue 12): no Python module over 400 lines anywhere in the
repository, and no function over 60 lines outside the top-level `infra/` folder (CDK stacks are
long declarations by nature).

A file that must stay over a limit goes in ALLOWED with the reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE_MAX_LINES = 400
FUNCTION_MAX_LINES = 60
# Not the project's code: the virtualenv, vendored files, CDK's output, caches and build output.
_SKIPPED_FOLDERS = {".venv", "vendor", "node_modules", "__pycache__", "build"}
_SKIPPED_PATHS = ("infra/cdk.out/",)

# Files that stay over a limit for good, each with why (none today).
ALLOWED: dict[str, str] = {}


@dataclass(frozen=True)
class Offence:
    path: str
    what: str  # "module" or the function's qualified name
    lines: int
    limit: int

    def __str__(self) -> str:
        return f"{self.path}: {self.what} has {self.lines} lines (at most {self.limit})"


def python_files() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if any(part in _SKIPPED_FOLDERS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        if relative.as_posix().startswith(_SKIPPED_PATHS):
            continue
        found.append(path)
    return found


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, nested ones included, with a dotted name."""
    named = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            named.append((prefix + node.name, node))
            named.extend(_functions(node, f"{prefix}{node.name}."))
        elif isinstance(node, ast.ClassDef):
            named.extend(_functions(node, f"{prefix}{node.name}."))
        else:
            named.extend(_functions(node, prefix))
    return named


def offences(path: Path) -> list[Offence]:
    relative = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8")
    found = []
    lines = len(text.splitlines())
    if lines > MODULE_MAX_LINES:
        found.append(Offence(relative, "module", lines, MODULE_MAX_LINES))
    if not relative.startswith("infra/"):
        for name, function in _functions(ast.parse(text, filename=relative)):
            length = (function.end_lineno or function.lineno) - function.lineno + 1
            if length > FUNCTION_MAX_LINES:
                found.append(Offence(relative, f"{name}()", length, FUNCTION_MAX_LINES))
    return found


def all_offences() -> list[Offence]:
    return [offence for path in python_files() for offence in offences(path)]


def test_the_check_sees_the_code() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in python_files()}
    assert {"app.py", "chalicelib/wiring.py", "media_worker/worker.py", "infra/main.py"} <= names
    assert not [name for name in names if name.startswith((".venv/", "vendor/", "infra/cdk.out/"))]


def test_no_module_over_400_lines_and_no_function_over_60() -> None:
    excused = ALLOWED.keys()
    found = [str(o) for o in all_offences() if o.path not in excused]
    assert not found, "split these:\n" + "\n".join(found)


def test_every_allowed_file_exists_and_says_why() -> None:
    for name, reason in ALLOWED.items():
        assert (ROOT / name).is_file(), name
        assert reason.strip(), name
