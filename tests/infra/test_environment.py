"""The environment variables of each deployable have their names in one module (the functions:
chalicelib.settings_names, the worker: media_worker.settings_names, the local run's own:
local.settings_names), and the stack, the local run and the code agree on them: every variable
the stack or the local run sets is a name of that module which the code running there reads,
the stack sets every setting the deployed code needs, and no code spells a name itself.

A variable the stack sets and nothing reads is a setting that silently does nothing; a name
spelled twice is one that can be renamed in one place and not the other."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import local.settings_names
from chalicelib import settings_names as app_settings
from chalicelib.config import Settings
from media_worker import settings_names as worker_settings
from media_worker.config import WorkerConfig
from tests.infra.conftest import ROOT, container_environment, rendered, resources
from tests.infra.environment_names import (
    NAME_MODULES,
    RecordingEnvironment,
    declared,
    names_read,
    names_written,
    spellings,
)

FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
APP_SOURCES = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
LOCAL_SOURCES = sorted((ROOT / "local").rglob("*.py"))
# The TURN hosts are a program of their own (infra/turn/eclinic_turn.py, copied alone onto each
# instance): they spell their settings themselves, and these files set or test those.
TURN_HOST_SOURCES = {
    ROOT / "infra" / "turn" / "eclinic_turn.py",
    *(ROOT / "infra" / "eclinic_infra").glob("turn*.py"),
    *(ROOT / "tests" / "infra").glob("test_turn_*.py"),
}
PLACEHOLDER = "set-at-deploy-time"

# What the functions need from the stack on AWS, where the defaults name nothing of the stage:
# its tables, users, mail sender, bus, bucket and key, the secrets (by ARN), the endpoints
# parameter (the APIs' URLs and the reminder function), STUN and TURN, the metrics switch and
# the reminders' group and role.
REQUIRED_ON_FUNCTIONS = {
    app_settings.TABLE_PREFIX,
    app_settings.USER_POOL_ID,
    app_settings.USER_POOL_CLIENT_ID,
    app_settings.MAIL_SENDER,
    app_settings.SES_CONFIGURATION_SET,
    app_settings.EVENT_BUS,
    app_settings.FILES_BUCKET,
    app_settings.FILES_KMS_KEY_ID,
    app_settings.LINK_SECRET_ARN,
    app_settings.WORKER_SECRET_ARN,
    app_settings.ENDPOINTS_PARAMETER,
    app_settings.ICE_SERVERS,
    app_settings.TURN_URLS,
    app_settings.TURN_SECRET_ARN,
    app_settings.METRICS,
    app_settings.REMINDER_GROUP,
    app_settings.REMINDER_ROLE_ARN,
}
# What the worker's container needs: where to connect and with what, how many processes of how
# many visits, where screenshots go, the load metric the autoscaling follows, and STUN.
REQUIRED_ON_WORKER = {
    worker_settings.WS_URL,
    worker_settings.SECRET,
    worker_settings.PROCESSES,
    worker_settings.CAPACITY,
    worker_settings.FILES_BUCKET,
    worker_settings.FILES_KMS_KEY_ID,
    worker_settings.METRICS_NAMESPACE,
    worker_settings.SERVICE,
    worker_settings.STUN_URLS,
}


def names_of(module: ModuleType) -> set[str]:
    return set(declared(module).values())


APP_NAMES = names_of(app_settings)
WORKER_NAMES = names_of(worker_settings)
LOCAL_NAMES = names_of(local.settings_names)
KNOWN_NAMES = APP_NAMES | WORKER_NAMES | LOCAL_NAMES


# -- the names modules -----------------------------------------------------------------------


def test_names_read_sees_lookups_not_mentions(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        '"""Set ONLY_MENTIONED to turn it on."""\n'
        "import os\n"
        "import local.settings_names\n"
        "from chalicelib import settings_names as names\n"
        "from media_worker.settings_names import RELAY\n"
        'a = os.environ.get("FROM_GET", "x")\n'
        'b = os.getenv("FROM_GETENV")\n'
        'c = os.environ["FROM_ENVIRON"]\n'
        'def f(env): return env["FROM_ENV"]\n'
        'print("ONLY_PRINTED")\n'
        "d = os.environ.get(names.TABLE_PREFIX)\n"
        "def g(env): return env[RELAY]\n"
        "e = os.environ[local.settings_names.PORT]\n"
        "print(names.EVENT_BUS)\n"
    )
    assert names_read([source]) == {
        "FROM_GET",
        "FROM_GETENV",
        "FROM_ENVIRON",
        "FROM_ENV",
        app_settings.TABLE_PREFIX,
        worker_settings.RELAY,
        local.settings_names.PORT,
    }


@pytest.mark.parametrize("module", NAME_MODULES.values(), ids=NAME_MODULES.keys())
def test_a_names_module_names_each_variable_once(module: ModuleType) -> None:
    constants = declared(module)
    assert constants, module.__name__
    assert len(set(constants.values())) == len(constants), f"{module.__name__} names a variable twice"
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", v) for v in constants.values()), constants


def test_the_names_modules_import_nothing_of_the_app_or_the_worker() -> None:
    """infra/ and the local run import them: not aiortc or av (the worker's image only), nor
    chalice, PynamoDB or boto3 (the functions' bundle only)."""
    probe = (
        "import sys, json\n"
        "import chalicelib.settings_names, media_worker.settings_names, local.settings_names\n"
        "import media_worker.config\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"aiortc", "av", "chalice", "pynamodb", "boto3", "botocore", "aws_cdk"}, loaded


def python_sources() -> list[Path]:
    skipped = {".git", ".venv", "node_modules", "vendor", "cdk.out", "chalice.out", "__pycache__"}
    return sorted(
        p for p in ROOT.rglob("*.py") if not skipped & set(p.relative_to(ROOT).parts) and p.is_file()
    )


def test_no_code_spells_a_variable_name_a_names_module_declares() -> None:
    """Code, the stack, the local run, the benchmarks and the tests use the constants: a string
    (or a keyword argument) that is exactly a declared name is a second spelling of it."""
    homes = {ROOT / f"{path.replace('.', '/')}.py" for path in NAME_MODULES}
    spelled: list[str] = []
    for path in python_sources():
        if path in homes or path in TURN_HOST_SOURCES:
            continue
        spelled.extend(f"{path.relative_to(ROOT)}:{where}" for where in spellings(path, KNOWN_NAMES))
    assert not spelled, f"use the names modules' constants instead: {spelled}"


# -- the code reads every name it declares ---------------------------------------------------


def test_the_functions_settings_read_exactly_the_declared_names() -> None:
    recording = RecordingEnvironment({})
    Settings.from_env(recording)
    # LOG_LEVEL and METRICS are read where they are used (chalicelib.logs, chalicelib.metrics).
    assert recording.read == APP_NAMES - {app_settings.LOG_LEVEL, app_settings.METRICS}
    unread = sorted(APP_NAMES - names_read(APP_SOURCES))
    assert not unread, (
        f"chalicelib.settings_names declares {unread}, which neither chalicelib/ nor app.py reads"
    )


def test_the_worker_settings_read_exactly_the_declared_names() -> None:
    recording = RecordingEnvironment({worker_settings.SECRET: "s"})
    WorkerConfig.from_env(recording)
    assert recording.read == WORKER_NAMES


def test_the_local_run_reads_where_it_listens() -> None:
    assert {local.settings_names.PORT, local.settings_names.HOST} <= names_read(LOCAL_SOURCES)


# -- the stack -------------------------------------------------------------------------------


def app_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stack's functions that run the Chalice app."""
    from eclinic_infra.stack import FUNCTIONS

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
    for name, function in functions.items():
        # Every other function in the stack runs the Chalice app; another kind needs its own check.
        assert function["Properties"]["Handler"].startswith("app."), name
    return functions


def test_every_function_variable_is_a_setting_the_app_reads(synthesized: dict[str, Any]) -> None:
    read = names_read(APP_SOURCES)
    for name, function in app_functions(synthesized["json"]).items():
        variables = set(function["Properties"].get("Environment", {}).get("Variables", {}))
        assert variables, name
        undeclared = sorted(variables - APP_NAMES)
        assert not undeclared, (
            f"{name} is given {undeclared}, which chalicelib.settings_names does not declare"
        )
        unread = sorted(variables - read)
        assert not unread, f"{name} is given {unread}, which neither chalicelib/ nor app.py reads"


def test_every_function_is_given_the_settings_it_needs_on_aws(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    parameters = {
        p["Properties"].get("Name"): str(rendered(p["Properties"]["Value"]))
        for p in resources(template, "AWS::SSM::Parameter").values()
    }
    for name, function in app_functions(template).items():
        variables = function["Properties"]["Environment"]["Variables"]
        missing = sorted(REQUIRED_ON_FUNCTIONS - set(variables))
        assert not missing, f"the stack does not give {name} {missing}"
        # What is only named there, looked up as on AWS: the secrets, and the endpoints in the
        # parameter the stack writes, give the settings the app cannot start without.
        environment = {k: v if isinstance(v, str) else PLACEHOLDER for k, v in variables.items()}
        assert environment[app_settings.ENDPOINTS_PARAMETER] in parameters, name
        settings = Settings.from_env(environment).resolved(
            secret=lambda arn: "s" * 48, parameter=parameters.__getitem__
        )
        assert len(settings.link_secret) >= 32 and settings.worker_secret, name
        assert settings.ws_management_url and settings.ws_url and settings.public_base_url, name
        assert settings.reminder_function_arn and settings.reminder_role_arn, name


def test_every_worker_variable_is_read_by_the_worker_settings(synthesized: dict[str, Any]) -> None:
    environment = container_environment(synthesized["json"], PLACEHOLDER)
    undeclared = sorted(set(environment) - WORKER_NAMES)
    assert not undeclared, (
        f"the worker container is given {undeclared}, which media_worker.settings_names lacks"
    )
    recording = RecordingEnvironment(environment)
    WorkerConfig.from_env(recording)
    unread = sorted(set(environment) - recording.read)
    assert not unread, f"the worker container is given {unread}, which media_worker's settings never read"
    missing = sorted(REQUIRED_ON_WORKER - set(environment))
    assert not missing, f"the stack does not give the worker container {missing}"
    assert {
        worker_settings.METRICS_NAMESPACE,
        worker_settings.SERVICE,
        worker_settings.PROCESSES,
    } <= set(environment)


# -- the local run ---------------------------------------------------------------------------


def test_every_variable_the_local_run_gives_the_app_is_a_setting_it_reads() -> None:
    from local import aws_standin

    environment = aws_standin.base_environment("http://127.0.0.1:5000", "http://127.0.0.1:8000")
    unknown = sorted(set(environment) - APP_NAMES - LOCAL_NAMES)
    assert not unknown, f"the local run sets {unknown}, which no names module declares"
    Settings.from_env(environment)
    # Besides the app's settings, only the stand-in's credentials (boto3 reads those).
    sdk_credentials = {
        local.settings_names.ACCESS_KEY_ID,
        local.settings_names.SECRET_ACCESS_KEY,
        local.settings_names.SESSION_TOKEN,
    }
    assert set(environment) - names_read(APP_SOURCES) <= sdk_credentials
    # What bootstrap adds once the stand-in has made the user pool (and the switch it sets for
    # moto): declared names, the pool's ones read by the app.
    written = names_written(LOCAL_SOURCES)
    pool = {app_settings.USER_POOL_ID, app_settings.USER_POOL_CLIENT_ID}
    assert pool <= written <= APP_NAMES | LOCAL_NAMES, written
    assert pool <= names_read(APP_SOURCES)


def test_the_local_run_gives_the_worker_settings_the_worker_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    import local.__main__ as local_run

    started: list[dict[str, str]] = []

    def popen(command: list[str], env: dict[str, str], **_: Any) -> None:
        started.append(env)

    monkeypatch.setattr(subprocess, "Popen", popen)
    local_run.start_worker("ws://127.0.0.1:8000/ws")
    (environment,) = started
    added = {k: v for k, v in environment.items() if os.environ.get(k) != v}
    assert added and set(added) <= WORKER_NAMES, added
    recording = RecordingEnvironment({**added, worker_settings.SECRET: "s"})
    WorkerConfig.from_env(recording)
    assert set(added) <= recording.read
