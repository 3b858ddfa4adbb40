"""Every page validates: the W3C Nu HTML Checker (npm `vnu-jar`, run on Java) finds no
error in the built site or in the forms and back-office pages, in each state a person meets.
"""

import json
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, SITE
from tests.forms.helpers import get_form
from tests.staff.conftest import sign_in

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
pytestmark = pytest.mark.skipif(
    not (VNU.exists() and shutil.which("java")), reason="the checker needs vnu-jar and Java"
)


def validate(files) -> list[str]:
    """Errors of the checker, one line each: file, line, message."""
    run = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    messages = json.loads(run.stderr or "{}").get("messages", [])
    return [f"{m.get('url', '')}:{m.get('lastLine')}: {m.get('message')}" for m in messages]


def test_the_built_site_validates(site_dir):
    pages = [*sorted(SITE.rglob("index.html")), SITE / "404.html"]
    assert len(pages) >= 20
    assert validate(pages) == []


def test_forms_and_back_office_validate_in_every_state(app, staff_db, tmp_path):
    client = app.test_client()
    pages = {}
    for lang, prefix in (("ar", ""), ("en", "/en")):
        for form in ("assistance", "volunteer", "feedback", "status"):
            url = f"{prefix}/forms/{form}/"
            pages[f"{lang}-{form}"] = client.get(url).text
            errors = client.post(url, data={**get_form(client, url), "action": "continue"})
            pages[f"{lang}-{form}-errors"] = errors.text
        pages[f"{lang}-login"] = client.get(f"{prefix}/staff/login").text
        pages[f"{lang}-404"] = client.get(f"{prefix}/forms/no-such-page").text
        staff = app.test_client()
        sign_in(staff, "officer", prefix=prefix)
        for page in ("assistance/", "volunteer/", "feedback/", "dashboard", "entry", "password"):
            pages[f"{lang}-staff-{page.strip('/')}"] = staff.get(f"{prefix}/staff/{page}").text
    files = []
    for name, html in pages.items():
        assert html.lstrip().lower().startswith("<!doctype html"), name
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)
    assert validate(files) == []
