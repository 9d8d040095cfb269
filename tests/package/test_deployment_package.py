"""Builds the Lambda deployment package with `chalice package` and looks inside it.

`templates/` sits at the top level of the repository; `vendor/templates` links to it, and
Chalice copies `vendor/` into the bundle's root, so the Lambda finds `templates/` beside
`app.py` just as a checkout does. `vendor/eclinic_protocol` links to the websocket message
definitions the same way (the worker image takes them too).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import settings_names as app_settings

ROOT = Path(__file__).resolve().parents[2]
CHALICE = Path(sys.executable).parent / "chalice"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("package") / "out"
    env = {**os.environ, app_settings.DEFAULT_REGION: "us-east-1"}
    subprocess.run(
        [str(CHALICE), "package", "--stage", "dev", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        yield archive


def test_every_template_ships(bundle: zipfile.ZipFile) -> None:
    names = set(bundle.namelist())
    templates = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file())
    assert templates, "no templates found"
    missing = [t for t in templates if t not in names]
    assert not missing


def test_the_templates_the_code_renders_ship(bundle: zipfile.ZipFile) -> None:
    from chalicelib.mail.compose import EMAIL_TEMPLATES
    from chalicelib.pages import PAGE_TEMPLATES
    from chalicelib.templating import TEMPLATES_DIR

    assert TEMPLATES_DIR == ROOT / "templates"
    for template in (*EMAIL_TEMPLATES, *PAGE_TEMPLATES):
        assert f"templates/{template}" in bundle.namelist()


def test_app_and_chalicelib_ship(bundle: zipfile.ZipFile) -> None:
    names = set(bundle.namelist())
    assert {"app.py", "chalicelib/wiring.py", "chalicelib/domain/appointment.py"} <= names


def test_the_protocol_package_ships(bundle: zipfile.ZipFile) -> None:
    """vendor/eclinic_protocol links to the package, which the worker image takes too."""
    names = set(bundle.namelist())
    modules = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "eclinic_protocol").glob("*.py"))
    assert "eclinic_protocol/__init__.py" in modules
    assert [m for m in modules if m not in names] == []


def test_no_media_or_dev_libraries(bundle: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in bundle.namelist()}
    for forbidden in (
        "aiortc",
        "av",
        "aws_cdk",
        "moto",
        "playwright",
        "pytest",
        "local",
        "tests",
        "media_worker",
    ):
        assert forbidden not in tops, forbidden
    assert not [n for n in bundle.namelist() if n.startswith(("av.libs/", "aiortc-"))]
