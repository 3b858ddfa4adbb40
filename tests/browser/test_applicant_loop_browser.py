"""The applicant loop in real Chromium, in Arabic and in English, with a fake SMS gateway on
loopback: submit → the gateway gets the reference → an officer asks for two documents → the
gateway gets the ask → the applicant looks the request up, types the code the gateway got,
uploads both and replies → the officer sees the answer and the documents, the case is
`verifying` → the committee accepts → the decision is sent → registered → served → the
survey link opens with the reference filled in. axe on every page the applicant sees."""

import json
import re

import pytest

from forms_service import auth, outbox
from forms_service import db as dbm
from tests.browser.staff import PASSWORD, sign_in
from tests.browser.test_forms_browser import PHONE, fill_assistance
from tests.conftest import LANGS, SMS_ACCEPTED, _serve, format_violations, make_app, sms_settings
from tests.forms.helpers import PDF, PNG, prefix
from tests.forms.test_sms import no_proxy, start_gateway, stop_gateway  # noqa: F401

pytestmark = pytest.mark.browser
ASK = {"ar": "نحتاج عقد الإيجار وإثبات الدخل.", "en": "We need the lease and proof of income."}
REPLY = {"ar": "أرفقت العقد وإثبات الدخل.", "en": "Here are the lease and the proof of income."}


@pytest.fixture(scope="module")
def gateway():
    server = start_gateway()
    server.gateway.answer(201, SMS_ACCEPTED)
    yield server.gateway
    stop_gateway(server)


@pytest.fixture(scope="module")
def loop_server(site_dir, tmp_path_factory, gateway):
    """The portal with SMS through the fake gateway; links sent point at this server."""
    app = make_app(tmp_path_factory.mktemp("loop"), **sms_settings(gateway.url))
    server = _serve(app)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PORTAL_PUBLIC_URL"] = base
    database = dbm.connect(app.config["PORTAL_DB"])
    for username, role in (("l-officer", "officer"), ("l-committee", "committee")):
        auth.add_user(database, username, role, PASSWORD, actor="test")
    database.close()
    yield app, base
    server.shutdown()


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, content in (
        ("id.pdf", PDF),
        ("death.pdf", PDF),
        ("family.png", PNG),
        ("lease.pdf", PDF),
        ("income.png", PNG),
        ("lies.pdf", b"a text file that says it is a PDF"),
    ):
        (tmp_path / name).write_bytes(content)
        paths[name] = str(tmp_path / name)
    return paths


def clean(page, axe, lang):
    assert page.evaluate("document.documentElement.lang") == lang
    violations = axe(page)
    assert violations == [], format_violations(violations)


def send_outbox(app) -> None:
    """What `portal outbox send` does between the steps."""
    database = dbm.connect(app.config["PORTAL_DB"])
    with app.app_context():
        outbox.send_due(database, app.config)
    database.close()


def texts(gateway) -> list[str]:
    return [json.loads(r.body)["body"] for r in gateway.requests]


def move(page, target):
    with page.expect_navigation():
        page.click(f"form[action$='/transition'] button[value={target}]")
    if target in ("accepted", "rejected"):  # a decision is confirmed on its own page
        with page.expect_navigation():
            page.click(".confirm-move button[type=submit]")
    assert page.locator(".notice--success").count() == 1, page.inner_text("main")[:500]


@pytest.mark.parametrize("lang", LANGS)
def test_the_applicant_is_told_and_answers_online(
    browser, loop_server, gateway, axe, screenshot, files, lang
):
    app, base = loop_server
    p = prefix(lang)
    context = browser.new_context(
        bypass_csp=True, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    phone = context.new_page()

    # The request, and the SMS that tells its reference and the status page.
    phone.goto(f"{base}{p}/forms/assistance/")
    fill_assistance(phone, files)
    phone.click("button.md-button--primary")
    phone.wait_for_url(re.compile(r"/forms/assistance/check$"))
    phone.check("#attestation")
    phone.check("#consent")
    phone.click("button.md-button--primary")
    phone.wait_for_url(re.compile(r"/forms/assistance/done$"))
    reference = phone.inner_text(".reference")
    sent_before = len(gateway.requests)
    send_outbox(app)
    assert len(gateway.requests) == sent_before + 1
    assert reference in texts(gateway)[-1]
    assert f"{base}{p}/forms/status/" in texts(gateway)[-1]

    # The officer asks for two documents.
    officer = sign_in(browser, base, "l-officer", prefix(lang), width=1366)
    officer.goto(f"{base}{p}/staff/assistance/")
    officer.click(f"text={reference}")
    case_url = officer.url
    move(officer, "verifying")
    officer.fill("#reason", ASK[lang])
    officer.check("input[name=missing][value=lease]")
    officer.check("input[name=missing][value=income_proof]")
    move(officer, "needs_info")
    send_outbox(app)
    assert reference in texts(gateway)[-1]

    # The applicant looks the request up, asks for the code and types it.
    phone.goto(f"{base}{p}/forms/status/")
    phone.fill("#reference", reference)
    phone.fill("#mobile", "0512345678")
    phone.click("button.md-button--primary")
    phone.wait_for_selector(".status-result")
    assert ASK[lang] in phone.inner_text(".applicant-message")
    clean(phone, axe, lang)
    screenshot(phone, "status-needs-info")
    phone.click(f"a[href='{p}/forms/status/answer']")
    clean(phone, axe, lang)
    phone.click("button[value=send-code]")
    phone.wait_for_selector("#code")
    code = re.search(r"\b([0-9]{6})\b", texts(gateway)[-1]).group(1)
    clean(phone, axe, lang)
    screenshot(phone, "code")
    phone.fill("#code", "000000" if code != "000000" else "111111")
    phone.click("button[value=code]")
    phone.wait_for_selector(".error-summary")
    clean(phone, axe, lang)
    phone.fill("#code", code)
    phone.click("button[value=code]")
    phone.wait_for_selector("#documents-lease")
    assert phone.locator("input[type=file]").count() == 2
    clean(phone, axe, lang)
    # Sent empty, then with a file that lies about its type: each says why, axe-clean, and
    # what was written is kept.
    phone.click("button[value=answer]")
    phone.wait_for_selector(".error-summary")
    clean(phone, axe, lang)
    phone.set_input_files("#documents-lease", files["lies.pdf"])
    phone.fill("#reply", REPLY[lang])
    phone.click("button[value=answer]")
    phone.wait_for_selector(".error-summary")
    assert phone.input_value("#reply") == REPLY[lang]
    clean(phone, axe, lang)
    screenshot(phone, "answer-refused")
    phone.set_input_files("#documents-lease", files["lease.pdf"])
    phone.set_input_files("#documents-income_proof", files["income.png"])
    phone.fill("#reply", REPLY[lang])
    screenshot(phone, "answer")
    phone.click("button[value=answer]")
    phone.wait_for_url(re.compile(r"/forms/status/answered$"))
    clean(phone, axe, lang)
    screenshot(phone, "answered")

    # The officer sees the answer and the documents; the case is being verified again.
    officer.goto(f"{base}{p}/staff/assistance/?answered=1")
    assert officer.locator(f"table.queue >> text={reference}").count() == 1
    officer.goto(case_url)
    assert REPLY[lang] in officer.inner_text(".panel--answer")
    documents = officer.inner_text("#documents-title + ul")
    assert documents.count("\n") >= 4  # three sent with the request, two with the answer
    database = dbm.connect(app.config["PORTAL_DB"])
    row = database.execute(
        "SELECT id, state FROM submissions WHERE reference = ?", [reference.replace("-", "")]
    ).fetchone()
    assert row[1] == "verifying"
    screenshot(officer, "case-answered")
    move(officer, "committee")

    # The committee accepts; the decision is sent.
    committee = sign_in(browser, base, "l-committee", prefix(lang), width=1366)
    committee.goto(case_url)
    move(committee, "accepted")
    send_outbox(app)
    assert reference in texts(gateway)[-1]

    # Registered, served: the last SMS carries the survey with the reference filled in.
    officer.goto(case_url)
    move(officer, "registered")
    move(officer, "served")
    send_outbox(app)
    survey = re.search(r"https?://\S+", texts(gateway)[-1]).group(0)
    assert "/forms/feedback/" in survey
    phone.goto(survey)
    assert phone.input_value("#reference") == reference
    clean(phone, axe, lang)
    assert (
        database.execute("SELECT state FROM submissions WHERE id = ?", [row[0]]).fetchone()[0]
        == "served"
    )
    database.close()
    context.close()
