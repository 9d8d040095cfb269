"""The one jinja2 environment for mails and pages, over `templates/` beside `app.py`.

`templates/` sits at the repository's top level; in the Lambda bundle it sits beside
`app.py` too (vendor/templates links to it), so one path works in both places. HTML is
autoescaped; plain-text templates are not.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
