"""Every page validates: the W3C Nu HTML Checker (npm `vnu-jar`, run on Java) finds no
error in the built site or in the forms and back-office pages, in each state a person meets.
"""

import json
import shutil
import subprocess

import pytest

from forms_service import queue
from tests.conftest import ROOT, SITE
from tests.forms.helpers import (
    assistance_data,
    documents,
    get_form,
    hidden_fields,
    reference_on,
)
from tests.staff.conftest import csrf_of, sign_in

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


def validate_pages(pages: dict[str, str], folder) -> list[str]:
    """The checker's errors on rendered pages (name → HTML), each a whole document."""
    files = []
    for name, html in pages.items():
        assert html.lstrip().lower().startswith("<!doctype html"), name
        path = folder / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)
    return validate(files)


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
    assert validate_pages(pages, tmp_path) == []


def test_a_requests_pages_validate_from_check_to_decision(app, staff_db, tmp_path):
    """The pages a support request goes through, in both languages: check your answers, the
    confirmation, the status result, the case page, its printable sheet, the decision's
    confirmation, the meetings and (signed in once as an administrator) the users page."""
    pages = {}
    admin = app.test_client()
    assert sign_in(admin, "admin").status_code == 302
    for lang, prefix in (("ar", ""), ("en", "/en")):
        client = app.test_client()
        base = f"{prefix}/forms/assistance/"
        payload = {**get_form(client, base), **assistance_data(), **documents()}
        assert (
            client.post(base, data=payload, content_type="multipart/form-data").status_code == 302
        )
        check = client.get(base + "check")
        pages[f"{lang}-check"] = check.text
        confirm = {**hidden_fields(check.text), "attestation": "y", "consent": "y"}
        done = client.get(client.post(base + "check", data=confirm).headers["Location"])
        pages[f"{lang}-done"] = done.text
        reference = reference_on(done).replace("-", "")
        status = f"{prefix}/forms/status/"
        found = client.post(
            status,
            data={**get_form(client, status), "reference": reference, "mobile": "0512345678"},
        )
        pages[f"{lang}-status-found"] = client.get(found.headers["Location"]).text
        case_id = queue.by_reference(staff_db, reference)["id"]
        with app.test_request_context():
            for state in ("verifying", "committee"):
                queue.transition(staff_db, case_id, state, actor="officer", role="officer")
        committee = app.test_client()
        sign_in(committee, "committee", prefix=prefix)
        case_url = f"{prefix}/staff/case/{case_id}"
        pages[f"{lang}-case"] = committee.get(case_url).text
        pages[f"{lang}-case-print"] = committee.get(f"{case_url}/print").text
        move = {"csrf_token": csrf_of(committee, case_url), "target": "accepted", "reason": ""}
        pages[f"{lang}-confirm"] = committee.post(f"{case_url}/transition", data=move).text
        pages[f"{lang}-meetings"] = committee.get(f"{prefix}/staff/meetings").text
        pages[f"{lang}-users"] = admin.get(f"{prefix}/staff/users").text
    for lang in ("ar", "en"):  # each is the page itself, not an error or a sign-in page
        for name, mark in (
            ("check", 'name="attestation"'),
            ("status-found", "steps"),
            ("case", 'id="documents-title"'),
            ("confirm", "confirm-move"),
            ("users", 'name="role"'),
        ):
            assert mark in pages[f"{lang}-{name}"], f"{lang}-{name}"
    assert validate_pages(pages, tmp_path) == []
