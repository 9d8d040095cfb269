"""Every environment variable the stack gives a function or the worker container is read by the
code that runs there: chalicelib/ and app.py for the functions, media_worker's settings for the
worker. A variable the stack sets and nothing reads is a setting that silently does nothing."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from media_worker.config import WorkerConfig
from tests.infra.conftest import ROOT, container_environment, resources

FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
APP_SOURCES = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]


def names_read(sources: Iterable[Path]) -> set[str]:
    """Names the code looks up in an environment: `x.get("NAME", ...)`, `getenv("NAME")` and
    `environ["NAME"]` / `env["NAME"]` with a literal name (not mere mentions in docstrings)."""
    found: set[str] = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and node.args:
                callee = node.func
                called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
                first = node.args[0]
                if called in {"get", "getenv"} and isinstance(first, ast.Constant):
                    found.add(str(first.value))
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                target = node.value
                named = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if named in {"environ", "env"}:
                    found.add(str(node.slice.value))
    return found


class RecordingEnvironment(dict[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
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


def test_names_read_sees_lookups_not_mentions(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        '"""Set ONLY_MENTIONED to turn it on."""\n'
        "import os\n"
        'a = os.environ.get("FROM_GET", "x")\n'
        'b = os.getenv("FROM_GETENV")\n'
        'c = os.environ["FROM_ENVIRON"]\n'
        'def f(env): return env["FROM_ENV"]\n'
        'print("ONLY_PRINTED")\n'
    )
    assert names_read([source]) == {"FROM_GET", "FROM_GETENV", "FROM_ENVIRON", "FROM_ENV"}


def test_every_function_variable_is_read_by_the_app(synthesized: dict[str, Any]) -> None:
    from eclinic_infra.stack import FUNCTIONS

    template = synthesized["json"]
    functions = {name: f for kind in FUNCTION_TYPES for name, f in resources(template, kind).items()}
    assert set(FUNCTIONS) <= set(functions)
    # The one function that does not run the Chalice app: the CDK's provider for AWS SDK calls
    # (it sets the files bucket's CORS rule), which is given no environment at all.
    providers = {
        r["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for r in resources(template, "Custom::AWS").values()
    }
    assert len(providers) == 1
    for name in providers:
        assert "Environment" not in functions.pop(name)["Properties"], name
    read = names_read(APP_SOURCES)
    for name, function in functions.items():
        properties = function["Properties"]
        # Every other function in the stack runs the Chalice app; another kind needs its own check.
        assert properties["Handler"].startswith("app."), name
        variables = set(properties.get("Environment", {}).get("Variables", {}))
        assert variables, name
        unread = sorted(variables - read)
        assert not unread, f"{name} is given {unread}, which neither chalicelib/ nor app.py reads"


def test_every_worker_variable_is_read_by_the_worker_settings(synthesized: dict[str, Any]) -> None:
    environment = container_environment(synthesized["json"])
    recording = RecordingEnvironment(environment)
    WorkerConfig.from_env(recording)
    unread = sorted(set(environment) - recording.read)
    assert not unread, f"the worker container is given {unread}, which media_worker's settings never read"
    assert {"ECLINIC_METRICS_NAMESPACE", "ECLINIC_WORKER_SERVICE", "ECLINIC_WORKER_PROCESSES"} <= set(
        environment
    )
