"""What tests/infra/test_environment.py reads from the sources: the environment variables a
module looks up or stores (by literal or by a names module's constant), the names each names
module declares, and an environment that records what is read from it."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import local.settings_names
from chalicelib import settings_names as app_settings
from media_worker import settings_names as worker_settings

NAME_MODULES: dict[str, ModuleType] = {
    "chalicelib.settings_names": app_settings,
    "media_worker.settings_names": worker_settings,
    "local.settings_names": local.settings_names,
}


def declared(module: ModuleType) -> dict[str, str]:
    """A names module's constants (upper-case strings): constant -> variable name."""
    return {k: v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}


class Names:
    """The variable names one source's expressions stand for: literals, the constants it imports
    from a names module and `<alias>.<CONSTANT>` of a names module it imports."""

    def __init__(self, tree: ast.Module) -> None:
        self.modules: dict[str, ModuleType] = dict(NAME_MODULES)  # `local.settings_names.PORT`
        self.constants: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    dotted = f"{node.module}.{alias.name}"
                    if dotted in NAME_MODULES:
                        self.modules[alias.asname or alias.name] = NAME_MODULES[dotted]
                    elif node.module in NAME_MODULES:
                        self.constants[alias.asname or alias.name] = declared(NAME_MODULES[node.module])[
                            alias.name
                        ]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in NAME_MODULES and alias.asname:
                        self.modules[alias.asname] = NAME_MODULES[alias.name]

    def of(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.Attribute):
            module = self.modules.get(ast.unparse(node.value))
            return None if module is None else declared(module).get(node.attr)
        return None


def _environment_key(node: ast.AST) -> ast.expr | None:
    """NAME in `x.get(NAME, ...)`, `getenv(NAME)` and `environ[NAME]` / `env[NAME]`."""
    if isinstance(node, ast.Call) and node.args:
        callee = node.func
        called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
        return node.args[0] if called in {"get", "getenv"} else None
    if isinstance(node, ast.Subscript):
        target = node.value
        named = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        return node.slice if named in {"environ", "env"} else None
    return None


def names_read(sources: Iterable[Path]) -> set[str]:
    """Names the code looks up in an environment (not mere mentions in docstrings)."""
    found: set[str] = set()
    for path in sources:
        tree = ast.parse(path.read_text(), str(path))
        names = Names(tree)
        for node in ast.walk(tree):
            key = _environment_key(node)
            if key is not None and not isinstance(getattr(node, "ctx", None), ast.Store):
                name = names.of(key)
                if name is not None:
                    found.add(name)
    return found


def names_written(sources: Iterable[Path]) -> set[str]:
    """Names the code stores into an environment: `env[NAME] = ...`, `os.environ[NAME] = ...`."""
    found: set[str] = set()
    for path in sources:
        tree = ast.parse(path.read_text(), str(path))
        names = Names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
                key = _environment_key(node)
                name = None if key is None else names.of(key)
                if name is not None:
                    found.add(name)
    return found


def spellings(path: Path, spelled: set[str]) -> list[str]:
    """Where a source writes one of these names out: a string that is exactly the name, or a
    keyword argument of that name (`dict(os.environ, NAME=...)`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.keyword):
            text = node.arg
        if text in spelled:
            found.append(f"{getattr(node, 'lineno', '?')} {text}")
    return found


class RecordingEnvironment(dict[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)
